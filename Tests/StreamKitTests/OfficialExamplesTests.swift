// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Testing

@testable import StreamKit

/// Every official example from the reference, decoded and checked field by field.
@Suite struct OfficialExamplesTests {
    // MARK: - Control frames

    @Test func ack() throws {
        let m = try decode(Examples.ack)
        guard case .ack(let a) = m.frame else { Issue.record("not an ack: \(m.frame)"); return }
        #expect(a.id == 1)
        #expect(a.code == 0)
        #expect(m.string(a.msg) == "ok")
        #expect(a.channel == .cryptoLatestPrice)
        #expect(a.subCount == 1)
        #expect(a.subLimit == 100)
        #expect(a.duplicate == false)
        #expect(a.isSuccess)
        #expect(a.params == nil)
    }

    @Test func pong() throws {
        let m = try decode(Examples.pong)
        guard case .pong(let p) = m.frame else { Issue.record("not a pong"); return }
        #expect(p.id == 1)
        #expect(p.code == 0)
        #expect(p.ts == 1_778_659_200_000)
    }

    @Test func pongWithoutType() throws {
        let m = try decode(Examples.pongWithoutType)
        guard case .pong(let p) = m.frame else { Issue.record("not a pong: \(m.frame)"); return }
        #expect(p.id == 2)
        #expect(p.ts == 1)
        #expect(m.string(p.msg) == "PONG")
    }

