// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import CStreamKit
import NIOConcurrencyHelpers
import StreamKit
import StreamKitClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Blocking on async work

/// Runs async work and waits for it on the calling thread (C callers have no event loop or task to await on).
final class Waiter<T: Sendable>: @unchecked Sendable {
    private let cond = ConditionLock<Int>(value: 0)
    private var result: T?

    static func run(timeoutMS: Int32, _ body: @escaping @Sendable () async -> T) -> T? {
        let w = Waiter<T>()
        Task.detached {
            let r = await body()
            w.cond.lock()
            w.result = r
            w.cond.unlock(withValue: 1)
        }
        if timeoutMS < 0 {
            w.cond.lock(whenValue: 1)
        } else if !w.cond.lock(whenValue: 1, timeoutSeconds: Double(timeoutMS) / 1000) {
            return nil
        }
        let r = w.result
        w.cond.unlock()
        return r
    }
}

// MARK: - Text storage for one batch of messages

/// Memory for the text a batch of C messages points at when it is not in a frame's bytes (escaped strings,
/// subscription addresses, event descriptions). Chunks are never moved, so views stay valid until `reset`.
final class Arena {
    private var chunks: [UnsafeMutableRawPointer] = []
    private var sizes: [Int] = []
    private var used = 0

    func copy(_ text: String) -> sk_str {
        var text = text
        return text.withUTF8 { self.copy(UnsafeRawBufferPointer($0)) }
    }

    func copy(_ bytes: UnsafeRawBufferPointer) -> sk_str {
        let n = bytes.count
        guard n > 0, let src = bytes.baseAddress else { return sk_str(ptr: staticCString(""), len: 0) }
        if self.chunks.isEmpty || self.used + n > self.sizes[self.chunks.count - 1] {
            let size = max(64 << 10, n)
            self.chunks.append(UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8))
            self.sizes.append(size)
            self.used = 0
        }
        let dst = self.chunks[self.chunks.count - 1] + self.used
        dst.copyMemory(from: src, byteCount: n)
        self.used += n
        return sk_str(ptr: dst.assumingMemoryBound(to: CChar.self), len: n)
    }

    /// A text slice of a frame as a C view: in place in `bytes` when it has no escapes; otherwise its decoded text,
    /// copied here, and `outside` set to 1 (`sk_message.text_outside_raw`).
    func view(_ slice: TextSlice, in bytes: UnsafeRawBufferPointer, outside: inout Int32) -> sk_str {
        if slice.hasEscapes {
            outside = 1
            return self.copy(slice.string(in: bytes))
        }
        let base = bytes.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) } ?? staticCString("")
        return sk_str(ptr: base + slice.offset, len: slice.count)
    }

    /// Forgets everything; keeps the first chunk for the next batch.
    func reset() {
        while self.chunks.count > 1 {
            self.chunks.removeLast().deallocate()
            self.sizes.removeLast()
        }
        self.used = 0
    }

    deinit {
        for c in self.chunks { c.deallocate() }
    }
}

/// The block a poll copies its data messages' frames into, back to back (grown as needed, reused by the next
/// poll).
final class FrameBlock {
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0
    private var used = 0

    /// Empties the block, with room for `count` bytes (plus padding for word-at-a-time readers). The copies handed
    /// out before are invalid from here on.
    func reset(reserving count: Int) {
        self.used = 0
        let needed = count + 16
        guard needed > self.capacity else { return }
        self.base?.deallocate()
        self.capacity = Swift.max(needed, 2 * self.capacity, 64 << 10)
        self.base = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    /// Copies `bytes` right after the previous copy (within the reserved room) and returns the copy. An empty
    /// frame still gets its place, so the frames stay back to back.
    func append(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard let base = self.base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        precondition(self.used + bytes.count <= self.capacity, "FrameBlock.append: beyond the reserved room")
        if let src = bytes.baseAddress, bytes.count > 0 {
            (base + self.used).copyMemory(from: src, byteCount: bytes.count)
        }
        defer { self.used += bytes.count }
        return UnsafeRawBufferPointer(start: base + self.used, count: bytes.count)
    }

    deinit { self.base?.deallocate() }
}

// MARK: - Client

final class CClient: @unchecked Sendable {
    let client: StreamClient
    let errors = ErrorMessages()
    private let lock = NIOLock()
    // Guarded by `lock`.
    private var started = false
    private var stopped = false
    private var callback: sk_message_fn?
    private var user: UnsafeMutableRawPointer?
    private var thread: pthread_t?
    private var stopDelivery = false
    private var freeAfterCallback = false
    // Owned by the polling thread (one at a time) or the delivery thread.
    private var batch: [StreamEvent] = []
    private let arena = Arena()
    private let frames = FrameBlock()
    private var polling = false  // guarded by `lock`
    // sk_client_poll_pickle's batch and pickle, owned by the polling thread.
    private var pickleBatch: [sk_message] = []
    private let pickle = PickleWriter()

