// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import StreamKit
@testable import StreamKitClient
import Testing

/// The delivery queue on its own: policies, ordering, waking, metrics. No sockets, no sleeps.
@Suite struct DeliveryQueueTests {
    static let a = Subscription.cryptoLatestPrice(1)
    static let b = Subscription.cryptoLatestPrice(1027)

    static func message(_ cid: Int64, _ price: Double) -> Message {
        let text = #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":\#(cid)},"data":{"cid":\#(cid),"p":\#(price)},"ts":1000}"#
        return try! FrameDecoder().decode(Array(text.utf8))
    }

    /// What the consumer sees, as short strings: "1:2.0" for a price, "dropped 1 x2", "event".
    static func drain(_ q: DeliveryQueue) -> [String] {
        var out: [String] = []
        while case .item(let e) = q.poll() { out.append(Self.describe(e)) }
        return out
    }

    static func describe(_ e: StreamEvent) -> String {
        switch e {
        case .message(let m, _):
            guard case .data(let d) = m.frame, case .cryptoLatestPrice(let q) = d.payload else { return "?" }
            return "\(q.cid):\(q.price ?? .nan)"
        case .dropped(let s, let n): return "dropped \(s.target) x\(n)"
        case .session: return "event"
        }
    }

    static func push(_ q: DeliveryQueue, _ s: Subscription, _ price: Double) -> Bool {
        guard case .crypto(let id) = s.target else { fatalError() }
        return q.push(message: Self.message(id, price), subscription: s, now: Instant(nanoseconds: 1), latencyMS: 5)
    }

    @Test func dropOldestDropsOnlyThatSubscriptionAndSaysSoInOrder() {
        let q = DeliveryQueue(configuration: DeliveryConfiguration(capacityPerSubscription: 3, overflow: .dropOldest)) {}
        _ = Self.push(q, Self.a, 1)
        _ = Self.push(q, Self.b, 100)
        for p in 2...5 { _ = Self.push(q, Self.a, Double(p)) }
        q.push(event: .session(.restored, connection: 0))
        #expect(Self.drain(q) == ["1027:100.0", "dropped 1 x2", "1:3.0", "1:4.0", "1:5.0", "event"])
        let m = q.snapshot(now: Instant(nanoseconds: 2)).subscriptions
        #expect(m[Self.a]?.dropped == 2)
        #expect(m[Self.a]?.messages == 5)
        #expect(m[Self.b]?.dropped == 0)
        #expect(m[Self.a]?.queued == 0)
    }

    @Test func conflateKeepsTheLatestValueInItsPlace() {
        let q = DeliveryQueue(configuration: DeliveryConfiguration(overflow: .dropOldest)) {}
        q.setPolicy(.conflate, for: [Self.a])
        _ = Self.push(q, Self.a, 1)
        _ = Self.push(q, Self.b, 100)
        _ = Self.push(q, Self.a, 2)
        _ = Self.push(q, Self.a, 3)
        _ = Self.push(q, Self.b, 101)
        #expect(Self.drain(q) == ["1:3.0", "1027:100.0", "1027:101.0"])
        _ = Self.push(q, Self.a, 4)
        #expect(Self.drain(q) == ["1:4.0"])
        let m = q.snapshot(now: Instant(nanoseconds: 2)).subscriptions
        #expect(m[Self.a]?.coalesced == 2)
        #expect(m[Self.a]?.policy == .conflate)
        #expect(m[Self.b]?.policy == .dropOldest)
        #expect(m[Self.b]?.coalesced == 0)
    }

    @Test func blockNeverDropsAndSignalsRoomAtHalf() {
        let room = Counter()
        let q = DeliveryQueue(configuration: DeliveryConfiguration(capacityPerSubscription: 4, overflow: .block)) {
            room.increment()
        }
        let full = (1...6).map { Self.push(q, Self.a, Double($0)) }
        #expect(full == [false, false, false, true, true, true])
        guard case .item = q.poll(), case .item = q.poll(), case .item = q.poll() else {
            Issue.record("expected items")
            return
        }
        #expect(room.value == 0)  // 3 waiting: above half of 4
        _ = q.poll()
        #expect(room.value == 1)  // 2 waiting: room again, once
        #expect(Self.drain(q) == ["1:5.0", "1:6.0"])
        #expect(room.value == 1)
        #expect(q.snapshot(now: Instant(nanoseconds: 2)).subscriptions[Self.a]?.dropped == 0)
    }

