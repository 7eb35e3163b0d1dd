// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import StreamKit
import StreamKitClient
import StreamKitSimulator

// MARK: - Theory of operation
//
// The soak runs a `StreamClient` against the simulator in this process for a while, injecting faults from a
// seeded schedule, and then compares what the simulator pushed with what the consumer received.
//
// The simulator keeps a ledger (`SimulatorConfiguration.ledger`): every data push is stamped `"sk_seq":N` and
// entered with its subscription (token leg), its connection and its market event (both legs of a swap are one
// event). The client side records two things: every stamp that *arrived* (the raw-frame hook, before decoding
// and deduplication) and every stamp *delivered* to the consumer iterating `client.events`. At the end pushes
// are paused, the consumer drains, and each market event is judged:
//
// - delivered once: good; delivered more than once: a duplicate delivered (a failure);
// - not delivered, every frame of it lost at the tail of a connection that then closed, and the client reported
//   a gap for that subscription spanning the close: lost inside a reported gap (allowed; counted);
// - anything else is lost outside the reported gaps (a failure): a hole in a connection's stream, a frame that
//   arrived but was not delivered, a tail with no gap reported.
//
// Faults come from a shuffled deck holding every kind once (so every kind is injected every round), at seeded
// random intervals. The run ends by rounds, not by time alone: the fault loop stops once the duration has passed
// *and* every kind has been injected `minimumRounds` times (a fault that finds no connection to go into is drawn
// again), with a hard cap of `roundsCapFactor` times the duration; a run that hits the cap fails, naming the kinds
// short of their rounds and why each injection was refused. The fatal close codes (4100/4101/4102) end a client for good, so they go to a short-lived
// probe client with its own key, which must stop without reconnecting. Every reconnect delay the client reports
// is checked against the backoff policy, and the process RSS is sampled (the ledger and the bookkeeping are
// allocated and touched before the first sample, so they do not count as growth).

/// What a soak run does.
package struct SoakConfiguration: Sendable {
    /// How long faults are injected at least (the settling at the end adds a few seconds). The fault loop goes on
    /// past it until every kind of the deck has been injected ``minimumRounds`` times, so a slow or busy machine
    /// makes the run longer, never weaker.
    package var duration: Duration = .seconds(60)
    /// Full rounds of the fault deck (every kind once a round) that a run injects at least, whatever the
    /// machine's speed. 1 by default: the report's claim "every fault kind" then always holds.
    package var minimumRounds: Int = 1
    /// The hard cap on the fault loop, as a multiple of ``duration``: a run that cannot complete its rounds by then
    /// (no connection to inject into, say) stops and fails, naming the kinds never injected and why. 10: far
    /// beyond what a sanitized build on two busy cores needs (a round takes about 20 mean fault intervals).
    package var roundsCapFactor: Int = 10
    /// Seed of the fault schedule, the market and the client's jitter.
    package var seed: UInt64 = 1
    /// Mean time between faults (each interval uniform in [0.5, 1.5] times this).
    package var meanFaultInterval: Duration = .seconds(2)
    /// Data frames per second per connection.
    package var rate: Double = 200
    /// Connections the client's subscriptions are spread over (20 subscriptions each, every channel on each).
    package var connections: Int = 3
    /// Largest RSS growth accepted between the end of warm-up and the end, in MiB.
    package var rssBoundMiB: Double = 16
    /// `ping_interval_ms` of the simulator; the client's pong timeout is a quarter of it, its liveness timeout
    /// one and a half times it (a stalled connection is found within about two intervals).
    package var pingIntervalMS: Int64 = 2000
    /// The wait after 4004 (the client's ``SessionConfiguration`` default is 60 s, too long for a soak).
    package var connectionLimitDelay: Duration = .seconds(3)
    /// Called with a line of progress now and then (nil: quiet).
    package var progress: (@Sendable (String) -> Void)?

    package init() {}
}

