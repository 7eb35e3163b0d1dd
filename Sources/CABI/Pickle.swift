// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import CStreamKit
import StreamKit

/// How the pickle writer reads one field of a C payload struct.
struct CFieldLayout: Sendable {
    enum Kind: UInt8, Sendable { case int, double, bool, text }
    var kind: Kind
    var offset: Int
}

/// A C payload struct as the pickle writer reads it: `present`, `nulls` and `mistyped` (64-bit masks) at offsets 0,
/// 8 and 16, then
/// the fields in the order of the Python package's field tables (a field's index is its bit).
struct CStructLayout: Sendable {
    var fields: [CFieldLayout]
    var unknownKeys: Int
    var windows: CWindowsLayout?
}

/// A payload's fixed array of rolling windows (`window_present` and `window_nulls` are 32-bit masks).
final class CWindowsLayout: Sendable {
    let names: [StaticString]
    let present: Int
    let nulls: Int
    let base: Int
    let stride: Int
    let layout: CStructLayout

    init(names: [StaticString], present: Int, nulls: Int, base: Int, stride: Int, layout: CStructLayout) {
        self.names = names
        self.present = present
        self.nulls = nulls
        self.base = base
        self.stride = stride
        self.layout = layout
    }
}

/// Writes polled or decoded `sk_message`s as one Python pickle (see `sk_client_poll_pickle` in streamkit_python.h
/// for the objects it describes), so that CPython builds every message object in C with one `Unpickler.load()` per
/// batch.
///
/// Only protocol 2 to 4 opcodes (PEP 307, PEP 3154), read by every Python 3: no globals, no code, nothing but
/// tuples, lists, dicts, numbers, text, bytes and `None`. The four classes the objects are made of are named by
/// persistent IDs the reader resolves (`persistent_load`): 0 the message class, 1 the event class, 100 + channel the
/// payload class of a channel, 200 + channel its window class.
///
/// Texts are written as the UTF-8 the frame carried. The decoder refuses invalid UTF-8, so this is a guard only: an
/// invalid sequence would be replaced with U+FFFD, as Python would refuse the whole pickle otherwise. The buffer is
/// reused: one allocation only when a batch is larger than any before.
final class PickleWriter {
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var count = 0
    /// Memo slots of the values written once per batch (classes, channel names, params keys), -1 until written.
    private var constants = [Int32](repeating: -1, count: Constant.count)
    private var nextSlot: UInt32 = 0

    init(capacity: Int = 1 << 16) {
        self.capacity = capacity
        self.buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { self.buffer.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: self.buffer, count: self.count) }

    /// Writes `messages` as `(items, fatal)`: `items` the list of message and event objects in order, `fatal` the last
    /// fatal event among them (the same object) or `None`. The messages' views must still be valid.
    func write(_ messages: UnsafePointer<sk_message>, count n: Int) {
        self.write(count: n, message: { messages + $0 }, times: nil)
    }

    /// Writes a capture reader's records as `write` writes messages, each with its times: a data message's receive
    /// time (ns since the Unix epoch) as its item 7; an event's time, gap start and gap end as its items 9 to 11
    /// (None where 0).
    func write(records: UnsafeBufferPointer<sk_capture_record>) {
        let base = records.baseAddress!
        let offset = MemoryLayout<sk_capture_record>.offset(of: \sk_capture_record.message)!
        self.write(
            count: records.count,
            message: { (UnsafeRawPointer(base + $0) + offset).assumingMemoryBound(to: sk_message.self) },
            times: { (base[$0].received_ns, base[$0].gap_from_ns, base[$0].gap_to_ns) })
    }

    private func write(count n: Int, message: (Int) -> UnsafePointer<sk_message>, times: ((Int) -> (Int64, Int64, Int64))?) {
        self.count = 0
        self.nextSlot = 0
        for i in self.constants.indices { self.constants[i] = -1 }
        // PROTO 4, then one FRAME holding everything (its length patched at the end): the unpickler reads it at once.
        self.op(0x80, 4, 0x95)
        let frameLength = self.count
        self.le64(0)  // patched below
        self.op(0x5D, 0x28)  // EMPTY_LIST, MARK
        var fatal: UInt32?
        for i in 0..<n {
            let m = message(i)
            let t = times?(i)
            switch m.pointee.kind {
            case Int32(SK_MESSAGE_DATA.rawValue):
                self.data(m, received: t?.0)
            case Int32(SK_MESSAGE_EVENT.rawValue):
                self.event(m, times: t)
                if m.pointee.event == Int32(SK_EVENT_FATAL.rawValue) {
                    fatal = self.nextSlot
                    self.put()
                }
            default:
                self.none()
            }
        }
        self.op(0x65)  // APPENDS
        if let fatal { self.get(fatal) } else { self.op(0x4E) }
        self.op(0x86, 0x2E)  // TUPLE2, STOP
        self.buffer.storeBytes(of: UInt64(self.count - frameLength - 8).littleEndian, toByteOffset: frameLength, as: UInt64.self)
    }

