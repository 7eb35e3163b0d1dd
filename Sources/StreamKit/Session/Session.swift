// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// MARK: - Theory of operation
//
// A `Session` is the protocol life of one connection slot, across every reconnect: it decides when to connect,
// what to send, when the connection is dead, when and how long to back off, which subscriptions must be re-sent,
// and which pushes are duplicates or follow a gap. It never touches a socket or a clock (sans-I/O, after
// quinn-proto and h11): the transport calls `handle*` with what happened and the current `now`, then drains
// `pollEvent()` (deliver in order), `pollAction()` (carry out in order) and `pollTimeout()` (call
// `handleTimeout(now:)` no later than that). Data frames go through `handleText`, which decodes them in place and
// says what to do with them; drain the events it queued *before* delivering the frame, so a gap marker precedes
// the data it concerns.
//
// Transition table (anything not listed leaves the state unchanged; inputs in `failed`/`stopped` are ignored):
//
// | state      | input                                   | next        | does                                           |
// |------------|-----------------------------------------|-------------|------------------------------------------------|
// | idle       | start                                   | connecting  | connect; event connecting(0)                   |
// | connecting | handleConnected                         | open        | event connected; (re)send every subscription   |
// | connecting | handleConnectFailed / handleClosed      | backoff     | event reconnecting(n, delay)                   |
// | connecting | handleConnectFailed(HTTP 401/403) x N   | failed      | event fatal(refused)                           |
// | connecting | timeout: connect deadline               | closing     | close; then backoff                            |
// | open       | handleText                              | open        | route, dedupe, ack/error bookkeeping, events   |
// | open       | timeout: ping due                       | open        | send ping; arm pong deadline                   |
// | open       | timeout: pong deadline / silence        | closing     | close (1001); then backoff                     |
// | open       | timeout: request deadline               | open        | event subscriptionFailed(timeout)              |
// | open       | timeout: subscription quiet too long    | open        | event stale; the first `staleResubscribes`     |
// |            |                                         |             | times unsubscribe + subscribe it alone         |
// | open       | timeout: retry of a 5001-answered sub   | open        | subscribe it again                             |
// | open       | handleReading(paused: true)             | open        | suspend ping, pong, liveness, request, stale   |
// | open       | handleReading(paused: false)            | open        | those timers start again from `now`            |
// | open       | error about the key (1001-1004/7/10)    | closing     | close (1000); then failed                      |
// | open       | error answering a request (1006, 2xxx)  | open        | that request's subscriptions failed            |
// | open       | retryable error answering a subscribe   | open        | retry it after a backoff, bounded; then failed |
// | open       | handleClosed(4100/4101/4102)            | failed      | event fatal                                    |
// | open       | handleClosed(other) / transport error   | backoff     | mark gaps; event reconnecting(n, delay)        |
// | closing    | handleClosed                            | backoff / failed / stopped, as decided when closing          |
// | closing    | timeout: no close report in closeTimeout| as handleClosed: the transport's late report is ignored        |
// | backoff    | timeout: backoff over                   | connecting  | connect; event connecting(n)                   |
// | any live   | stop                                    | stopped     | close (1000) if connected; event stopped       |
//
// Backoff is exponential with full jitter (delay uniform in [0, min(cap, initial * 2^(n-1))]), 4004 waits
// `connectionLimitDelay` (so does an HTTP 429 refusal); the attempt count resets only once a connection has been
// open for `healthyAfter` and proved itself alive (a pong, an ack or data), so a server that accepts and closes at
// once cannot cause a tight loop, while a healthy connection whose subscriptions are all quiet still resets it.
// The liveness timeout in force is max(`livenessTimeout`, 3 x the ping interval the welcome announced). A quiet
// subscription is reported stale after `priceStaleAfter`, then after doubling periods up to `staleCap`; it is
// re-subscribed at the first `staleResubscribes` reports only.

/// The sans-I/O protocol engine of one connection slot: keep-alive, request/ack correlation, the desired
/// subscriptions and their re-sending after every reconnect, backoff, the close-code policy, staleness, gap
/// markers and deduplication. See the theory of operation at the top of `Session.swift`.
///
/// ```swift
/// var session = Session(configuration: SessionConfiguration(), seed: 42)
/// try session.subscribe([.cryptoLatestPrice(1), .cryptoLatestPrice(1027)], now: now)
/// session.start(now: now)
/// while let action = session.pollAction() { transport.perform(action) }   // .connect
/// ```
public struct Session: Sendable {
    /// The configuration in force.
    public let configuration: SessionConfiguration
    /// Counters since creation.
    public private(set) var counters = SessionCounters()

    // MARK: State

    enum State: Sendable, Equatable {
        case idle
        case connecting(since: Instant)
        case open
        case closing(reason: DisconnectReason, then: AfterClose)
        case backoff(until: Instant)
        case failed(DisconnectReason)
        case stopped
    }

    enum AfterClose: Sendable, Equatable {
        case reconnect, fail, stop
    }

    /// A summary of where the session is, for display and tests.
    public enum Phase: String, Sendable, Hashable {
        case idle, connecting, open, closing, backoff, failed, stopped
    }

    var state: State = .idle
    private var decoder = FrameDecoder()
    private var rng: SplitMix64
    private var actions: [SessionAction] = []
    private var actionHead = 0
    private var events: [SessionEvent] = []
    private var eventHead = 0

    // Connection
    private var attempt = 0
    private var connectedAt: Instant?
    /// A pong, an ack or data arrived since the connection opened: it is alive, not merely accepted.
    private var provenSinceConnect = false
    /// HTTP 401/403 refusals of the upgrade in a row (reset by a successful upgrade).
    private var consecutiveRefusals = 0
    private var lastFrameAt = Instant(nanoseconds: 0)
    private var pingInterval: Duration
    private var nextPingAt: Instant?
    private var pongDeadline: Instant?
    /// When the ping that armed ``pongDeadline`` was sent.
    private var pingSentAt: Instant?
    private var consecutiveInvalid = 0
    private var awaitingRestore = 0
    private var readingPaused = false
    /// When reading last resumed after a pause: staleness counts from here at the earliest (the pause was ours, not
    /// the server's), while gap markers keep counting from the last data actually received.
    private var readingResumedAt: Instant?
    /// In `closing`: when to stop waiting for the transport to report the close.
    private var closingDeadline: Instant?

