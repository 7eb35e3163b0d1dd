// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// Shards subscriptions over several connections of one API key, sans-I/O like ``Session``.
///
/// The service allows 100 subscriptions per connection and 10 connections per key (both configurable for other
/// plans; an ack's `sub_limit` wins). The pool fills connections in order, opens a new one when the open ones are
/// full, and refuses up front (before anything is sent) what would not fit in all of them. It deduplicates swaps
/// and liquidity events across connections, since the two token legs of one swap may be subscribed on different
/// connections. Every input and output names its connection by index.
///
/// ```swift
/// var pool = SessionPool(configuration: SessionPool.Configuration(), seed: 7)
/// try pool.subscribe((1...250).map { Subscription.cryptoLatestPrice($0) }, now: now)   // 3 connections
/// pool.start(now: now)
/// while let (connection, action) = pool.pollAction() { transports[connection].perform(action) }
/// ```
public struct SessionPool: Sendable {
    /// Limits and the per-connection configuration.
    public struct Configuration: Sendable, Hashable {
        /// Each connection's configuration (its `subscriptionLimit` is the per-connection cap).
        public var session: SessionConfiguration
        /// Most connections per key. Documented: 10.
        public var maxConnections: Int
        /// Swaps and liquidity events remembered across all connections for deduplication.
        public var dedupeWindow: Int

        /// - Parameters:
        ///   - session: Per-connection configuration; see ``SessionConfiguration``.
        ///   - maxConnections: Default ``StreamKitDefaults/maxConnections``, the documented per-key limit.
        ///   - dedupeWindow: Default ``StreamKitDefaults/poolDedupeWindow``.
        public init(session: SessionConfiguration = SessionConfiguration(), maxConnections: Int = StreamKitDefaults.maxConnections,
                    dedupeWindow: Int = StreamKitDefaults.poolDedupeWindow) {
            self.session = session
            self.maxConnections = maxConnections
            self.dedupeWindow = dedupeWindow
        }
    }

    /// The configuration in force.
    public let configuration: Configuration
    /// One session per connection, in the order they were opened.
    public private(set) var sessions: [Session] = []
    /// Duplicates suppressed across connections.
    public private(set) var duplicatesSuppressed = 0
    /// Every subscription the frame of the last ``handleText(connection:_:now:into:)`` that returned `.data`
    /// belongs to: its params echo's subscription first, then, for the first leg of a swap or liquidity event
    /// (deduplication on), every other subscription of the pool its payload names. Read it before the next frame.
    public private(set) var lastMatches = SubscriptionMatches()

    private var owner: [Subscription: Int] = [:]
    private var dedupe: DedupeWindow
    private var started = false
    private var seed: UInt64
    private var actionCursor = 0
    private var eventCursor = 0

    /// Creates an empty, idle pool.
    public init(configuration: Configuration = Configuration(), seed: UInt64) {
        self.configuration = configuration
        self.dedupe = DedupeWindow(capacity: configuration.dedupeWindow)
        self.seed = seed
    }

    /// Subscriptions per connection index.
    public func subscriptions(on connection: Int) -> [Subscription] { self.sessions[connection].subscriptions }

    /// Which connection carries `subscription`.
    public func connection(of subscription: Subscription) -> Int? { self.owner[subscription] }

    /// Room left: in the open connections, plus the connections that may still be opened.
    public var remainingCapacity: Int {
        self.sessions.reduce(0) { $0 + max(0, $1.remainingCapacity) }
            + (self.configuration.maxConnections - self.sessions.count) * self.configuration.session.subscriptionLimit
    }

    // MARK: - Lifecycle

    /// Starts every connection that has subscriptions (and any opened later).
    public mutating func start(now: Instant) {
        self.started = true
        for i in self.sessions.indices { self.sessions[i].start(now: now) }
    }

    /// Stops every connection.
    public mutating func stop(now: Instant) {
        for i in self.sessions.indices { self.sessions[i].stop(now: now) }
    }

    // MARK: - Subscriptions