    init(client: StreamClient) {
        self.client = client
    }

    func fail(_ status: sk_status, _ message: String) -> sk_status {
        self.errors.set(message)
        return status
    }

    func setCallback(_ fn: sk_message_fn?, _ user: UnsafeMutableRawPointer?) -> sk_status {
        guard let fn else { return self.fail(SK_MISUSE, "sk_client_set_callback: fn is NULL") }
        return self.lock.withLock {
            guard !self.started else { return self.fail(SK_MISUSE, "sk_client_set_callback: the client has started") }
            self.callback = fn
            self.user = user
            return SK_OK
        }
    }

    func start() -> sk_status {
        let (status, fn) = self.lock.withLock { () -> (sk_status, sk_message_fn?) in
            if self.stopped { return (self.fail(SK_MISUSE, "sk_client_start: the client has stopped"), nil) }
            if self.started { return (self.fail(SK_MISUSE, "sk_client_start: already started"), nil) }
            self.started = true
            return (SK_OK, self.callback)
        }
        guard status == SK_OK else { return status }
        if fn != nil {
            var t = pthread_t()
            let me = Unmanaged.passRetained(self).toOpaque()
            let rc = pthread_create(&t, nil, { arg in
                let c = Unmanaged<CClient>.fromOpaque(arg!).takeRetainedValue()
                c.deliver()
                return nil
            }, me)
            guard rc == 0 else {
                Unmanaged<CClient>.fromOpaque(me).release()
                return self.fail(SK_INTERNAL, "could not start the delivery thread (error \(rc))")
            }
            self.lock.withLock { self.thread = t }
        }
        self.client.start()
        return SK_OK
    }

    var isDeliveryThread: Bool {
        self.lock.withLock { self.thread.map { pthread_equal($0, pthread_self()) != 0 } ?? false }
    }

    /// The delivery thread: takes batches and calls the callback for each message, until stopped.
    private func deliver() {
        var message = sk_message()
        var events: [StreamEvent] = []
        events.reserveCapacity(64)
        while true {
            events.removeAll(keepingCapacity: true)
            let done = self.client.take(max: 64, timeout: .milliseconds(100), into: &events)
            for e in events {
                let (fn, user, stop) = self.lock.withLock { (self.callback, self.user, self.stopDelivery) }
                if stop { break }
                guard let fn else { break }
                self.arena.reset()
                self.fill(&message, e)
                withUnsafePointer(to: &message) { fn($0, user) }
            }
            let (stop, freeNow) = self.lock.withLock { (self.stopDelivery, self.freeAfterCallback) }
            if stop || done {
                if freeNow {
                    // sk_client_free was called from the callback: finish it here.
                    _ = Waiter<Void>.run(timeoutMS: -1) { await self.client.stop() }
                    HandleRegistry.release(self)
                }
                return
            }
        }
    }

    /// Stops; from the delivery thread, asks it to end after the current callback.
    func stop() -> sk_status {
        let onDeliveryThread = self.isDeliveryThread
        let thread: pthread_t? = self.lock.withLock {
            self.stopped = true
            self.stopDelivery = true
            let t = onDeliveryThread ? nil : self.thread
            if !onDeliveryThread { self.thread = nil }
            return t
        }
        if onDeliveryThread {
            let client = self.client
            Task.detached { await client.stop() }
            return SK_OK
        }
        _ = Waiter<Void>.run(timeoutMS: -1) { await self.client.stop() }
        if let thread { pthread_join(thread, nil) }
        return SK_OK
    }

    /// Frees: from the delivery thread, the thread releases the client once the callback returns.
    func free() {
        if self.isDeliveryThread {
            self.lock.withLock {
                self.stopped = true
                self.stopDelivery = true
                self.freeAfterCallback = true
            }
            return
        }
        _ = self.stop()
        HandleRegistry.release(self)
    }

