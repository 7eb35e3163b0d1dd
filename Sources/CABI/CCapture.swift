// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// sk_capture: reading captures (streamkit record's files) as the client delivered them, through CaptureMessages.

public import CStreamKit
import StreamKit
import StreamKitCapture

final class CCapture: @unchecked Sendable {
    let messages: CaptureMessages
    let arena = Arena()
    let errors = ErrorMessages()
    /// sk_capture_next_pickle's batch.
    var batch: [sk_capture_record] = []
    let pickle = PickleWriter()
    var done = false
    /// sk_capture_next_pickle: the failure that ended a batch which had records, returned by the next call.
    var pendingFailure: sk_status?

    init(_ messages: CaptureMessages) { self.messages = messages }

    /// The next record into `out` (views valid until the next call); false at the end.
    func next(_ out: inout sk_capture_record, keep: ((UnsafeRawBufferPointer) -> UnsafeRawBufferPointer)? = nil) throws(CaptureError) -> Bool {
        while let item = try self.messages.next() {
            out = sk_capture_record()
            switch item {
            case .message(let t, let c, let frame, let bytes, let subscriptions):
                let raw = keep?(bytes) ?? bytes
                fillDecoded(&out.message, frame, self.arena, raw)
                out.message.connection = Int32(clamping: c)
                out.received_ns = t
                if !subscriptions.isEmpty {
                    out.message.subscription = subscriptionView(subscriptions[0], self.arena)
                    let n = min(subscriptions.count, Int(SK_MAX_SUBSCRIPTIONS))
                    out.message.subscription_count = Int32(n)
                    withUnsafeMutableBytes(of: &out.message.subscriptions) { raw in
                        let views = raw.bindMemory(to: sk_subscription_view.self)
                        for i in 0..<n { views[i] = i == 0 ? out.message.subscription : subscriptionView(subscriptions[i], self.arena) }
                    }
                }
                return true
            case .event(let e):
                self.fill(&out, e)
                return true
            case .truncated(let path, let offset, let detail):
                out.message.kind = Int32(SK_MESSAGE_EVENT.rawValue)
                out.message.event = Int32(SK_EVENT_TRUNCATED.rawValue)
                out.message.count = Int64(offset)
                out.message.text = self.arena.copy("\(path): \(detail) (read up to byte \(offset) of its NDJSON)")
                return true
            case .header:
                continue
            }
        }
        return false
    }

    private func fill(_ out: inout sk_capture_record, _ e: CaptureEvent) {
        out.received_ns = e.time
        out.gap_from_ns = e.from ?? 0
        out.gap_to_ns = e.to ?? 0
        var m = sk_message()
        m.kind = Int32(SK_MESSAGE_EVENT.rawValue)
        m.connection = Int32(clamping: e.connection)
        // A kind this version lacks reads as SK_EVENT_NONE with its name in the text.
        m.event = skEventsByName[e.kind.rawValue] ?? Int32(SK_EVENT_NONE.rawValue)
        if let s = e.subscription { m.subscription = subscriptionView(s, self.arena) }
        m.attempt = Int32(clamping: e.attempt ?? 0)
        m.delay_ms = e.delayMS ?? 0
        if e.kind == .gap, let from = e.from, let to = e.to { m.gap_ms = (to - from) / 1_000_000 }
        m.count = Int64(e.count ?? 0)
        m.code = Int32(clamping: e.code ?? 0)
        let text = m.event == Int32(SK_EVENT_NONE.rawValue) ? "\(e.kind)" + (e.text.map { ": \($0)" } ?? "") : e.text
        if let text { m.text = self.arena.copy(text) }
        out.message = m
    }

}

func captureStatus(_ e: CaptureError) -> sk_status {
    switch e {
    case .io, .compression: SK_IO
    case .invalidArgument: SK_INVALID_ARGUMENT
    }
}