    // Requests
    private var nextRequestID: Int64 = 1
    private var pending: [Int64: PendingRequest] = [:]

    // Subscriptions
    private var slots: [Entry?] = []
    private var freeSlots: [Int] = []
    private var slotBySubscription: [Subscription: Int] = [:]
    private var slotByRoute: [UInt64: Int] = [:]
    private var subscriptionLimit: Int
    private var dedupe: DedupeWindow

    struct PendingRequest: Sendable {
        enum Kind: Sendable { case subscribe, unsubscribe, unsubscribeChannel, ignored }
        let kind: Kind
        let slots: [Int]
        var deadline: Instant
    }

    struct Entry: Sendable {
        enum Status: Sendable, Equatable {
            case unsent, pending(Int64), active, failed, unsubscribing(Int64)
        }
        let subscription: Subscription
        let route: UInt64
        var status: Status = .unsent
        var activeSince: Instant?
        var lastDataAt: Instant?
        /// The last push that came for it on this connection (its echo named it). Only these bound what an
        /// interruption of this connection lost: a leg of another subscription naming it (``attribute``, possibly
        /// read from another connection) counts as data for staleness, not as the start of a gap.
        var lastRoutedAt: Instant?
        var interruptedSince: Instant?
        var interruptionReason: DisconnectReason?
        /// `stale` reports in the current quiet spell (0: not stale), the last one's time, and when it began.
        var staleCount = 0
        var lastStaleAt: Instant?
        var quietSince: Instant?
        /// Retries after a retryable error answered its subscribe, and when the next one is due (while unsent).
        var retries = 0
        var retryAt: Instant?
    }

    /// Creates an idle session.
    ///
    /// - Parameters:
    ///   - configuration: Timeouts, backoff and limits; see ``SessionConfiguration``.
    ///   - seed: Seeds the backoff jitter, so a test (or a fleet of clients) can reproduce or spread delays.
    public init(configuration: SessionConfiguration = SessionConfiguration(), seed: UInt64) {
        self.configuration = configuration
        self.rng = SplitMix64(seed: seed)
        self.pingInterval = configuration.defaultPingInterval
        self.subscriptionLimit = configuration.subscriptionLimit
        self.dedupe = DedupeWindow(capacity: configuration.dedupeWindow)
    }

    /// Where the session is.
    public var phase: Phase {
        switch self.state {
        case .idle: .idle
        case .connecting: .connecting
        case .open: .open
        case .closing: .closing
        case .backoff: .backoff
        case .failed: .failed
        case .stopped: .stopped
        }
    }

    /// The subscriptions this session wants, in no particular order.
    public var subscriptions: [Subscription] { self.slots.compactMap { $0?.subscription } }

    /// Subscriptions currently acknowledged by the server on the open connection.
    public var activeSubscriptions: [Subscription] {
        self.slots.compactMap { $0?.status == .active ? $0?.subscription : nil }
    }

    /// How many more subscriptions fit (the server's `sub_limit` once an ack said it).
    public var remainingCapacity: Int {
        self.subscriptionLimit - self.slots.reduce(0) { $0 + ($1 == nil || $1?.status == .failed ? 0 : 1) }
    }

    // MARK: - Outputs

    /// The next thing the transport must do, in order; `nil` when there is nothing.
    public mutating func pollAction() -> SessionAction? {
        guard self.actionHead < self.actions.count else { return nil }
        let a = self.actions[self.actionHead]
        self.actionHead += 1
        if self.actionHead == self.actions.count {
            self.actions.removeAll(keepingCapacity: true)
            self.actionHead = 0
        }
        return a
    }

    /// The next event, in order; `nil` when there is none.
    public mutating func pollEvent() -> SessionEvent? {
        guard self.eventHead < self.events.count else { return nil }
        let e = self.events[self.eventHead]
        self.eventHead += 1
        if self.eventHead == self.events.count {
            self.events.removeAll(keepingCapacity: true)
            self.eventHead = 0
        }
        return e
    }

    /// When ``handleTimeout(now:)`` must be called next, or `nil` when no timer is armed.
    public func pollTimeout() -> Instant? {
        var earliest: Instant?
        func consider(_ t: Instant?) {
            guard let t else { return }
            if earliest == nil || t < earliest! { earliest = t }
        }
        switch self.state {
        case .connecting(let since):
            consider(since.advanced(by: self.configuration.connectTimeout))
        case .open:
            // While the transport does not read (a `block` consumer fell behind), silence is ours: only the health
            // deadline runs.
            if !self.readingPaused {
                consider(self.nextPingAt)
                consider(self.pongDeadline)
                consider(self.lastFrameAt.advanced(by: self.livenessTimeout))
                for request in self.pending.values { consider(request.deadline) }
                for entry in self.slots {
                    guard let entry else { continue }
                    if entry.status == .active { consider(self.staleDue(entry)) }
                    if entry.status == .unsent { consider(entry.retryAt) }
                }
            }
            if let connectedAt = self.connectedAt, self.attempt > 0, self.provenSinceConnect {
                consider(connectedAt.advanced(by: self.configuration.healthyAfter))
            }
        case .backoff(let until):
            consider(until)
        case .closing:
            consider(self.closingDeadline)
        case .idle, .failed, .stopped:
            break
        }
        return earliest
    }

    // MARK: - Lifecycle inputs

    /// Starts connecting. Does nothing unless idle.
    public mutating func start(now: Instant) {
        guard case .idle = self.state else { return }
        self.beginConnecting(now: now)
    }

    /// Stops for good: closes the connection if there is one. Every later input is ignored.
    public mutating func stop(now: Instant) {
        switch self.state {
        case .connecting, .open:
            self.actions.append(.close(code: 1000))
            self.beginClosing(.stopped, then: .stop, now: now)
        case .closing(let reason, _):
            self.state = .closing(reason: reason, then: .stop)
        case .idle, .backoff:
            self.state = .stopped
            self.events.append(.stopped)
        case .failed, .stopped:
            break
        }
    }