    func poll(_ out: UnsafeMutablePointer<sk_message>, max: Int, count: UnsafeMutablePointer<Int>, timeoutMS: Int32) -> sk_status {
        if let refused = self.beginPolling("sk_client_poll") { return refused }
        defer { self.lock.withLock { self.polling = false } }
        return self.take(out, max: max, count: count, timeoutMS: timeoutMS)
    }

    /// sk_client_poll_pickle: a poll into the client's own batch, written as one pickle (valid until the next poll).
    func pollPickle(max: Int, timeoutMS: Int32, count: UnsafeMutablePointer<Int>) -> (sk_status, UnsafeRawBufferPointer) {
        if let refused = self.beginPolling("sk_client_poll_pickle") { return (refused, UnsafeRawBufferPointer(start: nil, count: 0)) }
        defer { self.lock.withLock { self.polling = false } }
        if max > self.pickleBatch.count { self.pickleBatch = Array(repeating: sk_message(), count: max) }
        let status = self.pickleBatch.withUnsafeMutableBufferPointer { batch in
            let status = self.take(batch.baseAddress!, max: max, count: count, timeoutMS: timeoutMS)
            if status == SK_OK { self.pickle.write(batch.baseAddress!, count: count.pointee) }
            return status
        }
        return (status, status == SK_OK ? self.pickle.bytes : UnsafeRawBufferPointer(start: nil, count: 0))
    }

    /// Marks this thread as the one polling; the refusal's status when a callback delivers or another thread polls.
    private func beginPolling(_ function: String) -> sk_status? {
        if self.lock.withLock({ self.callback != nil }) {
            return self.fail(SK_MISUSE, "\(function): the client delivers to a callback")
        }
        let busy = self.lock.withLock { () -> Bool in
            if self.polling { return true }
            self.polling = true
            return false
        }
        return busy ? self.fail(SK_MISUSE, "\(function): another thread is polling this client") : nil
    }

    private func take(_ out: UnsafeMutablePointer<sk_message>, max: Int, count: UnsafeMutablePointer<Int>, timeoutMS: Int32) -> sk_status {
        // The previous batch's memory is reused only now.
        self.arena.reset()
        let done = self.client.take(max: max, timeout: timeoutMS < 0 ? nil : .milliseconds(Int64(timeoutMS)), into: &self.batch)
        // The data messages' frames go back to back into one block, so a binding copies a batch's frames at once.
        var total = 0
        for e in self.batch {
            if case .message(let m, _) = e { total += m.bytes.count }
        }
        self.frames.reset(reserving: total)
        let frames = self.frames
        for i in self.batch.indices {
            self.fill(&out[i], self.batch[i]) { frames.append($0) }  // fill starts from a zeroed message
        }
        count.pointee = self.batch.count
        let stopped = done && self.batch.isEmpty
        self.batch.removeAll(keepingCapacity: true)
        return stopped ? SK_STOPPED : SK_OK
    }

    // MARK: Filling C messages

    /// Fills a C message. A data message's views point into the bytes `place` returns for its frame: the frame
    /// itself for a callback (alive during the call), its copy in `frames` for a poll (until the next poll).
    private func fill(
        _ m: inout sk_message, _ event: StreamEvent,
        place: (UnsafeRawBufferPointer) -> UnsafeRawBufferPointer = { $0 }
    ) {
        m = sk_message()
        switch event {
        case .message(let message, let subscription):
            message.bytes.withUnsafeBytes { self.fillData(&m, message.frame, subscription, place($0)) }
            self.fillSubscriptions(&m, message.subscriptions.isEmpty ? SubscriptionMatches(subscription) : message.subscriptions)
        case .dropped(let s, let n):
            m.kind = Int32(SK_MESSAGE_EVENT.rawValue)
            m.event = Int32(SK_EVENT_DROPPED.rawValue)
            m.subscription = self.view(s)
            m.count = Int64(n)
            m.text = self.arena.copy("\(n) messages of \(s) dropped: the consumer fell behind")
        case .session(let e, let connection):
            m.kind = Int32(SK_MESSAGE_EVENT.rawValue)
            m.connection = Int32(clamping: connection)
            self.fill(&m, e)
        }
    }

    /// `subscription_count` and `subscriptions[]`: the first is `subscription`'s view, already made; the others are
    /// made here (only the second token of a swap between two subscribed tokens has one).
    private func fillSubscriptions(_ m: inout sk_message, _ matches: SubscriptionMatches) {
        let n = min(matches.count, Int(SK_MAX_SUBSCRIPTIONS))
        m.subscription_count = Int32(n)
        guard n > 0 else { return }
        let first = m.subscription
        withUnsafeMutableBytes(of: &m.subscriptions) { raw in
            let views = raw.bindMemory(to: sk_subscription_view.self)
            for i in 0..<n { views[i] = i == 0 && matches[0].channel.cChannel == first.channel ? first : self.view(matches[i]) }
        }
    }