    @Test func finishDeliversWhatIsLeftThenEnds() {
        let q = DeliveryQueue(configuration: DeliveryConfiguration()) {}
        _ = Self.push(q, Self.a, 1)
        q.finish()
        _ = Self.push(q, Self.a, 2)  // after the end: ignored
        guard case .item = q.poll() else {
            Issue.record("expected the message")
            return
        }
        guard case .finished = q.poll() else {
            Issue.record("expected the end")
            return
        }
        var batch: [StreamEvent] = []
        #expect(q.take(max: 10, timeout: .seconds(20), into: &batch))
        #expect(batch.isEmpty)
    }

    @Test func batchTakeWaitsForTheFirstAndTakesAllThatWait() async {
        let q = DeliveryQueue(configuration: DeliveryConfiguration()) {}
        var batch: [StreamEvent] = []
        #expect(!q.take(max: 10, timeout: .milliseconds(20), into: &batch))
        #expect(batch.isEmpty)
        // The consumer blocks a thread (as the C ABI's poll does): a real thread, not one of the task pool's.
        let got = await withCheckedContinuation { (done: CheckedContinuation<[String], Never>) in
            Thread.detachNewThread {
                var out: [StreamEvent] = []
                while out.count < 5 { _ = q.take(max: 3, timeout: .seconds(10), into: &out) }
                done.resume(returning: out.map(Self.describe))
            }
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.05)
                for p in 1...5 { _ = Self.push(q, Self.a, Double(p)) }
            }
        }
        #expect(got == ["1:1.0", "1:2.0", "1:3.0", "1:4.0", "1:5.0"])
    }

    /// Pushes during a socket read wake a blocked consumer once, at the read's end (`flush`), not per message.
    @Test func deferredPushesWakeTheConsumerAtFlush() async {
        let q = DeliveryQueue(configuration: DeliveryConfiguration()) {}
        let woke = Counter()
        let got = await withCheckedContinuation { (done: CheckedContinuation<Int, Never>) in
            Thread.detachNewThread {
                var out: [StreamEvent] = []
                _ = q.take(max: 100, timeout: .seconds(10), into: &out)
                woke.increment()
                done.resume(returning: out.count)
            }
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.05)
                for p in 1...3 {
                    _ = q.push(message: Self.message(1, Double(p)), subscription: Self.a, now: .seconds(1), latencyMS: nil, deferWake: true)
                }
                Thread.sleep(forTimeInterval: 0.2)
                #expect(woke.value == 0)  // not woken per message
                q.flush()
            }
        }
        #expect(got == 3)  // woken once, for all three
    }

    @Test func asyncNextWakesOnPushAndEndsOnCancel() async {
        let q = DeliveryQueue(configuration: DeliveryConfiguration()) {}
        let waiting = Task { await q.next().map(Self.describe) }
        try? await Task.sleep(for: .milliseconds(50))
        _ = Self.push(q, Self.b, 7)
        #expect(await waiting.value == "1027:7.0")
        let cancelled = Task { await q.next() }
        try? await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        #expect(await cancelled.value == nil)
    }

    @Test func latencyAndAgeAreRecorded() {
        let q = DeliveryQueue(configuration: DeliveryConfiguration()) {}
        q.record(subscription: Self.a, now: .seconds(1), latencyMS: 12)
        q.record(subscription: Self.a, now: .seconds(2), latencyMS: 4)
        let m = q.snapshot(now: .seconds(5)).subscriptions[Self.a]
        #expect(m?.messages == 2)
        #expect(m?.lastUpdateAge == .seconds(3))
        #expect(m?.latency.count == 2)
        #expect(m?.latency.min == 4)
        #expect(m?.latency.max == 12)
        #expect(m?.latency.mean == 8)
        #expect(m?.queued == 0)
    }
}

/// Delivery policies end to end: a server pushing far faster than the consumer reads.
@Suite(.serialized) struct DeliveryPolicyTests {
    static let pushes = 20_000

    static func client(_ server: ScriptedServer, policy: OverflowPolicy) throws -> StreamClient {
        var c = StreamClientTests.configuration(server)
        c.delivery = DeliveryConfiguration(capacityPerSubscription: 64, overflow: policy)
        return try StreamClient(configuration: c)
    }

    /// Takes every event until `count` prices (or dropped counts) are accounted for.
    static func consume(_ client: StreamClient, until total: Int) async -> (prices: [Double], dropped: Int) {
        var prices: [Double] = []
        var dropped = 0
        for await e in client.events {
            switch e {
            case .message(let m, _):
                if case .data(let d) = m.frame, case .cryptoLatestPrice(let q) = d.payload { prices.append(q.price ?? .nan) }
            case .dropped(_, let n): dropped += n
            case .session: break
            }
            if prices.count + dropped >= total { break }
        }
        return (prices, dropped)
    }