    /// The transport is connected (WebSocket upgrade done).
    public mutating func handleConnected(now: Instant) {
        guard case .connecting = self.state else { return }
        self.state = .open
        self.connectedAt = now
        self.provenSinceConnect = false
        self.consecutiveRefusals = 0
        self.lastFrameAt = now
        self.pingInterval = self.configuration.defaultPingInterval
        self.nextPingAt = now.advanced(by: self.pingInterval)
        self.pongDeadline = nil
        self.consecutiveInvalid = 0
        self.events.append(.connected)
        self.awaitingRestore = self.slots.reduce(0) { $0 + ($1?.interruptedSince != nil ? 1 : 0) }
        self.sendUnsent(now: now)
    }

    /// The transport stopped (`paused`) or resumed reading from the connection, because a consumer with the
    /// `block` overflow policy fell behind. While paused, nothing the server sends is read, so the keep-alive,
    /// liveness, request and staleness timers are suspended; on resume they start again from `now` (a ping is
    /// sent at once to prove the connection).
    public mutating func handleReading(paused: Bool, now: Instant) {
        guard paused != self.readingPaused else { return }
        self.readingPaused = paused
        guard !paused, case .open = self.state else { return }
        self.lastFrameAt = now
        self.pongDeadline = nil
        self.nextPingAt = now
        for key in self.pending.keys {
            self.pending[key]?.deadline = now.advanced(by: self.configuration.requestTimeout)
        }
        self.readingResumedAt = now
    }

    /// Where a subscription's silence counts from: its last data (or activation), or the end of a read pause.
    private func staleReference(_ e: Entry) -> Instant? {
        guard let since = e.lastDataAt ?? e.activeSince else { return nil }
        guard let resumed = self.readingResumedAt, resumed > since else { return since }
        return resumed
    }

    /// When an active subscription is next due to be reported stale: its quiet time after the reference, then
    /// doubling periods (capped at ``SessionConfiguration/staleCap``) after each report; nil where staleness is off.
    private func staleDue(_ e: Entry) -> Instant? {
        guard let after = self.staleAfter(e.subscription.channel) else { return nil }
        guard e.staleCount > 0, var last = e.lastStaleAt else { return self.staleReference(e)?.advanced(by: after) }
        if let resumed = self.readingResumedAt, resumed > last { last = resumed }
        let period = min(after.nanoseconds.saturatingShiftLeft(e.staleCount), max(self.configuration.staleCap.nanoseconds, after.nanoseconds))
        return last.advanced(by: .nanoseconds(period))
    }

    /// The liveness timeout in force: the configured one, or three ping intervals where that is longer.
    private var livenessTimeout: Duration { max(self.configuration.livenessTimeout, self.pingInterval * 3) }

    /// Connecting failed. `httpStatus` is the server's answer to the upgrade when it was not 101 (see
    /// ``DisconnectReason/refused(httpStatus:)``: 401/403 become fatal after
    /// ``SessionConfiguration/refusalsBeforeFatal`` in a row, 429 waits ``SessionConfiguration/connectionLimitDelay``).
    public mutating func handleConnectFailed(reason: String, httpStatus: Int? = nil, now: Instant) {
        guard case .connecting = self.state else {
            if case .closing = self.state { self.handleClosed(code: nil, reason: reason, now: now) }
            return
        }
        if let httpStatus {
            self.disconnected(.refused(httpStatus: httpStatus), closeCode: nil, now: now)
        } else {
            self.disconnected(.transportError(reason), closeCode: nil, now: now)
        }
    }

    /// The connection is gone: closed by the server (`code`), by us, or dropped (`code` nil).
    public mutating func handleClosed(code: UInt16?, reason: String, now: Instant) {
        switch self.state {
        case .closing(let ours, let then):
            switch then {
            case .stop:
                self.state = .stopped
                self.events.append(.stopped)
            case .fail:
                self.state = .failed(ours)
                self.events.append(.fatal(ours))
            case .reconnect:
                self.disconnected(ours, closeCode: nil, now: now)
            }
        case .connecting, .open:
            let why: DisconnectReason =
                code.map { .closedByServer(code: $0, reason: reason) } ?? .transportError(reason.isEmpty ? "connection lost" : reason)
            self.disconnected(why, closeCode: code, now: now)
        case .idle, .backoff, .failed, .stopped:
            break
        }
    }

    /// Timers: call no later than ``pollTimeout()``; calling early is harmless.
    public mutating func handleTimeout(now: Instant) {
        switch self.state {
        case .connecting(let since):
            if now >= since.advanced(by: self.configuration.connectTimeout) {
                self.actions.append(.close(code: 1001))
                self.beginClosing(.connectTimeout, then: .reconnect, now: now)
            }
        case .closing:
            // The transport asked to close never said it had: do not wait for it forever.
            if let deadline = self.closingDeadline, now >= deadline {
                self.handleClosed(code: nil, reason: "no close confirmation in time", now: now)
            }
        case .backoff(let until):
            if now >= until { self.beginConnecting(now: now) }
        case .open:
            self.openTimers(now: now)
        case .idle, .failed, .stopped:
            break
        }
    }

    /// Enters `closing` (the close was asked for) with a deadline for the transport's report.
    private mutating func beginClosing(_ reason: DisconnectReason, then: AfterClose, now: Instant) {
        self.state = .closing(reason: reason, then: then)
        self.closingDeadline = now.advanced(by: self.configuration.closeTimeout)
    }

    // MARK: - Subscriptions

