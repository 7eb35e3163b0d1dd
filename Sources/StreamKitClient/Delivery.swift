// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

public import StreamKit
import DequeModule
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What happens when a subscription's messages arrive faster than the consumer takes them.
///
/// Each subscription waits in its own bounded queue (``DeliveryConfiguration/capacityPerSubscription``); the policy
/// says what happens when that queue is full. Lifecycle events (gaps, reconnects, ...) are never dropped.
///
/// New cases may be added in a minor version: a `switch` over it should have an `@unknown default`.
#if hasAttribute(nonexhaustive)
@nonexhaustive
#endif
public enum OverflowPolicy: Sendable, Hashable, CustomStringConvertible {
    /// Stop reading from the connections until the consumer has taken half of the subscription's queue. Nothing is
    /// dropped; every subscription waits meanwhile, and the server's buffers fill. The keep-alive is suspended
    /// while reading is paused, but what the real service does to a client that stops reading is not documented:
    /// for a consumer that is often behind, prefer ``dropOldest`` or ``conflate``.
    case block
    /// Drop the subscription's oldest waiting message. A ``StreamEvent/dropped(_:count:)`` event, in order,
    /// precedes its next delivered message; the total is in ``SubscriptionMetrics/dropped``.
    case dropOldest
    /// Latest value per key: keep one waiting message per subscription, replacing it (in its place in the order)
    /// when a newer one arrives. The replaced ones are counted in ``SubscriptionMetrics/coalesced``. Natural for
    /// prices; wrong for swaps, where every event matters.
    case conflate

    public var description: String {
        switch self {
        case .block: "block"
        case .dropOldest: "drop-oldest"
        case .conflate: "conflate"
        }
    }

    /// The policy named as in C and Python (`block`, `drop_oldest`, `conflate`), or `nil`.
    public init?(name: String) {
        switch name {
        case "block": self = .block
        case "drop_oldest": self = .dropOldest
        case "conflate": self = .conflate
        default: return nil
        }
    }

    /// ``StreamKitDefaults/overflow`` (the generator admits only the three names).
    public static let byDefault = OverflowPolicy(name: StreamKitDefaults.overflow) ?? .dropOldest
}

/// How a ``StreamClient`` buffers what its consumer has not taken yet.
public struct DeliveryConfiguration: Sendable, Hashable {
    /// Most messages of one subscription waiting for the consumer. Default ``StreamKitDefaults/queueCapacity``.
    public var capacityPerSubscription: Int
    /// The policy of a subscription subscribed without one. Default ``StreamKitDefaults/overflow``
    /// (``OverflowPolicy/dropOldest``).
    public var overflow: OverflowPolicy

    public init(capacityPerSubscription: Int = StreamKitDefaults.queueCapacity, overflow: OverflowPolicy = .byDefault) {
        self.capacityPerSubscription = max(1, capacityPerSubscription)
        self.overflow = overflow
    }
}

/// Receive latency of a subscription: local receive time minus the server's `ts`, in milliseconds. It includes
/// the clock offset between the server and this machine, so compare it over time rather than read it as absolute.
public struct LatencySummary: Sendable, Hashable {
    /// Samples (data frames with a `ts`).
    public var count: Int = 0
    /// The latest sample.
    public var last: Int64 = 0
    public var min: Int64 = .max
    public var max: Int64 = .min
    /// Sum of the samples (for the mean).
    public var sum: Int64 = 0

    /// The mean, or `nil` without samples.
    public var mean: Double? { self.count == 0 ? nil : Double(self.sum) / Double(self.count) }

    mutating func record(_ ms: Int64) {
        self.count += 1
        self.last = ms
        self.sum &+= ms
        if ms < self.min { self.min = ms }
        if ms > self.max { self.max = ms }
    }
}

/// Per-subscription figures of a ``StreamMetrics`` snapshot.
public struct SubscriptionMetrics: Sendable, Hashable {
    /// The overflow policy in force.
    public var policy: OverflowPolicy
    /// Data messages received for it (duplicates across token legs excluded).
    public var messages: Int
    /// Time since its last message (`nil` before the first).
    public var lastUpdateAge: Duration?
    /// Local receive time minus server `ts`.
    public var latency: LatencySummary
    /// Messages waiting for the consumer now.
    public var queued: Int
    /// Messages dropped by ``OverflowPolicy/dropOldest``.
    public var dropped: Int
    /// Messages replaced by a newer one under ``OverflowPolicy/conflate``.
    public var coalesced: Int
    /// Payload fields its messages carried with an unexpected JSON type, read as absent
    /// (``StreamKit/DecodedFrame/degradedFieldCount``): the message was delivered without them.
    public var degradedFields: Int
}

