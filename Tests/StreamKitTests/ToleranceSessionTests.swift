// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import Testing

@testable import StreamKit

/// The session's dispositions where a fault should hurt only what it touches (issue "tolerance"), in virtual time:
/// per-request errors, retryable errors, liveness from the welcome, stale backoff, HTTP refusals, backoff reset.
@Suite struct ToleranceSessionTests {
    static func subscribes(_ h: Harness) -> [String] { h.sent.filter { $0.contains(#""method":"subscribe""#) } }

    /// 1006 answering one request rejects that request only: the connection and every other subscription stay.
    @Test func planErrorAnsweringOneRequestRejectsOnlyIt() throws {
        var h = try SessionTests.flowing([1, 1027])
        let onchain = try Subscription(channel: .transaction, target: .address(platformID: 14, address: token0))
        try h.session.subscribe([onchain], now: h.now)
        h.drain()
        let id = try #require(h.sent.last.flatMap { try? JSONValue(parsing: Array($0.utf8)) }?["id"]?.int)
        h.receive(#"{"type":"error","id":\#(id),"status":{"error_code":1006,"category":"AUTH","error_message":"Your plan does not support this endpoint."}}"#)
        #expect(h.closes.isEmpty)
        #expect(h.session.phase == .open)
        #expect(h.events.contains { if case .subscriptionFailed(onchain, .rejected(code: .planNotSupported, _, _)) = $0 { true } else { false } })
        #expect(Set(h.session.activeSubscriptions) == [.cryptoLatestPrice(1), .cryptoLatestPrice(1027)])
        #expect(h.receive(price(1)) == .data(subscription: .cryptoLatestPrice(1)))
    }

    /// Errors about the key stay fatal with or without an id; 1006 without one is fatal too (it refuses nothing
    /// the session can name).
    @Test(arguments: [#""id":3,"#, ""], ["1001", "1002", "1003", "1004", "1007", "1010"])
    func keyErrorsAreFatalWithOrWithoutAnID(idMember: String, code: String) throws {
        var h = try SessionTests.flowing([1])
        h.receive(#"{"type":"error",\#(idMember)"status":{"error_code":"\#(code)","error_message":"x"}}"#)
        #expect(h.closes == [1000])
        h.close(code: 1000)
        #expect(h.session.phase == .failed)
    }

    @Test func planErrorWithoutRequestIsFatal() throws {
        var h = try SessionTests.flowing([1])
        h.receive(#"{"type":"error","status":{"error_code":1006,"error_message":"Your plan does not support this endpoint."}}"#)
        #expect(h.closes == [1000])
    }

    /// 5001 answering a subscribe: retried after a backoff, then acked; the subscription is active, never failed.
    @Test func serverErrorAnsweringASubscribeIsRetriedThenAcked() throws {
        var h = Harness()
        try h.session.subscribe([.cryptoLatestPrice(1)], now: h.now)
        h.start()
        h.connect()
        h.receive(#"{"type":"error","id":1,"status":{"error_code":5001,"category":"SERVER","error_message":"Internal server error."}}"#)
        #expect(h.session.activeSubscriptions.isEmpty)
        #expect(!h.events.contains { if case .subscriptionFailed = $0 { true } else { false } })
        #expect(Self.subscribes(h).count == 1)
        let mark = h.sent.count
        h.live(for: 2)  // the first retry's delay is within [0.5, 1] s of backoffInitial (1 s)
        #expect(Self.subscribes(h).count == 2, "\(h.sent)")
        h.ackRequests(from: mark)
        #expect(h.session.activeSubscriptions == [.cryptoLatestPrice(1)])
        #expect(h.session.phase == .open && h.closes.isEmpty)
    }

    /// A server that answers every subscribe with 5001: retried `requestRetries` times with growing delays, then
    /// reported failed with the code and detail; the connection stays.
    @Test func retriesAreBoundedThenTheSubscriptionFails() throws {
        var config = SessionConfiguration()
        config.livenessTimeout = .seconds(600)
        var h = Harness(configuration: config)
        try h.session.subscribe([.cryptoLatestPrice(1)], now: h.now)
        h.start()
        h.connect()
        var answered = 0
        var times: [Instant] = []
        h.live(for: 60) { h, _ in
            for text in ToleranceSessionTests.subscribes(h).dropFirst(answered) {
                guard let id = (try? JSONValue(parsing: Array(text.utf8)))?["id"]?.int else { continue }
                answered += 1
                times.append(h.now)
                h.receive(#"{"type":"error","id":\#(id),"status":{"error_code":5001,"error_message":"Internal server error.","error_detail":"busy"}}"#)
            }
        }
        #expect(answered == 1 + config.requestRetries)
        let gaps = zip(times.dropFirst(), times).map { $0.duration(since: $1) }
        #expect(gaps == gaps.sorted(), "retry delays grow: \(gaps)")
        #expect(h.events.contains { $0 == .subscriptionFailed(.cryptoLatestPrice(1), .rejected(code: .internalError, message: "Internal server error.", detail: "busy")) })
        #expect(h.session.phase == .open && h.closes.isEmpty)
    }

    /// Liveness follows the welcome: with a 60 s ping interval and no data, a healthy connection (pongs answered)
    /// is never found silent; without pongs it is, after three intervals.
    @Test func livenessFollowsTheWelcomePingInterval() throws {
        var h = Harness()
        try h.session.subscribe([.cryptoLatestPrice(1)], now: h.now)
        h.start()
        h.connect()
        h.receive(#"{"type":"welcome","ping_interval_ms":60000}"#)
        h.ackRequests()
        h.live(for: 400)
        #expect(h.closes.isEmpty, "killed: \(h.events.filter { if case .reconnecting = $0 { true } else { false } })")
        #expect(h.session.phase == .open)
        // No frame at all: with pongs unanswered the pong timeout (5 s) comes first; liveness alone is 180 s.
        var config = SessionConfiguration()
        config.pongTimeout = .seconds(1000)
        var q = Harness(configuration: config)
        q.start()
        q.connect()
        q.receive(#"{"type":"welcome","ping_interval_ms":60000}"#)
        q.run(for: 179)
        #expect(q.closes.isEmpty)
        q.run(for: 2)
        #expect(q.closes == [1001])
        #expect(q.session.phase == .closing)
    }

    /// An id that is acked but never pushed: stale at 45 s, then 90, 180, 360, 360 ... s; re-subscribed only at
    /// the first three reports, so it costs three billed re-subscriptions in all.
    @Test func staleBacksOffAndStopsResubscribing() throws {
        var config = SessionConfiguration()
        config.livenessTimeout = .seconds(100_000)
        var h = Harness(configuration: config)
        try h.session.subscribe([.cryptoLatestPrice(99_999)], now: h.now)
        h.start()
        h.connect()
        var acked = 0
        var staleAt: [Int] = []
        var seen = 0
        h.live(for: 2400) { h, second in
            let subs = ToleranceSessionTests.subscribes(h)
            if subs.count > acked {
                let mark = h.sent.firstIndex(of: subs[acked])!
                h.ackRequests(from: mark)
                acked = subs.count
            }
            let stale = h.events.filter { if case .stale = $0 { true } else { false } }.count
            if stale > seen { staleAt.append(second); seen = stale }
        }
        #expect(Self.subscribes(h).count == 1 + config.staleResubscribes, "\(Self.subscribes(h).count) subscribes")
        let periods = zip(staleAt.dropFirst(), staleAt).map { $0 - $1 }
        #expect(staleAt.first.map { (45...47).contains($0) } == true, "\(staleAt)")
        #expect(periods.prefix(3).map { ($0 + 5) / 10 * 10 } == [90, 180, 360], "\(periods)")
        #expect(periods.dropFirst(3).allSatisfy { (359...362).contains($0) }, "\(periods)")
        #expect(h.session.activeSubscriptions == [.cryptoLatestPrice(99_999)])
        // Data ends the quiet spell: the next stale comes 45 s after it again, with a re-subscription.
        h.receive(price(99_999))
        let before = Self.subscribes(h).count
        h.live(for: 50)
        #expect(Self.subscribes(h).count == before + 1)
    }

    /// 401 three times in a row: fatal with the status in the reason; 429 waits long; one 401 then a success
    /// starts the count over.
    @Test func httpRefusalsSurfaceAndBecomeFatal() throws {
        var h = Harness()
        h.start()
        for n in 1...3 {
            h.session.handleConnectFailed(reason: "refused", httpStatus: 401, now: h.now)
            h.drain()
            if n < 3 {
                guard case .reconnecting(_, _, .refused(401))? = h.events.last else { Issue.record("\(h.events)"); return }
                h.run(until: h.session.pollTimeout()!)
            }
        }
        #expect(h.events.last == .fatal(.refused(httpStatus: 401)))
        #expect(h.session.phase == .failed)

        var r = Harness()
        r.start()
        r.session.handleConnectFailed(reason: "refused", httpStatus: 429, now: r.now)
        r.drain()
        guard case .reconnecting(_, let delay, .refused(429))? = r.events.last else { Issue.record("\(r.events)"); return }
        #expect(delay >= SessionConfiguration().connectionLimitDelay)

        var s = Harness()
        s.start()
        for status in [401, 401] {
            s.session.handleConnectFailed(reason: "refused", httpStatus: status, now: s.now)
            s.drain()
            s.run(until: s.session.pollTimeout()!)
        }
        s.connect()
        s.close(code: nil)
        s.run(until: s.session.pollTimeout()!)
        s.session.handleConnectFailed(reason: "refused", httpStatus: 401, now: s.now)
        s.drain()
        #expect(s.session.phase == .backoff, "a success in between starts the count over")
    }

    /// A connection whose subscriptions are all quiet (pongs only) still resets the backoff once it has been
    /// open for the stability period.
    @Test func quietHealthyConnectionResetsTheBackoff() throws {
        var h = Harness()
        try h.session.subscribe([.cryptoLatestPrice(1)], now: h.now)
        h.start()
        for _ in 1...4 {
            h.session.handleConnectFailed(reason: "refused", now: h.now)
            h.drain()
            h.run(until: h.session.pollTimeout()!)
        }
        h.connect()
        h.receive(#"{"type":"welcome","ping_interval_ms":10000}"#)
        h.ackRequests()
        h.live(for: 36)  // no data at all, pongs answered (priceStaleAfter is 45 s)
        h.close(code: 1011)
        guard case .reconnecting(let n, _, _)? = h.events.last else { Issue.record("no reconnect"); return }
        #expect(n == 1)
    }

    /// A params echo holding an array is attributed by the payload's own id or address, never by its first element.
    @Test func arrayEchoIsRoutedByThePayloadsOwnTarget() throws {
        var h = try SessionTests.flowing([1, 1027])
        let echo = #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":[1,1027]},"data":{"cid":CID,"p":2},"ts":1}"#
        #expect(h.receive(echo.replacingOccurrences(of: "CID", with: "1027")) == .data(subscription: .cryptoLatestPrice(1027)))
        #expect(h.receive(echo.replacingOccurrences(of: "CID", with: "1")) == .data(subscription: .cryptoLatestPrice(1)))
        #expect(h.receive(echo.replacingOccurrences(of: "CID", with: "5")) == .data(subscription: nil))

        var o = Harness()
        let leg1 = try Subscription(channel: .transaction, target: .address(platformID: 14, address: token1))
        try o.session.subscribe([leg1], now: o.now)
        o.start()
        o.connect()
        o.ackRequests()
        let swapFrame = #"{"type":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":["\#(token0)","\#(token1)"]},"data":{"pid":14,"tx":"0x1","lgid":1,"t0a":"\#(token0)","t1a":"\#(token1.uppercased().replacingOccurrences(of: "0X", with: "0x"))"},"ts":1}"#
        #expect(o.receive(swapFrame) == .data(subscription: leg1))
    }

    /// A pong queued behind a burst of data (a slow or busy reader) is waited for while frames keep arriving; a
    /// connection with nothing at all for a pong timeout after the ping is still killed.
    @Test func pongBehindABurstIsWaitedFor() throws {
        var h = try SessionTests.flowing([1])
        h.run(for: 10)  // the first ping goes out at 10 s
        #expect(h.sent.contains { $0.contains(#""method":"ping""#) })
        for _ in 0..<12 {  // 12 s of data, no pong: past the 5 s pong timeout
            h.run(for: 1)
            h.receive(price(1))
        }
        #expect(h.closes.isEmpty, "killed while data was arriving")
        h.run(for: 5.5)  // then nothing at all
        #expect(h.closes == [1001])
    }
}