    /// Adds subscriptions. They are sent now if connected, else on connect, and re-sent after every reconnect.
    ///
    /// - Returns: The subscriptions that were not already wanted.
    /// - Throws: ``SubscriptionFailure/capacity(limit:)`` when they would not fit on this connection (nothing
    ///   is added then), or when the session has stopped.
    @discardableResult
    public mutating func subscribe(_ subscriptions: [Subscription], now: Instant) throws(SessionError) -> [Subscription] {
        guard self.isLive else { throw SessionError.notRunning }
        var fresh: [Subscription] = []
        var seen = Set<Subscription>()
        for s in subscriptions where self.slotBySubscription[s] == nil && seen.insert(s).inserted {
            fresh.append(s)
        }
        // Failed entries are retried by subscribing again.
        let retried = subscriptions.filter { s in
            self.slotBySubscription[s].map { self.slots[$0]?.status == .failed } ?? false
        }
        guard fresh.count + retried.count <= self.remainingCapacity else {
            throw SessionError.capacity(limit: self.subscriptionLimit)
        }
        for s in fresh {
            let entry = Entry(subscription: s, route: Self.route(of: s))
            let slot: Int
            if let free = self.freeSlots.popLast() {
                slot = free
                self.slots[slot] = entry
            } else {
                slot = self.slots.count
                self.slots.append(entry)
            }
            self.slotBySubscription[s] = slot
            self.slotByRoute[entry.route] = slot
        }
        for s in retried {
            if let slot = self.slotBySubscription[s] { self.slots[slot]?.status = .unsent }
        }
        if case .open = self.state { self.sendUnsent(now: now) }
        return fresh
    }

    /// Removes subscriptions: unsubscribes them on the server when they are active there.
    public mutating func unsubscribe(_ subscriptions: [Subscription], now: Instant) {
        var toSend: [Int] = []
        for s in subscriptions {
            guard let slot = self.slotBySubscription[s], let entry = self.slots[slot] else { continue }
            switch (self.state, entry.status) {
            case (.open, .active), (.open, .pending):
                toSend.append(slot)
            default:
                self.remove(slot: slot)
            }
        }
        if !toSend.isEmpty { self.sendRequests(kind: .unsubscribe, slots: toSend, now: now) }
    }

    /// Removes every subscription (`unsubscribe_all` on the server when connected).
    public mutating func unsubscribeAll(now: Instant) {
        let all = self.slots.indices.filter { self.slots[$0] != nil }
        if case .open = self.state, !all.isEmpty {
            let id = self.takeRequestID()
            self.actions.append(.send(ClientRequest.unsubscribeAll.encoded(id: id)))
            for slot in all { self.slots[slot]?.status = .unsubscribing(id) }
            self.pending[id] = PendingRequest(
                kind: .unsubscribeChannel,
                slots: all,
                deadline: now.advanced(by: self.configuration.requestTimeout)
            )
        } else {
            for slot in all { self.remove(slot: slot) }
        }
    }

    // MARK: - Frames

    /// A text frame arrived. Decodes it in place into `frame` and updates the session.
    ///
    /// - Returns: What the frame was and whether to deliver it; drain ``pollEvent()`` first.
    public mutating func handleText(_ bytes: UnsafeRawBufferPointer, now: Instant, into frame: inout DecodedFrame) -> InboundResult {
        guard case .open = self.state else { return .control }
        self.lastFrameAt = now
        do {
            try self.decoder.decode(bytes, into: &frame)
        } catch {
            self.counters.invalidFrames += 1
            self.consecutiveInvalid += 1
            if self.consecutiveInvalid >= 3 {
                self.kill(.protocolError("\(error)"), now: now)
            }
            return .invalid(error)
        }
        self.consecutiveInvalid = 0
        switch frame.kind {
        case .data:
            return self.handleData(frame, bytes: bytes, now: now)
        case .welcome:
            if let ms = frame.pingIntervalMS {
                // Accept 1 s ... 300 s; outside that the server is confused, keep ours.
                let interval = Duration.milliseconds(ms)
                if interval >= .seconds(1) && interval <= .seconds(300) {
                    self.pingInterval = interval
                    self.nextPingAt = now.advanced(by: interval)
                }
            }
            self.events.append(.welcome(pingInterval: self.pingInterval))
        case .pong:
            self.pongDeadline = nil
            self.provenSinceConnect = true
            if let id = frame.id { self.pending[id] = nil }
        case .ack:
            self.handleAck(frame, now: now)
        case .error:
            self.handleError(frame, bytes: bytes, now: now)
        case .unknown:
            break
        }
        return .control
    }

    // MARK: - Internals: connection

    private var isLive: Bool {
        switch self.state {
        case .failed, .stopped: false
        case .closing(_, let then): then == .reconnect
        default: true
        }
    }

    private func staleAfter(_ channel: Channel) -> Duration? {
        channel == .cryptoLatestPrice ? self.configuration.priceStaleAfter : self.configuration.onChainStaleAfter
    }

    private mutating func beginConnecting(now: Instant) {
        self.state = .connecting(since: now)
        self.actions.append(.connect)
        self.events.append(.connecting(attempt: self.attempt))
    }

    /// Closes a connection judged dead (or misbehaving) and reconnects after it is gone.
    private mutating func kill(_ reason: DisconnectReason, now: Instant) {
        self.actions.append(.close(code: 1001))
        self.beginClosing(reason, then: .reconnect, now: now)
    }

    private mutating func disconnected(_ reason: DisconnectReason, closeCode: UInt16?, now: Instant) {
        self.connectedAt = nil
        self.nextPingAt = nil
        self.pongDeadline = nil
        // Every request in flight is void; its subscriptions go back to unsent.
        self.pending.removeAll(keepingCapacity: true)
        let code = closeCode.map(CloseCode.init(rawValue:))
        var refusedStatus: Int?
        if case .refused(let status) = reason {
            refusedStatus = status
            if status == 401 || status == 403 { self.consecutiveRefusals += 1 } else { self.consecutiveRefusals = 0 }
        }
        if code?.policy == .fatal || (refusedStatus != nil && self.consecutiveRefusals >= max(1, self.configuration.refusalsBeforeFatal)) {
            self.state = .failed(reason)
            self.events.append(.fatal(reason))
            return
        }
        // Mark the interruption for gap markers, and queue everything wanted for re-sending.
        for i in self.slots.indices {
            guard var e = self.slots[i] else { continue }
            switch e.status {
            case .active, .pending:
                if e.interruptedSince == nil {
                    e.interruptedSince = e.lastRoutedAt ?? e.activeSince ?? now
                    e.interruptionReason = reason
                }
                e.status = .unsent
            case .unsubscribing:
                self.slots[i] = e
                self.remove(slot: i)
                continue
            case .unsent, .failed:
                break
            }
            e.activeSince = nil
            e.retryAt = nil
            self.slots[i] = e
        }
        self.attempt += 1
        self.counters.reconnects += 1
        let bound = min(
            self.configuration.backoffCap.nanoseconds,
            self.configuration.backoffInitial.nanoseconds.saturatingShiftLeft(self.attempt - 1)
        )
        var delay = Duration.nanoseconds(Int64.random(in: 0...max(bound, 0), using: &self.rng))
        if code?.policy == .retryAfterLongDelay || refusedStatus == 429 {
            delay = self.configuration.connectionLimitDelay
                + .nanoseconds(Int64.random(in: 0...max(0, self.configuration.backoffInitial.nanoseconds), using: &self.rng))
        }
        self.state = .backoff(until: now.advanced(by: delay))
        self.events.append(.reconnecting(attempt: self.attempt, delay: delay, reason: reason))
    }