/// A snapshot of a ``StreamClient``'s counters; see ``StreamClient/metrics()``.
public struct StreamMetrics: Sendable {
    /// Connections open now.
    public var openConnections: Int
    /// Connections lost and retried, over the client's life.
    public var reconnects: Int
    /// Swaps and liquidity events delivered once although received twice (both token legs).
    public var duplicatesSuppressed: Int
    /// Frames that could not be decoded.
    public var invalidFrames: Int
    /// Data frames received, duplicates included: what the service bills.
    public var billableMessages: Int
    /// Subscriptions the server acknowledged as new (re-subscriptions after reconnects included).
    public var billableSubscriptions: Int
    /// `billableMessages × creditsPerMessage + billableSubscriptions × creditsPerSubscription`, with the prices
    /// of ``StreamClientConfiguration``.
    public var credits: Double
    /// Items (messages and events) waiting for the consumer.
    public var queued: Int
    /// Per subscription.
    public var subscriptions: [Subscription: SubscriptionMetrics]
}

/// What a slot of the delivery queue holds: an event, or a data message its consumer stored itself (the C ABI's
/// poll, which fills C messages on the event loop), named by a token the consumer chose.
package enum DeliveryItem {
    case event(StreamEvent)
    case token(Int)
}

/// The bounded, policy-driven queue between the I/O event loop (one producer) and the consumer: the
/// ``StreamClient/events`` sequence, or a thread polling it (the C ABI).
///
/// One FIFO keeps every item in arrival order; each subscription also keeps the positions of its waiting
/// messages, so dropping its oldest or replacing its latest is O(1) without disturbing the others (a dropped
/// position becomes a hole the consumer skips).
final class DeliveryQueue: @unchecked Sendable {
    // Every stored property below is guarded by `lock`. A consumer blocked in `take` waits on the lock's condition;
    // the producer signals only when one is waiting, so a burst of pushes wakes the consumer once and it takes them as a batch
    // (waking it per message would cost a futex call and a context switch each).
    private let lock = Mutex()
    private var blockedTakers = 0
    private var wakePending = false
    /// Each waiting item with its subscription's state (so taking it needs no lookup); `nil` is a dropped one.
    private var slots = Deque<Slot?>()
    private var headSeq = 0
    private var live = 0
    private var finished = false
    private var subs: [Subscription: SubState] = [:]
    /// The states of the subscriptions pushed lately, tried before `subs` (replaced round robin).
    private var recent: [SubState] = []
    private var recentNext = 0
    private static let recentLimit = 8
    private var overfull: Set<Subscription> = []
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter = 0
    private let capacity: Int
    private let defaultPolicy: OverflowPolicy
    /// Called (outside the lock, on the consumer's thread) when a `block` subscription has room again.
    private let onRoom: @Sendable () -> Void

    struct Slot {
        var item: DeliveryItem
        var state: SubState?
    }

    final class SubState {
        let subscription: Subscription
        var policy: OverflowPolicy
        var waiting = Deque<Int>()
        var pendingDropped = 0
        var messages = 0
        var dropped = 0
        var coalesced = 0
        var degradedFields = 0
        var lastAt: Instant?
        var latency = LatencySummary()
        init(_ subscription: Subscription, policy: OverflowPolicy) {
            self.subscription = subscription
            self.policy = policy
        }
    }

    init(configuration: DeliveryConfiguration, onRoom: @escaping @Sendable () -> Void) {
        self.capacity = configuration.capacityPerSubscription
        self.defaultPolicy = configuration.overflow
        self.onRoom = onRoom
    }

    // MARK: Producer (the event loop)

    /// Sets the policy of subscriptions (before their first message, or to change it).
    func setPolicy(_ policy: OverflowPolicy?, for subscriptions: [Subscription]) {
        self.lock.lock()
        for s in subscriptions {
            if let st = self.subs[s] {
                if let policy { st.policy = policy }
            } else {
                self.subs[s] = SubState(s, policy: policy ?? self.defaultPolicy)
            }
        }
        self.lock.unlock()
    }

