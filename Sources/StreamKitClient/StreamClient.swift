// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

public import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import NIOPosix
public import StreamKit

/// A message delivered to a ``StreamClient/onMessage(_:)`` handler: the frame as decoded in place, borrowed.
///
/// Valid only during the call: it points at the connection's reused `DecodedFrame` and at NIO's receive buffer.
/// Copy what you keep (or consume ``StreamClient/events``, which owns its messages).
public struct MessageView {
    /// The frame in place (for the C ABI's fill, which must not copy its 2.5 KB).
    package let framePointer: UnsafePointer<DecodedFrame>
    /// The frame's bytes; ``frame``'s text slices point into them.
    public let bytes: UnsafeRawBufferPointer
    /// The subscription the push belongs to (`nil` for a push matching none, e.g. just unsubscribed).
    public let subscription: Subscription?
    /// Every subscription the push belongs to: ``subscription`` first; for a swap or liquidity event between two
    /// subscribed tokens, both (the later leg is dropped as a duplicate). See ``SubscriptionMatches``.
    public let subscriptions: SubscriptionMatches
    /// The connection it arrived on.
    public let connection: Int

    init(frame: UnsafePointer<DecodedFrame>, bytes: UnsafeRawBufferPointer, subscription: Subscription?, subscriptions: SubscriptionMatches, connection: Int) {
        self.framePointer = frame
        self.bytes = bytes
        self.subscription = subscription
        self.subscriptions = subscriptions
        self.connection = connection
    }

    /// The decoded frame (envelope and typed payload), read in place.
    public var frame: DecodedFrame {
        _read { yield self.framePointer.pointee }
    }

    /// The text of a slice of this frame.
    public func string(_ slice: TextSlice?) -> String? { slice.map { $0.string(in: self.bytes) } }
}

/// What a ``StreamClient`` reports, in order.
///
/// `indirect`: an event is one reference, so queueing and taking it retains a box instead of copying the decoded
/// frame (a message is about 550 bytes; copying it through the queue measured slower than the box).
public indirect enum StreamEvent: Sendable {
    /// A lifecycle event of one connection (connecting, subscribed, stale, reconnecting, gap, fatal, ...).
    case session(SessionEvent, connection: Int)
    /// A data push, owned (its bytes copied once from the socket buffer).
    case message(Message, subscription: Subscription?)
    /// `count` messages of the subscription were dropped because the consumer fell behind (overflow policy
    /// ``OverflowPolicy/dropOldest``). Delivered just before the subscription's next message.
    case dropped(Subscription, count: Int)
}

/// The events of a ``StreamClient``, in order: an `AsyncSequence` over its bounded delivery queue.
///
/// Iterate it from one task. It ends when the client stops or fails for good.
public struct StreamEvents: AsyncSequence, Sendable {
    public typealias Element = StreamEvent
    public typealias Failure = Never
    let queue: DeliveryQueue

    public struct AsyncIterator: AsyncIteratorProtocol {
        public typealias Element = StreamEvent
        public typealias Failure = Never
        let queue: DeliveryQueue
        /// The next event; `nil` when the client has stopped and everything was taken, or the task was cancelled.
        public mutating func next() async -> StreamEvent? { await self.queue.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(queue: self.queue) }
}

/// A client of the stream that never silently stops: keep-alive, reconnects with backoff and re-subscription,
/// sharding over connections, deduplication, gap markers, bounded delivery with an overflow policy per
/// subscription, and metrics. See `SessionPool` and `Session` for the protocol logic; this type runs it over NIO.
///
/// ```swift
/// let client = try StreamClient(configuration: StreamClientConfiguration(url: "ws://127.0.0.1:8765/v1", apiKey: key))
/// client.start()
/// try await client.subscribe([.cryptoLatestPrice(1), .cryptoLatestPrice(1027)], overflow: .conflate)
/// for await event in client.events {
///     if case .message(let m, _) = event, case .data(let d) = m.frame, case .cryptoLatestPrice(let q) = d.payload {
///         print(q.cid, q.price)
///     }
/// }
/// ```
public final class StreamClient: Sendable {
    /// Lifecycle events and owned messages, in order. Bounded per subscription by
    /// ``StreamClientConfiguration/delivery``; see ``OverflowPolicy``.
    public let events: StreamEvents
    private let queue: DeliveryQueue
    private let eventLoop: any EventLoop
    private let core: UnsafeTransfer<ClientCore>
    private let configuration: StreamClientConfiguration

