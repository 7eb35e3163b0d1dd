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

/// Makes the C views of a frame's text slices (``Arena/view(_:in:outside:)``) for the payload fills, and records
/// whether any points outside the frame. A struct passed `inout` rather than a closure: a closure capturing the
/// arena retains and releases it around every fill.
struct CText {
    let bytes: UnsafeRawBufferPointer
    unowned(unsafe) let arena: Arena
    /// 1 once a text view points into the arena (`sk_message.text_outside_raw`).
    var outside: Int32 = 0

    init(_ bytes: UnsafeRawBufferPointer, _ arena: Arena) {
        self.bytes = bytes
        self.arena = arena
    }

    @inline(__always)
    mutating func callAsFunction(_ slice: TextSlice) -> sk_str {
        self.arena.view(slice, in: self.bytes, outside: &self.outside)
    }
}

// MARK: - Subscription views

/// C views of subscriptions, made once per subscription and kept, so that a message carries its subscriptions
/// without copying their addresses. Confined to one thread at a time (the client's event loop for a callback, the
/// polling thread for a poll). ``trim()``, called where no view handed out is valid any more (before a callback,
/// before a poll fills its batch), bounds it.
final class SubscriptionViews {
    private var cache: [Subscription: sk_subscription_view] = [:]
    private var strings: [UnsafeMutablePointer<CChar>] = []
    /// More distinct subscriptions than one client can hold at once (10 connections of 100): past it the views
    /// are made again, so a client cycling through subscriptions for days stays bounded.
    private static let limit = 4096

    /// Price subscriptions by channel and id, looked up without hashing (the hot channel; its target has no text).
    private var crypto: [(channel: Channel, id: Int64, view: sk_subscription_view)] = []

    /// The view of `s`. With `spill` (a cache never trimmed, as the poll's store keeps views in queued messages):
    /// past the limit, a new subscription's view is copied into `spill` instead of kept.
    func view(_ s: Subscription, spill: Arena? = nil) -> sk_subscription_view {
        if case .crypto(let id) = s.target, s.interval == nil {
            let channel = s.channel
            for i in self.crypto.indices where self.crypto[i].id == id && self.crypto[i].channel == channel {
                return self.crypto[i].view
            }
            let v = self.made(s, spill: spill)
            if self.crypto.count < 64 { self.crypto.append((channel, id, v)) }
            return v
        }
        return self.made(s, spill: spill)
    }

    private func made(_ s: Subscription, spill: Arena?) -> sk_subscription_view {
        if let v = self.cache[s] { return v }
        if let spill, self.cache.count >= Self.limit { return subscriptionView(s, spill) }
        let v = subscriptionView(s) { self.keep($0) }
        self.cache[s] = v
        return v
    }

    func trim() {
        guard self.cache.count > Self.limit else { return }
        self.cache.removeAll()
        self.crypto.removeAll()
        for p in self.strings { free(p) }
        self.strings.removeAll()
    }

    private func keep(_ text: String) -> sk_str {
        guard let p = strdup(text) else { return sk_str(ptr: staticCString(""), len: 0) }
        self.strings.append(p)
        return sk_str(ptr: p, len: strlen(p))
    }

    deinit {
        for p in self.strings { free(p) }
    }
}

// MARK: - Client

/// What the callback's handlers hold: strongly, as it holds neither the client nor the handlers (no cycle). A weak
/// reference to the client would cost a side-table retain and release on every message. Confined to the client's
/// event loop (every field is set and read there).
final class CallbackTarget: @unchecked Sendable {
    let filler: MessageFiller
    var fn: sk_message_fn?
    var user: UnsafeMutableRawPointer?
    /// False once sk_client_stop or sk_client_free was called: no callback after it returns.
    var delivering = true

    init(filler: MessageFiller) {
        self.filler = filler
    }