    /// Counts a data message for the metrics without queueing it (when only the callback consumes).
    func record(subscription: Subscription, now: Instant, latencyMS: Int64?, degradedFields: Int = 0) {
        self.lock.lock()
        self.recordLocked(self.state(subscription), now: now, latencyMS: latencyMS, degradedFields: degradedFields)
        self.lock.unlock()
    }

    /// Queues a lifecycle event. Never dropped.
    func push(event: StreamEvent) {
        self.lock.lock()
        guard !self.finished else { return self.lock.unlock() }
        self.append(.event(event))
        self.wake()
    }

    /// Queues a data message under its subscription's policy. Returns true when a `block` subscription is full:
    /// the caller should stop reading until `onRoom` is called. With `deferWake`, the consumer is not woken now
    /// but by the next ``flush()`` (the transport calls it at the end of each socket read, so a read's frames
    /// wake the consumer once).
    @discardableResult
    func push(message: consuming Message, subscription: Subscription?, now: Instant, latencyMS: Int64?, degradedFields: Int = 0, deferWake: Bool = false) -> Bool {
        self.push(.event(.message(message, subscription: subscription)), subscription: subscription, now: now, latencyMS: latencyMS, degradedFields: degradedFields, deferWake: deferWake).full
    }

    /// Queues a data message the consumer stored itself, as ``push(message:subscription:now:latencyMS:degradedFields:deferWake:)``.
    /// Also returns the token of the message it dropped or replaced to make room (under ``OverflowPolicy/dropOldest``
    /// or ``OverflowPolicy/conflate``), which the consumer will never take: its storage can go.
    func push(token: Int, subscription: Subscription?, now: Instant, latencyMS: Int64?, degradedFields: Int, deferWake: Bool) -> (full: Bool, discarded: Int?) {
        let (full, discarded) = self.push(.token(token), subscription: subscription, now: now, latencyMS: latencyMS, degradedFields: degradedFields, deferWake: deferWake)
        guard case .token(let t)? = discarded else { return (full, nil) }
        return (full, t)
    }

    /// The one push of a data item: the subscription's policy, its metrics, the wake.
    private func push(_ item: consuming DeliveryItem, subscription: Subscription?, now: Instant, latencyMS: Int64?, degradedFields: Int, deferWake: Bool) -> (full: Bool, discarded: DeliveryItem?) {
        self.lock.lock()
        guard !self.finished else {
            self.lock.unlock()
            return (false, nil)
        }
        guard let subscription else {
            self.append(item)
            self.wake(deferred: deferWake)
            return (false, nil)
        }
        let st = self.state(subscription)
        self.recordLocked(st, now: now, latencyMS: latencyMS, degradedFields: degradedFields)
        var full = false
        var discarded: DeliveryItem?
        switch st.policy {
        case .conflate:
            if let seq = st.waiting.last {
                discarded = self.slots[seq - self.headSeq]?.item
                self.slots[seq - self.headSeq] = Slot(item: item, state: st)
                st.coalesced += 1
                self.lock.unlock()
                return (false, discarded)
            }
        case .dropOldest:
            if st.waiting.count >= self.capacity {
                let seq = st.waiting.removeFirst()
                discarded = self.slots[seq - self.headSeq]?.item
                self.slots[seq - self.headSeq] = nil
                self.live -= 1
                st.dropped += 1
                st.pendingDropped += 1
            }
        case .block:
            if st.waiting.count + 1 >= self.capacity {
                self.overfull.insert(subscription)
                full = true
            }
        }
        st.waiting.append(self.headSeq + self.slots.count)
        self.append(item, st)
        self.wake(deferred: deferWake)
        return (full, discarded)
    }

    /// Wakes the consumer for messages pushed with `deferWake`.
    func flush() {
        self.lock.lock()
        guard self.wakePending else { return self.lock.unlock() }
        self.wakePending = false
        self.wake()
    }

    /// No more items: consumers get what is left, then the end.
    func finish() {
        self.lock.lock()
        self.finished = true
        self.wake()
    }

    // MARK: Consumer