    /// Creates a client; nothing connects until ``start()``.
    ///
    /// - Parameters:
    ///   - configuration: URL, key, TLS, limits, delivery; see ``StreamClientConfiguration``.
    ///   - eventLoopGroup: Where the connections run (one event loop is chosen for all of them).
    ///   - messagesInEvents: Also deliver owned copies of data pushes in ``events`` (each frame's bytes copied once,
    ///     back to back into blocks the messages share: see ``FrameBytes``). Turn off when ``onMessage(_:)`` is
    ///     all you use, for a path with no copy at all.
    /// - Throws: ``StreamClientError`` for an invalid key or URL, or a TLS setup error. The key is never
    ///   included in the error.
    public init(
        configuration: StreamClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        messagesInEvents: Bool = true
    ) throws(StreamClientError) {
        let endpoint = try configuration.validated()
        self.configuration = configuration
        self.eventLoop = eventLoopGroup.next()
        let driver = try Driver(eventLoop: self.eventLoop, endpoint: endpoint, configuration: configuration)
        let loop = self.eventLoop
        let driverRef = UnsafeTransfer(driver)
        // Called by the consumer when a `block` subscription has room again: resume reading, on the loop.
        self.queue = DeliveryQueue(configuration: configuration.delivery) {
            loop.execute { driverRef.value.setReading(paused: false) }
        }
        self.events = StreamEvents(queue: self.queue)
        self.core = UnsafeTransfer(ClientCore(driver: driver, queue: self.queue, messagesInEvents: messagesInEvents))
        driver.delegate = self.core.value
    }

    /// Registers a handler called on the I/O event loop for every data push, with a zero-copy view valid during
    /// the call. Keep it short: it runs between reads. Set it before ``start()``.
    public func onMessage(_ handler: @escaping @Sendable (MessageView) -> Void) {
        let core = self.core
        self.eventLoop.execute { core.value.messageHandler = handler }
    }

    /// Registers a handler called on the I/O event loop for every text frame as received (data, acks, pongs,
    /// errors, frames that fail to decode): what `streamkit record` writes. It runs once the frame was decoded and
    /// after the session events it caused went to ``onSessionEvent(_:)`` (a gap marker, an ack's `subscribed`),
    /// before the frame is delivered: the order a consumer sees. The bytes are valid during the call only. Set it
    /// before ``start()``.
    public func onRawFrame(_ handler: @escaping @Sendable (UnsafeRawBufferPointer, _ connection: Int) -> Void) {
        let core = self.core
        self.eventLoop.execute { core.value.rawHandler = handler }
    }

    /// Registers a handler called on the I/O event loop for every session event as it happens, in order with
    /// ``onRawFrame(_:)``, with the monotonic instant it happened at (the clock of the event's own instants:
    /// a gap's `from` and `to`). ``events`` still delivers them; this is for a recorder that must keep them in
    /// place among the frames. Keep it short. Set it before ``start()``.
    public func onSessionEvent(_ handler: @escaping @Sendable (SessionEvent, _ connection: Int, _ now: Instant) -> Void) {
        let core = self.core
        self.eventLoop.execute { core.value.eventHandler = handler }
    }

    /// Starts connecting (the connections with subscriptions; more open as subscriptions need them).
    public func start() {
        let core = self.core
        self.eventLoop.execute { core.value.driver.start() }
    }

    /// Subscribes and waits until the server acknowledged every subscription.
    ///
    /// - Parameters:
    ///   - subscriptions: What to subscribe to; already active ones are acknowledged at once.
    ///   - overflow: What to do when these subscriptions' messages outpace the consumer; `nil` keeps the current
    ///     policy (``DeliveryConfiguration/overflow`` for new subscriptions).
    /// - Throws: ``StreamClientError/capacity(_:)`` (nothing sent) when they would not fit, or
    ///   ``StreamClientError/subscriptionFailed(_:)`` with the first failure (the others stay subscribed).
    public func subscribe(_ subscriptions: [Subscription], overflow: OverflowPolicy? = nil) async throws(StreamClientError) {
        let core = self.core
        self.queue.setPolicy(overflow, for: subscriptions)
        let result: Result<Void, StreamClientError> = await withCheckedContinuation { done in
            self.eventLoop.execute {
                core.value.subscribe(subscriptions) { done.resume(returning: $0) }
            }
        }
        try result.get()
    }

