// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import Testing

@testable import StreamKit

/// Drives a `Session` with virtual time and a scripted server; no sockets, no sleeps.
struct Harness {
    var session: Session
    var now = Instant(nanoseconds: 0)
    var frame = DecodedFrame()
    var sent: [String] = []
    var actions: [SessionAction] = []
    var events: [SessionEvent] = []
    var delivered: [Subscription?] = []

    init(configuration: SessionConfiguration = SessionConfiguration(), seed: UInt64 = 1) {
        self.session = Session(configuration: configuration, seed: seed)
    }

    mutating func drain() {
        while let e = self.session.pollEvent() { self.events.append(e) }
        while let a = self.session.pollAction() {
            self.actions.append(a)
            if case .send(let bytes) = a { self.sent.append(String(decoding: bytes, as: UTF8.self)) }
        }
    }

    /// Advances virtual time to `t`, firing every timer due on the way.
    mutating func run(until t: Instant) {
        while let next = self.session.pollTimeout(), next <= t {
            self.now = max(self.now, next)
            self.session.handleTimeout(now: self.now)
            self.drain()
        }
        self.now = max(self.now, t)
    }

    mutating func run(for seconds: Double) { self.run(until: self.now.advanced(by: .milliseconds(Int64(seconds * 1000)))) }

    @discardableResult
    mutating func receive(_ text: String) -> InboundResult {
        let bytes = Array(text.utf8)
        let result = bytes.withUnsafeBytes { self.session.handleText($0, now: self.now, into: &self.frame) }
        self.drain()
        if case .data(let s) = result { self.delivered.append(s) }
        return result
    }

    mutating func start() {
        self.session.start(now: self.now)
        self.drain()
    }

    mutating func connect() {
        self.session.handleConnected(now: self.now)
        self.drain()
    }

    mutating func close(code: UInt16?, reason: String = "") {
        self.session.handleClosed(code: code, reason: reason, now: self.now)
        self.drain()
    }