    private mutating func openTimers(now: Instant) {
        // Health: the connection has been open long enough and proved alive: reset the backoff.
        if self.attempt > 0, self.provenSinceConnect, let since = self.connectedAt,
            now >= since.advanced(by: self.configuration.healthyAfter)
        {
            self.attempt = 0
        }
        if self.readingPaused { return }
        if let deadline = self.pongDeadline, now >= deadline {
            // Frames arrived after the ping: the connection is alive and its pong is queued behind them (a burst
            // that a slow or busy reader is still working through). Wait for it from the last frame on; only a
            // connection silent for a whole pong timeout after the ping is dead.
            if let sent = self.pingSentAt, self.lastFrameAt > sent, self.lastFrameAt.advanced(by: self.configuration.pongTimeout) > now {
                self.pongDeadline = self.lastFrameAt.advanced(by: self.configuration.pongTimeout)
            } else {
                return self.kill(.pongTimeout, now: now)
            }
        }
        if now >= self.lastFrameAt.advanced(by: self.livenessTimeout) {
            return self.kill(.silent, now: now)
        }
        if let due = self.nextPingAt, now >= due {
            let id = self.takeRequestID()
            self.actions.append(.send(ClientRequest.ping.encoded(id: id)))
            self.pongDeadline = now.advanced(by: self.configuration.pongTimeout)
            self.pingSentAt = now
            self.nextPingAt = now.advanced(by: self.pingInterval)
        }
        // Requests without an answer.
        for (id, request) in self.pending where now >= request.deadline {
            self.pending[id] = nil
            switch request.kind {
            case .subscribe:
                for slot in request.slots {
                    guard let s = self.slots[slot], s.status == .pending(id) else { continue }
                    self.slots[slot]?.status = .failed
                    self.events.append(.subscriptionFailed(s.subscription, .timeout))
                }
            case .unsubscribe, .unsubscribeChannel:
                for slot in request.slots where self.slots[slot]?.status == .unsubscribing(id) { self.remove(slot: slot) }
            case .ignored:
                break
            }
        }
        // Subscriptions whose retry (after a retryable error) is due.
        var retry: [Int] = []
        for i in self.slots.indices {
            guard let e = self.slots[i], e.status == .unsent, let at = e.retryAt, now >= at else { continue }
            self.slots[i]?.retryAt = nil
            retry.append(i)
        }
        if !retry.isEmpty { self.sendRequests(kind: .subscribe, slots: retry, now: now) }
        // Stale subscriptions: report; the first `staleResubscribes` times in a quiet spell, re-subscribe each alone.
        var stale: [Int] = []
        for i in self.slots.indices {
            guard let e = self.slots[i], e.status == .active, let due = self.staleDue(e), now >= due else { continue }
            let since = e.quietSince ?? self.staleReference(e) ?? now
            self.slots[i]?.staleCount += 1
            self.slots[i]?.lastStaleAt = now
            self.slots[i]?.quietSince = since
            self.counters.staleSubscriptions += 1
            self.events.append(.stale(e.subscription, since: since))
            if e.staleCount < self.configuration.staleResubscribes { stale.append(i) }
        }
        for slot in stale {
            guard let e = self.slots[slot] else { continue }
            let channel = e.subscription.channel
            if let params = SubscriptionParams(grouping: [e.subscription]) {
                let id = self.takeRequestID()
                self.actions.append(.send(ClientRequest.unsubscribe(channel, params).encoded(id: id)))
                self.pending[id] = PendingRequest(kind: .ignored, slots: [], deadline: now.advanced(by: self.configuration.requestTimeout))
            }
            self.slots[slot]?.status = .unsent
            self.slots[slot]?.interruptedSince = e.lastRoutedAt ?? e.activeSince
            self.slots[slot]?.interruptionReason = .silent
        }
        if !stale.isEmpty { self.sendRequests(kind: .subscribe, slots: stale, now: now) }
    }

    // MARK: - Internals: requests

    private mutating func takeRequestID() -> Int64 {
        defer { self.nextRequestID += 1 }
        return self.nextRequestID
    }

    private mutating func sendUnsent(now: Instant) {
        let unsent = self.slots.indices.filter { self.slots[$0]?.status == .unsent && self.slots[$0]?.retryAt == nil }
        if !unsent.isEmpty { self.sendRequests(kind: .subscribe, slots: unsent, now: now) }
    }

    /// Groups subscriptions by channel, platform and interval, in chunks, one request each.
    private mutating func sendRequests(kind: PendingRequest.Kind, slots: [Int], now: Instant) {
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        for slot in slots {
            guard let s = self.slots[slot]?.subscription else { continue }
            let platform: Int64? = if case .address(let p, _) = s.target { p } else { nil }
            let key = "\(s.channel.rawValue)|\(platform ?? -1)|\(s.interval ?? "")"
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(slot)
        }
        for key in order {
            let members = groups[key] ?? []
            var start = 0
            while start < members.count {
                let chunk = Array(members[start..<min(start + self.configuration.maxTargetsPerRequest, members.count)])
                start += chunk.count
                let subs = chunk.compactMap { self.slots[$0]?.subscription }
                guard let first = subs.first, let params = SubscriptionParams(grouping: subs) else { continue }
                let id = self.takeRequestID()
                let request: ClientRequest =
                    kind == .subscribe ? .subscribe(first.channel, params) : .unsubscribe(first.channel, params)
                self.actions.append(.send(request.encoded(id: id)))
                self.pending[id] = PendingRequest(
                    kind: kind,
                    slots: chunk,
                    deadline: now.advanced(by: self.configuration.requestTimeout)
                )
                for slot in chunk { self.slots[slot]?.status = kind == .subscribe ? .pending(id) : .unsubscribing(id) }
            }
        }
    }