    // MARK: Objects

    /// A message object: channel (None for a channel this version lacks), params, ts, payload, raw, connection,
    /// subscriptions (a list of params dicts: every subscription the message belongs to), receive time (ns since
    /// the Unix epoch; None when unknown: live messages, for now).
    private func data(_ m: UnsafePointer<sk_message>, received: Int64?) {
        self.constant(.messageClass)
        self.op(0x28)  // MARK
        let channel = Int(m.pointee.channel.rawValue)
        let layout = channel < cPayloadLayouts.count ? cPayloadLayouts[channel] : nil
        if layout != nil { self.constant(.channelName(channel)) } else { self.none() }
        self.params(m.pointee.subscription)
        if m.pointee.has_ts != 0 { self.int(m.pointee.ts) } else { self.none() }
        let raw = m.pointee.raw
        if let layout {
            let payload = UnsafeRawPointer(m) + Self.dataOffset
            self.get(self.payload(payload, layout, channel: channel, raw: raw, window: nil))
        } else {
            self.none()
            self.bytes(raw)
        }
        self.int(Int64(m.pointee.connection))
        self.op(0x5D)  // EMPTY_LIST
        let count = min(Int(m.pointee.subscription_count), Int(SK_MAX_SUBSCRIPTIONS))
        if count > 0 {
            self.op(0x28)  // MARK
            withUnsafeBytes(of: m.pointee.subscriptions) { raw in
                let views = raw.bindMemory(to: sk_subscription_view.self)
                for i in 0..<count { self.params(views[i]) }
            }
            self.op(0x65)  // APPENDS
        }
        if let received { self.int(received) } else { self.none() }
        self.op(0x74, 0x85, 0x81)  // TUPLE, TUPLE1, NEWOBJ
    }

    private static let dataOffset = MemoryLayout<sk_message>.offset(of: \sk_message.data)!

    /// A payload (or window) object: its fields (None when absent, null or mistyped), the mistyped, present and null
    /// masks, the unknown keys count, the frame's bytes, then the windows dict (None for payloads without windows) or
    /// the window's name (windows). The last six items keep their places from the end when a later version appends
    /// fields.
    /// Returns the memo slot of the frame's bytes: written by the payload, referred to by its windows (`window` names
    /// the window and that slot).
    @discardableResult
    private func payload(
        _ p: UnsafeRawPointer, _ layout: CStructLayout, channel: Int, raw: sk_str,
        window: (name: StaticString, rawSlot: UInt32)?
    ) -> UInt32 {
        self.constant(window == nil ? .payloadClass(channel) : .windowClass(channel))
        self.op(0x28)
        let present = p.loadUnaligned(as: UInt64.self)
        let nulls = p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let mistyped = p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        for (bit, field) in layout.fields.enumerated() {
            let mask: UInt64 = 1 << UInt64(bit)
            guard present & mask != 0, nulls & mask == 0 else {
                self.none()
                continue
            }
            switch field.kind {
            case .int: self.int(p.loadUnaligned(fromByteOffset: field.offset, as: Int64.self))
            case .double: self.double(p.loadUnaligned(fromByteOffset: field.offset, as: Double.self))
            case .bool: self.op(p.loadUnaligned(fromByteOffset: field.offset, as: Int32.self) != 0 ? 0x88 : 0x89)
            case .text: self.text(p.loadUnaligned(fromByteOffset: field.offset, as: sk_str.self))
            }
        }
        self.uint(mistyped)
        self.uint(present)
        self.uint(nulls)
        self.int(Int64(p.loadUnaligned(fromByteOffset: layout.unknownKeys, as: Int32.self)))
        let rawSlot: UInt32
        if let window {
            rawSlot = window.rawSlot
            self.get(rawSlot)
            self.text(window.name)
        } else {
            rawSlot = self.nextSlot
            self.bytes(raw)
            self.put()
            if let w = layout.windows {
                let present = p.loadUnaligned(fromByteOffset: w.present, as: UInt32.self)
                let nulls = p.loadUnaligned(fromByteOffset: w.nulls, as: UInt32.self)
                self.op(0x7D, 0x28)  // EMPTY_DICT, MARK
                for (i, name) in w.names.enumerated() where present & (1 << UInt32(i)) != 0 && nulls & (1 << UInt32(i)) == 0 {
                    self.text(name)
                    self.payload(p + w.base + i * w.stride, w.layout, channel: channel, raw: raw, window: (name, rawSlot))
                }
                self.op(0x75)  // SETITEMS
            } else {
                self.none()
            }
        }
        self.op(0x74, 0x85, 0x81)
        return rawSlot
    }

