// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StreamKit
@testable import StreamKitSimulator
import Testing

/// The market's invariants over long simulated runs, in virtual time: the model is pure, `now` is a parameter, and
/// nothing here sleeps. One test per invariant.
@Suite struct MarketModelTests {
    static let t0: Int64 = 1_780_000_000_000  // a simulated start, after the reference time
    static let token = "0x00000000000000000000000000000000000000aa"
    static let solanaToken = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"

    static func sub(_ channel: StreamKit.Channel, _ address: String, platform: Int64 = 14, interval: String? = nil) throws -> StreamKit.Subscription {
        try StreamKit.Subscription(channel: channel, target: .address(platformID: platform, address: address), interval: interval)
    }

    /// Advances `market` from `from` to `to` in steps of `step` ms and returns every push made.
    static func drive(_ market: inout MarketModel, from: Int64, to: Int64, step: Int64) -> [MarketModel.Push] {
        var out: [MarketModel.Push] = []
        var t = from
        while t < to {
            t = min(to, t + step)
            market.advance(to: t)
            market.pollPushes(into: &out)
        }
        return out
    }

    static func json(_ text: String) -> JSONValue { try! JSONValue(parsing: Array(text.utf8)) }

    static func close(_ a: Double, _ b: Double, _ rel: Double = 1e-9) -> Bool {
        abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)
    }

    /// The USD price of `address`'s leg of a swap payload.
    static func legPrice(_ d: JSONValue, _ address: String) -> Double {
        d["t0a"]?.string == address ? d["t0pu"]!.double! : d["t1pu"]!.double!
    }

    // MARK: - Klines

    /// `ot` steps by exactly the interval and names the closed candle (the push comes at `ot + interval`), one
    /// push per interval whatever the size of the steps time advances by (the speed).
    @Test(arguments: [Int64(1000), 7000, 61_000, 600_000])
    func klineOpenTimeStepsByTheInterval(step: Int64) throws {
        var market = MarketModel(seed: 11)
        let intervals = ["1s": Int64(1000), "1m": 60_000, "5m": 300_000, "30m": 1_800_000]
        for name in intervals.keys.sorted() {
            market.handleSubscribe(try Self.sub(.kline, Self.token, interval: name), now: Self.t0)
            market.handleSubscribe(try Self.sub(.uniqueTrader, Self.token, interval: name), now: Self.t0)
        }
        let pushes = Self.drive(&market, from: Self.t0, to: Self.t0 + 6 * 3_600_000, step: step)
        for (name, ms) in intervals {
            for channel in [StreamKit.Channel.kline, .uniqueTrader] {
                let mine = pushes.filter { $0.subscription.channel == channel && $0.subscription.interval == name }
                let ots = mine.map { Self.json($0.text)["data"]!["ot"]!.int! }
                #expect(mine.count == Int((Self.t0 + 6 * 3_600_000) / ms - Self.t0 / ms), "\(channel) \(name)")
                #expect(ots.first == Self.t0 / ms * ms, "the first push closes the candle the subscription fell in")
                #expect(zip(ots, ots.dropFirst()).allSatisfy { $1 - $0 == ms }, "\(channel) \(name): ot steps by the interval")
                for p in mine {
                    let v = Self.json(p.text)
                    #expect(v["ts"]!.int! == v["data"]!["ot"]!.int! + ms, "pushed at the close of the candle it names")
                }
            }
        }
    }

    /// A kline's o/h/l/c/vu are those of its interval's swaps (the subscribed token's leg price), and a candle
    /// with no swap is flat at the last price with volume 0; unique traders are the interval's distinct makers.
    @Test func klineEqualsItsTrades() throws {
        var market = MarketModel(seed: 12)
        let swaps = try Self.sub(.transaction, Self.token)
        market.handleSubscribe(swaps, now: Self.t0)
        for name in ["5s", "1m", "15m"] {
            market.handleSubscribe(try Self.sub(.kline, Self.token, interval: name), now: Self.t0)
            market.handleSubscribe(try Self.sub(.uniqueTrader, Self.token, interval: name), now: Self.t0)
        }
        let pushes = Self.drive(&market, from: Self.t0, to: Self.t0 + 4 * 3_600_000, step: 3000)
        struct Trade {
            let ts: Int64
            let price: Double
            let vu: Double
            let maker: String
        }
        let trades = pushes.filter { $0.subscription == swaps }.map { p in
            let d = Self.json(p.text)["data"]!
            return Trade(ts: d["ts"]!.int!, price: Self.legPrice(d, Self.token), vu: d["vu"]!.double!, maker: d["ma"]!.string!)
        }
        #expect(trades.count > 500)
        #expect(zip(trades, trades.dropFirst()).allSatisfy { $0.ts <= $1.ts })
        /// The index of the first trade at or after `ts`.
        func index(_ ts: Int64) -> Int {
            var lo = 0
            var hi = trades.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if trades[mid].ts < ts { lo = mid + 1 } else { hi = mid }
            }
            return lo
        }
        var checked = 0
        var empty = 0
        for p in pushes where p.subscription.channel == .kline || p.subscription.channel == .uniqueTrader {
            let ms = MarketModel.intervalMS(p.subscription.interval)
            let d = Self.json(p.text)["data"]!
            let ot = d["ot"]!.int!
            guard ot >= Self.t0 else { continue }  // the first candle began before the swaps were watched
            let inside = trades[index(ot)..<index(ot + ms)]
            if p.subscription.channel == .uniqueTrader {
                #expect(d["ut"]!.int! == Int64(Set(inside.map(\.maker)).count), "ut at \(ot)")
                continue
            }
            let prices = inside.map(\.price)
            if let first = prices.first, let last = prices.last {
                #expect(d["o"]!.double! == first && d["c"]!.double! == last)
                #expect(d["h"]!.double! == prices.max()! && d["l"]!.double! == prices.min()!)
                #expect(Self.close(d["vu"]!.double!, inside.map(\.vu).reduce(0, +)))
                checked += 1
            } else {
                let before = trades[..<index(ot)].last.map(\.price)
                #expect(d["vu"]!.double! == 0)
                if let before { #expect(d["o"]!.double! == before && d["c"]!.double! == before && d["h"]!.double! == before) }
                empty += 1
            }
        }
        #expect(checked > 300, "\(checked) candles checked, \(empty) empty")
    }

    // MARK: - Swaps

    /// `vu` is either side's amount times its USD price; `q` is token0 in token1; the quote's USD price is its
    /// CMC id's path; the pool's price moves with each trade in the trade's direction; one aggregate event per
    /// swap; Solana hashes and addresses are base58 and carry `iix`, EVM ones hex with `lgid`.
    @Test(arguments: [Int64(14), 16, 1])
    func swapValuesAreConsistent(_ platform: Int64) throws {
        let address = [14: Self.token, 16: Self.solanaToken, 1: "0x00000000000000000000000000000000000000bb"][platform]!
        var market = MarketModel(seed: 13)
        let swaps = try Self.sub(.transaction, address, platform: platform)
        let agg = try Self.sub(.tokenAggEvent, address, platform: platform)
        market.handleSubscribe(swaps, now: Self.t0)
        market.handleSubscribe(agg, now: Self.t0)
        let pushes = Self.drive(&market, from: Self.t0, to: Self.t0 + 2 * 3_600_000, step: 5000)
        let trades = pushes.filter { $0.subscription == swaps }.map { Self.json($0.text)["data"]! }
        let aggs = pushes.filter { $0.subscription == agg }.map { Self.json($0.text)["data"]! }
        #expect(trades.count > 200)
        #expect(aggs.count == trades.count, "one token_agg_event per swap")
        let quote = MarketModel.quoteAddress(ofToken: address, platform: platform)
        let quoteID: Int64 = Platform.quotes(platform).first { $0.address == quote }!.cryptoID
        var lastSpot: Double?
        var moved = 0
        let base58 = Set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
        for (t, a) in zip(trades, aggs) {
            let a0 = t["a0"]!.double!, a1 = t["a1"]!.double!, pu0 = t["t0pu"]!.double!, pu1 = t["t1pu"]!.double!
            let vu = t["vu"]!.double!
            #expect(Self.close(vu, a0 * pu0) && Self.close(vu, a1 * pu1), "vu \(vu), a0·t0pu \(a0 * pu0), a1·t1pu \(a1 * pu1)")
            #expect(Self.close(t["q"]!.double!, pu0 / pu1))
            #expect(Set([t["t0a"]!.string!, t["t1a"]!.string!]) == [address, quote])
            let qi = t["qi"]!.int!
            #expect([t["t0a"]!.string!, t["t1a"]!.string!][Int(qi)] == quote)
            let buy = t["tp"]!.string! == "buy"
            #expect(t["tii"]!.int! == (buy ? qi : 1 - qi), "the quote goes in on a buy")
            // The quote's USD price is its CMC id's path at the swap's time (to the second).
            let quotePrice = Self.legPrice(t, quote)
            #expect(Self.close(quotePrice, market.price(cryptoID: quoteID, at: t["ts"]!.int!), 1e-12))
            #expect(a["ts"]!.int! == t["ts"]!.int!)
            if let p = a["p"]?.double {
                let spot = p / quotePrice  // the pool's price in quote units, after the trade
                if let lastSpot {
                    #expect(buy ? spot > lastSpot : spot < lastSpot, "the price moves with the trade")
                    moved += 1
                }
                lastSpot = spot
            } else {
                lastSpot = nil
            }
            for key in ["tx", "ma", "pa", "t0a", "t1a", "f"] {
                let v = t[key]!.string!
                if platform == 16 {
                    #expect(!v.hasPrefix("0x") && v.allSatisfy(base58.contains), "\(key) \(v)")
                } else {
                    #expect(v.hasPrefix("0x") && v.count == (key == "tx" ? 66 : 42), "\(key) \(v)")
                }
            }
            #expect((t["iix"] != nil) == (platform == 16) && (t["lgid"] != nil) == (platform != 16))
        }
        #expect(moved > trades.count / 2)
    }

    /// Liquidity events add to or take from both reserves in proportion (so the amounts' ratio is the pool's
    /// price, and the price does not move); `vu` is both sides at that price; some EVM events lack `lgid`.
    @Test func liquidityEventsChangeReserves() throws {
        var market = MarketModel(seed: 14)
        let liquidity = try Self.sub(.liquidityEvent, Self.token)
        let agg = try Self.sub(.tokenAggEvent, Self.token)
        market.handleSubscribe(liquidity, now: Self.t0)
        market.handleSubscribe(agg, now: Self.t0)
        let pushes = Self.drive(&market, from: Self.t0, to: Self.t0 + 6 * 3_600_000, step: 10_000)
        let events = pushes.filter { $0.subscription == liquidity }.map { Self.json($0.text)["data"]! }
        #expect(events.count > 100)
        #expect(events.contains { $0["lgid"] == nil } && events.contains { $0["lgid"] != nil })
        #expect(Set(events.map { $0["tp"]!.string! }) == ["add", "remove", "migrate"])
        let quote = MarketModel.quoteAddress(ofToken: Self.token, platform: 14)
        let quoteID: Int64 = Platform.quotes(14).first { $0.address == quote }!.cryptoID
        var checked = 0
        for (e, at) in zip(events, pushes.filter { $0.subscription == liquidity }.map(\.time)) {
            let ts = e["ts"]!.int!
            let baseIs0 = e["t0a"]!.string! == Self.token
            let (base, quoteAmount) = baseIs0 ? (e["a0"]!.double!, e["a1"]!.double!) : (e["a1"]!.double!, e["a0"]!.double!)
            let quoteUSD = market.price(cryptoID: quoteID, at: ts)
            #expect(Self.close(e["vu"]!.double!, 2 * quoteAmount * quoteUSD, 1e-9))
            // The pool's price after the last swap before it (that swap's aggregate `p`), in quote units.
            guard let last = pushes.last(where: { $0.subscription == agg && $0.time <= at }),
                let p = Self.json(last.text)["data"]!["p"]?.double
            else { continue }
            #expect(Self.close(quoteAmount / base, p / market.price(cryptoID: quoteID, at: last.time), 1e-9))
            checked += 1
        }
        #expect(checked > 50)
    }

    // MARK: - Prices

    /// `p` is the path; `p24h` (and every other change) the change against the path that long ago; `mc = p·cs`;
    /// `fdv24h = p24h`. Volatility by class: BTC a few percent a day, USDT pinned near 1, a small cap wilder.
    @Test func p24hIsTheChangeAgainstThePath() throws {
        var market = MarketModel(seed: 15)
        let ids: [Int64] = [1, 825, 5426, 60_000]
        for id in ids { market.handleSubscribe(.cryptoLatestPrice(id), now: Self.t0) }
        let pushes = Self.drive(&market, from: Self.t0, to: Self.t0 + 3_600_000, step: 2500)
        #expect(pushes.count > 4 * 240)
        let day: Int64 = 86_400_000
        for push in pushes {
            let v = Self.json(push.text)
            let d = v["data"]!
            let ts = v["ts"]!.int!
            let id = d["cid"]!.int!
            let p = d["p"]!.double!
            #expect(p == market.price(cryptoID: id, at: ts))
            for (key, back) in [("p24h", day), ("p7d", 7 * day), ("p30d", 30 * day), ("p60d", 60 * day), ("p3m", 90 * day), ("p1y", 365 * day)] {
                #expect(Self.close(d[key]!.double!, (p / market.price(cryptoID: id, at: ts - back) - 1) * 100, 1e-12), "\(key)")
            }
            #expect(Self.close(d["pytd"]!.double!, (p / market.price(cryptoID: id, at: 1_767_225_600_000) - 1) * 100, 1e-12))
            #expect(d["fdv24h"]!.double! == d["p24h"]!.double!)
            if let mc = d["mc"]?.double { #expect(Self.close(mc, p * d["cs"]!.double!)) }
            if id == 825 { #expect(abs(p - 1) < 0.002) }
        }
        // Daily log returns over a year.
        func dailyVolatility(_ id: Int64) -> Double {
            let r = (0..<365).map { k in log(market.price(cryptoID: id, at: Self.t0 - Int64(k) * day) / market.price(cryptoID: id, at: Self.t0 - Int64(k + 1) * day)) }
            let mean = r.reduce(0, +) / Double(r.count)
            return (r.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(r.count - 1)).squareRoot()
        }
        #expect((0.015...0.04).contains(dailyVolatility(1)), "BTC \(dailyVolatility(1))")
        #expect(dailyVolatility(825) < 0.003, "USDT \(dailyVolatility(825))")
        #expect((0.07...0.14).contains(dailyVolatility(60_000)), "small cap \(dailyVolatility(60_000))")
        #expect(MarketModel.rank(cryptoID: 60_000) > 500)
        #expect(yearStartMS(Self.t0) == 1_767_225_600_000)  // 2026-01-01
    }

    /// Cadence by rank: ~5 s for the top 500 (SOL 5426 and DOT 6636 included), ~15 s for the rest, on the
    /// simulated clock; at speed 10 that is 0.5 s and 1.5 s of wall time.
    @Test(arguments: [1.0, 10.0])
    func cadenceByRank(speed: Double) {
        let clock = SimulatedClock(speed: speed, startEpochMS: Self.t0, startUptimeNS: 1_000_000_000)
        var market = MarketModel(seed: 16)
        let ids: [Int64] = [1, 5426, 6636, 300, 5000, 99_999]
        for id in ids { market.handleSubscribe(.cryptoLatestPrice(id), now: clock.epochMS(uptimeNS: clock.startUptimeNS)) }
        #expect(MarketModel.rank(cryptoID: 5426) == 6 && MarketModel.rank(cryptoID: 6636) == 10)
        // Virtual wall time in 10 ms ticks for 120 wall seconds.
        var wallAt: [Int64: [Int64]] = [:]  // id → wall ns of each push
        var tsOf: [Int64: [Int64]] = [:]
        var buffer: [MarketModel.Push] = []
        var ns = clock.startUptimeNS
        while ns < clock.startUptimeNS + 120_000_000_000 {
            ns += 10_000_000
            market.advance(to: clock.epochMS(uptimeNS: ns))
            market.pollPushes(into: &buffer)
            for p in buffer {
                guard case .crypto(let id) = p.subscription.target else { continue }
                wallAt[id, default: []].append(ns)
                tsOf[id, default: []].append(p.time)
            }
            buffer.removeAll()
        }
        for id in ids {
            let period: Int64 = MarketModel.rank(cryptoID: id) <= 500 ? 5000 : 15_000
            #expect(MarketModel.pricePeriodMS(cryptoID: id) == period)
            let ts = tsOf[id] ?? []
            #expect(zip(ts, ts.dropFirst()).allSatisfy { $1 - $0 == period }, "id \(id): ts steps by \(period)")
            let wall = wallAt[id] ?? []
            let expected = Double(period) / speed * 1e6
            #expect(zip(wall, wall.dropFirst()).allSatisfy { abs(Double($1 - $0) - expected) <= 10_000_000 }, "id \(id) at speed \(speed)")
            #expect(abs(ts.count - Int(120_000 * speed / Double(period))) <= 1, "id \(id): \(ts.count) pushes")
        }
        #expect(ids.filter { MarketModel.rank(cryptoID: $0) <= 500 } == [1, 5426, 6636, 300])
    }

    // MARK: - Windows

    /// Rolling windows nest (the 5m window inside the 1h one, ...), `txs = bc + sc`, `vu = bvu + svu`,
    /// `ut ≤ but + sut`, high and low bracket the shorter window's, on token and pool metrics alike.
    @Test func windowsNest() throws {
        var market = MarketModel(seed: 17)
        let swaps = try Self.sub(.transaction, Self.token)
        market.handleSubscribe(swaps, now: Self.t0)
        market.handleSubscribe(try Self.sub(.tokenMetric, Self.token), now: Self.t0)
        var pushes = Self.drive(&market, from: Self.t0, to: Self.t0 + 60_000, step: 1000)
        let pool = Self.json(pushes.first { $0.subscription == swaps }!.text)["data"]!["pa"]!.string!
        market.handleSubscribe(try Self.sub(.poolMetric, pool), now: Self.t0 + 60_000)
        pushes += Self.drive(&market, from: Self.t0 + 60_000, to: Self.t0 + 8 * 3_600_000, step: 20_000)
        var tokenWindows = 0
        var poolWindows = 0
        for p in pushes {
            let d = Self.json(p.text)["data"]!
            switch p.subscription.channel {
            case .tokenMetric:
                let order = ["1m", "5m", "1h", "4h", "24h"]
                let ws = d["sts"]!.elements.sorted { order.firstIndex(of: $0["win"]!.string!)! < order.firstIndex(of: $1["win"]!.string!)! }
                for w in ws {
                    #expect(w["txs"]!.int! == w["bc"]!.int! + w["sc"]!.int!)
                    #expect(Self.close(w["vu"]!.double!, w["bvu"]!.double! + w["svu"]!.double!))
                    if let vn = w["vn"]?.double, let b = w["bvn"]?.double, let s = w["svn"]?.double { #expect(Self.close(vn, b + s)) }
                    #expect(w["ut"]!.int! <= w["but"]!.int! + w["sut"]!.int!)
                }
                for (a, b) in zip(ws, ws.dropFirst()) {
                    for key in ["txs", "bc", "sc", "ut", "but", "sut"] { #expect(a[key]!.int! <= b[key]!.int!, "\(key) \(a["win"]!) ⊂ \(b["win"]!)") }
                    for key in ["vu", "bvu", "svu"] { #expect(a[key]!.double! <= b[key]!.double! * (1 + 1e-12), "\(key)") }
                    if let ah = a["h"]?.double, let bh = b["h"]?.double { #expect(ah <= bh && a["l"]!.double! >= b["l"]!.double!) }
                    tokenWindows += 1
                }
            case .poolMetric:
                let ws = ["5m", "1h", "4h", "24h", "7d"].compactMap { d[$0] }
                for w in ws { #expect(w["ut"]!.int! <= w["but"]!.int! + w["sut"]!.int!) }
                for (a, b) in zip(ws, ws.dropFirst()) {
                    for key in ["ut", "but", "sut"] { #expect(a[key]!.int! <= b[key]!.int!) }
                    for key in ["bvu", "svu", "bvn", "svn"] { #expect(a[key]!.double! <= b[key]!.double! * (1 + 1e-12)) }
                    poolWindows += 1
                }
            default:
                break
            }
        }
        #expect(tokenWindows > 1000 && poolWindows > 1000, "\(tokenWindows) token, \(poolWindows) pool window pairs")
        // And the 1h window holds exactly the swaps of its minutes (the current one and the 59 before).
        let last = pushes.last { $0.subscription.channel == .tokenMetric && Self.json($0.text)["data"]!["sts"]!.elements.contains { $0["win"]!.string! == "1h" } }!
        let h = Self.json(last.text)["data"]!["sts"]!.elements.first { $0["win"]!.string! == "1h" }!
        let from = (last.time / 60_000 - 59) * 60_000
        let inside = pushes.filter { $0.subscription == swaps && Self.json($0.text)["data"]!["ts"]!.int! >= from && $0.time <= last.time }
        #expect(h["txs"]!.int! == Int64(inside.count))
    }

    // MARK: - Determinism and continuity

    static func run(seed: UInt64) throws -> [String] {
        var market = MarketModel(seed: seed)
        for s in [StreamKit.Subscription.cryptoLatestPrice(1), .cryptoLatestPrice(74), try sub(.transaction, token), try sub(.kline, token, interval: "1m"),
                  try sub(.tokenMetric, solanaToken, platform: 16), try sub(.holdersMetrics, token), try sub(.holderWalletUpdate, solanaToken, platform: 16)] {
            market.handleSubscribe(s, now: t0)
        }
        return drive(&market, from: t0, to: t0 + 3_600_000, step: 1000).map(\.text)
    }

    /// The same seed gives the same market, frame for frame; another seed another one.
    @Test func sameSeedSameMarket() throws {
        let a = try Self.run(seed: 21)
        #expect(a.count > 1000)
        #expect(a == (try Self.run(seed: 21)))
        #expect(a != (try Self.run(seed: 22)))
    }

    /// A market left alone (nobody subscribed) and watched again continues where it was: the swaps after the
    /// return are those of a market that was watched throughout.
    @Test func aReturnFindsTheMarketWhereItLeftIt() throws {
        let swaps = try Self.sub(.transaction, Self.token)
        var watched = MarketModel(seed: 23)
        watched.handleSubscribe(swaps, now: Self.t0)
        let throughout = Self.drive(&watched, from: Self.t0, to: Self.t0 + 3 * 3_600_000, step: 1000)
        var left = MarketModel(seed: 23)
        left.handleSubscribe(swaps, now: Self.t0)
        _ = Self.drive(&left, from: Self.t0, to: Self.t0 + 3_600_000, step: 1000)
        left.handleUnsubscribe(swaps, now: Self.t0 + 3_600_000)
        _ = Self.drive(&left, from: Self.t0 + 3_600_000, to: Self.t0 + 2 * 3_600_000, step: 1000)
        left.handleSubscribe(swaps, now: Self.t0 + 2 * 3_600_000)
        let after = Self.drive(&left, from: Self.t0 + 2 * 3_600_000, to: Self.t0 + 3 * 3_600_000, step: 1000)
        let expected = throughout.filter { $0.time > Self.t0 + 2 * 3_600_000 }.map(\.text)
        #expect(!after.isEmpty && after.map(\.text) == expected)
    }

    /// Every time scales with `--speed`: the announced ping interval (never below 1 s) and the idle close with it.
    @Test func pingIntervalAndIdleScaleWithSpeed() {
        var c = SimulatorConfiguration(keys: [:])
        #expect(c.announcedPingIntervalMS == 10_000 && c.scaledIdleTimeoutMS == 30_000)
        c.speed = 4
        #expect(c.announcedPingIntervalMS == 2500 && c.scaledIdleTimeoutMS == 7500)
        c.speed = 100
        #expect(c.announcedPingIntervalMS == 1000 && c.scaledIdleTimeoutMS == 3000)
        c.speed = 0.5
        #expect(c.announcedPingIntervalMS == 20_000 && c.scaledIdleTimeoutMS == 60_000)
        let clock = SimulatedClock(speed: 10, startEpochMS: 1000, startUptimeNS: 0)
        #expect(clock.epochMS(uptimeNS: 1_000_000_000) == 11_000 && clock.uptimeNS(epochMS: 11_000) == 1_000_000_000)
    }
}

/// The shared market through the real server: two real WebSocket connections.
@Suite(.serialized) struct SharedMarketServerTests {
    /// Two connections subscribed to the same targets receive the same pushes (same `ts`, same values): every
    /// frame the later one gets, the earlier one got too, byte for byte. Waits for events, with deadlines.
    @Test func twoConnectionsReceiveIdenticalPushes() async throws {
        let sim = try await SimulatorTests.simulator { $0.speed = 20 }
        defer { sim.stop() }
        let token = MarketModelTests.token
        let requests = [
            #"{"id":1,"method":"subscribe","channel":"market@crypto_latest_price","params":{"crypto_ids":[1,5426]}}"#,
            #"{"id":2,"method":"subscribe","channel":"onchain@transaction","params":{"platform_id":14,"address":"\#(token)"}}"#,
            #"{"id":3,"method":"subscribe","channel":"onchain@kline","params":{"platform_id":14,"address":"\#(token)","interval":"1s"}}"#,
        ]
        var clients: [RawClient] = []
        for _ in 0..<2 {
            let c = try await RawClient.connect(port: sim.port, key: "good")
            _ = try await c.receive()
            for (n, r) in requests.enumerated() {
                try await c.send(r)
                _ = try #require(try await c.receive(until: { $0.contains(#""type":"ack","id":\#(n + 1)"#) }))
            }
            clients.append(c)
        }
        let (first, second) = (clients[0], clients[1])
        var firstFrames: [String] = []
        var secondFrames: [String] = []
        /// Data frames of `c` until `done` holds for them (or the deadline passes).
        func collect(_ c: RawClient, into frames: inout [String], until done: ([String]) -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(20)
            while !done(frames), ContinuousClock.now < deadline {
                guard let t = try await c.receive(until: { $0.hasPrefix(#"{"type":"data""#) }, timeout: deadline - ContinuousClock.now) else { break }
                frames.append(t)
            }
        }
        try await collect(second, into: &secondFrames) { f in
            f.filter { $0.contains("crypto_latest_price") }.count >= 6 && f.filter { $0.contains("onchain@transaction") }.count >= 3
                && f.filter { $0.contains("onchain@kline") }.count >= 5
        }
        #expect(secondFrames.count >= 14)
        try await collect(first, into: &firstFrames) { f in Set(secondFrames).isSubset(of: Set(f)) }
        let missing = Set(secondFrames).subtracting(firstFrames)
        #expect(missing.isEmpty, "\(missing.count) of \(secondFrames.count) frames not sent alike: \(missing.first ?? "")")
        first.close()
        second.close()
    }
}