    /// Takes the next item without waiting: `.item`, `.empty`, or `.finished` once finished and drained.
    func poll() -> Poll {
        self.lock.lock()
        let (result, room) = self.takeLocked()
        self.lock.unlock()
        if room { self.onRoom() }
        switch result {
        case .item(.event(let e)): return .item(e)
        case .finished: return .finished
        case .item(.token), .empty, .refused: return .empty  // tokens go to `take(max:timeout:into:accept:)` only
        }
    }

    enum Poll {
        case item(StreamEvent)
        case empty
        case finished
    }

    enum Taken {
        case item(DeliveryItem)
        case empty
        case finished
        /// `accept` refused the head item: it stays first.
        case refused
    }

    /// Appends up to `max` items to `out`, waiting up to `timeout` (forever when `nil`) for the first. Returns
    /// whether the queue has finished and is drained.
    func take(max: Int, timeout: Duration?, into out: inout [StreamEvent]) -> Bool {
        self.lockWaiting(timeout: timeout)
        var room = false
        var done = false
        let limit = out.count + max
        while out.count < limit {
            let (result, r) = self.takeLocked()
            room = room || r
            guard case .item(let item) = result else {
                if case .finished = result { done = true }
                break
            }
            if case .event(let e) = item { out.append(e) }  // tokens go to `take(max:timeout:into:accept:)` only
        }
        self.lock.unlock()
        if room { self.onRoom() }
        return done
    }

    /// ``take(max:timeout:into:)`` for a consumer that stores its messages itself (tokens among the events). A
    /// token `accept` refuses ends the batch and stays first (the C poll ends a batch where its frames would not lie
    /// back to back); `accept` is called under the queue's lock, for each token in order, and should accept a
    /// batch's first.
    func take(max: Int, timeout: Duration?, into out: inout [DeliveryItem], accept: (Int) -> Bool) -> Bool {
        self.lockWaiting(timeout: timeout)
        var room = false
        var done = false
        let limit = out.count + max
        while out.count < limit {
            let (result, r) = self.takeLocked(accept: accept)
            room = room || r
            guard case .item(let item) = result else {
                if case .finished = result { done = true }
                break
            }
            out.append(item)
        }
        self.lock.unlock()
        if room { self.onRoom() }
        return done
    }

    /// Locks, then waits (the lock released meanwhile) up to `timeout` for an item or the end.
    private func lockWaiting(timeout: Duration?) {
        self.lock.lock()
        guard self.live == 0 && !self.finished else { return }
        let deadline = timeout.map { Mutex.deadline(after: $0) }
        repeat {
            self.blockedTakers += 1
            let signalled = self.lock.wait(until: deadline)
            self.blockedTakers -= 1
            if !signalled { break }
        } while self.live == 0 && !self.finished
    }

