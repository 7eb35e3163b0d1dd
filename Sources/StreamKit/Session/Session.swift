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
//
// This file holds the state machine: each state carries what only it has (`State`). Around it, as extensions of
// `Session` or small types of their own: the subscription table (SubscriptionTable.swift), requests and their
// chunking (SessionRequests.swift), routing of pushes to subscriptions (SessionRouting.swift) and deduplication
// (SessionDedupe.swift).

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
    public internal(set) var counters = SessionCounters()

    // MARK: State

    /// Where the session is, each state with what only it has (so a pong deadline while backing off, say, cannot
    /// be written down).
    enum State: Sendable {
        case idle
        /// Connecting since `since`.
        case connecting(since: Instant, Retry)
        case open(Connection)
        /// The close was asked for (`reason`); waiting for the transport to report it until `deadline`.
        case closing(reason: DisconnectReason, then: AfterClose, deadline: Instant)
        case backoff(until: Instant, Retry)
        case failed(DisconnectReason)
        case stopped
    }

    /// Where `closing` goes once the connection is gone.
    enum AfterClose: Sendable {
        case reconnect(Retry), fail, stop
    }

    /// How far reconnecting has got: carried from `connecting` through `closing` and `backoff` to the next
    /// `connecting`, and its attempt count through `open` until the connection proves healthy.
    struct Retry: Sendable {
        /// Reconnects since the start or the last healthy connection: the backoff's exponent, and the attempt
        /// ``SessionEvent/connecting(attempt:)`` reports.
        var attempt = 0
        /// HTTP 401/403 refusals of the upgrade in a row (reset by a successful upgrade).
        var consecutiveRefusals = 0
    }

    /// The open connection: its keep-alive, its health and its requests in flight, all gone with it.
    struct Connection: Sendable {
        /// ``Retry/attempt`` when it opened; zeroed once it has been open ``SessionConfiguration/healthyAfter``
        /// and proved alive.
        var attempt: Int
        let connectedAt: Instant
        /// A pong, an ack or data arrived since the connection opened: it is alive, not merely accepted.
        var proven = false
        var lastFrameAt: Instant
        /// The ping interval in force: the configured one until the welcome announces another.
        var pingInterval: Duration
        var nextPingAt: Instant
        /// The ping whose pong has not come yet.
        var awaitedPong: AwaitedPong?
        var consecutiveInvalid = 0
        /// Subscriptions interrupted before it opened not yet active again (`restored` when the last one is).
        var awaitingRestore: Int
        /// Requests without an answer yet, by id.
        var pending: [Int64: PendingRequest] = [:]

        /// Where reconnecting stands once it is gone: an upgraded connection ended any run of refusals.
        var retry: Retry { Retry(attempt: self.attempt) }
    }

    /// A ping sent and not answered: when, and when its pong is due.
    struct AwaitedPong: Sendable {
        let pingSentAt: Instant
        var deadline: Instant
    }

    /// A summary of where the session is, for display and tests.
    public enum Phase: String, Sendable, Hashable {
        case idle, connecting, open, closing, backoff, failed, stopped
    }

    var state: State = .idle
    private var decoder = FrameDecoder()
    private var rng: SplitMix64
    var actions: [SessionAction] = []
    private var actionHead = 0
    var events: [SessionEvent] = []
    private var eventHead = 0

    // Reading: the transport's, across connections (a pause outlasts the connection it began on).
    private var readingPaused = false
    /// When reading last resumed after a pause: staleness counts from here at the earliest (the pause was ours, not
    /// the server's), while gap markers keep counting from the last data actually received.
    private var readingResumedAt: Instant?

    // Requests: ids are the session's, unique across its connections.
    var nextRequestID: Int64 = 1

    // Subscriptions
    var table: SubscriptionTable
    var dedupe: DedupeWindow

    /// Creates an idle session.
    ///
    /// - Parameters:
    ///   - configuration: Timeouts, backoff and limits; see ``SessionConfiguration``.
    ///   - seed: Seeds the backoff jitter, so a test (or a fleet of clients) can reproduce or spread delays.
    public init(configuration: SessionConfiguration = SessionConfiguration(), seed: UInt64) {
        self.configuration = configuration
        self.rng = SplitMix64(seed: seed)
        self.table = SubscriptionTable(limit: configuration.subscriptionLimit)
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

    /// The open connection, edited in place. Only while `open`: every use is behind a check of the state.
    var connection: Connection {
        get {
            guard case .open(let connection) = self.state else { preconditionFailure("no open connection") }
            return connection
        }
        _modify {
            guard case .open(var connection) = self.state else { preconditionFailure("no open connection") }
            // Out of the state while it is edited, so its request table is not copied.
            self.state = .idle
            defer { self.state = .open(connection) }
            yield &connection
        }
    }

    /// Edits the open connection once, in place (see ``connection``).
    @inline(__always)
    mutating func editConnection(_ edit: (inout Connection) -> Void) {
        edit(&self.connection)
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
        case .connecting(let since, _):
            consider(since.advanced(by: self.configuration.connectTimeout))
        case .open(let connection):
            // While the transport does not read (a `block` consumer fell behind), silence is ours: only the health
            // deadline runs.
            if !self.readingPaused {
                consider(connection.nextPingAt)
                consider(connection.awaitedPong?.deadline)
                consider(connection.lastFrameAt.advanced(by: self.livenessTimeout(connection)))
                for request in connection.pending.values { consider(request.deadline) }
                for entry in self.table.slots {
                    guard let entry else { continue }
                    if entry.status == .active { consider(self.staleDue(entry)) }
                    if entry.status == .unsent { consider(entry.retryAt) }
                }
            }
            if connection.attempt > 0, connection.proven {
                consider(connection.connectedAt.advanced(by: self.configuration.healthyAfter))
            }
        case .backoff(let until, _):
            consider(until)
        case .closing(_, _, let deadline):
            consider(deadline)
        case .idle, .failed, .stopped:
            break
        }
        return earliest
    }

    // MARK: - Lifecycle inputs

    /// Starts connecting. Does nothing unless idle.
    public mutating func start(now: Instant) {
        guard case .idle = self.state else { return }
        self.beginConnecting(Retry(), now: now)
    }

    /// Stops for good: closes the connection if there is one. Every later input is ignored.
    public mutating func stop(now: Instant) {
        switch self.state {
        case .connecting, .open:
            self.actions.append(.close(code: 1000))
            self.beginClosing(.stopped, then: .stop, now: now)
        case .closing(let reason, _, let deadline):
            self.state = .closing(reason: reason, then: .stop, deadline: deadline)
        case .idle, .backoff:
            self.state = .stopped
            self.events.append(.stopped)
        case .failed, .stopped:
            break
        }
    }

    /// The transport is connected (WebSocket upgrade done).
    public mutating func handleConnected(now: Instant) {
        guard case .connecting(_, let retry) = self.state else { return }
        self.state = .open(
            Connection(
                attempt: retry.attempt,
                connectedAt: now,
                lastFrameAt: now,
                pingInterval: self.configuration.defaultPingInterval,
                nextPingAt: now.advanced(by: self.configuration.defaultPingInterval),
                awaitingRestore: self.table.slots.reduce(0) { $0 + ($1?.interruptedSince != nil ? 1 : 0) }
            )
        )
        self.events.append(.connected)
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
        self.connection.lastFrameAt = now
        self.connection.awaitedPong = nil
        self.connection.nextPingAt = now
        let deadline = now.advanced(by: self.configuration.requestTimeout)
        for key in self.connection.pending.keys { self.connection.pending[key]?.deadline = deadline }
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
    private func livenessTimeout(_ connection: Connection) -> Duration {
        max(self.configuration.livenessTimeout, connection.pingInterval * 3)
    }

    /// Connecting failed. `httpStatus` is the server's answer to the upgrade when it was not 101 (see
    /// ``DisconnectReason/refused(httpStatus:)``: 401/403 become fatal after
    /// ``SessionConfiguration/refusalsBeforeFatal`` in a row, 429 waits ``SessionConfiguration/connectionLimitDelay``).
    public mutating func handleConnectFailed(reason: String, httpStatus: Int? = nil, now: Instant) {
        guard case .connecting(_, let retry) = self.state else {
            if case .closing = self.state { self.handleClosed(code: nil, reason: reason, now: now) }
            return
        }
        if let httpStatus {
            self.disconnected(.refused(httpStatus: httpStatus), closeCode: nil, retry: retry, now: now)
        } else {
            self.disconnected(.transportError(reason), closeCode: nil, retry: retry, now: now)
        }
    }

    /// The connection is gone: closed by the server (`code`), by us, or dropped (`code` nil).
    public mutating func handleClosed(code: UInt16?, reason: String, now: Instant) {
        switch self.state {
        case .closing(let ours, let then, _):
            switch then {
            case .stop:
                self.state = .stopped
                self.events.append(.stopped)
            case .fail:
                self.state = .failed(ours)
                self.events.append(.fatal(ours))
            case .reconnect(let retry):
                self.disconnected(ours, closeCode: nil, retry: retry, now: now)
            }
        case .connecting(_, let retry):
            self.disconnected(Self.lost(code: code, reason: reason), closeCode: code, retry: retry, now: now)
        case .open(let connection):
            self.disconnected(Self.lost(code: code, reason: reason), closeCode: code, retry: connection.retry, now: now)
        case .idle, .backoff, .failed, .stopped:
            break
        }
    }

    /// Why a connection we did not close is gone: the server's close code, or the transport's word.
    private static func lost(code: UInt16?, reason: String) -> DisconnectReason {
        code.map { .closedByServer(code: $0, reason: reason) } ?? .transportError(reason.isEmpty ? "connection lost" : reason)
    }

    /// Timers: call no later than ``pollTimeout()``; calling early is harmless.
    public mutating func handleTimeout(now: Instant) {
        switch self.state {
        case .connecting(let since, let retry):
            if now >= since.advanced(by: self.configuration.connectTimeout) {
                self.actions.append(.close(code: 1001))
                self.beginClosing(.connectTimeout, then: .reconnect(retry), now: now)
            }
        case .closing(_, _, let deadline):
            // The transport asked to close never said it had: do not wait for it forever.
            if now >= deadline {
                self.handleClosed(code: nil, reason: "no close confirmation in time", now: now)
            }
        case .backoff(let until, let retry):
            if now >= until { self.beginConnecting(retry, now: now) }
        case .open:
            self.openTimers(now: now)
        case .idle, .failed, .stopped:
            break
        }
    }

    /// Enters `closing` (the close was asked for) with a deadline for the transport's report.
    private mutating func beginClosing(_ reason: DisconnectReason, then: AfterClose, now: Instant) {
        self.state = .closing(reason: reason, then: then, deadline: now.advanced(by: self.configuration.closeTimeout))
    }

    // MARK: - Frames

    /// A text frame arrived. Decodes it in place into `frame` and updates the session.
    ///
    /// - Returns: What the frame was and whether to deliver it; drain ``pollEvent()`` first.
    public mutating func handleText(_ bytes: UnsafeRawBufferPointer, now: Instant, into frame: inout DecodedFrame) -> InboundResult {
        guard case .open = self.state else { return .control }
        do {
            try self.decoder.decode(bytes, into: &frame)
        } catch {
            self.counters.invalidFrames += 1
            self.connection.lastFrameAt = now
            self.connection.consecutiveInvalid += 1
            if self.connection.consecutiveInvalid >= 3 {
                self.kill(.protocolError("\(error)"), now: now)
            }
            return .invalid(error)
        }
        // One edit of the connection per frame (each takes it out of the state and puts it back): this runs for
        // every push. A data frame proves the connection alive.
        let data = frame.kind == .data
        self.editConnection { connection in
            connection.lastFrameAt = now
            connection.consecutiveInvalid = 0
            if data { connection.proven = true }
        }
        switch frame.kind {
        case .data:
            return self.handleData(frame, bytes: bytes, now: now)
        case .welcome:
            if let ms = frame.pingIntervalMS {
                // Accept 1 s ... 300 s; outside that the server is confused, keep ours.
                let interval = Duration.milliseconds(ms)
                if interval >= .seconds(1) && interval <= .seconds(300) {
                    self.connection.pingInterval = interval
                    self.connection.nextPingAt = now.advanced(by: interval)
                }
            }
            self.events.append(.welcome(pingInterval: self.connection.pingInterval))
        case .pong:
            self.connection.awaitedPong = nil
            self.connection.proven = true
            if let id = frame.id { self.connection.pending[id] = nil }
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

    var isLive: Bool {
        switch self.state {
        case .idle, .connecting, .open, .backoff: true
        case .closing(_, .reconnect, _): true
        case .closing(_, .fail, _), .closing(_, .stop, _), .failed, .stopped: false
        }
    }

    private func staleAfter(_ channel: Channel) -> Duration? {
        channel == .cryptoLatestPrice ? self.configuration.priceStaleAfter : self.configuration.onChainStaleAfter
    }

    private mutating func beginConnecting(_ retry: Retry, now: Instant) {
        self.state = .connecting(since: now, retry)
        self.actions.append(.connect)
        self.events.append(.connecting(attempt: retry.attempt))
    }

    /// Closes the open connection, judged dead (or misbehaving), and reconnects after it is gone.
    private mutating func kill(_ reason: DisconnectReason, now: Instant) {
        self.actions.append(.close(code: 1001))
        self.beginClosing(reason, then: .reconnect(self.connection.retry), now: now)
    }

    /// The connection (or the attempt) is gone, with `retry` where reconnecting stood: fail for good, or back off.
    /// Every request in flight went with the open state; its subscriptions go back to unsent here.
    private mutating func disconnected(_ reason: DisconnectReason, closeCode: UInt16?, retry: Retry, now: Instant) {
        var retry = retry
        let code = closeCode.map(CloseCode.init(rawValue:))
        var refusedStatus: Int?
        if case .refused(let status) = reason {
            refusedStatus = status
            if status == 401 || status == 403 { retry.consecutiveRefusals += 1 } else { retry.consecutiveRefusals = 0 }
        }
        if code?.policy == .fatal || (refusedStatus != nil && retry.consecutiveRefusals >= max(1, self.configuration.refusalsBeforeFatal)) {
            self.state = .failed(reason)
            self.events.append(.fatal(reason))
            return
        }
        // Mark the interruption for gap markers, and queue everything wanted for re-sending.
        for i in self.table.slots.indices {
            guard var e = self.table[i] else { continue }
            switch e.status {
            case .active, .pending:
                if e.interruptedSince == nil {
                    e.interruptedSince = e.lastRoutedAt ?? e.activeSince ?? now
                    e.interruptionReason = reason
                }
                e.status = .unsent
            case .unsubscribing:
                self.table[i] = e
                self.remove(slot: i)
                continue
            case .unsent, .failed:
                break
            }
            e.activeSince = nil
            e.retryAt = nil
            self.table[i] = e
        }
        retry.attempt += 1
        self.counters.reconnects += 1
        let bound = min(
            self.configuration.backoffCap.nanoseconds,
            self.configuration.backoffInitial.nanoseconds.saturatingShiftLeft(retry.attempt - 1)
        )
        var delay = Duration.nanoseconds(Int64.random(in: 0...max(bound, 0), using: &self.rng))
        if code?.policy == .retryAfterLongDelay || refusedStatus == 429 {
            delay = self.configuration.connectionLimitDelay
                + .nanoseconds(Int64.random(in: 0...max(0, self.configuration.backoffInitial.nanoseconds), using: &self.rng))
        }
        self.state = .backoff(until: now.advanced(by: delay), retry)
        self.events.append(.reconnecting(attempt: retry.attempt, delay: delay, reason: reason))
    }

    /// The open connection's timers.
    private mutating func openTimers(now: Instant) {
        // Health: the connection has been open long enough and proved alive: reset the backoff.
        let connection = self.connection
        if connection.attempt > 0, connection.proven, now >= connection.connectedAt.advanced(by: self.configuration.healthyAfter) {
            self.connection.attempt = 0
        }
        if self.readingPaused { return }
        if let pong = connection.awaitedPong, now >= pong.deadline {
            // Frames arrived after the ping: the connection is alive and its pong is queued behind them (a burst
            // that a slow or busy reader is still working through). Wait for it from the last frame on; only a
            // connection silent for a whole pong timeout after the ping is dead.
            let extended = connection.lastFrameAt.advanced(by: self.configuration.pongTimeout)
            if connection.lastFrameAt > pong.pingSentAt, extended > now {
                self.connection.awaitedPong?.deadline = extended
            } else {
                return self.kill(.pongTimeout, now: now)
            }
        }
        if now >= connection.lastFrameAt.advanced(by: self.livenessTimeout(connection)) {
            return self.kill(.silent, now: now)
        }
        if now >= connection.nextPingAt {
            let id = self.takeRequestID()
            self.actions.append(.send(ClientRequest.ping.encoded(id: id)))
            self.connection.awaitedPong = AwaitedPong(pingSentAt: now, deadline: now.advanced(by: self.configuration.pongTimeout))
            self.connection.nextPingAt = now.advanced(by: connection.pingInterval)
        }
        // Requests without an answer.
        for (id, request) in connection.pending where now >= request.deadline {
            self.connection.pending[id] = nil
            switch request.kind {
            case .subscribe:
                for slot in request.slots {
                    guard let s = self.table[slot], s.status == .pending(id) else { continue }
                    self.table[slot]?.status = .failed
                    self.events.append(.subscriptionFailed(s.subscription, .timeout))
                }
            case .unsubscribe, .unsubscribeChannel:
                for slot in request.slots where self.table[slot]?.status == .unsubscribing(id) { self.remove(slot: slot) }
            case .ignored:
                break
            }
        }
        // Subscriptions whose retry (after a retryable error) is due.
        var retry: [Int] = []
        for i in self.table.slots.indices {
            guard let e = self.table[i], e.status == .unsent, let at = e.retryAt, now >= at else { continue }
            self.table[i]?.retryAt = nil
            retry.append(i)
        }
        if !retry.isEmpty { self.sendRequests(kind: .subscribe, slots: retry, now: now) }
        // Stale subscriptions: report; the first `staleResubscribes` times in a quiet spell, re-subscribe each alone.
        var stale: [Int] = []
        for i in self.table.slots.indices {
            guard let e = self.table[i], e.status == .active, let due = self.staleDue(e), now >= due else { continue }
            let since = e.quietSince ?? self.staleReference(e) ?? now
            self.table[i]?.staleCount += 1
            self.table[i]?.lastStaleAt = now
            self.table[i]?.quietSince = since
            self.counters.staleSubscriptions += 1
            self.events.append(.stale(e.subscription, since: since))
            if e.staleCount < self.configuration.staleResubscribes { stale.append(i) }
        }
        for slot in stale {
            guard let e = self.table[slot] else { continue }
            let channel = e.subscription.channel
            if let params = SubscriptionParams(grouping: [e.subscription]) {
                let id = self.takeRequestID()
                self.actions.append(.send(ClientRequest.unsubscribe(channel, params).encoded(id: id)))
                self.connection.pending[id] = PendingRequest(kind: .ignored, slots: [], deadline: now.advanced(by: self.configuration.requestTimeout))
            }
            self.table[slot]?.status = .unsent
            self.table[slot]?.interruptedSince = e.lastRoutedAt ?? e.activeSince
            self.table[slot]?.interruptionReason = .silent
        }
        if !stale.isEmpty { self.sendRequests(kind: .subscribe, slots: stale, now: now) }
    }

    private mutating func handleAck(_ frame: DecodedFrame, now: Instant) {
        if let limit = frame.subLimit, limit > 0 { self.table.limit = Int(limit) }
        guard let id = frame.id, let request = self.connection.pending.removeValue(forKey: id) else { return }
        guard (frame.code ?? 0) == 0 else {
            self.fail(request, id: id, .rejected(code: nil, message: "ack code \(frame.code ?? -1)", detail: ""))
            return
        }
        switch request.kind {
        case .subscribe:
            for slot in request.slots {
                guard var e = self.table[slot], e.status == .pending(id) else { continue }
                e.status = .active
                e.activeSince = now
                e.retries = 0
                self.connection.proven = true
                let interruption = e.interruptedSince.map { ($0, e.interruptionReason ?? .silent) }
                e.interruptedSince = nil
                e.interruptionReason = nil
                self.table[slot] = e
                self.events.append(.subscribed(e.subscription, duplicate: frame.duplicate))
                if let (from, reason) = interruption {
                    self.events.append(.gap(e.subscription, from: from, to: now, reason: reason))
                    if self.connection.awaitingRestore > 0 {
                        self.connection.awaitingRestore -= 1
                        if self.connection.awaitingRestore == 0 { self.events.append(.restored) }
                    }
                }
            }
        case .unsubscribe, .unsubscribeChannel:
            for slot in request.slots where self.table[slot]?.status == .unsubscribing(id) { self.remove(slot: slot) }
        case .ignored:
            break
        }
    }

    private mutating func handleError(_ frame: DecodedFrame, bytes: UnsafeRawBufferPointer, now: Instant) {
        let status = frame.status ?? ErrorStatus()
        let message = status.errorMessage.map { $0.string(in: bytes) } ?? ""
        let detail = status.errorDetail.map { $0.string(in: bytes) } ?? ""
        let code = status.errorCode
        let answered = frame.id.flatMap { id in self.connection.pending.removeValue(forKey: id).map { (id, $0) } }
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
            guard var e = self.table[slot], e.status == .pending(id) else { continue }
            e.retries += 1
            if e.retries > self.configuration.requestRetries {
                e.status = .failed
                e.retries = 0
                self.table[slot] = e
                self.events.append(.subscriptionFailed(e.subscription, failure))
                continue
            }
            let bound = min(self.configuration.backoffCap.nanoseconds, self.configuration.backoffInitial.nanoseconds.saturatingShiftLeft(e.retries - 1))
            let delay = bound / 2 + Int64.random(in: 0...max(bound / 2, 0), using: &self.rng)
            e.status = .unsent
            e.retryAt = now.advanced(by: .nanoseconds(delay))
            self.table[slot] = e
        }
    }

    private mutating func fail(_ request: PendingRequest, id: Int64, _ failure: SubscriptionFailure) {
        for slot in request.slots {
            guard let e = self.table[slot] else { continue }
            switch (request.kind, e.status) {
            case (.subscribe, .pending(id)):
                self.table[slot]?.status = .failed
                self.events.append(.subscriptionFailed(e.subscription, failure))
            case (.unsubscribe, .unsubscribing(id)), (.unsubscribeChannel, .unsubscribing(id)):
                self.remove(slot: slot)
            default:
                break
            }
        }
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