    /// A data push: filled straight from the frame decoded in place (views into the receive buffer) and handed to
    /// the callback.
    func deliver(_ view: MessageView) {
        guard self.delivering, let fn = self.fn else { return }
        let filler = self.filler
        filler.arena.reset()
        filler.views.trim()
        var m = sk_message()
        fillFrame(&m, view.framePointer, filler.arena, view.bytes)
        m.connection = Int32(clamping: view.connection)
        if let s = view.subscription { m.subscription = filler.views.view(s) }
        if view.subscriptions.count > 1 {
            filler.fillSubscriptions(&m, view.subscriptions)
        } else if view.subscription != nil {
            // The common case, without copying the matches: the one subscription, already made.
            m.subscription_count = 1
            m.subscriptions.0 = m.subscription
        }
        withUnsafePointer(to: &m) { fn($0, self.user) }
    }

    /// A session event, in order with the data.
    func deliver(_ event: SessionEvent, connection: Int) {
        guard self.delivering, let fn = self.fn else { return }
        self.filler.arena.reset()
        self.filler.views.trim()
        var m = sk_message()
        self.filler.fill(&m, .session(event, connection: connection))
        withUnsafePointer(to: &m) { fn($0, self.user) }
    }
}

/// One `sk_client`: a `StreamClient` delivering either to a C callback, on its event loop straight from the frame
/// decoded in place (as Swift's `onMessage`: nothing queued or copied), or to `sk_client_poll` through its queue.
final class CClient: @unchecked Sendable {
    let client: StreamClient
    let errors = ErrorMessages()
    private let lock = NIOLock()
    // Guarded by `lock`.
    private var started = false
    private var stopped = false
    private var callback: sk_message_fn?
    private var user: UnsafeMutableRawPointer?
    private var polling = false
    // Owned by the event loop (with a callback) or by the polling thread (one at a time): never both.
    private let filler = MessageFiller()
    private let target: CallbackTarget
    /// The poll's data messages, filled on the event loop.
    private let store = CPollStore()
    // The polling thread's: the items of the poll being filled, and the tokens of the last poll's data messages
    // (released when the next poll begins: their views are valid until then).
    private var batch: [DeliveryItem] = []
    private var held: [Int] = []
    // sk_client_poll_pickle's batch and pickle, owned by the polling thread.
    private var pickleBatch: [sk_message] = []
    private let pickle = PickleWriter()

    init(client: StreamClient) {
        self.client = client
        self.target = CallbackTarget(filler: self.filler)
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
        let (status, fn, user) = self.lock.withLock { () -> (sk_status, sk_message_fn?, UnsafeMutableRawPointer?) in
            if self.stopped { return (self.fail(SK_MISUSE, "sk_client_start: the client has stopped"), nil, nil) }
            if self.started { return (self.fail(SK_MISUSE, "sk_client_start: already started"), nil, nil) }
            self.started = true
            return (SK_OK, self.callback, self.user)
        }
        guard status == SK_OK else { return status }
        if let fn {
            // Every handler runs on the event loop, after these settings (the loop runs its tasks in order). A
            // freed client's late handler calls find `delivering` false.
            let target = self.target
            let userBits = UInt(bitPattern: user)
            self.client.onEventLoopAsync {
                target.fn = fn
                target.user = UnsafeMutableRawPointer(bitPattern: userBits)
            }
            self.client.deliverToHandlersOnly()
            self.client.onSessionEvent { event, connection, _ in target.deliver(event, connection: connection) }
            self.client.onMessage { view in target.deliver(view) }
        } else {
            let store = self.store
            self.client.deliverTokens(store: { store.store($0) }, discard: { store.discard($0) })
        }
        self.client.start()
        return SK_OK
    }

    /// Whether the caller is inside the callback (only the callback runs on the client's event loop).
    var isInCallback: Bool { self.client.isOnEventLoop }

    /// Stops. From the callback: at once, the client stopping once the callback returns (no callback after this
    /// one); from another thread: returns once the connections are closed, after the last callback.
    func stop() -> sk_status {
        self.lock.withLock { self.stopped = true }
        let client = self.client
        let target = self.target
        if self.isInCallback {
            target.delivering = false
            Task.detached { await client.stop() }
            return SK_OK
        }
        _ = Waiter<Void>.run(timeoutMS: -1) { await client.stop() }
        // No callback after this returns: one may still be running, or queued on the loop.
        client.onEventLoopAndWait { target.delivering = false }
        return SK_OK
    }