/// The outcome of a soak run: ``description`` is the summary table.
package struct SoakReport: Sendable, CustomStringConvertible {
    package var configuration: String = ""
    /// Faults injected, by kind.
    package var faults: [(kind: String, count: Int)] = []
    /// Full rounds of the deck injected (the fewest injections of any kind), and the rounds asked for.
    package var rounds = 0
    package var roundsRequired = 0
    /// How long the fault loop ran (longer than the duration when the rounds needed it).
    package var faultTime: Duration = .zero
    /// Frames pushed by the simulator (both legs of a swap counted).
    package var framesPushed = 0
    /// Market events pushed (both legs of a swap are one event).
    package var eventsPushed = 0
    /// Events delivered exactly once.
    package var deliveredOnce = 0
    /// Events delivered more than once (must be 0).
    package var deliveredTwice = 0
    /// Frames the client suppressed as duplicates (second legs of swaps, repeated pushes).
    package var duplicatesSuppressed = 0
    /// Pushes the simulator sent again (the duplicate fault).
    package var repeatsSent = 0
    /// Of those, repeats of a frame a client cannot recognise as one (a price): delivered again, not a failure.
    package var plainRepeatsSent = 0
    /// Events lost at the tail of a connection that closed, inside a gap the client reported.
    package var lostInsideGaps = 0
    /// Events lost anywhere else (must be 0).
    package var lostOutsideGaps = 0
    /// Reconnects of the main client, and gap markers it reported.
    package var reconnects = 0
    package var gapMarkers = 0
    /// Reconnect delays outside the backoff policy (must be 0), and the longest delay.
    package var backoffViolations = 0
    package var longestDelay: Duration = .zero
    /// Fatal-code probes: how many ended in one fatal event with no reconnect, of how many.
    package var probesPassed = 0
    package var probes = 0
    /// Subscriptions delivering again after the faults stopped, of all.
    package var activeAtEnd = 0
    package var subscriptions = 0
    /// Frames the client counted as invalid (malformed, oversized), and server errors reported.
    package var invalidFrames = 0
    package var serverErrors = 0
    /// RSS at the end of warm-up, at the end, and the largest sample, in bytes.
    package var rssStart = 0
    package var rssEnd = 0
    package var rssMax = 0
    package var rssBound = 0
    /// The first few losses outside the gaps, explained (relative times from the last delivery of the stream).
    package var lossDetails: [String] = []
    /// Why the run failed (empty when it passed).
    package var failures: [String] = []

    package var passed: Bool { self.failures.isEmpty }

    package var description: String {
        func mib(_ b: Int) -> String { "\((Double(b) / 104_857.6).rounded() / 10) MiB" }
        var lines = ["StreamKit soak: \(self.configuration)", ""]
        lines.append(row("Faults injected", ""))
        for (kind, count) in self.faults { lines.append(row("  " + kind, "\(count)")) }
        lines.append(row("  total", "\(self.faults.reduce(0) { $0 + $1.count })"))
        lines.append(row("  full rounds of the deck (required)", "\(self.rounds) (\(self.roundsRequired)), in \(self.faultTime)"))
        lines.append("")
        lines.append(row("Frames pushed by the simulator", "\(self.framesPushed)"))
        lines.append(row("Market events pushed", "\(self.eventsPushed)"))
        lines.append(row("Delivered exactly once", "\(self.deliveredOnce)"))
        lines.append(row("Duplicates suppressed by the client", "\(self.duplicatesSuppressed)"))
        lines.append(row("  of which repeats sent by the server", "\(self.repeatsSent) (\(self.plainRepeatsSent) of a price or metric, delivered again)"))
        lines.append(row("Delivered more than once", "\(self.deliveredTwice)"))
        lines.append(row("Lost inside reported gaps", "\(self.lostInsideGaps)"))
        lines.append(row("Lost outside reported gaps", "\(self.lostOutsideGaps)"))
        lines.append(row("Invalid frames counted / server errors reported", "\(self.invalidFrames) / \(self.serverErrors)"))
        lines.append("")
        lines.append(row("Reconnects / gap markers", "\(self.reconnects) / \(self.gapMarkers)"))
        lines.append(row("Reconnect delays outside the policy", "\(self.backoffViolations) (longest \(self.longestDelay))"))
        lines.append(row("Fatal-code probes stopped without reconnecting", "\(self.probesPassed) / \(self.probes)"))
        lines.append(row("Subscriptions delivering at the end", "\(self.activeAtEnd) / \(self.subscriptions)"))
        lines.append(row("RSS after warm-up / at end / max", "\(mib(self.rssStart)) / \(mib(self.rssEnd)) / \(mib(self.rssMax))"))
        lines.append(row("RSS growth (bound)", "\(mib(self.rssEnd - self.rssStart)) (\(mib(self.rssBound)))"))
        lines.append("")
        lines.append(self.passed ? "Result: PASS" : "Result: FAIL\n" + self.failures.map { "  - " + $0 }.joined(separator: "\n"))
        if !self.lossDetails.isEmpty { lines.append("Losses and repeats:\n" + self.lossDetails.map { "  - " + $0 }.joined(separator: "\n")) }
        return lines.joined(separator: "\n")
    }

    private func row(_ label: String, _ value: String) -> String {
        label + String(repeating: " ", count: max(1, 50 - label.count)) + value
    }
}