    /// Acks every subscribe/unsubscribe request sent since `from` (as the server would).
    mutating func ackRequests(from start: Int = 0, duplicate: Bool = false) {
        let requests = Array(self.sent[start...])
        for text in requests {
            guard let v = try? JSONValue(parsing: Array(text.utf8)), let method = v["method"]?.string,
                method != "ping", let id = v["id"]?.int
            else { continue }
            let channel = v["channel"]?.string.map { #","channel":"\#($0)""# } ?? ""
            self.receive(
                #"{"type":"ack","id":\#(id),"code":0,"msg":"ok"\#(channel),"sub_count":1,"sub_limit":100,"duplicate":\#(duplicate)}"#
            )
        }
    }

    /// Answers pings sent since `from`.
    mutating func pongRequests(from start: Int) {
        for text in self.sent[start...] where text.contains(#""method":"ping""#) {
            guard let id = (try? JSONValue(parsing: Array(text.utf8)))?["id"]?.int else { continue }
            self.receive(#"{"type":"pong","id":\#(id),"code":0,"ts":1}"#)
        }
    }

    /// Advances `seconds` one second at a time like a live server: every ping is answered at once, and
    /// `each` runs after every second (to push data).
    mutating func live(for seconds: Int, each: (inout Harness, Int) -> Void = { _, _ in }) {
        for second in 1...seconds {
            let mark = self.sent.count
            self.run(for: 1)
            self.pongRequests(from: mark)
            each(&self, second)
        }
    }

    var connects: Int { self.actions.filter { $0 == .connect }.count }
    var closes: [UInt16] { self.actions.compactMap { if case .close(let c) = $0 { c } else { nil } } }
    var reconnectDelays: [Duration] {
        self.events.compactMap { if case .reconnecting(_, let d, _) = $0 { d } else { nil } }
    }
}

func price(_ id: Int64, p: Double = 100, ts: Int64 = 1) -> String {
    #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":\#(id)},"data":{"cid":\#(id),"p":\#(p)},"ts":\#(ts)}"#
}

func swap(leg address: String, tx: String = "0xabc", lgid: Int = 7) -> String {
    #"{"type":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":"\#(address)"},"data":{"pid":14,"tx":"\#(tx)","lgid":\#(lgid),"vu":1.5},"ts":1}"#
}

let token0 = "0x1111111111111111111111111111111111111111"
let token1 = "0x2222222222222222222222222222222222222222"

@Suite struct SessionTests {
    /// Subscribed and flowing: the starting point of most narratives.
    static func flowing(_ ids: [Int64] = [1, 1027], configuration: SessionConfiguration = SessionConfiguration()) throws -> Harness {
        var h = Harness(configuration: configuration)
        try h.session.subscribe(ids.map(Subscription.cryptoLatestPrice), now: h.now)
        h.start()
        h.connect()
        h.receive(#"{"type":"welcome","ping_interval_ms":10000}"#)
        h.ackRequests()
        return h
    }

    // MARK: - Connect and subscribe

    @Test func startConnectsThenSubscribes() throws {
        var h = Harness()
        try h.session.subscribe([.cryptoLatestPrice(1), .cryptoLatestPrice(1027)], now: h.now)
        #expect(h.session.phase == .idle)
        h.start()
        #expect(h.actions == [.connect])
        #expect(h.events == [.connecting(attempt: 0)])
        h.connect()
        #expect(h.sent == [#"{"id":1,"method":"subscribe","channel":"market@crypto_latest_price","params":{"crypto_ids":[1,1027]}}"#])
        h.ackRequests()
        #expect(h.events.contains(.subscribed(.cryptoLatestPrice(1), duplicate: false)))
        #expect(h.events.contains(.subscribed(.cryptoLatestPrice(1027), duplicate: false)))
        #expect(Set(h.session.activeSubscriptions) == [.cryptoLatestPrice(1), .cryptoLatestPrice(1027)])
        #expect(h.receive(price(1027)) == .data(subscription: .cryptoLatestPrice(1027)))
        #expect(h.receive(price(5)) == .data(subscription: nil))
    }

    @Test func subscribeWhileOpenSendsAtOnceInGroupedChunks() throws {
        var config = SessionConfiguration()
        config.maxTargetsPerRequest = 2
        var h = try Self.flowing([], configuration: config)
        let before = h.sent.count
        try h.session.subscribe((1...5).map { Subscription.cryptoLatestPrice($0) }, now: h.now)
        h.drain()
        #expect(h.sent.count - before == 3)  // 2 + 2 + 1
    }

    /// A limit of 0 (or less) used to chunk forever: one target per request is the least that makes progress.
    @Test func aTargetLimitBelowOneSendsOneTargetPerRequest() throws {
        var config = SessionConfiguration()
        config.maxTargetsPerRequest = 0
        var h = try Self.flowing([], configuration: config)
        let before = h.sent.count
        try h.session.subscribe((1...3).map { Subscription.cryptoLatestPrice($0) }, now: h.now)
        h.drain()
        #expect(h.sent.count - before == 3)
    }

    @Test func capacityFailsFastAndAddsNothing() throws {
        var h = Harness()
        #expect(throws: SessionError.capacity(limit: 100)) {
            try h.session.subscribe((1...101).map { Subscription.cryptoLatestPrice($0) }, now: h.now)
        }
        #expect(h.session.subscriptions.isEmpty)
        try h.session.subscribe((1...100).map { Subscription.cryptoLatestPrice($0) }, now: h.now)
        #expect(h.session.remainingCapacity == 0)
    }

    // MARK: - Keep-alive and dead connections

    @Test func pingsAtTheWelcomeIntervalAndSurvivesWithPongs() throws {
        var h = try Self.flowing()
        h.receive(#"{"type":"welcome","ping_interval_ms":4000}"#)
        for _ in 0..<10 {
            let mark = h.sent.count
            h.run(for: 4)
            #expect(h.sent[mark...].contains { $0.contains(#""method":"ping""#) })
            h.pongRequests(from: mark)
        }
        #expect(h.session.phase == .open)
        #expect(h.closes.isEmpty)
    }

    /// Socket open, nothing arrives, pings unanswered: detected at the pong deadline, not trusted.
    @Test func silentStallIsDetected() throws {
        var h = try Self.flowing()
        h.run(for: 10)  // ping sent at 10 s
        #expect(h.sent.last?.contains(#""method":"ping""#) == true)
        h.run(for: 5)  // pong deadline 15 s
        #expect(h.closes == [1001])
        #expect(h.session.phase == .closing)
        h.close(code: nil)
        #expect(h.events.contains { if case .reconnecting(1, _, .pongTimeout) = $0 { true } else { false } })
    }

    /// A consumer with the `block` policy made the transport stop reading: the silence is ours, so no ping, pong
    /// deadline, liveness or staleness timer fires; on resume a ping goes out at once and the timers run again.
    @Test func pausedReadingSuspendsTheKeepAlive() throws {
        var h = try Self.flowing()
        let mark = h.sent.count
        h.session.handleReading(paused: true, now: h.now)
        h.run(for: 120)  // far past ping (10 s), pong (5 s), liveness (30 s) and price staleness (45 s)
        #expect(h.closes.isEmpty)
        #expect(h.sent.count == mark)
        #expect(!h.events.contains { if case .stale = $0 { true } else { false } })
        #expect(h.session.phase == .open)
        h.session.handleReading(paused: false, now: h.now)
        h.run(for: 0)
        #expect(h.sent.last?.contains(#""method":"ping""#) == true)
        h.run(for: 5)  // the ping is not answered: the pong deadline applies again
        #expect(h.closes == [1001])
    }

    /// A read pause is ours, not the server's: staleness counts from its end, but a gap marker after it still starts
    /// at the last data actually received (found by the soak: data lost between the two went unreported).
    @Test func readPauseMovesStalenessButNotTheGapStart() throws {
        var config = SessionConfiguration()
        config.pongTimeout = .seconds(60)  // the harness answers no ping: keep the keep-alive out of the way
        config.livenessTimeout = .seconds(120)
        var h = try Self.flowing([1], configuration: config)
        h.run(for: 1)
        h.receive(price(1))
        let lastData = h.now
        h.session.handleReading(paused: true, now: h.now)
        h.run(for: 20)
        h.session.handleReading(paused: false, now: h.now)
        h.run(for: 44)  // 64 s after the data, 44 s after the pause: not stale yet (45 s)
        #expect(!h.events.contains { if case .stale = $0 { true } else { false } })
        h.close(code: 1011, reason: "send failure")
        h.run(for: 1.5)
        let mark = h.sent.count
        h.connect()
        h.events.removeAll()
        h.ackRequests(from: mark)
        let from = h.events.compactMap { e -> Instant? in if case .gap(_, let from, _, _) = e { from } else { nil } }
        #expect(from == [lastData])
    }

    /// A close the transport never confirms does not leave the session waiting forever: after `closeTimeout` it
    /// goes on (here: backs off and reconnects), and a late report of that close changes nothing.
    @Test func unconfirmedCloseTimesOutAndReconnects() throws {
        var config = SessionConfiguration()
        config.pongTimeout = .seconds(2)
        var h = try Self.flowing(configuration: config)
        h.run(for: 12)  // ping at 10 s, no pong by 12 s: closing
        #expect(h.closes == [1001])
        #expect(h.session.phase == .closing)
        h.run(for: 4.9)
        #expect(h.session.phase == .closing)
        h.run(for: 0.2)  // closeTimeout (5 s) passed without a report
        guard case .reconnecting(1, _, .pongTimeout)? = h.events.last else {
            Issue.record("expected reconnecting after the close timeout, got \(String(describing: h.events.last))")
            return
        }
        let events = h.events.count
        h.session.handleClosed(code: nil, reason: "late", now: h.now)  // the transport's late report
        h.drain()
        #expect(h.events.count == events)
        h.run(for: 2)
        #expect(h.connects == 2)
    }

    /// Without any frame the liveness window kills the connection: here the larger of the configured 12 s and
    /// three ping intervals (the welcome's 3 s), with a pong timeout longer than that.
    @Test func livenessCountsEveryFrame() throws {
        var config = SessionConfiguration()
        config.livenessTimeout = .seconds(12)
        config.pongTimeout = .seconds(60)
        var h = Harness(configuration: config)
        try h.session.subscribe([.cryptoLatestPrice(1)], now: h.now)
        h.start()
        h.connect()
        h.receive(#"{"type":"welcome","ping_interval_ms":3000}"#)
        h.ackRequests()
        h.run(for: 11.9)
        #expect(h.session.phase == .open)
        h.run(for: 0.2)  // 12.1 s without a frame (the pings at 3, 6, 9 and 12 s got no pong)
        #expect(h.closes == [1001])
    }

    // MARK: - Reconnect

    @Test func reconnectResubscribesEverythingWithGapsThenRestored() throws {
        var h = try Self.flowing([1, 1027, 52])
        h.run(for: 1)
        h.receive(price(1))
        let lastData = h.now
        h.close(code: 1011, reason: "send failure")
        guard case .reconnecting(1, let delay, .closedByServer(1011, "send failure"))? = h.events.last else {
            Issue.record("expected reconnecting, got \(String(describing: h.events.last))")
            return
        }
        #expect(delay <= .seconds(1))
        h.run(for: 1.5)
        #expect(h.connects == 2)
        let mark = h.sent.count
        h.connect()
        #expect(h.sent[mark...].count == 1)
        #expect(h.sent[mark...].first?.contains("[1,1027,52]") == true || h.sent[mark...].first?.contains("1027") == true)
        h.events.removeAll()
        h.ackRequests(from: mark)
        let gaps = h.events.compactMap { e -> (Subscription, Instant)? in
            if case .gap(let s, let from, _, _) = e { (s, from) } else { nil }
        }
        #expect(Set(gaps.map(\.0)) == [.cryptoLatestPrice(1), .cryptoLatestPrice(1027), .cryptoLatestPrice(52)])
        #expect(gaps.first { $0.0 == .cryptoLatestPrice(1) }?.1 == lastData)
        #expect(h.events.last == .restored)
        // Gap markers precede the first data after the interruption.
        let gapIndex = h.events.firstIndex { if case .gap = $0 { true } else { false } }!
        #expect(gapIndex < h.events.count)
        #expect(h.receive(price(1)) == .data(subscription: .cryptoLatestPrice(1)))
    }

    /// Full jitter within bounds that double up to the cap; never above.
    @Test func backoffGrowsWithJitterWithinBounds() {
        for seed in UInt64(1)...20 {
            var h = Harness(seed: seed)
            h.start()
            for n in 1...10 {
                h.session.handleConnectFailed(reason: "refused", now: h.now)
                h.drain()
                let delay = h.reconnectDelays.last!
                let bound = min(60.0, pow2(n - 1))
                #expect(delay >= .zero && delay <= .seconds(bound), "attempt \(n): \(delay) > \(bound)")
                h.run(until: h.session.pollTimeout()!)
                #expect(h.connects == n + 1)
            }
        }
        // The jitter spreads: over seeds, the 8th delay covers most of [0, 60] s.
        var eighth: [Double] = []
        for seed in UInt64(1)...200 {
            var h = Harness(seed: seed)
            h.start()
            for _ in 1...8 {
                h.session.handleConnectFailed(reason: "refused", now: h.now)
                h.drain()
                h.run(until: h.session.pollTimeout()!)
            }
            eighth.append(Double(h.reconnectDelays.last!.nanoseconds) / 1e9)
        }
        #expect(eighth.min()! < 10 && eighth.max()! > 50)
    }

    /// A server that accepts and closes at once never resets the backoff: no tight loop.
    @Test func acceptThenCloseKeepsBackingOff() {
        var h = Harness()
        h.start()
        var attempts: [Int] = []
        for _ in 1...8 {
            h.connect()
            h.close(code: 1000)
            if case .reconnecting(let n, _, _)? = h.events.last { attempts.append(n) }
            h.run(until: h.session.pollTimeout()!)
        }
        #expect(attempts == Array(1...8))
        let elapsed = Double(h.now.nanoseconds) / 1e9
        #expect(elapsed > 1, "8 reconnects took \(elapsed)s of virtual time")
    }

    /// After a healthy period with data, the next failure starts the backoff over.
    @Test func healthyConnectionResetsBackoff() throws {
        var h = Harness()
        try h.session.subscribe([.cryptoLatestPrice(1)], now: h.now)
        h.start()
        for _ in 1...3 {
            h.session.handleConnectFailed(reason: "refused", now: h.now)
            h.drain()
            h.run(until: h.session.pollTimeout()!)
        }
        h.connect()
        h.ackRequests()
        h.live(for: 36) { h, second in if second % 5 == 0 { h.receive(price(1)) } }
        #expect(h.session.phase == .open)
        h.close(code: nil)
        guard case .reconnecting(let n, _, _)? = h.events.last else { Issue.record("no reconnect"); return }
        #expect(n == 1)
    }

    // MARK: - Close codes and errors

    @Test(arguments: [UInt16(4100), 4101, 4102])
    func fatalCloseCodesStopForGood(_ code: UInt16) throws {
        var h = try Self.flowing()
        h.close(code: code, reason: "")
        #expect(h.events.last == .fatal(.closedByServer(code: code, reason: "")))
        #expect(h.session.phase == .failed)
        h.run(for: 3600)
        #expect(h.connects == 1)
        #expect(throws: SessionError.notRunning) { try h.session.subscribe([.cryptoLatestPrice(2)], now: h.now) }
    }

    @Test func connectionLimitWaitsLong() throws {
        var h = try Self.flowing()
        h.close(code: 4004)
        #expect(h.reconnectDelays.last! >= .seconds(60))
        h.run(for: 59)
        #expect(h.connects == 1)
        h.run(for: 2.5)
        #expect(h.connects == 2)
    }

    @Test(arguments: [UInt16(1000), 1001, 1011, 1012, 1013, 1014, 1006, 4999])
    func otherCloseCodesRetry(_ code: UInt16) throws {
        var h = try Self.flowing()
        h.close(code: code)
        #expect(h.session.phase == .backoff)
        h.run(for: 2)
        #expect(h.connects == 2)
    }

    @Test func ackTimeoutFailsTheSubscription() throws {
        var h = Harness()
        try h.session.subscribe([.cryptoLatestPrice(1)], now: h.now)
        h.start()
        h.connect()
        h.run(for: 10.5)
        #expect(h.events.contains(.subscriptionFailed(.cryptoLatestPrice(1), .timeout)))
        #expect(h.session.activeSubscriptions.isEmpty)
        // Subscribing again retries it.
        let mark = h.sent.count
        try h.session.subscribe([.cryptoLatestPrice(1)], now: h.now)
        h.drain()
        #expect(h.sent.count == mark + 1)
    }

    @Test func errorFrameRejectsTheRequest() throws {
        var h = Harness()
        let sub = try Subscription(channel: .uniqueTrader, target: .address(platformID: 14, address: token0), interval: "1m")
        try h.session.subscribe([sub], now: h.now)
        h.start()
        h.connect()
        h.receive(
            #"{"type":"error","id":1,"status":{"error_code":"2402","category":"PROTOCOL","error_message":"Invalid param for channel.","error_detail":"bad"}}"#
        )
        #expect(
            h.events.last
                == .subscriptionFailed(sub, .rejected(code: .invalidParam, message: "Invalid param for channel.", detail: "bad"))
        )
        #expect(h.session.phase == .open)
    }

    @Test func authErrorIsFatal() throws {
        var h = try Self.flowing()
        h.receive(#"{"type":"error","status":{"error_code":"1010","error_message":"Monthly credit limit exceeded."}}"#)
        #expect(h.closes == [1000])
        h.close(code: 1000)
        #expect(h.session.phase == .failed)
        guard case .fatal? = h.events.last else { Issue.record("expected fatal, got \(h.events)"); return }
        h.run(for: 600)
        #expect(h.connects == 1)
    }

    @Test func serverErrorWithoutRequestIsReported() throws {
        var h = try Self.flowing()
        h.receive(#"{"type":"error","status":{"error_code":5001,"error_message":"Internal server error."}}"#)
        #expect(h.events.last == .serverError(code: .internalError, message: "Internal server error.", detail: ""))
        #expect(h.session.phase == .open)
    }

    @Test func repeatedGarbageRecyclesTheConnection() throws {
        var h = try Self.flowing()
        #expect(h.receive("{not json") != .control)
        #expect(h.receive(price(1)) == .data(subscription: .cryptoLatestPrice(1)))
        for _ in 0..<3 { h.receive("\u{0}\u{1}") }
        #expect(h.closes == [1001])
        #expect(h.session.counters.invalidFrames == 4)
    }

    // MARK: - Data

    /// Both token legs of one swap arrive; the consumer gets it once.
    @Test func dedupeAcrossBothTokenLegs() throws {
        var h = Harness()
        let leg0 = try Subscription(channel: .transaction, target: .address(platformID: 14, address: token0))
        let leg1 = try Subscription(channel: .transaction, target: .address(platformID: 14, address: token1))
        try h.session.subscribe([leg0, leg1], now: h.now)
        h.start()
        h.connect()
        h.ackRequests()
        #expect(h.receive(swap(leg: token0)) == .data(subscription: leg0))
        #expect(h.receive(swap(leg: token1)) == .duplicate)
        #expect(h.receive(swap(leg: token1, lgid: 8)) == .data(subscription: leg1))
        #expect(h.receive(swap(leg: token0, tx: "0xdef")) == .data(subscription: leg0))
        #expect(h.session.counters.duplicatesSuppressed == 1)
        // Without lgid (seen on real liquidity frames): identical payloads are one event.
        let noIndex = #"{"type":"data","channel":"onchain@liquidity_event","params":{"platform_id":14,"address":"ADDR"},"data":{"tx":"0x9","tp":"add","vu":3},"ts":1}"#
        #expect(h.receive(noIndex.replacingOccurrences(of: "ADDR", with: token0)) == .data(subscription: nil))
        #expect(h.receive(noIndex.replacingOccurrences(of: "ADDR", with: token1)) == .duplicate)
    }

    /// A checksum-case echo routes to the (lowercased) subscription.
    @Test func routesChecksumCaseEchoes() throws {
        var h = Harness()
        let checksum = "0x0E09FaBB73Bd3Ade0a17ECC321fD13a19e81cE82"
        let sub = try Subscription(channel: .tokenAggEvent, target: .address(platformID: 14, address: checksum))
        try h.session.subscribe([sub], now: h.now)
        h.start()
        h.connect()
        h.ackRequests()
        let frame = #"{"type":"data","channel":"onchain@token_agg_event","params":{"platform_id":14,"address":"\#(checksum)"},"data":{"ap":1},"ts":1}"#
        #expect(h.receive(frame) == .data(subscription: sub))
        let other = frame.replacingOccurrences(of: "0x0E09", with: "0x0F09")
        #expect(h.receive(other) == .data(subscription: nil))
    }

    @Test func staleSubscriptionIsReportedAndResubscribedAlone() throws {
        var h = try Self.flowing([1, 1027])
        // 1 keeps flowing every 5 s; 1027 goes quiet.
        h.live(for: 50) { h, second in if second % 5 == 0 { h.receive(price(1)) } }
        #expect(h.events.contains { if case .stale(.cryptoLatestPrice(1027), _) = $0 { true } else { false } })
        #expect(!h.events.contains { if case .stale(.cryptoLatestPrice(1), _) = $0 { true } else { false } })
        #expect(h.sent.contains { $0.contains(#""method":"unsubscribe""#) && $0.contains(#""crypto_ids":[1027]"#) })
        #expect(h.sent.contains { $0.contains(#""method":"subscribe""#) && $0.contains("[1027]") })
        #expect(h.session.counters.staleSubscriptions == 1)
    }

    @Test func unsubscribeAndUnsubscribeAll() throws {
        var h = try Self.flowing([1, 1027, 52])
        let mark = h.sent.count
        h.session.unsubscribe([.cryptoLatestPrice(1027)], now: h.now)
        h.drain()
        #expect(h.sent.last?.contains(#""method":"unsubscribe""#) == true)
        h.ackRequests(from: mark)
        #expect(h.events.contains(.unsubscribed(.cryptoLatestPrice(1027))))
        #expect(Set(h.session.subscriptions) == [.cryptoLatestPrice(1), .cryptoLatestPrice(52)])
        let mark2 = h.sent.count
        h.session.unsubscribeAll(now: h.now)
        h.drain()
        #expect(h.sent.last?.contains("unsubscribe_all") == true)
        h.ackRequests(from: mark2)
        #expect(h.session.subscriptions.isEmpty)
    }

    @Test func stopClosesAndEnds() throws {
        var h = try Self.flowing()
        h.session.stop(now: h.now)
        h.drain()
        #expect(h.closes == [1000])
        h.close(code: 1000)
        #expect(h.events.last == .stopped)
        #expect(h.session.phase == .stopped)
        h.run(for: 3600)
        #expect(h.connects == 1)
    }

    // MARK: - Every state against every input

    enum Input: CaseIterable {
        case start, stop, connected, connectFailed, closedNormal, closedFatal, closedDrop, timeout, garbage, data, ack
        case subscribe, unsubscribe
    }

    /// Puts a harness into each phase.
    static func harness(in phase: Session.Phase) throws -> Harness {
        var h = Harness()
        try h.session.subscribe([.cryptoLatestPrice(1)], now: h.now)
        switch phase {
        case .idle: break
        case .connecting: h.start()
        case .open: h.start(); h.connect(); h.ackRequests()
        case .closing: h.start(); h.connect(); h.run(for: 16)  // pong timeout
        case .backoff: h.start(); h.session.handleConnectFailed(reason: "x", now: h.now); h.drain()
        case .failed: h.start(); h.connect(); h.close(code: 4100)
        case .stopped: h.session.stop(now: h.now); h.drain()
        }
        #expect(h.session.phase == phase)
        return h
    }

    @Test(arguments: [Session.Phase.idle, .connecting, .open, .closing, .backoff, .failed, .stopped])
    func everyInputInEveryState(_ phase: Session.Phase) throws {
        for input in Input.allCases {
            var h = try Self.harness(in: phase)
            let actionsBefore = h.actions.count
            switch input {
            case .start: h.start()
            case .stop: h.session.stop(now: h.now); h.drain()
            case .connected: h.connect()
            case .connectFailed: h.session.handleConnectFailed(reason: "x", now: h.now); h.drain()
            case .closedNormal: h.close(code: 1000)
            case .closedFatal: h.close(code: 4101)
            case .closedDrop: h.close(code: nil)
            case .timeout: h.run(for: 120)
            case .garbage: h.receive("]]")
            case .data: h.receive(price(1))
            case .ack: h.receive(#"{"type":"ack","id":1,"code":0}"#)
            case .subscribe: _ = try? h.session.subscribe([.cryptoLatestPrice(2)], now: h.now); h.drain()
            case .unsubscribe: h.session.unsubscribe([.cryptoLatestPrice(1)], now: h.now); h.drain()
            }
            // Terminal states stay terminal and do nothing.
            if phase == .failed || phase == .stopped {
                #expect(h.session.phase == phase, "\(phase) + \(input)")
                #expect(h.actions.count == actionsBefore, "\(phase) + \(input) acted: \(h.actions)")
            }
            // No live state ever loses its subscription without saying so.
            if h.session.phase != .failed && h.session.phase != .stopped && input != .unsubscribe {
                #expect(h.session.subscriptions.contains(.cryptoLatestPrice(1)), "\(phase) + \(input)")
            }
            // Whatever happened, time moves the session on: it never wedges in a live state without a timer.
            switch h.session.phase {
            case .connecting, .open, .backoff: #expect(h.session.pollTimeout() != nil, "\(phase) + \(input)")
            case .idle, .closing, .failed, .stopped: break
            }
        }
    }
}

func pow2(_ n: Int) -> Double { Double(1 << min(n, 62)) }