    @Test func blockPausesReadingAndLosesNothing() async throws {
        let server = try ScriptedServer(script: .init(pushes: Self.pushes))
        defer { server.shutdown() }
        let client = try Self.client(server, policy: .block)
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1)])
        // The consumer has not read anything: once the queue is full (waited for, not assumed after a fixed time),
        // reading pauses and the kernel and the server hold the rest; a second later it still holds.
        let fullBy = ContinuousClock.now + .seconds(30)
        while await client.metrics().queued < 64, ContinuousClock.now < fullBy { try await Task.sleep(for: .milliseconds(20)) }
        #expect(await client.metrics().queued >= 64, "the queue never filled")
        try await Task.sleep(for: .seconds(1))
        let queued = await client.metrics().queued
        #expect(queued < Self.pushes / 2, "queued \(queued): reading did not pause")
        let (prices, dropped) = await Self.consume(client, until: Self.pushes)
        #expect(dropped == 0)
        #expect(prices.count == Self.pushes)
        #expect(prices == (0..<Self.pushes).map { 1 + Double($0) / 8 })
        let m = await client.metrics()
        #expect(m.reconnects == 0)
        #expect(m.subscriptions[.cryptoLatestPrice(1)]?.dropped == 0)
        await client.stop()
    }

    @Test func dropOldestBoundsTheQueueAndCountsEveryDrop() async throws {
        let server = try ScriptedServer(script: .init(pushes: Self.pushes))
        defer { server.shutdown() }
        let client = try Self.client(server, policy: .dropOldest)
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1)])
        try await Task.sleep(for: .seconds(1))
        let queued = await client.metrics().queued
        #expect(queued <= 64 + 8)  // the subscription's 64 plus the lifecycle events (connecting, connected, ...)
        let (prices, dropped) = await Self.consume(client, until: Self.pushes)
        #expect(dropped > 0)
        #expect(prices.count + dropped == Self.pushes)
        #expect(prices == prices.sorted())  // what is kept stays in order
        #expect(prices.last == 1 + Double(Self.pushes - 1) / 8)  // the newest is never the one dropped
        let m = await client.metrics()
        #expect(m.subscriptions[.cryptoLatestPrice(1)]?.dropped == dropped)
        await client.stop()
    }

    @Test func conflateDeliversTheLatestValue() async throws {
        let server = try ScriptedServer(script: .init(pushes: Self.pushes))
        defer { server.shutdown() }
        let client = try Self.client(server, policy: .dropOldest)
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1)], overflow: .conflate)
        try await Task.sleep(for: .seconds(1))
        var last = 0.0
        var delivered = 0
        for await e in client.events {
            if case .message(let m, _) = e, case .data(let d) = m.frame, case .cryptoLatestPrice(let q) = d.payload {
                delivered += 1
                #expect((q.price ?? -1) > last)
                last = q.price ?? -1
                if q.price == 1 + Double(Self.pushes - 1) / 8 { break }
            }
        }
        let m = await client.metrics()
        let s = m.subscriptions[.cryptoLatestPrice(1)]
        #expect(s?.policy == .conflate)
        #expect(delivered + (s?.coalesced ?? 0) == Self.pushes)
        #expect((s?.coalesced ?? 0) > 0)
        await client.stop()
    }

    @Test func metricsSnapshot() async throws {
        let server = try ScriptedServer(script: .init())
        defer { server.shutdown() }
        let client = try StreamClient(configuration: StreamClientTests.configuration(server))
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1), .cryptoLatestPrice(1027)])
        _ = await StreamClientTests.collect(client) { StreamClientTests.prices($0).count >= 6 }
        let m = await client.metrics()
        #expect(m.openConnections == 1)
        #expect(m.billableMessages == 6)
        #expect(m.billableSubscriptions == 2)
        #expect(abs(m.credits - (6 * 0.025 + 2 * 0.1)) < 1e-9)
        for s in [Subscription.cryptoLatestPrice(1), .cryptoLatestPrice(1027)] {
            let sm = m.subscriptions[s]
            #expect(sm?.messages == 3)
            #expect(sm?.latency.count == 3)
            // The scripted server stamps ts = 1778663880111 (May 2026): latency is now minus that.
            let expected = Int64(Date().timeIntervalSince1970 * 1000) - 1_778_663_880_111
            #expect(abs((sm?.latency.last ?? 0) - expected) < 60_000)
            #expect(sm?.lastUpdateAge != nil)
        }
        await client.stop()
    }
}