    /// Adds subscriptions, filling connections in order and opening new ones as needed.
    ///
    /// - Throws: ``SessionError/capacity(limit:)`` with the pool's total capacity when they do not all fit; then
    ///   nothing is added and nothing is sent.
    @discardableResult
    public mutating func subscribe(_ subscriptions: [Subscription], now: Instant) throws(SessionError) -> [Subscription] {
        var fresh: [Subscription] = []
        var seen = Set<Subscription>()
        for s in subscriptions where self.owner[s] == nil && seen.insert(s).inserted { fresh.append(s) }
        guard fresh.count <= self.remainingCapacity else {
            throw SessionError.capacity(
                limit: self.configuration.maxConnections * self.configuration.session.subscriptionLimit
            )
        }
        var rest = fresh[...]
        var connection = 0
        while !rest.isEmpty {
            if connection == self.sessions.count {
                var config = self.configuration.session
                config.dedupeWindow = 0  // the pool deduplicates across connections
                self.seed &+= 0x9E37_79B9_7F4A_7C15
                self.sessions.append(Session(configuration: config, seed: self.seed))
                if self.started { self.sessions[connection].start(now: now) }
            }
            let room = self.sessions[connection].remainingCapacity
            if room > 0 {
                let batch = Array(rest.prefix(room))
                try self.sessions[connection].subscribe(batch, now: now)
                for s in batch { self.owner[s] = connection }
                rest = rest.dropFirst(batch.count)
            }
            connection += 1
        }
        // Subscriptions wanted again after failing are retried on their connection.
        for s in subscriptions where !fresh.contains(s) {
            if let c = self.owner[s] { _ = try? self.sessions[c].subscribe([s], now: now) }
        }
        return fresh
    }

    /// Removes subscriptions from whichever connections carry them.
    public mutating func unsubscribe(_ subscriptions: [Subscription], now: Instant) {
        var byConnection: [Int: [Subscription]] = [:]
        for s in subscriptions {
            guard let c = self.owner.removeValue(forKey: s) else { continue }
            byConnection[c, default: []].append(s)
        }
        for (c, subs) in byConnection { self.sessions[c].unsubscribe(subs, now: now) }
    }

    /// Removes every subscription (`unsubscribe_all` on each open connection).
    public mutating func unsubscribeAll(now: Instant) {
        self.owner.removeAll(keepingCapacity: true)
        for i in self.sessions.indices { self.sessions[i].unsubscribeAll(now: now) }
    }

    // MARK: - Inputs per connection

    public mutating func handleConnected(connection: Int, now: Instant) {
        self.sessions[connection].handleConnected(now: now)
    }

    public mutating func handleConnectFailed(connection: Int, reason: String, httpStatus: Int? = nil, now: Instant) {
        self.sessions[connection].handleConnectFailed(reason: reason, httpStatus: httpStatus, now: now)
    }

    public mutating func handleClosed(connection: Int, code: UInt16?, reason: String, now: Instant) {
        self.sessions[connection].handleClosed(code: code, reason: reason, now: now)
    }

    /// A text frame on `connection`; duplicates across connections come back as ``InboundResult/duplicate``.
    public mutating func handleText(
        connection: Int,
        _ bytes: UnsafeRawBufferPointer,
        now: Instant,
        into frame: inout DecodedFrame
    ) -> InboundResult {
        let result = self.sessions[connection].handleText(bytes, now: now, into: &frame)
        guard case .data(let primary) = result else { return result }
        self.lastMatches = SubscriptionMatches(primary)
        // Deduplication off: each leg is delivered with its own subscription.
        guard self.configuration.dedupeWindow > 0 else { return result }
        guard let key = Session.dedupeKey(frame, bytes: bytes) else { return result }
        if !self.dedupe.insert(key) {
            self.duplicatesSuppressed += 1
            self.lastMatches = SubscriptionMatches()
            return .duplicate
        }
        // The first leg carries every subscription its payload names, across the pool's connections.
        for i in self.sessions.indices { self.sessions[i].attribute(frame, bytes: bytes, now: now, to: &self.lastMatches) }
        return result
    }

    /// The transport paused or resumed reading from every connection; see ``Session/handleReading(paused:now:)``.
    public mutating func handleReading(paused: Bool, now: Instant) {
        for i in self.sessions.indices { self.sessions[i].handleReading(paused: paused, now: now) }
    }

    public mutating func handleTimeout(now: Instant) {
        for i in self.sessions.indices { self.sessions[i].handleTimeout(now: now) }
    }

    // MARK: - Outputs

    /// The next action of any connection (connections take turns).
    public mutating func pollAction() -> (connection: Int, action: SessionAction)? {
        for step in 0..<self.sessions.count {
            let c = (self.actionCursor + step) % self.sessions.count
            if let a = self.sessions[c].pollAction() {
                self.actionCursor = c
                return (c, a)
            }
        }
        return nil
    }

    /// The next event of any connection, in each connection's order.
    public mutating func pollEvent() -> (connection: Int, event: SessionEvent)? {
        for step in 0..<self.sessions.count {
            let c = (self.eventCursor + step) % self.sessions.count
            if let e = self.sessions[c].pollEvent() {
                self.eventCursor = c
                return (c, e)
            }
        }
        return nil
    }

    /// The earliest timer of any connection.
    public func pollTimeout() -> Instant? {
        // A loop, not compactMap + min: this runs after every read and must not allocate.
        var earliest: Instant?
        for session in self.sessions {
            guard let t = session.pollTimeout() else { continue }
            if earliest.map({ t < $0 }) ?? true { earliest = t }
        }
        return earliest
    }
}