    /// Unsubscribes (without waiting for the acks).
    public func unsubscribe(_ subscriptions: [Subscription]) {
        let core = self.core
        self.eventLoop.execute { core.value.driver.unsubscribe(subscriptions) }
    }

    /// Unsubscribes from everything (`unsubscribe_all` on each connection; without waiting for the acks).
    public func unsubscribeAll() {
        let core = self.core
        self.eventLoop.execute { core.value.driver.unsubscribeAll() }
    }

    // MARK: For the C ABI's callback, which runs on this client's event loop

    /// Whether the calling thread is this client's I/O event loop (where its handlers run).
    package var isOnEventLoop: Bool { self.eventLoop.inEventLoop }

    /// Runs `body` on the event loop, after what is already queued there.
    package func onEventLoopAsync(_ body: @escaping @Sendable () -> Void) {
        self.eventLoop.execute(body)
    }

    /// Runs `body` on the event loop and waits for it (never call it from the loop).
    package func onEventLoopAndWait(_ body: @escaping @Sendable () -> Void) {
        try? self.eventLoop.submit(body).wait()
    }

    /// Delivers to the handlers only (``onMessage(_:)``, ``onSessionEvent(_:)``): neither messages nor events are
    /// queued for ``events`` or ``take(max:timeout:into:)`` (the metrics still count every message). The C ABI's
    /// callback uses it. Call before ``start()``.
    package func deliverToHandlersOnly() {
        let core = self.core
        self.eventLoop.execute {
            core.value.messagesInEvents = false
            core.value.eventsInQueue = false
        }
    }

    /// Subscribes without waiting for the acks (they arrive as session events), on the event loop: from a handler.
    /// Throws what is known at once: ``StreamClientError/capacity(_:)`` (nothing sent) when they would not fit, or
    /// ``StreamClientError/notRunning``.
    package func subscribeOnLoop(_ subscriptions: [Subscription], overflow: OverflowPolicy?) throws(StreamClientError) {
        self.eventLoop.preconditionInEventLoop()
        self.queue.setPolicy(overflow, for: subscriptions)
        var failure: StreamClientError?
        var returned = false
        self.core.value.subscribe(subscriptions) { result in
            if !returned, case .failure(let e) = result { failure = e }
        }
        returned = true
        if let failure { throw failure }  // refused at once: capacity, or not running
    }

    /// ``metrics()`` computed in place, on the event loop: from a handler.
    package func metricsOnLoop() -> StreamMetrics {
        self.eventLoop.preconditionInEventLoop()
        return self.metrics(pool: Self.poolTotals(self.core.value))
    }

    /// The C ABI's poll: each data push is stored by `store`, on the event loop, from the frame decoded in place
    /// (it returns a token, which the queue keeps in the message's place under the overflow policy), instead of being
    /// queued as an owned ``Message``; `discard` gets back, on the event loop, the tokens of messages the policy
    /// dropped or replaced (never taken). Session events are queued as usual. Take with
    /// ``take(max:timeout:into:accept:)``. Call before ``start()``.
    package func deliverTokens(store: @escaping @Sendable (MessageView) -> Int, discard: @escaping @Sendable (Int) -> Void) {
        let core = self.core
        self.eventLoop.execute {
            core.value.messagesInEvents = false
            core.value.tokenStore = (store, discard)
        }
    }

    /// ``take(max:timeout:into:)`` with the tokens of ``deliverTokens(store:discard:)`` among the events. A token
    /// `accept` refuses ends the batch there (it stays first for the next take); `accept` runs under the queue's
    /// lock, for each token in order, and should accept a batch's first.
    package func take(max: Int, timeout: Duration?, into out: inout [DeliveryItem], accept: (Int) -> Bool) -> Bool {
        self.queue.take(max: max, timeout: timeout, into: &out, accept: accept)
    }

    /// Takes events on a thread of your own (the C ABI and Python use it; async code iterates ``events``):
    /// appends up to `max` of them to `out`, blocking the calling thread up to `timeout` (forever when `nil`) for
    /// the first. Returns true once the client has stopped and everything was taken. Do not call it from the
    /// client's event loop or from a task (it blocks the thread).
    public func take(max: Int, timeout: Duration?, into out: inout [StreamEvent]) -> Bool {
        self.queue.take(max: max, timeout: timeout, into: &out)
    }