    private func fillData(_ m: inout sk_message, _ frame: ServerFrame, _ subscription: Subscription?, _ bytes: UnsafeRawBufferPointer) {
        m.kind = Int32(SK_MESSAGE_DATA.rawValue)
        if let subscription { m.subscription = self.view(subscription) }
        let base = bytes.baseAddress.map { $0.assumingMemoryBound(to: CChar.self) } ?? staticCString("")
        m.raw = sk_str(ptr: base, len: bytes.count)
        guard case .data(let d) = frame else { return }
        if let ts = d.ts {
            m.has_ts = 1
            m.ts = ts
        }
        let arena = self.arena
        var outside: Int32 = 0
        m.channel = withUnsafeMutablePointer(to: &m.data) { out in
            fillCPayload(d.payload, into: out) { arena.view($0, in: bytes, outside: &outside) }
        }
        m.text_outside_raw = outside
    }

    private func fill(_ m: inout sk_message, _ e: SessionEvent) {
        func set(_ kind: sk_event, _ text: String? = nil) {
            m.event = Int32(kind.rawValue)
            if let text { m.text = self.arena.copy(text) }
        }
        switch e {
        case .connecting(let attempt):
            set(SK_EVENT_CONNECTING)
            m.attempt = Int32(clamping: attempt)
        case .connected:
            set(SK_EVENT_CONNECTED)
        case .welcome(let interval):
            set(SK_EVENT_WELCOME)
            m.delay_ms = interval.milliseconds
        case .subscribed(let s, let duplicate):
            set(SK_EVENT_SUBSCRIBED)
            m.subscription = self.view(s)
            m.code = duplicate ? 1 : 0
        case .unsubscribed(let s):
            set(SK_EVENT_UNSUBSCRIBED)
            m.subscription = self.view(s)
        case .subscriptionFailed(let s, let why):
            set(SK_EVENT_SUBSCRIPTION_FAILED, "\(why)")
            m.subscription = self.view(s)
        case .stale(let s, _):
            set(SK_EVENT_STALE)
            m.subscription = self.view(s)
        case .reconnecting(let attempt, let delay, let reason):
            set(SK_EVENT_RECONNECTING, "\(reason)")
            m.attempt = Int32(clamping: attempt)
            m.delay_ms = delay.milliseconds
            m.code = Self.code(of: reason)
        case .restored:
            set(SK_EVENT_RESTORED)
        case .gap(let s, let from, let to, let reason):
            set(SK_EVENT_GAP, "\(reason)")
            m.subscription = self.view(s)
            m.gap_ms = to.duration(since: from).milliseconds
        case .serverError(let code, let message, let detail):
            set(SK_EVENT_SERVER_ERROR, detail.isEmpty ? message : "\(message): \(detail)")
            m.code = code.map { Int32(clamping: $0.rawValue) } ?? 0
        case .fatal(let reason):
            set(SK_EVENT_FATAL, "\(reason)")
            m.code = Self.code(of: reason)
        case .stopped:
            set(SK_EVENT_STOPPED)
        }
    }

    /// The number a disconnect reason carries: the close code, or the HTTP status of a refused upgrade; else 0.
    private static func code(of reason: DisconnectReason) -> Int32 {
        switch reason {
        case .closedByServer(let code, _): Int32(code)
        case .refused(let status): Int32(clamping: status)
        case .transportError, .pongTimeout, .silent, .connectTimeout, .protocolError, .stopped: 0
        }
    }

    private func view(_ s: Subscription) -> sk_subscription_view { subscriptionView(s, self.arena) }
}

/// A subscription as a C view, its texts copied into `arena`.
func subscriptionView(_ s: Subscription, _ arena: Arena) -> sk_subscription_view {
    var v = sk_subscription_view()
    v.channel = s.channel.cChannel
    switch s.target {
    case .crypto(let id):
        v.crypto_id = id
    case .address(let platform, let address):
        v.platform_id = platform
        v.address = arena.copy(address)
    }
    if let interval = s.interval { v.interval = arena.copy(interval) }
    return v
}

extension Duration {
    var milliseconds: Int64 {
        let (s, atto) = self.components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
