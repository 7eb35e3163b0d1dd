// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// The subscription table of a `Session`: what it wants, each subscription's status on the connection, and the
// calls that add and remove subscriptions.

extension Session {
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

    /// The subscriptions this session wants, in no particular order.
    public var subscriptions: [Subscription] { self.table.slots.compactMap { $0?.subscription } }

    /// Subscriptions currently acknowledged by the server on the open connection.
    public var activeSubscriptions: [Subscription] {
        self.table.slots.compactMap { $0?.status == .active ? $0?.subscription : nil }
    }

    /// How many more subscriptions fit (the server's `sub_limit` once an ack said it).
    public var remainingCapacity: Int { self.table.remainingCapacity }

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
        for s in subscriptions where self.table.slot(of: s) == nil && seen.insert(s).inserted {
            fresh.append(s)
        }
        // Failed entries are retried by subscribing again.
        let retried = subscriptions.filter { s in
            self.table.slot(of: s).map { self.table[$0]?.status == .failed } ?? false
        }
        guard fresh.count + retried.count <= self.remainingCapacity else {
            throw SessionError.capacity(limit: self.table.limit)
        }
        for s in fresh { self.table.insert(Entry(subscription: s, route: Self.route(of: s))) }
        for s in retried {
            if let slot = self.table.slot(of: s) { self.table[slot]?.status = .unsent }
        }
        if case .open = self.state { self.sendUnsent(now: now) }
        return fresh
    }

    /// Removes subscriptions: unsubscribes them on the server when they are active there.
    public mutating func unsubscribe(_ subscriptions: [Subscription], now: Instant) {
        var toSend: [Int] = []
        let connected = if case .open = self.state { true } else { false }
        for s in subscriptions {
            guard let slot = self.table.slot(of: s), let entry = self.table[slot] else { continue }
            let onServer =
                switch entry.status {
                case .active, .pending: true
                case .unsent, .failed, .unsubscribing: false
                }
            if connected && onServer { toSend.append(slot) } else { self.remove(slot: slot) }
        }
        if !toSend.isEmpty { self.sendRequests(kind: .unsubscribe, slots: toSend, now: now) }
    }

    /// Removes every subscription (`unsubscribe_all` on the server when connected).
    public mutating func unsubscribeAll(now: Instant) {
        let all = self.table.slots.indices.filter { self.table[$0] != nil }
        if case .open = self.state, !all.isEmpty {
            let id = self.takeRequestID()
            self.actions.append(.send(ClientRequest.unsubscribeAll.encoded(id: id)))
            for slot in all { self.table[slot]?.status = .unsubscribing(id) }
            self.connection.pending[id] = PendingRequest(
                kind: .unsubscribeChannel,
                slots: all,
                deadline: now.advanced(by: self.configuration.requestTimeout)
            )
        } else {
            for slot in all { self.remove(slot: slot) }
        }
    }

    mutating func remove(slot: Int) {
        guard let e = self.table.remove(slot) else { return }
        self.events.append(.unsubscribed(e.subscription))
    }
}

/// A session's subscriptions, each in a slot: an index that stays its own while it is wanted (requests name their
/// subscriptions by slot), reused once it is removed; found by subscription and by route hash.
struct SubscriptionTable: Sendable {
    /// The entries by slot; `nil` for a free slot. Edit an entry in place through the subscript; add and remove
    /// them only with ``insert(_:)`` and ``remove(_:)``, which keep the indexes.
    private(set) var slots: [Session.Entry?] = []
    private var freeSlots: [Int] = []
    private var slotBySubscription: [Subscription: Int] = [:]
    private var slotByRoute: [UInt64: Int] = [:]
    /// Subscriptions the connection takes (an ack's `sub_limit` once one said it).
    var limit: Int

    init(limit: Int) { self.limit = limit }

    /// The entry in `slot`, edited in place. Off the hot path: `_modify` is a coroutine, and one that is not
    /// inlined may allocate its frame (it did, twice per message); per-message edits use ``update(_:_:)``.
    subscript(slot: Int) -> Session.Entry? {
        @inline(__always) get { self.slots[slot] }
        @inline(__always) _modify { yield &self.slots[slot] }
    }

    /// Edits the entry in `slot` in place; nothing for a free slot. A closure the optimizer inlines: no
    /// allocation, one access.
    @inline(__always)
    mutating func update(_ slot: Int, _ body: (inout Session.Entry) -> Void) {
        if self.slots[slot] != nil { body(&self.slots[slot]!) }
    }

    /// The slot of `subscription`, if it is wanted.
    func slot(of subscription: Subscription) -> Int? { self.slotBySubscription[subscription] }

    /// The slot of the subscription last added with this route hash (confirm it with ``Session/matches``).
    func slot(route: UInt64) -> Int? { self.slotByRoute[route] }

    /// How many more subscriptions fit: the limit less every entry that has not failed.
    var remainingCapacity: Int {
        self.limit - self.slots.reduce(0) { $0 + ($1 == nil || $1?.status == .failed ? 0 : 1) }
    }

    /// Adds an entry for a subscription not in the table, in the most recently freed slot or a new one.
    mutating func insert(_ entry: Session.Entry) {
        let slot: Int
        if let free = self.freeSlots.popLast() {
            slot = free
            self.slots[slot] = entry
        } else {
            slot = self.slots.count
            self.slots.append(entry)
        }
        self.slotBySubscription[entry.subscription] = slot
        self.slotByRoute[entry.route] = slot
    }

    /// Removes the entry in `slot` and frees the slot; the entry, or `nil` when the slot was free.
    mutating func remove(_ slot: Int) -> Session.Entry? {
        guard let e = self.slots[slot] else { return nil }
        self.slots[slot] = nil
        self.freeSlots.append(slot)
        self.slotBySubscription[e.subscription] = nil
        if self.slotByRoute[e.route] == slot { self.slotByRoute[e.route] = nil }
        return e
    }
}