    /// The next item, suspending until there is one; `nil` once finished and drained, or when the task is
    /// cancelled.
    func next() async -> StreamEvent? {
        while true {
            switch self.poll() {
            case .item(let e): return e
            case .finished: return nil
            case .empty: break
            }
            if Task.isCancelled { return nil }
            self.lock.lock()
            self.nextWaiter += 1
            let id = self.nextWaiter
            self.lock.unlock()
            await withTaskCancellationHandler {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    self.lock.lock()
                    if self.live > 0 || self.finished || Task.isCancelled {
                        self.lock.unlock()
                        c.resume()
                    } else {
                        self.waiters[id] = c
                        self.lock.unlock()
                    }
                }
            } onCancel: {
                self.lock.lock()
                let c = self.waiters.removeValue(forKey: id)
                self.lock.unlock()
                c?.resume()
            }
        }
    }

    // MARK: Metrics

    func snapshot(now: Instant) -> (queued: Int, subscriptions: [Subscription: SubscriptionMetrics]) {
        self.lock.lock()
        defer { self.lock.unlock() }
        var out: [Subscription: SubscriptionMetrics] = [:]
        out.reserveCapacity(self.subs.count)
        for (s, st) in self.subs {
            out[s] = SubscriptionMetrics(
                policy: st.policy, messages: st.messages, lastUpdateAge: st.lastAt.map { now.duration(since: $0) },
                latency: st.latency, queued: st.waiting.count, dropped: st.dropped, coalesced: st.coalesced,
                degradedFields: st.degradedFields)
        }
        return (self.live, out)
    }

    // MARK: Internals (lock held)

    private func state(_ s: Subscription) -> SubState {
        // Comparing a few subscriptions costs less than hashing one (every push comes here).
        for i in self.recent.indices where self.recent[i].subscription.same(as: s) { return self.recent[i] }
        let st: SubState
        if let known = self.subs[s] {
            st = known
        } else {
            st = SubState(s, policy: self.defaultPolicy)
            self.subs[s] = st
        }
        if self.recent.count < Self.recentLimit {
            self.recent.append(st)
        } else {
            self.recent[self.recentNext] = st
            self.recentNext = (self.recentNext + 1) % Self.recentLimit
        }
        return st
    }

    private func recordLocked(_ st: SubState, now: Instant, latencyMS: Int64?, degradedFields: Int) {
        st.messages += 1
        st.degradedFields &+= degradedFields
        st.lastAt = now
        if let latencyMS { st.latency.record(latencyMS) }
    }

    private func append(_ item: consuming DeliveryItem, _ state: SubState? = nil) {
        self.slots.append(Slot(item: item, state: state))
        self.live += 1
    }

    /// Unlocks, then wakes a blocked `take` and resumes waiting tasks (or, `deferred`, leaves that to `flush`).
    private func wake(deferred: Bool = false) {
        if deferred {
            self.wakePending = true
            return self.lock.unlock()
        }
        self.wakePending = false
        let signal = self.blockedTakers > 0
        // One waiting task is the common case: resume it without building an array.
        var single: CheckedContinuation<Void, Never>?
        var tasks: [CheckedContinuation<Void, Never>] = []
        if self.waiters.count == 1, let (id, c) = self.waiters.first {
            self.waiters[id] = nil
            single = c
        } else if !self.waiters.isEmpty {
            tasks = Array(self.waiters.values)
            self.waiters.removeAll(keepingCapacity: true)
        }
        self.lock.unlock()
        if signal { self.lock.broadcast() }
        single?.resume()
        for c in tasks { c.resume() }
    }

    private func takeLocked(accept: (Int) -> Bool = { _ in true }) -> (Taken, room: Bool) {
        // Each slot is moved out of the deque (no retain of its event to copy it, then a release to drop it).
        while let first = self.slots.popFirst() {
            guard let slot = first else {
                self.headSeq += 1
                continue
            }
            var room = false
            if let st = slot.state {
                if st.pendingDropped > 0 {
                    // The drop notice goes first; the message stays at the head.
                    let n = st.pendingDropped
                    st.pendingDropped = 0
                    self.slots.prepend(slot)
                    return (.item(.event(.dropped(st.subscription, count: n))), false)
                }
            }
            if case .token(let t) = slot.item, !accept(t) {
                self.slots.prepend(slot)
                return (.refused, false)
            }
            if let st = slot.state {
                if st.waiting.first == self.headSeq { st.waiting.removeFirst() }
                if !self.overfull.isEmpty, st.waiting.count <= self.capacity / 2,
                    self.overfull.remove(st.subscription) != nil
                {
                    room = self.overfull.isEmpty
                }
            }
            self.headSeq += 1
            self.live -= 1
            return (.item(slot.item), room)
        }
        return (self.finished ? .finished : .empty, false)
    }
}

/// A pthread mutex with one condition variable on the monotonic clock (the queue's only lock).
final class Mutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(self.mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        #if !canImport(Darwin)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(self.cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(self.cond)
        pthread_mutex_destroy(self.mutex)
        self.cond.deallocate()
        self.mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(self.mutex) }
    func unlock() { pthread_mutex_unlock(self.mutex) }
    func broadcast() { pthread_cond_broadcast(self.cond) }

    /// A deadline `d` from now on the monotonic clock.
    static func deadline(after d: Duration) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (s, atto) = d.components
        var sec = Int(now.tv_sec) + Int(Swift.max(0, s))
        var nsec = Int(now.tv_nsec) + Int(Swift.max(0, atto) / 1_000_000_000)
        sec += nsec / 1_000_000_000
        nsec %= 1_000_000_000
        return timespec(tv_sec: sec, tv_nsec: nsec)
    }

    /// Waits (the mutex held) until signalled or `deadline`; false when the deadline passed.
    func wait(until deadline: timespec?) -> Bool {
        guard var deadline else {
            pthread_cond_wait(self.cond, self.mutex)
            return true
        }
        return pthread_cond_timedwait(self.cond, self.mutex, &deadline) != ETIMEDOUT
    }
}