    private mutating func handleAck(_ frame: DecodedFrame, now: Instant) {
        if let limit = frame.subLimit, limit > 0 { self.subscriptionLimit = Int(limit) }
        guard let id = frame.id, let request = self.pending.removeValue(forKey: id) else { return }
        guard (frame.code ?? 0) == 0 else {
            self.fail(request, id: id, .rejected(code: nil, message: "ack code \(frame.code ?? -1)", detail: ""))
            return
        }
        switch request.kind {
        case .subscribe:
            for slot in request.slots {
                guard var e = self.slots[slot], e.status == .pending(id) else { continue }
                e.status = .active
                e.activeSince = now
                e.retries = 0
                self.provenSinceConnect = true
                let interruption = e.interruptedSince.map { ($0, e.interruptionReason ?? .silent) }
                e.interruptedSince = nil
                e.interruptionReason = nil
                self.slots[slot] = e
                self.events.append(.subscribed(e.subscription, duplicate: frame.duplicate))
                if let (from, reason) = interruption {
                    self.events.append(.gap(e.subscription, from: from, to: now, reason: reason))
                    if self.awaitingRestore > 0 {
                        self.awaitingRestore -= 1
                        if self.awaitingRestore == 0 { self.events.append(.restored) }
                    }
                }
            }
        case .unsubscribe, .unsubscribeChannel:
            for slot in request.slots where self.slots[slot]?.status == .unsubscribing(id) { self.remove(slot: slot) }
        case .ignored:
            break
        }
    }

    private mutating func handleError(_ frame: DecodedFrame, bytes: UnsafeRawBufferPointer, now: Instant) {
        let status = frame.status ?? ErrorStatus()
        let message = status.errorMessage.map { $0.string(in: bytes) } ?? ""
        let detail = status.errorDetail.map { $0.string(in: bytes) } ?? ""
        let code = status.errorCode
        let answered = frame.id.flatMap { id in self.pending.removeValue(forKey: id).map { (id, $0) } }
        let failure = SubscriptionFailure.rejected(code: code, message: message, detail: detail)
        switch code?.disposition {
        case .fatal?:
            // The key itself: nothing a retry can fix, whichever request it answers.
            self.failForGood(code: code, detail: detail, now: now)
        case .rejectRequest?, nil:
            // About one request (or without a code to judge by): only that request's subscriptions.
            if let (id, request) = answered {
                self.fail(request, id: id, failure)
            } else if code?.isFatalWithoutRequest == true {
                self.failForGood(code: code, detail: detail, now: now)
            } else {
                self.events.append(.serverError(code: code, message: message, detail: detail))
            }
        case .retry?:
            if let (id, request) = answered {
                self.retry(request, id: id, failure, now: now)
            } else {
                self.events.append(.serverError(code: code, message: message, detail: detail))
            }
        }
    }

    /// An error about the key: close, then fail.
    private mutating func failForGood(code: StreamErrorCode?, detail: String, now: Instant) {
        let reason = DisconnectReason.closedByServer(code: 0, reason: "error \(code?.description ?? "?"): \(detail)")
        self.actions.append(.close(code: 1000))
        self.beginClosing(reason, then: .fail, now: now)
    }

    /// A retryable error answered `request`: its subscriptions are sent again after a backoff (doubling from
    /// `backoffInitial`, jittered in its upper half, capped), each at most `requestRetries` times; then failed.
    private mutating func retry(_ request: PendingRequest, id: Int64, _ failure: SubscriptionFailure, now: Instant) {
        guard request.kind == .subscribe else { return self.fail(request, id: id, failure) }
        for slot in request.slots {
            guard var e = self.slots[slot], e.status == .pending(id) else { continue }
            e.retries += 1
            if e.retries > self.configuration.requestRetries {
                e.status = .failed
                e.retries = 0
                self.slots[slot] = e
                self.events.append(.subscriptionFailed(e.subscription, failure))
                continue
            }
            let bound = min(self.configuration.backoffCap.nanoseconds, self.configuration.backoffInitial.nanoseconds.saturatingShiftLeft(e.retries - 1))
            let delay = bound / 2 + Int64.random(in: 0...max(bound / 2, 0), using: &self.rng)
            e.status = .unsent
            e.retryAt = now.advanced(by: .nanoseconds(delay))
            self.slots[slot] = e
        }
    }

    private mutating func fail(_ request: PendingRequest, id: Int64, _ failure: SubscriptionFailure) {
        for slot in request.slots {
            guard let e = self.slots[slot] else { continue }
            switch (request.kind, e.status) {
            case (.subscribe, .pending(id)):
                self.slots[slot]?.status = .failed
                self.events.append(.subscriptionFailed(e.subscription, failure))
            case (.unsubscribe, .unsubscribing(id)), (.unsubscribeChannel, .unsubscribing(id)):
                self.remove(slot: slot)
            default:
                break
            }
        }
    }

    private mutating func remove(slot: Int) {
        guard let e = self.slots[slot] else { return }
        self.slots[slot] = nil
        self.freeSlots.append(slot)
        self.slotBySubscription[e.subscription] = nil
        if self.slotByRoute[e.route] == slot { self.slotByRoute[e.route] = nil }
        self.events.append(.unsubscribed(e.subscription))
    }

    // MARK: - Internals: data

