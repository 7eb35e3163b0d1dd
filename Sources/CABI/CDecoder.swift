// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// sk_decoder: the scanner without a client, for frames from elsewhere (captures, another transport, tests).

public import CStreamKit
import StreamKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One decoder: the reused in-place frame, and scratch memory for strings with escapes.
final class CDecoder: @unchecked Sendable {
    let decoder = FrameDecoder()
    /// The reused frame, behind a pointer: a stored `var` of a class is checked for exclusive access on every use.
    let frame: UnsafeMutablePointer<DecodedFrame>
    let arena = Arena()
    let errors = ErrorMessages()
    /// sk_decode_pickle's message and pickle.
    var message = sk_message()
    let pickle = PickleWriter()

    init() {
        self.frame = .allocate(capacity: 1)
        self.frame.initialize(to: DecodedFrame())
    }

    deinit {
        self.frame.deinitialize(count: 1)
        self.frame.deallocate()
    }

    /// sk_decode's work once the arguments are checked.
    func decode(_ raw: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<sk_message>) -> sk_status {
        // The previous frame's escaped strings are released only now.
        self.arena.reset()
        do {
            try self.decoder.decode(raw, into: &self.frame.pointee)
        } catch {
            out.pointee = sk_message()
            self.errors.set("\(error)")
            return SK_INVALID_FRAME
        }
        fillDecoded(&out.pointee, self.frame, self.arena, raw)
        return SK_OK
    }
}

@_cdecl("sk_decoder_new")
public func skDecoderNew(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> sk_status {
    guard let out else { return SK_MISUSE }
    out.pointee = HandleRegistry.shared.register(CDecoder())
    return SK_OK
}

@_cdecl("sk_decoder_free")
public func skDecoderFree(_ handle: OpaquePointer?) {
    guard let d = HandleRegistry.shared.unregister(handle, as: CDecoder.self) else { return }
    HandleRegistry.release(d)
}

@_cdecl("sk_decoder_errmsg")
public func skDecoderErrmsg(_ handle: OpaquePointer?) -> UnsafePointer<CChar> {
    guard let d = HandleRegistry.shared.lookup(handle, as: CDecoder.self) else { return staticCString(invalidHandle) }
    return d.errors.current ?? staticCString(noError)
}

@_cdecl("sk_decode")
public func skDecode(
    _ handle: OpaquePointer?,
    _ bytes: UnsafePointer<CChar>?,
    _ length: Int,
    _ out: UnsafeMutablePointer<sk_message>?
) -> sk_status {
    guard let d = HandleRegistry.shared.lookup(handle, as: CDecoder.self) else { return SK_MISUSE }
    guard let out, bytes != nil || length == 0 else {
        d.errors.set("frame and out must not be NULL")
        return SK_MISUSE
    }
    guard length >= 0 else {
        d.errors.set("negative length")
        return SK_INVALID_ARGUMENT
    }
    return d.decode(UnsafeRawBufferPointer(start: bytes.map { UnsafeRawPointer($0) }, count: length), into: out)
}

@_cdecl("sk_decode_pickle")
public func skDecodePickle(
    _ handle: OpaquePointer?,
    _ bytes: UnsafePointer<CChar>?,
    _ length: Int,
    _ pickle: UnsafeMutablePointer<UnsafeRawPointer?>?,
    _ pickleLength: UnsafeMutablePointer<Int>?
) -> sk_status {
    guard let d = HandleRegistry.shared.lookup(handle, as: CDecoder.self) else { return SK_MISUSE }
    guard let pickle, let pickleLength else {
        d.errors.set("pickle and length must not be NULL")
        return SK_MISUSE
    }
    pickle.pointee = nil
    pickleLength.pointee = 0
    let status = skDecode(handle, bytes, length, &d.message)
    guard status == SK_OK else { return status }
    d.pickle.write(&d.message, count: 1)
    pickle.pointee = d.pickle.bytes.baseAddress
    pickleLength.pointee = d.pickle.count
    return SK_OK
}

/// Fills a message from a decoded frame (the decoder's, a capture's): a data push as the client delivers one (the subscription view from
/// the frame's own params echo), any other valid frame as kind SK_MESSAGE_CONTROL with `raw` alone.
func fillDecoded(_ m: inout sk_message, _ frame: UnsafePointer<DecodedFrame>, _ arena: Arena, _ raw: UnsafeRawBufferPointer) {
    guard frame.pointee.kind == .data else {
        m = sk_message()
        let base = raw.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) } ?? staticCString("")
        m.raw = sk_str(ptr: base, len: raw.count)
        m.kind = Int32(SK_MESSAGE_CONTROL.rawValue)
        return
    }
    clearButPayload(&m)
    fillFrame(&m, frame, arena, raw)
    if let channel = frame.pointee.channel { m.subscription.channel = channel.cChannel }
    var outside = m.text_outside_raw
    if let p = frame.pointee.params {
        m.subscription.crypto_id = p.cryptoID ?? 0
        m.subscription.platform_id = p.platformID ?? 0
        if let a = p.address { m.subscription.address = arena.view(a, in: raw, outside: &outside) }
        if let i = p.interval { m.subscription.interval = arena.view(i, in: raw, outside: &outside) }
    }
    m.text_outside_raw = outside
}

/// Zeroes every field of `m` but its payload union: the fill of the channel's member writes the whole member, and
/// the union's other bytes (the room of larger channels) are unspecified, as the header says. Zeroing all 936
/// bytes of the union per message would cost more than filling a price.
@inline(__always)
func clearButPayload(_ m: inout sk_message) {
    let start = MemoryLayout<sk_message>.offset(of: \sk_message.data)!
    let end = start + MemoryLayout<sk_payload>.size
    withUnsafeMutableBytes(of: &m) { bytes in
        let base = bytes.baseAddress!
        memset(base, 0, start)
        memset(base + end, 0, bytes.count - end)
    }
}

/// The data part of a message from a frame decoded in place, the one fill the callback, sk_decode and captures
/// share: kind, raw, ts, the typed payload (views into `raw`; escaped text decoded into `arena`) and
/// text_outside_raw. Read in place, through a pointer: the frame (all payload slots) is 2.5 KB, and passing it by
/// value copied it whole, which cost more than the fill.
/// Every field but `data` must be zero on entry (``clearButPayload(_:)``); `data` is filled for a known channel and
/// zeroed otherwise.
func fillFrame(_ m: inout sk_message, _ frame: UnsafePointer<DecodedFrame>, _ arena: Arena, _ raw: UnsafeRawBufferPointer) {
    m.kind = Int32(SK_MESSAGE_DATA.rawValue)
    let base = raw.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) } ?? staticCString("")
    m.raw = sk_str(ptr: base, len: raw.count)
    if let ts = frame.pointee.ts {
        m.has_ts = 1
        m.ts = ts
    }
    var text = CText(raw, arena)
    m.channel = withUnsafeMutablePointer(to: &m.data) { fillCPayload(frame, into: $0, text: &text) }
    if m.channel == SK_CHANNEL_UNKNOWN { m.data = sk_payload() }
    m.text_outside_raw = text.outside
}