    @Test func error() throws {
        let m = try decode(Examples.error)
        guard case .error(let e) = m.frame else { Issue.record("not an error"); return }
        #expect(e.id == 1)
        #expect(e.status.errorCode == .missingParam)
        #expect(e.status.errorCode?.category == .protocol)
        #expect(m.string(e.status.category) == "PROTOCOL")
        #expect(m.string(e.status.errorMessage) == "Missing required param for channel.")
        #expect(
            m.string(e.status.errorDetail)
                == "Param 'crypto_ids' is required for channel 'market@crypto_latest_price'."
        )
        #expect(m.string(e.status.timestamp) == "2026-05-21T01:57:09.125Z")
    }

    @Test func errorCodeAsNumber() throws {
        let m = try decode(#"{"type":"error","status":{"error_code":5001,"error_message":"Internal server error."}}"#)
        guard case .error(let e) = m.frame else { Issue.record("not an error"); return }
        #expect(e.id == nil)
        #expect(e.status.errorCode == .internalError)
        #expect(e.status.errorCode?.disposition == .retry)
    }

    @Test func errorCodeNotANumber() throws {
        let m = try decode(#"{"type":"error","id":9,"status":{"error_code":"E42","error_message":"?"}}"#)
        guard case .error(let e) = m.frame else { Issue.record("not an error"); return }
        #expect(e.id == 9)
        #expect(e.status.errorCode == nil)
        #expect(m.string(e.status.errorMessage) == "?")
    }

    @Test func welcome() throws {
        let m = try decode(#"{"type":"welcome","ping_interval_ms":10000}"#)
        guard case .welcome(let w) = m.frame else { Issue.record("not a welcome"); return }
        #expect(w.pingIntervalMS == 10_000)
    }

    // MARK: - Data frames

    @Test func cryptoLatestPrice() throws {
        let m = try decode(Examples.cryptoLatestPrice)
        let (d, q) = try payload(m, CryptoLatestPrice.self) { if case .cryptoLatestPrice(let x) = $0 { x } else { nil } }
        #expect(d.channel == .cryptoLatestPrice)
        #expect(d.params.cryptoID == 1)
        #expect(d.params.targetParam == .cryptoIDs)
        #expect(d.params.targetCount == 1)
        #expect(d.ts == 1_778_663_880_111)
        #expect(q.cid == 1)
        #expect(q.p == 81187.93284788371)
        #expect(q.price == 81187.93284788371)
        #expect(q.vu == 29932025976.79)
        #expect(q.mc == 1626089237758.01)
        #expect(q.cs == 20028706)
        #expect(q.p24h == 0.534347439686)
        #expect(q.p7d == -0.769630510488)
        #expect(q.p30d == 14.825850522161)
        #expect(q.p60d == 14.895817222241)
        #expect(q.p3m == 20.814087592967)
        #expect(q.p1y == -21.146722852984)
        #expect(q.pytd == -8.280487978902)
        #expect(q.pall == 131301167.42003132)
        #expect(q.fdv24h == 0.534347439686)
        #expect(q.presentFields == (1 << 14) - 1)
        #expect(q.unknownKeyCount == 0)
        #expect(m.payloadJSON?["p"]?.numberText == "81187.93284788371")
    }

    @Test func cryptoLatestPriceShort() throws {
        let m = try decode(Examples.cryptoLatestPriceShort)
        let (_, q) = try payload(m, CryptoLatestPrice.self) { if case .cryptoLatestPrice(let x) = $0 { x } else { nil } }
        #expect(q.cid == 1)
        #expect(q.p == 81187.93)
        #expect(q.p24h == 0.534)
        #expect(q.p7d == nil)
        #expect(!q.contains(.p7d))
        #expect(q[.fdv24h] == .absent)
    }

    @Test func tokenAggEvent() throws {
        let m = try decode(Examples.tokenAggEvent)
        let (d, t) = try payload(m, TokenAggEvent.self) { if case .tokenAggEvent(let x) = $0 { x } else { nil } }
        #expect(d.params.platformID == 14)
        #expect(m.string(d.params.address) == "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d")
        #expect(t.pid == 14)
        #expect(m.string(t.a) == "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d")
        #expect(t.ap == 0.9998026294970268)
        #expect(t.p == 0.9997425990337028)
        #expect(t.lu == 112769637.58815227)
        #expect(t.ts == 1_778_659_194_000)
    }

    @Test func kline() throws {
        let m = try decode(Examples.kline)
        let (d, k) = try payload(m, Kline.self) { if case .kline(let x) = $0 { x } else { nil } }
        #expect(m.string(d.params.interval) == "1m")
        #expect(k.o == 0.9995980459860556)
        #expect(k.h == 0.999729701705)
        #expect(k.l == 0.999529767125)
        #expect(k.c == 0.999677480145)
        #expect(k.vu == 3237.47055005272)
        #expect(k.ot == 1_778_649_420_000)
        #expect(k.open == k.o && k.close == k.c && k.high == k.h && k.low == k.l)
    }

    @Test func uniqueTrader() throws {
        let m = try decode(Examples.uniqueTrader)
        let (_, u) = try payload(m, UniqueTrader.self) { if case .uniqueTrader(let x) = $0 { x } else { nil } }
        #expect(u.ut == 6)
        #expect(u.ot == 1_778_659_140_000)
    }

    @Test func transaction() throws {
        let m = try decode(Examples.transaction)
        let (_, s) = try payload(m, Transaction.self) { if case .transaction(let x) = $0 { x } else { nil } }
        #expect(s.pid == 14)
        #expect(m.string(s.f) == "0xdb1d10011ad0ff90774d0c6bb92e5c5c8b4461f7")
        #expect(s.bh == 98_011_237)
        #expect(s.side == .sell)
        #expect(m.string(s.tp) == "sell")
        #expect(m.string(s.pa) == "0x2f4a644cd20eb9f45fa166dbb87068697fe8e6e3")
        #expect(m.string(s.t0a) == "0x5feccd17c393caf1001d18164236a37e731fcb9d")
        #expect(m.string(s.t1a) == "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d")
        #expect(m.string(s.t0s) == "USDC")
        #expect(m.string(s.t1s) == "WBNB")
        #expect(s.vu == 167.11650988683866)
        #expect(s.q == 0.2876839934391258)
        #expect(s.t0pu == 0.28760994330122636)
        #expect(s.t1pu == 0.9997425990337028)
        #expect(m.string(s.tx) == "0xade908a367c85915a89719ddce9e95a864bd2c9691bb28c6d6b86d907181f7aa")
        #expect(s.ts == 1_778_659_192_000)
        #expect(m.string(s.ma) == "0x28e2ea090877bf75740558f6bfb36a5ffee9e9df")
        #expect(m.string(s.ba) == "0x55d398326f99059ff775485246999027b3197955")
        #expect(s.a0 == 8.581676894301156)
        #expect(s.a1 == 0.9999663716704877)
        #expect(s.qi == 0)
        #expect(s.tii == 0)
        #expect(s.lgid == 59)
        #expect(s.iix == nil)
        #expect(s.ex == false)
        #expect(s.isExcluded == false)
        #expect(s.txtp == 0)
        #expect(s.unknownKeyCount == 0)
        #expect(s.dedupeIndex == 59)
    }

    @Test func liquidityEvent() throws {
        let m = try decode(Examples.liquidityEvent)
        let (_, e) = try payload(m, LiquidityEvent.self) { if case .liquidityEvent(let x) = $0 { x } else { nil } }
        #expect(e.pid == 14)
        #expect(m.string(e.f) == "0x0bfbcf9fa4f9c56b0f40a671ad40e0805a091865")
        #expect(e.ts == 1_778_659_195_000)
        #expect(e.kind == .add)
        #expect(m.string(e.t0s) == "USDC")
        #expect(m.string(e.t1s) == "MAT")
        #expect(m.string(e.t0a) == "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d")
        #expect(m.string(e.t1a) == "0xfe2dd2d57a05f89438f3aec94e")
        #expect(e.a0 == 0)
        #expect(e.a1 == 293.8158004758334)
        #expect(e.vu == 49.84709760712249)
        #expect(m.string(e.ma) == "0x7cc5a95f6e688a917c899084b5cfd389de730fdf")
        #expect(m.string(e.tx) == "0xcf859eb0b1c563ea69255eb4ea8a134002948e7e7e9913f441896c518a4dfaeb")
        #expect(e.lgid == 12)
    }

    @Test func tokenMetric() throws {
        let m = try decode(Examples.tokenMetric)
        let (_, t) = try payload(m, TokenMetric.self) { if case .tokenMetric(let x) = $0 { x } else { nil } }
        #expect(t.pid == 14)
        #expect(t.p == 0.9997425990337028)
        #expect(t.mc == nil && t.isNull(.mc))
        #expect(t.lu == nil && t.isNull(.lu))
        #expect(t.windowMask == 1 << TokenMetricWindow.Name.h4.rawValue)
        #expect(t.window(.h24) == nil)
        let w = try #require(t.window(.h4))
        #expect(m.string(w.win) == "4h")
        #expect(w.vn == 6615525.086132893)
        #expect(w.vu == 6613627.176252886)
        #expect(w.pc == -0.01)
        #expect(w.txs == 28864)
        #expect(w.bc == 12692)
        #expect(w.sc == 16172)
        #expect(w.bvu == 3234904.850668452)
        #expect(w.svu == 3378722.325584434)
        #expect(w.bvn == nil && w.isNull(.bvn))
        #expect(w.svn == nil && w.isNull(.svn))
        #expect(w.ut == 6211)
        #expect(w.but == 3695)
        #expect(w.sut == 4142)
        #expect(w.h == 1.0003681078349795)
        #expect(w.l == 0.9994)
    }

    @Test func poolMetric() throws {
        let m = try decode(Examples.poolMetric)
        let (d, p) = try payload(m, PoolMetric.self) { if case .poolMetric(let x) = $0 { x } else { nil } }
        #expect(d.params.targetParam == .poolAddress)
        #expect(m.string(d.params.address) == "DJpdHs4wbm1XqRruM1NPHnSfpnSztUEeFW3bcaDEeg7H")
        #expect(p.pid == 16)
        #expect(m.string(p.pa) == "DJpdHs4wbm1XqRruM1NPHnSfpnSztUEeFW3bcaDEeg7H")
        #expect(p.window(.d7) == nil)
        let expected: [(PoolMetricWindow.Name, [Double])] = [
            (.m5, [0, 0, 0, 0, 11, 2, 10]),
            (.h1, [123.45, 500, 87.65, 400, 53, 21, 38]),
            (.h4, [1234.56, 5000, 987.65, 4000, 200, 80, 120]),
            (.h24, [12345.67, 50000, 9876.54, 40000, 1000, 400, 600]),
        ]
        for (name, values) in expected {
            let w = try #require(p.window(name))
            let got: [Double] = [
                w.bvn ?? .nan, w.bvu ?? .nan, w.svn ?? .nan, w.svu ?? .nan, Double(w.ut ?? -1), Double(w.but ?? -1),
                Double(w.sut ?? -1),
            ]
            #expect(got == values, "window \(name)")
        }
    }

    @Test func holdersMetricsTagDistribution() throws {
        let m = try decode(Examples.holdersMetricsTagDistribution)
        let (_, h) = try payload(m, HoldersMetrics.self) { if case .holdersMetrics(let x) = $0 { x } else { nil } }
        #expect(h.pid == 14)
        #expect(m.string(h.a) == "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d")
        #expect(h.kind == .tagDistribution)
        #expect(h.ts == 1_778_659_184_000)
        #expect(h.devp == 12)
        #expect(h.khc == 221)
        #expect(h.whc == 2518)
        #expect(h.bdhc == 3897)
        #expect(h.shc == 102)
        #expect(h.bhc == 45)
        #expect(h.smhc == 2)
        #expect(h.t10p == nil)
    }

    @Test func holderWalletUpdateTokenBalance() throws {
        let m = try decode(Examples.holderWalletUpdateTokenBalance)
        let (d, w) = try payload(m, HolderWalletUpdate.self) {
            if case .holderWalletUpdate(let x) = $0 { x } else { nil }
        }
        #expect(d.params.targetParam == .walletAddress)
        #expect(w.pid == 16)
        #expect(m.string(w.wa) == "6p6xgHyF7AeE6TZkSmFsko444wqoP15icUSqi2jfGiPN")
        #expect(w.kind == .tokenBalance)
        #expect(m.string(w.a) == "GYQQfZTnTokenMintAddress")
        #expect(w.b == 37151378.807477)
        #expect(w.hp == 3.715)
        #expect(w.bh == 416_995_858)
        #expect(w.ts == 1_778_659_191_803)
    }

    // MARK: - Observed real frames

    @Test func tokenMetricPartialWindows() throws {
        let frame = Examples.envelope(
            "onchain@token_metric",
            params: #"{"platform_id":14,"address":"0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82"}"#,
            payload: Examples.tokenMetricObservedPayload
        )
        let m = try decode(frame)
        let (_, t) = try payload(m, TokenMetric.self) { if case .tokenMetric(let x) = $0 { x } else { nil } }
        #expect(t.mc == nil && !t.contains(.mc) && !t.isNull(.mc))
        #expect(t.lu == nil && !t.contains(.lu))
        let w4 = try #require(t.window(.h4))
        #expect(w4.bvn == 326148.2)
        let w24 = try #require(t.window(.h24))
        #expect(w24.vu == 9521162.7)
        #expect(w24.ut == 607)
        #expect(w24.h == nil && !w24.contains(.h))
        #expect(w24.vn == nil && !w24.contains(.vn))
        var names: [String] = []
        t.forEachWindow { name, _ in names.append(name.description) }
        #expect(names == ["4h", "24h"])
    }

    @Test func tokenAggEventWithoutP() throws {
        let frame = Examples.envelope(
            "onchain@token_agg_event",
            params: #"{"platform_id":14,"address":"0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82"}"#,
            payload: Examples.tokenAggEventObservedPayload
        )
        let (_, t) = try payload(try decode(frame), TokenAggEvent.self) {
            if case .tokenAggEvent(let x) = $0 { x } else { nil }
        }
        #expect(t.p == nil && !t.contains(.p))
        #expect(t.ap == 1.4114)
        #expect(t.lu == 12141216.56)
    }

    @Test func liquidityEventWithoutLgid() throws {
        let frame = Examples.envelope(
            "onchain@liquidity_event",
            params: #"{"platform_id":14,"address":"0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82"}"#,
            payload: Examples.liquidityEventObservedPayload
        )
        let m = try decode(frame)
        let (_, e) = try payload(m, LiquidityEvent.self) { if case .liquidityEvent(let x) = $0 { x } else { nil } }
        #expect(e.lgid == nil)
        #expect(e.dedupeIndex == nil)
        #expect(e.kind == .remove)
        #expect(e.a0 == 0 && e.a1 == 0 && e.vu == 12500)
        #expect(m.string(e.ma) == "0x7737…82c1")
    }

    @Test func holdersTopShare() throws {
        let frame = Examples.envelope(
            "onchain@holders_metrics",
            params: #"{"platform_id":14,"address":"0x0E09FaBB73Bd3Ade0a17ECC321fD13a19e81cE82"}"#,
            payload: Examples.holdersMetricsTopShareObservedPayload
        )
        let m = try decode(frame)
        let (d, h) = try payload(m, HoldersMetrics.self) { if case .holdersMetrics(let x) = $0 { x } else { nil } }
        #expect(h.kind == .topShare)
        #expect(h.t10p == 3.9934)
        #expect(h.t50p == 5.3503)
        #expect(h.t100p == 5.6799)
        #expect(h.t100ab == 2589719.48)
        #expect(h.ts == 1_781_550_268_455)
        // Checksum-case echo: compare normalised.
        #expect(
            Subscription.normalizedAddress(m.string(d.params.address) ?? "")
                == "0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82"
        )
    }
}

// MARK: - Helpers

func decode(_ text: String) throws -> Message {
    try FrameDecoder().decode(text)
}

struct NotThatPayload: Error, CustomStringConvertible {
    let description: String
}

/// The data frame and its typed payload, or a recorded failure.
func payload<P>(_ m: Message, _: P.Type, _ pick: (Payload) -> P?) throws -> (DataFrame, P) {
    guard case .data(let d) = m.frame else { throw NotThatPayload(description: "not a data frame: \(m.frame)") }
    guard let p = pick(d.payload) else { throw NotThatPayload(description: "unexpected payload \(d.payload)") }
    return (d, p)
}