/// Runs soak tests: see the theory of operation at the top of this file.
package enum Soak {
    /// Runs one soak and returns its report (``SoakReport/passed`` says whether every check held).
    package static func run(_ configuration: SoakConfiguration) async throws -> SoakReport {
        let runner = try await Runner(configuration)
        return try await runner.run()
    }

    /// The fault kinds of one round of the deck, in the report's order.
    static let deck: [String] =
        ["drop", "stall", "error 5001", "malformed frame", "oversized frame", "duplicate push", "slow pong", "accept then close"]
        + CloseCode.documented.map { "close \($0.rawValue)" }

    /// The subscriptions of shard `k`: 20, every channel, swap and liquidity legs on one platform (the second
    /// token is the quote asset the first one's pool trades against, so its swaps come on both).
    static func subscriptions(shard k: Int) -> [Subscription] {
        func address(_ n: Int) -> String {
            if n == 0x1000 * (k + 1) + 1 { return MarketModel.quoteAddress(ofToken: address(n - 1), platform: 14) }
            let hex = String(n, radix: 16)
            return "0x" + String(repeating: "0", count: 40 - hex.count) + hex
        }
        var out: [Subscription] = []
        for i in 0..<8 { out.append(.cryptoLatestPrice(Int64(k * 100 + i + 1))) }
        func on(_ channel: StreamKit.Channel, _ n: Int, interval: String? = nil) {
            // The addresses are valid by construction; a failure here is a programming error.
            out.append(try! Subscription(channel: channel, target: .address(platformID: 14, address: address(0x1000 * (k + 1) + n)), interval: interval))
        }
        for n in 0..<3 { on(.transaction, n) }
        for n in 0..<2 { on(.liquidityEvent, n) }
        on(.tokenAggEvent, 10)
        on(.kline, 11, interval: StreamKit.Channel.kline.allowedIntervals?.first)
        on(.tokenMetric, 12)
        on(.poolMetric, 13)
        on(.uniqueTrader, 14, interval: StreamKit.Channel.uniqueTrader.allowedIntervals?.first)
        on(.holdersMetrics, 15)
        on(.holderWalletUpdate, 16)
        return out
    }

    static func now() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }

    /// Resident set size of this process, in bytes (from /proc/self/statm; 0 where there is none).
    static func rss() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), f) != nil else { return 0 }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * sysconf(Int32(_SC_PAGESIZE))
    }
}

/// The client side's record, written on the client's event loop (arrivals) and by the consumer (deliveries).
struct Observed {
    /// When each stamped push arrived (uptime ns; 0: never).
    var arrivedAt: [Int64]
    var delivered: [UInt8]
    var gaps: [Subscription: [(from: Int64, to: Int64)]] = [:]
    var lastDelivery: [Subscription: Int64] = [:]
    var gapMarkers = 0
    var reconnects: [(attempt: Int, delay: Duration, reason: DisconnectReason)] = []
    var fatal: DisconnectReason?
    var failedSubscriptions: [Subscription] = []
    var droppedEvents = 0
    var serverErrors = 0
    /// The connection (index in the pool) each subscription was last acknowledged on, and the order of events:
    /// when each connection last reported `reconnecting`, when each subscription was last acknowledged. A
    /// subscription whose connection reconnected after its last ack is interrupted: its gap marker comes with the
    /// re-subscribe's ack, so stopping before that ack would leave the interruption unreported.
    var connectionOf: [Subscription: Int] = [:]
    var lifecycleEvents = 0
    var reconnectingAt: [Int: Int] = [:]
    var subscribedAt: [Subscription: Int] = [:]

    /// Subscriptions whose connection went down after their last ack (their gap marker is still to come).
    func interrupted(_ subscriptions: [Subscription]) -> [Subscription] {
        subscriptions.filter { s in
            guard let c = self.connectionOf[s], let down = self.reconnectingAt[c] else { return false }
            return (self.subscribedAt[s] ?? -1) < down
        }
    }