@_cdecl("sk_capture_open")
public func skCaptureOpen(_ paths: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> sk_status {
    guard let out else { return openFailure("sk_capture_open: out is NULL", SK_MISUSE) }
    out.pointee = nil
    guard let paths, count > 0 else { return openFailure("sk_capture_open: no paths given", SK_INVALID_ARGUMENT) }
    var list: [String] = []
    for i in 0..<count {
        guard let p = paths[i] else { return openFailure("sk_capture_open: paths[\(i)] is NULL", SK_MISUSE) }
        list.append(String(cString: p))
    }
    do {
        out.pointee = HandleRegistry.shared.register(CCapture(try CaptureMessages(list)))
        return SK_OK
    } catch {
        return openFailure("\(error)", captureStatus(error))
    }
}

/// Why the last sk_capture_open failed, in any thread (sk_capture_errmsg(NULL) reads it).
private let openErrors = ErrorMessages()

private func openFailure(_ message: String, _ status: sk_status) -> sk_status {
    openErrors.set(message)
    return status
}

@_cdecl("sk_capture_errmsg")
public func skCaptureErrmsg(_ handle: OpaquePointer?) -> UnsafePointer<CChar> {
    guard let handle else { return openErrors.current ?? staticCString(noError) }
    guard let c = HandleRegistry.shared.lookup(handle, as: CCapture.self) else { return staticCString(invalidHandle) }
    return c.errors.current ?? staticCString(noError)
}

@_cdecl("sk_capture_next")
public func skCaptureNext(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<sk_capture_record>?) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CCapture.self) else { return SK_MISUSE }
    guard let out else {
        c.errors.set("sk_capture_next: out must not be NULL")
        return SK_MISUSE
    }
    c.arena.reset()
    out.pointee = sk_capture_record()
    if c.done { return SK_STOPPED }
    do {
        if try c.next(&out.pointee) { return SK_OK }
        c.done = true
        return SK_STOPPED
    } catch {
        c.done = true
        c.errors.set("\(error)")
        return captureStatus(error)
    }
}

@_cdecl("sk_capture_next_pickle")
public func skCaptureNextPickle(
    _ handle: OpaquePointer?, _ max: Int, _ pickle: UnsafeMutablePointer<UnsafeRawPointer?>?,
    _ length: UnsafeMutablePointer<Int>?, _ count: UnsafeMutablePointer<Int>?
) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CCapture.self) else { return SK_MISUSE }
    guard let pickle, let length, let count else {
        c.errors.set("sk_capture_next_pickle: pickle, length and count must not be NULL")
        return SK_MISUSE
    }
    pickle.pointee = nil
    length.pointee = 0
    count.pointee = 0
    guard (1...65536).contains(max) else {
        c.errors.set("sk_capture_next_pickle: max must be 1...65536, not \(max)")
        return SK_INVALID_ARGUMENT
    }
    c.arena.reset()
    if let failure = c.pendingFailure {
        c.pendingFailure = nil
        return failure
    }
    if c.done { return SK_STOPPED }
    c.batch.removeAll(keepingCapacity: true)
    // Each frame is copied into the arena (the reader reuses its buffer for the next record), and the message's
    // views point into the copy, valid until the next call.
    var status = SK_OK
    var record = sk_capture_record()
    let arena = c.arena
    do {
        while c.batch.count < max {
            let more = try c.next(&record) { bytes in
                let copy = arena.copy(bytes)
                return UnsafeRawBufferPointer(start: copy.ptr, count: copy.len)
            }
            guard more else {
                c.done = true
                break
            }
            c.batch.append(record)
        }
    } catch {
        c.done = true
        c.errors.set("\(error)")
        status = captureStatus(error)
    }
    if c.batch.isEmpty { return status == SK_OK ? SK_STOPPED : status }
    // The records read before a failure come first; the failure is the next call's status, not lost.
    if status != SK_OK { c.pendingFailure = status }
    c.batch.withUnsafeBufferPointer { records in c.pickle.write(records: records) }
    pickle.pointee = c.pickle.bytes.baseAddress
    length.pointee = c.pickle.count
    count.pointee = c.batch.count
    return SK_OK
}

@_cdecl("sk_capture_free")
public func skCaptureFree(_ handle: OpaquePointer?) {
    guard let c = HandleRegistry.shared.unregister(handle, as: CCapture.self) else { return }
    HandleRegistry.release(c)
}