    /// Stops every connection and ends ``events`` (after what is queued). Returns once the connections are closed.
    public func stop() async {
        let core = self.core
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            self.eventLoop.execute { core.value.stop { done.resume() } }
        }
    }

    /// A snapshot of the counters: per subscription messages, last-update age, receive latency, queued, dropped
    /// and coalesced; reconnects, duplicates suppressed, and the credit meter.
    public func metrics() async -> StreamMetrics {
        let core = self.core
        // The pool's counters live on the event loop; a loop that has shut down leaves them at zero.
        let pool = try? await self.eventLoop.submit { Self.poolTotals(core.value) }.get()
        return self.metrics(pool: pool ?? PoolTotals())
    }

    /// The pool's counters (on the event loop).
    private static func poolTotals(_ core: ClientCore) -> PoolTotals {
        let pool = core.driver.pool
        var totals = PoolTotals(duplicates: pool.duplicatesSuppressed, subscriptions: core.billableSubscriptions)
        for s in pool.sessions {
            if s.phase == .open { totals.open += 1 }
            totals.reconnects += s.counters.reconnects
            totals.duplicates += s.counters.duplicatesSuppressed
            totals.invalid += s.counters.invalidFrames
            totals.frames += s.counters.dataFrames
        }
        return totals
    }

    private struct PoolTotals: Sendable {
        var open = 0, reconnects = 0, duplicates = 0, invalid = 0, frames = 0, subscriptions = 0
    }

    private func metrics(pool totals: PoolTotals) -> StreamMetrics {
        let (queued, perSubscription) = self.queue.snapshot(now: Driver.now())
        return StreamMetrics(
            openConnections: totals.open, reconnects: totals.reconnects, duplicatesSuppressed: totals.duplicates,
            invalidFrames: totals.invalid, billableMessages: totals.frames, billableSubscriptions: totals.subscriptions,
            credits: Double(totals.frames) * self.configuration.creditsPerMessage
                + Double(totals.subscriptions) * self.configuration.creditsPerSubscription,
            queued: queued, subscriptions: perSubscription)
    }
}

/// The client's state on its event loop.
final class ClientCore: DriverDelegate {
    let driver: Driver
    let queue: DeliveryQueue
    var messageHandler: (@Sendable (MessageView) -> Void)?
    var rawHandler: (@Sendable (UnsafeRawBufferPointer, Int) -> Void)?
    var eventHandler: (@Sendable (SessionEvent, Int, Instant) -> Void)?
    /// Owned copies of data pushes go to the queue (``StreamClient/events``).
    var messagesInEvents: Bool
    /// Session events go to the queue too (off when only handlers consume: nothing would take them).
    var eventsInQueue = true
    /// The C ABI's poll (``StreamClient/deliverTokens(store:discard:)``): stores each data push itself and queues
    /// its token; gets back the tokens the overflow policy dropped or replaced.
    var tokenStore: (store: @Sendable (MessageView) -> Int, discard: @Sendable (Int) -> Void)?
    var billableSubscriptions = 0
    private var wallClock = WallClock()
    /// The queued messages' bytes, back to back in blocks (no allocation per message).
    private var blocks = ByteBlockWriter()
    private var waiters: [(remaining: Set<Subscription>, done: (Result<Void, StreamClientError>) -> Void)] = []
    private var stopWaiters: [() -> Void] = []

    init(driver: Driver, queue: DeliveryQueue, messagesInEvents: Bool) {
        self.driver = driver
        self.queue = queue
        self.messagesInEvents = messagesInEvents
    }

    func subscribe(_ subscriptions: [Subscription], done: @escaping (Result<Void, StreamClientError>) -> Void) {
        let before = Set(self.driver.pool.sessions.flatMap(\.activeSubscriptions))
        do {
            try self.driver.subscribe(subscriptions)
        } catch {
            if case .capacity(let limit) = error { return done(.failure(.capacity(limit))) }
            return done(.failure(.notRunning))
        }
        let remaining = Set(subscriptions).subtracting(before)
        if remaining.isEmpty { return done(.success(())) }
        self.waiters.append((remaining, done))
    }

    func stop(_ done: @escaping () -> Void) {
        self.driver.stop()
        if self.driver.pool.sessions.allSatisfy({ $0.phase == .stopped || $0.phase == .failed || $0.phase == .idle }) {
            self.finish()
            done()
        } else {
            self.stopWaiters.append(done)
        }
    }