    /// Records an arrival (at `now`) or, with `now == nil`, a delivery.
    mutating func mark(_ seq: Int, arrivedAt now: Int64?) {
        if seq >= self.arrivedAt.count {
            let more = max(seq + 1 - self.arrivedAt.count, 1 << 16)
            self.arrivedAt.append(contentsOf: repeatElement(0, count: more))
            self.delivered.append(contentsOf: repeatElement(0, count: more))
        }
        if let now { self.arrivedAt[seq] = now } else { self.delivered[seq] &+= 1 }
    }

    /// The `"sk_seq":N` stamp at the start of a frame.
    static func stamp(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let prefix = Array(#"{"sk_seq":"#.utf8)
        guard bytes.count > prefix.count else { return nil }
        for i in prefix.indices where bytes[i] != prefix[i] { return nil }
        var n = 0
        var i = prefix.count
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            n = n * 10 + Int(bytes[i] - 0x30)
            i += 1
        }
        return i > prefix.count ? n : nil
    }
}

final class Runner: Sendable {
    let configuration: SoakConfiguration
    let sim: SimulatorServer
    let observed: NIOLockedValueBox<Observed>
    let session: SessionConfiguration
    let subscriptions: [Subscription]

    init(_ configuration: SoakConfiguration) async throws {
        self.configuration = configuration
        var simConfig = SimulatorConfiguration(keys: ["soak": .active, "probe": .active])
        simConfig.rate = configuration.rate
        simConfig.ledger = true
        simConfig.seed = configuration.seed
        simConfig.subscriptionLimit = 20
        simConfig.pingIntervalMS = configuration.pingIntervalMS
        simConfig.idleTimeout = .seconds(3600)
        // Pre-touched bookkeeping: the ledger (8 bytes a push) and the client's record (2 bytes a push).
        let seconds = Double(configuration.duration.nanoseconds) / 1e9 + 40
        let expected = Int(configuration.rate * Double(configuration.connections) * seconds * 1.2) + 100_000
        simConfig.ledgerCapacity = expected
        self.sim = try await SimulatorServer.start(configuration: simConfig)
        self.observed = NIOLockedValueBox(Observed(arrivedAt: [Int64](repeating: 0, count: expected), delivered: [UInt8](repeating: 0, count: expected)))
        var session = SessionConfiguration()
        session.subscriptionLimit = 20
        session.pongTimeout = .milliseconds(configuration.pingIntervalMS / 4)
        session.livenessTimeout = .milliseconds(configuration.pingIntervalMS * 3 / 2)
        session.connectionLimitDelay = configuration.connectionLimitDelay
        session.backoffInitial = .milliseconds(250)
        session.backoffCap = .seconds(5)
        session.healthyAfter = .seconds(5)
        self.session = session
        self.subscriptions = (0..<configuration.connections).flatMap { Soak.subscriptions(shard: $0) }
    }

