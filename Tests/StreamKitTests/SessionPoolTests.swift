// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import Testing

@testable import StreamKit

@Suite struct SessionPoolTests {
    struct Sent { let connection: Int; let text: String }

    static func drain(_ pool: inout SessionPool) -> (actions: [(Int, SessionAction)], sent: [Sent], events: [(Int, SessionEvent)]) {
        var actions: [(Int, SessionAction)] = []
        var sent: [Sent] = []
        var events: [(Int, SessionEvent)] = []
        while let e = pool.pollEvent() { events.append(e) }
        while let a = pool.pollAction() {
            actions.append(a)
            if case .send(let b) = a.action { sent.append(Sent(connection: a.connection, text: String(decoding: b, as: UTF8.self))) }
        }
        return (actions, sent, events)
    }

    static func ack(_ pool: inout SessionPool, _ sent: [Sent], now: Instant, frame: inout DecodedFrame) {
        for s in sent {
            guard let id = (try? JSONValue(parsing: Array(s.text.utf8)))?["id"]?.int else { continue }
            let text = #"{"type":"ack","id":\#(id),"code":0,"msg":"ok","sub_limit":100}"#
            _ = Array(text.utf8).withUnsafeBytes { pool.handleText(connection: s.connection, $0, now: now, into: &frame) }
        }
    }

    /// 250 ids over 3 connections (100, 100, 50), every one acked.
    @Test func shardsTwoHundredFiftyIdsOverThreeConnections() throws {
        var pool = SessionPool(seed: 1)
        let now = Instant(nanoseconds: 0)
        var frame = DecodedFrame()
        let subs = (1...250).map { Subscription.cryptoLatestPrice(Int64($0)) }
        try pool.subscribe(subs, now: now)
        #expect(pool.sessions.count == 3)
        #expect(pool.sessions.map { $0.subscriptions.count } == [100, 100, 50])
        pool.start(now: now)
        let started = Self.drain(&pool)
        #expect(started.actions.filter { $0.1 == .connect }.map(\.0).sorted() == [0, 1, 2])
        for c in 0..<3 { pool.handleConnected(connection: c, now: now) }
        let subscribed = Self.drain(&pool)
        #expect(Set(subscribed.sent.map(\.connection)) == [0, 1, 2])
        Self.ack(&pool, subscribed.sent, now: now, frame: &frame)
        let acked = Self.drain(&pool)
        let active = acked.events.filter { if case .subscribed = $0.1 { true } else { false } }
        #expect(active.count == 250)
        #expect(pool.sessions.reduce(0) { $0 + $1.activeSubscriptions.count } == 250)
        #expect(pool.connection(of: .cryptoLatestPrice(250)) == 2)
    }

    /// Unsubscribing from everything sends one `unsubscribe_all` per open connection and, once acked, leaves
    /// nothing subscribed anywhere; the same ids can be subscribed again.
    @Test func unsubscribeAllEmptiesEveryConnection() throws {
        var pool = SessionPool(seed: 1)
        let now = Instant(nanoseconds: 0)
        var frame = DecodedFrame()
        let subs = (1...150).map { Subscription.cryptoLatestPrice(Int64($0)) }
        try pool.subscribe(subs, now: now)
        pool.start(now: now)
        _ = Self.drain(&pool)
        for c in 0..<2 { pool.handleConnected(connection: c, now: now) }
        Self.ack(&pool, Self.drain(&pool).sent, now: now, frame: &frame)
        _ = Self.drain(&pool)
        pool.unsubscribeAll(now: now)
        let sent = Self.drain(&pool).sent
        #expect(sent.map(\.connection).sorted() == [0, 1])
        #expect(sent.allSatisfy { $0.text.contains(#""method":"unsubscribe_all""#) })
        Self.ack(&pool, sent, now: now, frame: &frame)
        let removed = Self.drain(&pool).events.filter { if case .unsubscribed = $0.1 { true } else { false } }
        #expect(removed.count == 150)
        #expect(pool.sessions.allSatisfy { $0.subscriptions.isEmpty })
        #expect(pool.connection(of: .cryptoLatestPrice(1)) == nil)
        #expect(try pool.subscribe([.cryptoLatestPrice(1)], now: now) == [.cryptoLatestPrice(1)])
    }