    private func finish() {
        self.queue.finish()
        for w in self.waiters { w.done(.failure(.notRunning)) }
        self.waiters.removeAll()
    }

    func driver(event: SessionEvent, connection: Int) {
        self.eventHandler?(event, connection, Driver.now())
        switch event {
        case .subscribed(let s, let duplicate):
            if !duplicate { self.billableSubscriptions += 1 }
            self.settle(s, nil)
        case .subscriptionFailed(let s, let why):
            self.settle(s, .subscriptionFailed("\(s): \(why)"))
        case .stopped, .fatal:
            if case .fatal(let reason) = event {
                for w in self.waiters { w.done(.failure(.subscriptionFailed("\(reason)"))) }
                self.waiters.removeAll()
            }
            if self.driver.pool.sessions.allSatisfy({ $0.phase == .stopped || $0.phase == .failed }) {
                if self.eventsInQueue { self.queue.push(event: .session(event, connection: connection)) }
                self.finish()
                let waiters = self.stopWaiters
                self.stopWaiters.removeAll()
                for w in waiters { w() }
                return
            }
        case .connecting, .connected, .welcome, .unsubscribed, .stale, .reconnecting, .restored, .gap, .serverError:
            break
        }
        if self.eventsInQueue { self.queue.push(event: .session(event, connection: connection)) }
    }

    private func settle(_ s: Subscription, _ failure: StreamClientError?) {
        var i = 0
        while i < self.waiters.count {
            if self.waiters[i].remaining.contains(s) {
                if let failure {
                    let w = self.waiters.remove(at: i)
                    w.done(.failure(failure))
                    continue
                }
                self.waiters[i].remaining.remove(s)
                if self.waiters[i].remaining.isEmpty {
                    let w = self.waiters.remove(at: i)
                    w.done(.success(()))
                    continue
                }
            }
            i += 1
        }
    }

    func driverReadComplete() {
        self.queue.flush()
    }

    func driver(raw bytes: UnsafeRawBufferPointer, connection: Int) {
        self.rawHandler?(bytes, connection)
    }

    func driver(message frame: UnsafePointer<DecodedFrame>, bytes: UnsafeRawBufferPointer, subscription: Subscription?, subscriptions: SubscriptionMatches, connection: Int, now: Instant) {
        let latency = frame.pointee.ts.map { self.wallClock.milliseconds(at: now) &- $0 }
        if let tokens = self.tokenStore {
            let token = tokens.store(MessageView(frame: frame, bytes: bytes, subscription: subscription, subscriptions: subscriptions, connection: connection))
            let (full, discarded) = self.queue.push(token: token, subscription: subscription, now: now, latencyMS: latency, degradedFields: frame.pointee.degradedFieldCount, deferWake: true)
            if let discarded { tokens.discard(discarded) }
            if full { self.driver.setReading(paused: true) }
            return
        }
        // Counted before the handler runs, so metrics read from it include the message in hand.
        if !self.messagesInEvents, let subscription {
            self.queue.record(subscription: subscription, now: now, latencyMS: latency, degradedFields: frame.pointee.degradedFieldCount)
        }
        if let handler = self.messageHandler {
            handler(MessageView(frame: frame, bytes: bytes, subscription: subscription, subscriptions: subscriptions, connection: connection))
        }
        if self.messagesInEvents {
            var owned = Message(bytes: self.blocks.store(bytes), frame: frame.pointee.frame)
            owned.subscriptions = subscriptions
            if self.queue.push(message: owned, subscription: subscription, now: now, latencyMS: latency, degradedFields: frame.pointee.degradedFieldCount, deferWake: true) {
                self.driver.setReading(paused: true)
            }
        }
    }
}

/// The real-time clock, for receive latency against the server's `ts`: the monotonic `now` the frame was received
/// at plus an offset to real time, re-read once a second (no system call per message).
struct WallClock {
    private var offsetNS: Int64 = 0
    private var checkedAt: Int64 = .min

    static func realtimeNS() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Real time in epoch milliseconds at monotonic instant `now`.
    mutating func milliseconds(at now: Instant) -> Int64 {
        if self.checkedAt == .min || now.nanoseconds < self.checkedAt || now.nanoseconds - self.checkedAt > 1_000_000_000 {
            self.offsetNS = Self.realtimeNS() &- now.nanoseconds
            self.checkedAt = now.nanoseconds
        }
        return (now.nanoseconds &+ self.offsetNS) / 1_000_000
    }
}
