// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// sk_decoder: the scanner without a client, for frames from elsewhere (captures, another transport, tests).

public import CStreamKit
import StreamKit

/// One decoder: the reused in-place frame, and scratch memory for strings with escapes.
final class CDecoder: @unchecked Sendable {
    let decoder = FrameDecoder()
    var frame = DecodedFrame()
    let arena = Arena()
    let errors = ErrorMessages()
    /// sk_decode_pickle's message and pickle.
    var message = sk_message()
    let pickle = PickleWriter()
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
    // The previous frame's escaped strings are released only now.
    d.arena.reset()
    let raw = UnsafeRawBufferPointer(start: bytes.map { UnsafeRawPointer($0) }, count: length)
    do {
        try d.decoder.decode(raw, into: &d.frame)
    } catch {
        out.pointee = sk_message()
        d.errors.set("\(error)")
        return SK_INVALID_FRAME
    }
    fillDecoded(&out.pointee, d.frame, d.arena, raw)
    return SK_OK
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
func fillDecoded(_ m: inout sk_message, _ frame: DecodedFrame, _ arena: Arena, _ raw: UnsafeRawBufferPointer) {
    m = sk_message()
    guard frame.kind == .data else {
        let base = raw.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) } ?? staticCString("")
        m.raw = sk_str(ptr: base, len: raw.count)
        m.kind = Int32(SK_MESSAGE_CONTROL.rawValue)
        return
    }
    fillFrame(&m, frame, arena, raw)
    if let channel = frame.channel { m.subscription.channel = channel.cChannel }
    var outside = m.text_outside_raw
    if let p = frame.params {
        m.subscription.crypto_id = p.cryptoID ?? 0
        m.subscription.platform_id = p.platformID ?? 0
        if let a = p.address { m.subscription.address = arena.view(a, in: raw, outside: &outside) }
        if let i = p.interval { m.subscription.interval = arena.view(i, in: raw, outside: &outside) }
    }
    m.text_outside_raw = outside
}

/// The data part of a message from a frame decoded in place, the one fill the callback, sk_decode and captures
/// share: kind, raw, ts, the typed payload (views into `raw`; escaped text decoded into `arena`) and
/// text_outside_raw. Read in place: the frame (all payload slots) is kilobytes, a copy would cost more than the fill.
func fillFrame(_ m: inout sk_message, _ frame: DecodedFrame, _ arena: Arena, _ raw: UnsafeRawBufferPointer) {
    m.kind = Int32(SK_MESSAGE_DATA.rawValue)
    let base = raw.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) } ?? staticCString("")
    m.raw = sk_str(ptr: base, len: raw.count)
    if let ts = frame.ts {
        m.has_ts = 1
        m.ts = ts
    }
    var outside: Int32 = 0
    m.channel = withUnsafeMutablePointer(to: &m.data) {
        fillCPayload(frame, into: $0) { arena.view($0, in: raw, outside: &outside) }
    }
    m.text_outside_raw = outside
}