    /// An event object: kind, connection, params (None when about no subscription), attempt, delay (s), gap (s),
    /// count, code, text; then its time, gap start and gap end (ns since the Unix epoch; None when unknown: live
    /// events, for now).
    private func event(_ p: UnsafePointer<sk_message>, times: (Int64, Int64, Int64)?) {
        let m = p.pointee  // events are rare: the copy does not matter
        self.constant(.eventClass)
        self.op(0x28)
        let names = skEventNames
        if m.event > 0 && Int(m.event) < names.count {
            self.text(names[Int(m.event)])
        } else {
            self.text("event \(m.event)")
        }
        self.int(Int64(m.connection))
        if m.subscription.channel.rawValue != 0 { self.params(m.subscription) } else { self.none() }
        self.int(Int64(m.attempt))
        self.double(Double(m.delay_ms) / 1000)
        self.double(Double(m.gap_ms) / 1000)
        self.int(m.count)
        self.int(Int64(m.code))
        self.text(m.text)
        for v in [times?.0, times?.1, times?.2] {
            if let v, v != 0 { self.int(v) } else { self.none() }
        }
        self.int(Int64(m.reason))
        self.op(0x74, 0x85, 0x81)
    }

    /// The subscription's params as the server echoes them: `{"crypto_ids": id}` for prices; `platform_id`, the
    /// target (`address`, `pool_address` or `wallet_address`) and `interval` where set for the on-chain channels.
    private func params(_ s: sk_subscription_view) {
        self.op(0x7D)  // EMPTY_DICT
        switch s.channel {
        case SK_CHANNEL_UNKNOWN:
            return
        case SK_CHANNEL_CRYPTO_LATEST_PRICE:
            self.constant(.key(0))
            self.int(s.crypto_id)
            self.op(0x73)  // SETITEM
        default:
            self.op(0x28)
            self.constant(.key(1))
            self.int(s.platform_id)
            self.constant(.key(s.channel == SK_CHANNEL_POOL_METRIC ? 3 : s.channel == SK_CHANNEL_HOLDER_WALLET_UPDATE ? 4 : 2))
            if s.address.len > 0 { self.text(s.address) } else { self.none() }
            if s.interval.len > 0 {
                self.constant(.key(5))
                self.text(s.interval)
            }
            self.op(0x75)
        }
    }

    // MARK: Values written once per batch

    private enum Constant {
        case messageClass, eventClass, payloadClass(Int), windowClass(Int), channelName(Int), key(Int)

        static let channels = cPayloadLayouts.count
        static let keys: [StaticString] = ["crypto_ids", "platform_id", "address", "pool_address", "wallet_address", "interval"]
        static let count = 2 + 3 * channels + keys.count

        var index: Int {
            switch self {
            case .messageClass: 0
            case .eventClass: 1
            case .payloadClass(let c): 2 + c
            case .windowClass(let c): 2 + Self.channels + c
            case .channelName(let c): 2 + 2 * Self.channels + c
            case .key(let k): 2 + 3 * Self.channels + k
            }
        }
    }

    private func constant(_ c: Constant) {
        let i = c.index
        if self.constants[i] >= 0 {
            self.get(UInt32(self.constants[i]))
            return
        }
        switch c {
        case .messageClass: self.persistent(0)
        case .eventClass: self.persistent(1)
        case .payloadClass(let ch): self.persistent(100 + ch)
        case .windowClass(let ch): self.persistent(200 + ch)
        case .channelName(let ch): self.text(channelName(ch))
        case .key(let k): self.text(Constant.keys[k])
        }
        self.constants[i] = Int32(self.nextSlot)
        self.put()
    }

    private func persistent(_ id: Int) {
        self.int(Int64(id))
        self.op(0x51)  // BINPERSID
    }

    private func channelName(_ ch: Int) -> String {
        Channel(cChannel: sk_channel(rawValue: UInt32(ch)))?.rawValue ?? ""
    }

    // MARK: Opcodes

    @inline(__always)
    private func reserve(_ n: Int) {
        if self.count + n > self.capacity { self.grow(self.count + n) }
    }

    private func grow(_ needed: Int) {
        var capacity = self.capacity * 2
        while capacity < needed { capacity *= 2 }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        buffer.copyMemory(from: self.buffer, byteCount: self.count)
        self.buffer.deallocate()
        self.buffer = buffer
        self.capacity = capacity
    }

    @inline(__always)
    private func op(_ a: UInt8) {
        self.reserve(1)
        self.buffer.storeBytes(of: a, toByteOffset: self.count, as: UInt8.self)
        self.count += 1
    }

    @inline(__always)
    private func op(_ a: UInt8, _ b: UInt8) {
        self.reserve(2)
        self.buffer.storeBytes(of: a, toByteOffset: self.count, as: UInt8.self)
        self.buffer.storeBytes(of: b, toByteOffset: self.count + 1, as: UInt8.self)
        self.count += 2
    }