    /// Past capacity fails up front: nothing added, nothing sent.
    @Test func pastCapacityFailsBeforeAnythingIsSent() throws {
        var pool = SessionPool(seed: 1)
        let now = Instant(nanoseconds: 0)
        pool.start(now: now)
        #expect(throws: SessionError.capacity(limit: 1000)) {
            try pool.subscribe((1...1001).map { Subscription.cryptoLatestPrice(Int64($0)) }, now: now)
        }
        #expect(pool.sessions.isEmpty)
        #expect(Self.drain(&pool).actions.isEmpty)
        try pool.subscribe((1...1000).map { Subscription.cryptoLatestPrice(Int64($0)) }, now: now)
        #expect(pool.sessions.count == 10)
        #expect(pool.remainingCapacity == 0)
        #expect(throws: SessionError.self) { try pool.subscribe([.cryptoLatestPrice(5000)], now: now) }
    }

    /// The two legs of one swap on two different connections: delivered once.
    @Test func dedupeAcrossConnections() throws {
        var config = SessionPool.Configuration()
        config.session.subscriptionLimit = 1
        var pool = SessionPool(configuration: config, seed: 1)
        let now = Instant(nanoseconds: 0)
        var frame = DecodedFrame()
        let leg0 = try Subscription(channel: .transaction, target: .address(platformID: 14, address: token0))
        let leg1 = try Subscription(channel: .transaction, target: .address(platformID: 14, address: token1))
        try pool.subscribe([leg0, leg1], now: now)
        #expect(pool.connection(of: leg0) == 0 && pool.connection(of: leg1) == 1)
        pool.start(now: now)
        pool.handleConnected(connection: 0, now: now)
        pool.handleConnected(connection: 1, now: now)
        Self.ack(&pool, Self.drain(&pool).sent, now: now, frame: &frame)
        func receive(_ c: Int, _ text: String) -> InboundResult {
            Array(text.utf8).withUnsafeBytes { pool.handleText(connection: c, $0, now: now, into: &frame) }
        }
        #expect(receive(0, swap(leg: token0)) == .data(subscription: leg0))
        #expect(receive(1, swap(leg: token1)) == .duplicate)
        #expect(pool.duplicatesSuppressed == 1)
    }

    /// The first leg of a swap between two subscribed tokens, on either connection, carries both subscriptions;
    /// the later leg is a duplicate. With deduplication off, each leg carries its own subscription only.
    @Test(arguments: [8192, 0])
    func firstLegCarriesEverySubscription(dedupeWindow: Int) throws {
        var config = SessionPool.Configuration()
        config.session.subscriptionLimit = 1
        config.dedupeWindow = dedupeWindow
        var pool = SessionPool(configuration: config, seed: 1)
        let now = Instant(nanoseconds: 0)
        var frame = DecodedFrame()
        let leg0 = try Subscription(channel: .transaction, target: .address(platformID: 14, address: token0))
        let leg1 = try Subscription(channel: .transaction, target: .address(platformID: 14, address: token1))
        try pool.subscribe([leg0, leg1], now: now)
        pool.start(now: now)
        pool.handleConnected(connection: 0, now: now)
        pool.handleConnected(connection: 1, now: now)
        Self.ack(&pool, Self.drain(&pool).sent, now: now, frame: &frame)
        func leg(_ echo: String) -> String {
            #"{"type":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":"\#(echo)"},"data":{"pid":14,"tx":"0xabc","lgid":7,"t0a":"\#(token0)","t1a":"\#(token1.uppercased().replacingOccurrences(of: "0X", with: "0x"))"},"ts":1}"#
        }
        func receive(_ c: Int, _ text: String) -> InboundResult {
            Array(text.utf8).withUnsafeBytes { pool.handleText(connection: c, $0, now: now, into: &frame) }
        }
        #expect(receive(1, leg(token1)) == .data(subscription: leg1))
        if dedupeWindow > 0 {
            #expect(Array(pool.lastMatches) == [leg1, leg0])
            #expect(receive(0, leg(token0)) == .duplicate)
            #expect(pool.lastMatches.isEmpty)
        } else {
            #expect(Array(pool.lastMatches) == [leg1])
            #expect(receive(0, leg(token0)) == .data(subscription: leg0))
            #expect(Array(pool.lastMatches) == [leg0])
        }
    }

    /// A connection's gap starts at the last push read for the subscription on that connection: a leg of another
    /// subscription naming its token, read from another connection, is its data (delivered, staleness reset) but
    /// says nothing about what the broken connection had in flight (found by the soak).
    @Test func legOnAnotherConnectionDoesNotMoveTheGapStart() throws {
        var config = SessionPool.Configuration()
        config.session.subscriptionLimit = 1
        var pool = SessionPool(configuration: config, seed: 1)
        var frame = DecodedFrame()
        func at(_ ms: Int64) -> Instant { Instant(nanoseconds: ms * 1_000_000) }
        let leg0 = try Subscription(channel: .transaction, target: .address(platformID: 14, address: token0))
        let leg1 = try Subscription(channel: .transaction, target: .address(platformID: 14, address: token1))
        try pool.subscribe([leg0, leg1], now: at(0))
        pool.start(now: at(0))
        pool.handleConnected(connection: 0, now: at(0))
        pool.handleConnected(connection: 1, now: at(0))
        Self.ack(&pool, Self.drain(&pool).sent, now: at(0), frame: &frame)
        func push(_ echo: String, tx: String, other: String) -> String {
            #"{"type":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":"\#(echo)"},"data":{"pid":14,"tx":"\#(tx)","lgid":1,"t0a":"\#(echo)","t1a":"\#(other)"},"ts":1}"#
        }
        func receive(_ c: Int, _ text: String, _ now: Instant) -> InboundResult {
            Array(text.utf8).withUnsafeBytes { pool.handleText(connection: c, $0, now: now, into: &frame) }
        }
        #expect(receive(0, push(token0, tx: "0xa1", other: "0x3333333333333333333333333333333333333333"), at(10)) == .data(subscription: leg0))
        #expect(receive(1, push(token1, tx: "0xa2", other: token0), at(100)) == .data(subscription: leg1))
        #expect(Array(pool.lastMatches) == [leg1, leg0])
        pool.handleClosed(connection: 0, code: nil, reason: "dropped", now: at(200))
        _ = Self.drain(&pool)
        pool.handleTimeout(now: at(60_000))
        pool.handleConnected(connection: 0, now: at(60_000))
        let resent = Self.drain(&pool).sent
        Self.ack(&pool, resent, now: at(60_001), frame: &frame)
        let gaps = Self.drain(&pool).events.compactMap { e -> (Subscription, Instant)? in
            if case .gap(let s, let from, _, _) = e.1 { (s, from) } else { nil }
        }
        #expect(gaps.map(\.0) == [leg0])
        #expect(gaps.first?.1 == at(10), "\(gaps)")
    }

    @Test func unsubscribeRoutesToTheOwningConnection() throws {
        var pool = SessionPool(seed: 1)
        let now = Instant(nanoseconds: 0)
        try pool.subscribe((1...150).map { Subscription.cryptoLatestPrice(Int64($0)) }, now: now)
        pool.unsubscribe([.cryptoLatestPrice(120), .cryptoLatestPrice(3)], now: now)
        #expect(pool.connection(of: .cryptoLatestPrice(120)) == nil)
        #expect(pool.sessions[0].subscriptions.count == 99 && pool.sessions[1].subscriptions.count == 49)
        // The room is reused.
        try pool.subscribe([.cryptoLatestPrice(999)], now: now)
        #expect(pool.connection(of: .cryptoLatestPrice(999)) == 0)
    }
}