    /// Frees (the handle is already unregistered): from the callback, once it has returned and the client stopped.
    func free() {
        if self.isInCallback {
            self.lock.withLock { self.stopped = true }
            self.target.delivering = false
            let client = self.client
            Task.detached {
                await client.stop()
                HandleRegistry.release(self)
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
        self.store.release(self.held)
        self.held.removeAll(keepingCapacity: true)
        self.filler.arena.reset()
        self.filler.views.trim()
        // The data messages' frames lie back to back in a chunk of the store, in arrival order: a batch ends before
        // a frame that does not follow the previous one (another chunk; a message dropped or replaced between).
        let store = self.store
        var end: UnsafePointer<CChar>?
        let done = self.client.take(max: max, timeout: timeoutMS < 0 ? nil : .milliseconds(Int64(timeoutMS)), into: &self.batch) { token in
            let run = store.frameRun(token)
            guard end == nil || run.start == end else { return false }
            end = run.end
            return true
        }
        for i in self.batch.indices {
            switch self.batch[i] {
            case .token(let t):
                store.copy(t, into: out + i)
                self.held.append(t)
            case .event(let e):
                self.filler.fill(&out[i], e)
            }
        }
        count.pointee = self.batch.count
        let stopped = done && self.batch.isEmpty
        self.batch.removeAll(keepingCapacity: true)
        return stopped ? SK_STOPPED : SK_OK
    }

}

// MARK: - Filling C messages

/// The memory a client's C events point into, and their fill: the arena (escaped text, event descriptions) and the
/// subscription views.
final class MessageFiller {
    let arena = Arena()
    let views = SubscriptionViews()

    /// Fills a C message from an event. A poll's data messages come from ``CPollStore``, a callback's from the
    /// frame in place: an owned message is filled from a copy of its frame in the arena, for completeness.
    func fill(_ m: inout sk_message, _ event: StreamEvent) {
        m = sk_message()
        switch event {
        case .message(let message, let subscription):
            message.bytes.withUnsafeBytes { bytes in
                let copy = self.arena.copy(bytes)
                let raw = UnsafeRawBufferPointer(start: bytes.isEmpty ? nil : UnsafeRawPointer(copy.ptr), count: bytes.count)
                self.fillData(&m, message.frame, subscription, raw)
            }
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
    func fillSubscriptions(_ m: inout sk_message, _ matches: SubscriptionMatches) {
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
        var text = CText(bytes, self.arena)
        m.channel = withUnsafeMutablePointer(to: &m.data) { fillCPayload(d.payload, into: $0, text: &text) }
        m.text_outside_raw = text.outside
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
            m.reason = reason.number
        case .restored:
            set(SK_EVENT_RESTORED)
        case .gap(let s, let from, let to, let reason):
            set(SK_EVENT_GAP, "\(reason)")
            m.subscription = self.view(s)
            m.gap_ms = to.duration(since: from).milliseconds
            m.reason = reason.number
        case .serverError(let code, let message, let detail):
            set(SK_EVENT_SERVER_ERROR, detail.isEmpty ? message : "\(message): \(detail)")
            m.code = code.map { Int32(clamping: $0.rawValue) } ?? 0
        case .fatal(let reason):
            set(SK_EVENT_FATAL, "\(reason)")
            m.code = Self.code(of: reason)
            m.reason = reason.number
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

    private func view(_ s: Subscription) -> sk_subscription_view { self.views.view(s) }
}

/// A subscription as a C view, its texts copied into `arena`.
func subscriptionView(_ s: Subscription, _ arena: Arena) -> sk_subscription_view {
    subscriptionView(s) { arena.copy($0) }
}

/// A subscription as a C view, its texts stored by `keep` (the one place a view is built).
func subscriptionView(_ s: Subscription, keep: (String) -> sk_str) -> sk_subscription_view {
    var v = sk_subscription_view()
    v.channel = s.channel.cChannel
    switch s.target {
    case .crypto(let id):
        v.crypto_id = id
    case .address(let platform, let address):
        v.platform_id = platform
        v.address = keep(address)
    }
    if let interval = s.interval { v.interval = keep(interval) }
    return v
}

extension Duration {
    var milliseconds: Int64 {
        let (s, atto) = self.components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}