    private mutating func handleData(_ frame: DecodedFrame, bytes: UnsafeRawBufferPointer, now: Instant) -> InboundResult {
        self.counters.dataFrames += 1
        self.provenSinceConnect = true
        // Both token legs of one swap or liquidity event: deliver once.
        if self.configuration.dedupeWindow > 0, let key = Self.dedupeKey(frame, bytes: bytes), !self.dedupe.insert(key) {
            self.counters.duplicatesSuppressed += 1
            return .duplicate
        }
        guard let channel = frame.channel, let echoed = frame.params, let slot = self.slot(for: frame, channel: channel, echoed: echoed, bytes: bytes),
            let entry = self.slots[slot]
        else {
            return .data(subscription: nil)
        }
        self.noteData(slot: slot, entry, now: now)
        self.slots[slot]?.lastRoutedAt = now
        return .data(subscription: entry.subscription)
    }

    /// Data arrived for the subscription in `slot`: its gap marker (if it was interrupted), its staleness.
    private mutating func noteData(slot: Int, _ entry: Entry, now: Instant) {
        if let from = entry.interruptedSince, entry.status == .active {
            self.events.append(.gap(entry.subscription, from: from, to: now, reason: entry.interruptionReason ?? .silent))
            self.slots[slot]?.interruptedSince = nil
        }
        self.slots[slot]?.lastDataAt = now
        if entry.staleCount > 0 {
            self.slots[slot]?.staleCount = 0
            self.slots[slot]?.lastStaleAt = nil
            self.slots[slot]?.quietSince = nil
        }
    }

    /// Attributes a swap or liquidity event that arrived (on this connection or another) to each subscription of
    /// this session its payload names (`t0a`, `t1a`, and a swap's `pa`, on its platform), as data of that subscription (gap
    /// marker first, staleness reset), and adds them to `matches`. Not as the start of a later gap: that is the last
    /// push read for it on its own connection (`lastRoutedAt`). Allocates nothing.
    mutating func attribute(_ frame: DecodedFrame, bytes: UnsafeRawBufferPointer, now: Instant, to matches: inout SubscriptionMatches) {
        guard let channel = frame.channel, channel == .transaction || channel == .liquidityEvent,
            var params = frame.params
        else { return }
        let pid = channel == .transaction ? frame.transaction?.pid : frame.liquidityEvent?.pid
        if let pid { params.platformID = pid }
        params.interval = nil
        params.cryptoID = nil
        func consider(_ address: TextSlice?, _ session: inout Session) {
            guard let address else { return }
            params.address = address
            guard let slot = session.slotByRoute[Self.route(channel: channel, params: params, bytes: bytes)],
                let entry = session.slots[slot], entry.status == .active,
                Self.matches(entry.subscription, params: params, bytes: bytes), !matches.contains(entry.subscription)
            else { return }
            matches.append(entry.subscription)
            session.noteData(slot: slot, entry, now: now)
        }
        if channel == .transaction {
            consider(frame.transaction?.t0a, &self)
            consider(frame.transaction?.t1a, &self)
            consider(frame.transaction?.pa, &self)
        } else {
            consider(frame.liquidityEvent?.t0a, &self)
            consider(frame.liquidityEvent?.t1a, &self)
        }
    }

    /// The subscription a push belongs to. A params echo naming one target routes it; one naming several (an
    /// array, `"crypto_ids":[1,1027]`) is ambiguous, so the payload's own id or address decides: `cid` for prices,
    /// `a`, `pa` or `wa` on-chain, and for swaps and liquidity events each of `t0a`, `t1a` (and a swap's `pa`) in
    /// turn. No
    /// match: unattributed (delivered with no subscription), never misattributed.
    private func slot(for frame: DecodedFrame, channel: Channel, echoed: ParamsEcho, bytes: UnsafeRawBufferPointer) -> Int? {
        func lookup(_ params: ParamsEcho) -> Int? {
            guard let slot = self.slotByRoute[Self.route(channel: channel, params: params, bytes: bytes)],
                let entry = self.slots[slot], Self.matches(entry.subscription, params: params, bytes: bytes)
            else { return nil }
            return slot
        }
        guard echoed.targetCount > 1 else { return lookup(echoed) }
        var params = echoed
        if channel == .cryptoLatestPrice {
            guard let cid = frame.cryptoLatestPrice?.cid else { return nil }
            params.cryptoID = cid
            return lookup(params)
        }
        for address in Self.payloadAddresses(frame, channel: channel) {
            guard let address else { continue }
            params.address = address
            if let slot = lookup(params) { return slot }
        }
        return nil
    }

    /// The addresses of an on-chain payload a subscription may name, most specific first.
    private static func payloadAddresses(_ frame: DecodedFrame, channel: Channel) -> [TextSlice?] {
        switch channel {
        case .transaction: [frame.transaction?.t0a, frame.transaction?.t1a, frame.transaction?.pa]
        case .liquidityEvent: [frame.liquidityEvent?.t0a, frame.liquidityEvent?.t1a]
        case .tokenAggEvent: [frame.tokenAggEvent?.a]
        case .tokenMetric: [frame.tokenMetric?.a]
        case .poolMetric: [frame.poolMetric?.pa]
        case .holdersMetrics: [frame.holdersMetrics?.a]
        case .holderWalletUpdate: [frame.holderWalletUpdate?.wa]
        default: []
        }
    }

    /// `tx` + `lgid`/`iix` for swaps and liquidity events; when both indexes are missing (seen on real frames),
    /// the payload's own bytes (identical on both legs).
    static func dedupeKey(_ frame: DecodedFrame, bytes: UnsafeRawBufferPointer) -> UInt64? {
        var h = FNV1a()
        switch frame.channel {
        case .transaction:
            guard let p = frame.transaction else { return nil }
            h.add(1)
            if let tx = p.tx, let index = p.dedupeIndex {
                h.add(bytes: bytes, tx)
                h.add(UInt64(bitPattern: index))
                return h.value
            }
        case .liquidityEvent:
            guard let p = frame.liquidityEvent else { return nil }
            h.add(2)
            if let tx = p.tx, let index = p.dedupeIndex {
                h.add(bytes: bytes, tx)
                h.add(UInt64(bitPattern: index))
                return h.value
            }
        default:
            return nil
        }
        guard let region = frame.payloadRegion else { return nil }
        h.add(bytes: bytes, TextSlice(offset: region.offset, count: region.count, hasEscapes: false))
        return h.value
    }