    func run() async throws -> SoakReport {
        let c = self.configuration
        var report = SoakReport()
        report.configuration = "\(c.duration) of faults, seed \(c.seed), \(c.connections) connections, \(self.subscriptions.count) subscriptions (every channel), \(Int(c.rate)) frames/s per connection, a fault every \(c.meanFaultInterval) on average"
        report.subscriptions = self.subscriptions.count
        defer { self.sim.stop() }

        var config = StreamClientConfiguration(url: self.sim.url, apiKey: "soak")
        config.seed = c.seed
        config.pool.session = self.session
        config.delivery = DeliveryConfiguration(capacityPerSubscription: 4096, overflow: .block)
        let client = try StreamClient(configuration: config)
        let observed = self.observed
        client.onRawFrame { bytes, _ in
            if let seq = Observed.stamp(bytes) {
                let now = Soak.now()
                observed.withLockedValue { $0.mark(seq, arrivedAt: now) }
            }
        }
        let consumer = Task { await Self.consume(client, into: observed) }
        client.start()
        try await client.subscribe(self.subscriptions)
        self.progress("subscribed \(self.subscriptions.count) over \(self.sim.liveConnections(key: "soak").count) connections")

        // Faults, with RSS samples; warm-up is the first tenth (at most 30 s).
        var rng = SplitMix64(seed: c.seed ^ 0x50A4)
        var faults: [String: Int] = [:]
        let start = ContinuousClock.now
        let end = start + .nanoseconds(c.duration.nanoseconds)
        let warmUp = start + .nanoseconds(min(c.duration.nanoseconds / 10, 30_000_000_000))
        var deck: [String] = []
        var rssStart: Int?
        var rssMax = 0
        var lastProgress = start
        // Ends by rounds, not only by time: past the duration until every kind has its rounds, up to the cap.
        let cap = start + .nanoseconds(c.duration.nanoseconds * Int64(max(1, c.roundsCapFactor)))
        var refusals: [String: [String: Int]] = [:]
        func roundsDone() -> Int { Soak.deck.map { faults[$0] ?? 0 }.min() ?? 0 }
        while ContinuousClock.now < cap, ContinuousClock.now < end || roundsDone() < c.minimumRounds {
            let interval = Double(c.meanFaultInterval.nanoseconds) * (0.5 + Double(rng.next() % 1000) / 1000)
            try await Task.sleep(for: .nanoseconds(Int64(interval)))
            let rss = Soak.rss()
            rssMax = max(rssMax, rss)
            if rssStart == nil, ContinuousClock.now >= warmUp { rssStart = rss }
            if deck.isEmpty { deck = Soak.deck.shuffled(using: &rng) }
            let kind = deck.removeLast()
            if let refusal = await self.inject(kind, rng: &rng, report: &report) {
                refusals[kind, default: [:]][refusal, default: 0] += 1
                deck.append(kind)  // drawn again next
            } else {
                faults[kind, default: 0] += 1
            }
            if ContinuousClock.now - lastProgress >= .seconds(30) {
                lastProgress = ContinuousClock.now
                let elapsed = (ContinuousClock.now - start).components.seconds
                self.progress("\(elapsed) s: \(faults.values.reduce(0, +)) faults, \(self.sim.ledgerCount) pushes, RSS \(rss / 1_048_576) MiB")
            }
        }
        report.faults = Soak.deck.compactMap { k in
            faults[k].map { (k.hasPrefix("close 41") ? k + " (probe client)" : k, $0) }
        }
        report.rounds = roundsDone()
        report.roundsRequired = c.minimumRounds
        report.faultTime = ContinuousClock.now - start
        if report.rounds < c.minimumRounds {
            let short = Soak.deck.filter { (faults[$0] ?? 0) < c.minimumRounds }.map { kind in
                let why = refusals[kind].map { r in r.sorted { $0.key < $1.key }.map { "\($0.value)x \($0.key)" }.joined(separator: ", ") }
                return "\(kind) (\(faults[kind] ?? 0) injected; refused: \(why ?? "never, the cap came first"))"
            }
            report.failures.append(
                "\(report.rounds) of \(c.minimumRounds) full rounds of the fault deck by the cap (\(c.roundsCapFactor) x the duration); "
                    + "short: " + short.joined(separator: "; "))
        }

        // Settle: every subscription must deliver again; then pause pushes and let the consumer drain.
        let quiet = Soak.now()
        // 120 s only bounds a failing run (the loop ends once every subscription delivered): under ThreadSanitizer
        // the soak's short keep-alive drops connections often, and a subscription may wait out several backoffs.
        let settleBy = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < settleBy {
            let active = observed.withLockedValue { o in self.subscriptions.filter { (o.lastDelivery[$0] ?? 0) > quiet }.count }
            report.activeAtEnd = active
            if active == self.subscriptions.count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        self.sim.pausePushes(true)
        try await Task.sleep(for: .seconds(1))
        // Until every push sent on a connection still open has arrived and the queue is drained (a slow reader may
        // be seconds behind the simulator; stopping before it caught up would count its unread frames as lost), and
        // every subscription is back after its connection's last reconnect: the client reports a gap when the
        // re-subscribe is acknowledged, so stopping while a connection is down (in backoff, say: a slow machine
        // kills connections on its pong timeout) would count the tail that connection lost as unreported.
        let drainBy = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < drainBy {
            let ledger = self.sim.ledger()
            let unread = observed.withLockedValue { o in
                ledger.entries.indices.contains { seq in
                    let e = ledger.entries[seq]
                    return ledger.keys[e.connection] == "soak" && ledger.closedAt[e.connection] == nil
                        && (seq >= o.arrivedAt.count || o.arrivedAt[seq] == 0)
                }
            }
            let interrupted = observed.withLockedValue { !$0.interrupted(self.subscriptions).isEmpty }
            if !unread, !interrupted, await client.metrics().queued == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let stillInterrupted = observed.withLockedValue { $0.interrupted(self.subscriptions) }
        if !stillInterrupted.isEmpty {
            report.failures.append("\(stillInterrupted.count) subscriptions not re-subscribed within 60 s of the end (their connection was down)")
        }
        let metrics = await client.metrics()
        let rssEnd = Soak.rss()
        report.rssStart = rssStart ?? rssEnd
        report.rssEnd = rssEnd
        report.rssMax = max(rssMax, rssEnd)
        report.rssBound = Int(c.rssBoundMiB * 1_048_576)
        report.duplicatesSuppressed = metrics.duplicatesSuppressed
        report.invalidFrames = metrics.invalidFrames
        await client.stop()
        _ = await consumer.value

        self.judge(&report)
        return report
    }

    private func progress(_ line: String) { self.configuration.progress?(line) }

    /// Injects one fault of `kind`: nil when it was injected, else why not (it is tried again later).
    private func inject(_ kind: String, rng: inout SplitMix64, report: inout SoakReport) async -> String? {
        if kind == "close 4100" || kind == "close 4101" || kind == "close 4102" {
            report.probes += 1
            let (passed, story) = await self.probe(code: UInt16(kind.dropFirst(6))!)
            if passed {
                report.probesPassed += 1
            } else if report.lossDetails.count < 8 {
                report.lossDetails.append("probe \(kind): \(story)")
            }
            return nil
        }
        let live = self.sim.liveConnections(key: "soak")
        guard !live.isEmpty else { return "no live connection of the client to inject into" }
        let target = live[Int(rng.next() % UInt64(live.count))]
        let fault: SimulatorFault
        switch kind {
        case "drop": fault = .drop
        case "stall": fault = .stall
        case "error 5001": fault = .internalError
        case "malformed frame": fault = .malformedFrame
        case "oversized frame": fault = .oversizedFrame(bytes: 2 << 20)
        case "duplicate push": fault = .duplicatePush
        case "slow pong": fault = .pongDelay(.milliseconds(self.configuration.pingIntervalMS))
        case "accept then close":
            self.sim.acceptThenClose(key: "soak", count: 2)
            fault = .drop
        default: fault = .close(code: UInt16(kind.dropFirst(6))!)
        }
        self.sim.inject(fault, connection: target)
        return nil
    }

    /// A client with its own key is closed with a fatal code: it must report one fatal event and never reconnect.
    private func probe(code: UInt16) async -> (passed: Bool, story: String) {
        var config = StreamClientConfiguration(url: self.sim.url, apiKey: "probe")
        // The probe tests the fatal close, not the keep-alive: the default liveness (a machine slowed by a sanitizer
        // must not lose the probe's connection to the soak's short pong timeout first), with the soak's short first
        // backoff, so that a wrong reconnect would come within the wait below.
        var session = SessionConfiguration()
        session.backoffInitial = self.session.backoffInitial
        config.pool.session = session
        guard let client = try? StreamClient(configuration: config) else { return (false, "the client could not be made") }
        // Counted before the client starts: its first connection may be accepted before `start` returns.
        let before = self.sim.counters.connectionsByKey["probe"] ?? 0
        client.start()
        let seen = NIOLockedValueBox((fatal: 0, reconnecting: 0))
        let reasons = NIOLockedValueBox<[String]>([])
        let watcher = Task { () -> (fatal: Int, reconnecting: Int) in
            for await case .session(let e, _) in client.events {
                if case .fatal = e { seen.withLockedValue { $0.fatal += 1 } }
                if case .reconnecting(_, _, let reason) = e {
                    seen.withLockedValue { $0.reconnecting += 1 }
                    reasons.withLockedValue { $0.append("\(reason)") }
                }
            }
            return seen.withLockedValue { $0 }
        }
        var injected = false
        if (try? await client.subscribe([.cryptoLatestPrice(1)])) != nil, let connection = self.sim.liveConnections(key: "probe").first {
            self.sim.inject(.close(code: code), connection: connection)
            injected = true
            // Waits for the fatal event (a slow machine takes longer, it does not pass by waiting less), then longer
            // than the first backoff: a reconnect would have happened by then.
            let deadline = ContinuousClock.now + .seconds(20)
            while seen.withLockedValue({ $0.fatal + $0.reconnecting }) == 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            try? await Task.sleep(for: .seconds(1))
        }
        let after = self.sim.counters.connectionsByKey["probe"] ?? 0
        await client.stop()
        let counts = await watcher.value
        let passed = injected && counts.fatal == 1 && counts.reconnecting == 0 && after == before + 1
        let story = "\(injected ? "injected" : "not injected (the subscribe failed)"), \(counts.fatal) fatal, "
            + "\(counts.reconnecting) reconnects \(reasons.withLockedValue { $0 }), \(after - before) connections"
        return (passed, story)
    }

    /// The consumer: iterates the client's events as a user would, recording deliveries and lifecycle events.
    static func consume(_ client: StreamClient, into observed: NIOLockedValueBox<Observed>) async {
        for await event in client.events {
            switch event {
            case .message(let m, let sub):
                let seq = m.bytes.withUnsafeBytes { Observed.stamp($0) }
                let now = Soak.now()
                observed.withLockedValue { o in
                    if let seq { o.mark(seq, arrivedAt: nil) }
                    if let sub { o.lastDelivery[sub] = now }
                }
            case .session(let e, let connection):
                switch e {
                case .subscribed(let s, _):
                    observed.withLockedValue { o in
                        o.lifecycleEvents += 1
                        o.connectionOf[s] = connection
                        o.subscribedAt[s] = o.lifecycleEvents
                    }
                case .gap(let s, let from, let to, _):
                    observed.withLockedValue { o in
                        o.gaps[s, default: []].append((from.nanoseconds, to.nanoseconds))
                        o.gapMarkers += 1
                    }
                case .reconnecting(let attempt, let delay, let reason):
                    observed.withLockedValue { o in
                        o.reconnects.append((attempt, delay, reason))
                        o.lifecycleEvents += 1
                        o.reconnectingAt[connection] = o.lifecycleEvents
                    }
                case .fatal(let reason):
                    observed.withLockedValue { $0.fatal = reason }
                case .subscriptionFailed(let s, _):
                    observed.withLockedValue { $0.failedSubscriptions.append(s) }
                    // As a user would: ask again (the failure is in the report).
                    Task { try? await client.subscribe([s]) }
                case .serverError:
                    observed.withLockedValue { $0.serverErrors += 1 }
                case .connecting, .connected, .welcome, .unsubscribed, .stale, .restored, .stopped:
                    break
                }
            case .dropped(_, let count):
                observed.withLockedValue { $0.droppedEvents += count }
            }
        }
    }

    /// Compares the ledger with what arrived and was delivered; fills the report's counts and failures.
    private func judge(_ report: inout SoakReport) {
        let ledger = self.sim.ledger()
        let o = self.observed.withLockedValue { $0 }
        let s = self.session
        report.repeatsSent = ledger.repeats
        report.plainRepeatsSent = ledger.plainRepeats.values.reduce(0, +)
        report.gapMarkers = o.gapMarkers
        report.reconnects = o.reconnects.count
        report.serverErrors = o.serverErrors

        // Per event: deliveries, and whether each undelivered frame is covered by a reported gap.
        var delivered: [Int: Int] = [:]
        var events: Set<Int> = []
        struct StreamKey: Hashable { var connection: Int; var subscription: Subscription }
        var streams: [StreamKey: [Int]] = [:]
        // The main client's pushes only (the probes' connections end with a fatal code by design).
        for (seq, e) in ledger.entries.enumerated() where ledger.keys[e.connection] == "soak" {
            report.framesPushed += 1
            events.insert(e.event)
            streams[StreamKey(connection: e.connection, subscription: e.subscription), default: []].append(seq)
            delivered[e.event, default: 0] += seq < o.delivered.count ? Int(o.delivered[seq]) : 0
        }
        // A lost push is covered when a gap reported for its subscription starts no later than the last push of
        // its stream that was accounted for (delivered, or arrived as the second leg of a delivered swap: the
        // session counts that as data of the subscription too), or the stream's first push, and ends no earlier
        // than the lost push was sent. The tolerance only absorbs the order in which the raw-frame hook and the
        // session read the clock.
        let tolerance: Int64 = 50_000_000
        var uncovered: Set<Int> = []
        for (key, seqs) in streams {
            let lastDelivered = seqs.lastIndex { seq in
                seq < o.arrivedAt.count && o.arrivedAt[seq] != 0 && (delivered[ledger.entries[seq].event] ?? 0) > 0
            } ?? -1
            let spanStart = lastDelivered >= 0 ? o.arrivedAt[seqs[lastDelivered]] : ledger.entries[seqs[0]].sentAt
            for (i, seq) in seqs.enumerated() where seq >= o.delivered.count || o.delivered[seq] == 0 {
                let entry = ledger.entries[seq]
                if (delivered[entry.event] ?? 0) > 0 { continue }  // the other leg of a delivered swap: suppressed
                let arrival = seq < o.arrivedAt.count ? o.arrivedAt[seq] : 0
                let gaps = o.gaps[key.subscription, default: []]
                var why: String?
                if i < lastDelivered {
                    why = "skipped while later pushes of its stream were delivered"
                } else if !gaps.contains(where: { $0.from <= spanStart + tolerance && $0.to >= entry.sentAt }) {
                    why = "lost at the tail of its stream with no gap reported over it"
                }
                guard let why else { continue }
                uncovered.insert(entry.event)
                if report.lossDetails.count < 8 {
                    let gapText = gaps.map { "[\(($0.from - spanStart) / 1_000_000), \(($0.to - spanStart) / 1_000_000)]" }.joined(separator: " ")
                    report.lossDetails.append(
                        "push \(seq) (\(entry.subscription), connection \(key.connection), #\(i + 1) of \(seqs.count), last accounted for #\(lastDelivered + 1)): \(why); "
                            + "sent at +\((entry.sentAt - spanStart) / 1_000_000) ms, \(arrival == 0 ? "never arrived" : "arrived at +\((arrival - spanStart) / 1_000_000) ms"), "
                            + "connection closed at \(ledger.closedAt[key.connection].map { "+\(($0 - spanStart) / 1_000_000) ms" } ?? "never"), gaps (ms) \(gapText)"
                    )
                }
            }
        }
        var eventPlainRepeats: [Int: Int] = [:]
        for (seq, times) in ledger.plainRepeats where seq < ledger.entries.count {
            let event = ledger.entries[seq].event
            let deliveries = seq < o.delivered.count ? Int(o.delivered[seq]) : 0
            eventPlainRepeats[event, default: 0] += min(times, max(0, deliveries - 1))
        }
        report.eventsPushed = events.count
        for event in events {
            // A server's repeat of a frame a client cannot recognise as one (a price) is delivered again, rightly.
            let n = (delivered[event] ?? 0) - (eventPlainRepeats[event] ?? 0)
            if n == 1 {
                report.deliveredOnce += 1
            } else if n > 1 {
                report.deliveredTwice += 1
                if report.lossDetails.count < 8 {
                    let legs = ledger.entries.enumerated().filter { $0.element.event == event }.map { seq, e in
                        "push \(seq) (\(e.subscription), connection \(e.connection), delivered \(seq < o.delivered.count ? Int(o.delivered[seq]) : 0)x, sent at \(e.sentAt / 1_000_000) ms)"
                    }
                    report.lossDetails.append("event \(event) delivered \(n) times: " + legs.joined(separator: "; "))
                }
            } else if uncovered.contains(event) {
                report.lostOutsideGaps += 1
            } else {
                report.lostInsideGaps += 1
            }
        }

        // Backoff: every delay within the policy.
        for r in o.reconnects {
            report.longestDelay = max(report.longestDelay, r.delay)
            let ok: Bool
            if case .closedByServer(4004, _) = r.reason {
                ok = r.delay >= s.connectionLimitDelay && r.delay <= s.connectionLimitDelay + s.backoffInitial
            } else {
                let bound = min(s.backoffCap.nanoseconds, r.attempt > 40 ? Int64.max : s.backoffInitial.nanoseconds << Int64(max(0, r.attempt - 1)))
                ok = r.delay.nanoseconds >= 0 && r.delay.nanoseconds <= bound
            }
            if !ok { report.backoffViolations += 1 }
        }

        if report.lostOutsideGaps > 0 { report.failures.append("\(report.lostOutsideGaps) events lost outside reported gaps") }
        if report.deliveredTwice > 0 { report.failures.append("\(report.deliveredTwice) events delivered more than once") }
        if report.backoffViolations > 0 { report.failures.append("\(report.backoffViolations) reconnect delays outside the policy") }
        if report.probesPassed != report.probes { report.failures.append("\(report.probes - report.probesPassed) fatal-code probes reconnected or did not fail") }
        if report.activeAtEnd != report.subscriptions { report.failures.append("\(report.subscriptions - report.activeAtEnd) subscriptions not delivering at the end") }
        if let fatal = o.fatal { report.failures.append("the client failed for good: \(fatal)") }
        if o.droppedEvents > 0 { report.failures.append("\(o.droppedEvents) messages dropped by the delivery queue") }
        if report.rssEnd - report.rssStart > report.rssBound { report.failures.append("RSS grew by more than the bound") }
        if report.framesPushed == 0 { report.failures.append("nothing was pushed") }
        if !o.failedSubscriptions.isEmpty { report.failures.append("\(o.failedSubscriptions.count) subscription failures (re-subscribed)") }
    }
}