    @inline(__always)
    private func op(_ a: UInt8, _ b: UInt8, _ c: UInt8) {
        self.reserve(3)
        self.buffer.storeBytes(of: a, toByteOffset: self.count, as: UInt8.self)
        self.buffer.storeBytes(of: b, toByteOffset: self.count + 1, as: UInt8.self)
        self.buffer.storeBytes(of: c, toByteOffset: self.count + 2, as: UInt8.self)
        self.count += 3
    }

    @inline(__always)
    private func le32(_ v: UInt32) {
        self.reserve(4)
        self.buffer.storeBytes(of: v.littleEndian, toByteOffset: self.count, as: UInt32.self)
        self.count += 4
    }

    @inline(__always)
    private func le64(_ v: UInt64) {
        self.reserve(8)
        self.buffer.storeBytes(of: v.littleEndian, toByteOffset: self.count, as: UInt64.self)
        self.count += 8
    }

    private func none() { self.op(0x4E) }

    /// BININT1, BININT or LONG1 (8 bytes, two's complement).
    private func int(_ v: Int64) {
        if v >= 0 && v < 256 {
            self.op(0x4B, UInt8(v))
        } else if v >= Int64(Int32.min) && v <= Int64(Int32.max) {
            self.op(0x4A)
            self.le32(UInt32(bitPattern: Int32(v)))
        } else {
            self.op(0x8A, 8)
            self.le64(UInt64(bitPattern: v))
        }
    }

    /// An unsigned 64-bit mask: LONG1 with a ninth, zero byte when the top bit is set.
    private func uint(_ v: UInt64) {
        if v <= UInt64(Int64.max) {
            self.int(Int64(v))
        } else {
            self.op(0x8A, 9)
            self.le64(v)
            self.op(0)
        }
    }

    /// BINFLOAT: the double's bits, big-endian.
    private func double(_ v: Double) {
        self.op(0x47)
        self.reserve(8)
        self.buffer.storeBytes(of: v.bitPattern.bigEndian, toByteOffset: self.count, as: UInt64.self)
        self.count += 8
    }

    /// SHORT_BINBYTES, BINBYTES or BINBYTES8.
    private func bytes(_ s: sk_str) {
        let n = s.ptr == nil ? 0 : s.len
        self.lengthPrefix(n, short: 0x43, long: 0x42, long8: 0x8E)
        self.copy(UnsafeRawPointer(s.ptr), n)
    }

    /// A text, from bytes that should be UTF-8.
    private func text(_ s: sk_str) {
        let n = s.ptr == nil ? 0 : s.len
        let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(s.ptr), count: n)
        var ascii = true
        for b in bytes where b >= 0x80 {
            ascii = false
            break
        }
        if ascii || String(validating: bytes, as: UTF8.self) != nil {
            self.textHeader(n)
            self.copy(bytes.baseAddress, n)
        } else {
            self.text(String(decoding: bytes, as: UTF8.self))
        }
    }

    private func text(_ s: StaticString) {
        self.textHeader(s.utf8CodeUnitCount)
        self.copy(UnsafeRawPointer(s.utf8Start), s.utf8CodeUnitCount)
    }

    private func text(_ s: String) {
        var s = s
        s.withUTF8 { u in
            self.textHeader(u.count)
            self.copy(UnsafeRawPointer(u.baseAddress), u.count)
        }
    }

    /// SHORT_BINUNICODE, BINUNICODE or BINUNICODE8.
    private func textHeader(_ n: Int) {
        self.lengthPrefix(n, short: 0x8C, long: 0x58, long8: 0x8D)
    }

    /// A length-prefixed opcode in its form for `n`: a 1-byte, 4-byte or 8-byte length.
    private func lengthPrefix(_ n: Int, short: UInt8, long: UInt8, long8: UInt8) {
        if n < 256 {
            self.op(short, UInt8(n))
        } else if n <= Int(UInt32.max) {
            self.op(long)
            self.le32(UInt32(n))
        } else {
            self.op(long8)
            self.le64(UInt64(n))
        }
    }

    private func copy(_ p: UnsafeRawPointer?, _ n: Int) {
        guard n > 0, let p else { return }
        self.reserve(n)
        (self.buffer + self.count).copyMemory(from: p, byteCount: n)
        self.count += n
    }

    /// LONG_BINPUT of the next memo slot.
    private func put() {
        self.op(0x72)
        self.le32(self.nextSlot)
        self.nextSlot += 1
    }

    /// BINGET or LONG_BINGET.
    private func get(_ slot: UInt32) {
        if slot < 256 { self.op(0x68, UInt8(slot)) } else {
            self.op(0x6A)
            self.le32(slot)
        }
    }
}