    /// The routing hash of a subscription: channel, target (EVM addresses lowercased) and interval.
    static func route(of s: Subscription) -> UInt64 {
        var h = FNV1a()
        h.add(s.channel.ordinal)
        switch s.target {
        case .crypto(let id):
            h.add(UInt64(bitPattern: id))
        case .address(let platform, let address):
            h.add(UInt64(bitPattern: platform))
            var a = Array(address.utf8)
            a.withUnsafeMutableBytes { raw in
                h.addAddress(UnsafeRawBufferPointer(raw), TextSlice(offset: 0, count: raw.count, hasEscapes: false))
            }
            a.removeAll()
        }
        if let interval = s.interval {
            var a = Array(interval.utf8)
            a.withUnsafeMutableBytes { raw in
                h.add(bytes: UnsafeRawBufferPointer(raw), TextSlice(offset: 0, count: raw.count, hasEscapes: false))
            }
            a.removeAll()
        }
        return h.value
    }

    /// The same hash from a push's params echo, without materialising anything.
    static func route(channel: Channel, params: ParamsEcho, bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = FNV1a()
        h.add(channel.ordinal)
        if let id = params.cryptoID {
            h.add(UInt64(bitPattern: id))
        } else if let address = params.address {
            h.add(UInt64(bitPattern: params.platformID ?? 0))
            if address.hasEscapes {
                var a = Array(address.string(in: bytes).utf8)
                a.withUnsafeMutableBytes { raw in
                    h.addAddress(UnsafeRawBufferPointer(raw), TextSlice(offset: 0, count: raw.count, hasEscapes: false))
                }
            } else {
                h.addAddress(bytes, address)
            }
        }
        if let interval = params.interval { h.add(bytes: bytes, interval) }
        return h.value
    }

    /// Confirms a route hit byte by byte (hash collisions never misroute), without allocating.
    static func matches(_ s: Subscription, params: ParamsEcho, bytes: UnsafeRawBufferPointer) -> Bool {
        switch s.target {
        case .crypto(let id):
            guard params.cryptoID == id else { return false }
        case .address(let platform, let address):
            guard params.platformID == platform, let echoed = params.address else { return false }
            guard Self.equal(echoed, address, bytes: bytes, caseInsensitive: Subscription.isEVMAddress(address))
            else { return false }
        }
        switch (params.interval, s.interval) {
        case (nil, nil): return true
        case (let echoed?, let wanted?): return Self.equal(echoed, wanted, bytes: bytes, caseInsensitive: false)
        default: return false
        }
    }

    /// A slice against a string; `caseInsensitive` folds ASCII letters (EVM addresses).
    static func equal(_ slice: TextSlice, _ text: String, bytes: UnsafeRawBufferPointer, caseInsensitive: Bool) -> Bool {
        if slice.hasEscapes {
            let decoded = slice.string(in: bytes)
            return caseInsensitive ? decoded.lowercased() == text.lowercased() : decoded == text
        }
        guard slice.count == text.utf8.count else { return false }
        var i = slice.offset
        for b in text.utf8 {
            var a = bytes[i]
            var c = b
            if caseInsensitive {
                if a >= UInt8(ascii: "A") && a <= UInt8(ascii: "Z") { a |= 0x20 }
                if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c |= 0x20 }
            }
            guard a == c else { return false }
            i += 1
        }
        return true
    }
}

// MARK: - Errors

/// Why the session refused a call.
public enum SessionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The subscriptions would exceed the connection's subscription limit; nothing was added.
    case capacity(limit: Int)
    /// The session has stopped or failed.
    case notRunning

    public var description: String {
        switch self {
        case .capacity(let limit): "subscription limit \(limit) reached on this connection"
        case .notRunning: "the session has stopped"
        }
    }
}

// MARK: - Helpers

/// 64-bit FNV-1a.
struct FNV1a {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ v: UInt64) {
        var x = v
        for _ in 0..<8 {
            self.value = (self.value ^ (x & 0xFF)) &* 0x0000_0100_0000_01B3
            x >>= 8
        }
    }

    mutating func add(bytes: UnsafeRawBufferPointer, _ s: TextSlice) {
        for i in s.range { self.value = (self.value ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01B3 }
        self.add(UInt64(s.count))
    }

    /// An address, lowercased when it is an EVM address (`0x` + 40 hex digits), as the server compares them.
    mutating func addAddress(_ bytes: UnsafeRawBufferPointer, _ s: TextSlice) {
        let r = s.range
        var evm = s.count == 42 && bytes[r.lowerBound] == UInt8(ascii: "0") && bytes[r.lowerBound + 1] | 0x20 == UInt8(ascii: "x")
        if evm {
            for i in (r.lowerBound + 2)..<r.upperBound where hexValue(bytes[i]) == nil {
                evm = false
                break
            }
        }
        for i in r {
            var b = bytes[i]
            if evm && b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") { b |= 0x20 }
            self.value = (self.value ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        self.add(UInt64(s.count))
    }
}

/// The most recent `capacity` keys, for deduplication, in bounded memory.
struct DedupeWindow: Sendable {
    private var ring: [UInt64]
    private var next = 0
    private var filled = 0
    private var members: Set<UInt64>

    init(capacity: Int) {
        let n = max(capacity, 1)
        self.ring = Array(repeating: 0, count: n)
        self.members = Set(minimumCapacity: n * 2)
    }

    /// Inserts `key`; false when it was already among the most recent keys.
    mutating func insert(_ key: UInt64) -> Bool {
        guard !self.members.contains(key) else { return false }
        if self.filled == self.ring.count {
            self.members.remove(self.ring[self.next])
        } else {
            self.filled += 1
        }
        self.ring[self.next] = key
        self.members.insert(key)
        self.next = (self.next + 1) % self.ring.count
        return true
    }
}

extension Int64 {
    /// `self << n`, saturating at `Int64.max`.
    fileprivate func saturatingShiftLeft(_ n: Int) -> Int64 {
        guard n > 0 else { return self }
        guard n < 63, self <= Int64.max >> Int64(n) else { return .max }
        return self << Int64(n)
    }
}
