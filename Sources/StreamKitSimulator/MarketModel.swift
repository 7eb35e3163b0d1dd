// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
public import StreamKit

/// Realistic data for every channel: a random walk per target (so a price moves, it does not jump), every
/// documented field, occasional nulls, the scalar params echo. Deterministic for a seed.
///
/// Cadences, scaled by ``SimulatorConfiguration/speed``: prices ~5 s for ids ranked in the top 500 and ~15 s for
/// the rest (the simulator's rank rule: ids up to 5000 count as top 500 [INF]); klines and unique traders at each
/// interval close; swaps, liquidity events and metric updates as random events; holder channels rotate their
/// `tp` variants.
public struct MarketModel: Sendable {
    private var rng: SimRandom
    private var prices: [Subscription.Target: Double] = [:]
    private var counters: [Subscription: Int] = [:]
    private var block: Int64 = 98_011_237

    public init(seed: UInt64) { self.rng = SimRandom(seed: seed) }

    /// Seconds until the next push of `subscription` (before `speed` scaling), given the current epoch-ms time.
    public mutating func interval(_ s: Subscription, epochMS: Int64) -> Double {
        switch s.channel {
        case .cryptoLatestPrice:
            if case .crypto(let id) = s.target, id <= 5000 { return 5 }
            return 15
        case .kline, .uniqueTrader:
            let period = Double(Self.intervalMS(s.interval)) / 1000
            let ms = Double(Self.intervalMS(s.interval))
            let untilClose = (ms - Double(epochMS).truncatingRemainder(dividingBy: ms)) / 1000
            return untilClose > 0.05 ? untilClose : period
        case .transaction: return self.rng.exponential(mean: 2)
        case .liquidityEvent: return self.rng.exponential(mean: 6)
        case .tokenAggEvent: return self.rng.exponential(mean: 2)
        case .tokenMetric, .poolMetric: return self.rng.exponential(mean: 5)
        case .holdersMetrics, .holderWalletUpdate: return self.rng.exponential(mean: 10)
        }
    }

    static func intervalMS(_ interval: String?) -> Int64 {
        switch interval {
        case "1s": 1000
        case "5s": 5000
        case "30s": 30_000
        case "1m": 60_000
        case "3m": 180_000
        case "5m": 300_000
        case "15m": 900_000
        case "30m": 1_800_000
        case "1h": 3_600_000
        case "4h": 14_400_000
        case "1d": 86_400_000
        default: 60_000
        }
    }

    /// The data frames for one push of `subscription`. Swaps and liquidity events carry a `tx`/`lgid` that
    /// ``pairedLeg(of:)`` reuses for the other token leg.
    public mutating func push(_ s: Subscription, epochMS: Int64) -> String {
        self.counters[s, default: 0] += 1
        let n = self.counters[s] ?? 0
        let params = Self.params(s)
        let data = self.payload(s, n: n, epochMS: epochMS)
        return #"{"type":"data","channel":"\#(s.channel.rawValue)","params":\#(params),"data":\#(data),"ts":\#(epochMS)}"#
    }

    /// The frames of one push of `s`: one, or for a swap or liquidity event whose other token is also subscribed
    /// on the connection (`peers`), two (one per token leg) with the same `tx` and `lgid`, as the service sends.
    public mutating func pushes(_ s: Subscription, peers: [Subscription], epochMS: Int64) -> [(Subscription, String)] {
        guard s.channel == .transaction || s.channel == .liquidityEvent, case .address(let platform, let address) = s.target
        else { return [(s, self.push(s, epochMS: epochMS))] }
        let others = peers.filter {
            guard $0 != s, $0.channel == s.channel, case .address(let p, _) = $0.target else { return false }
            return p == platform
        }
        self.block += 1
        let tx = Self.hex(self.rng.next(), self.rng.next(), 64)
        let lgid = Int(self.rng.next() % 400)
        let eventTime = epochMS / 1000 * 1000
        guard let peer = others.isEmpty || !self.rng.chance(0.5) ? nil : others[Int(self.rng.next() % UInt64(others.count))],
            case .address(_, let peerAddress) = peer.target
        else {
            let data = self.swapPayload(s, platform: platform, address: address, tx: tx, lgid: lgid, eventTime: eventTime)
            return [(s, #"{"type":"data","channel":"\#(s.channel.rawValue)","params":\#(Self.params(s)),"data":\#(data),"ts":\#(epochMS)}"#)]
        }
        // The same event, pushed on both legs.
        let data = self.swapPayload(s, platform: platform, address: address, tx: tx, lgid: lgid, eventTime: eventTime, other: peerAddress)
        return [s, peer].map { leg in
            (leg, #"{"type":"data","channel":"\#(leg.channel.rawValue)","params":\#(Self.params(leg)),"data":\#(data),"ts":\#(epochMS)}"#)
        }
    }

    static func params(_ s: Subscription) -> String {
        switch s.target {
        case .crypto(let id):
            return #"{"crypto_ids":\#(id)}"#
        case .address(let platform, let address):
            var p = #"{"platform_id":\#(platform),"\#(s.channel.targetParam.rawValue)":\#(jsonString(address))"#
            if let interval = s.interval { p += #","interval":"\#(interval)""# }
            return p + "}"
        }
    }

    // MARK: - Payloads

    /// One step of `target`'s random walk, starting log-uniformly in [lo, hi) (or at `fixed`) the first time.
    private mutating func walk(_ target: Subscription.Target, _ lo: Double, _ hi: Double, fixed: Double? = nil) -> Double {
        let p = self.prices[target] ?? fixed ?? self.rng.logUniform(lo, hi)
        let next = max(1e-9, p * (1 + self.rng.normal() * 0.002))
        self.prices[target] = next
        return next
    }

    private mutating func num(_ lo: Double, _ hi: Double) -> String { Self.fmt(self.rng.logUniform(lo, hi)) }

    static func fmt(_ v: Double) -> String {
        var s = "\(v)"
        // `5.0` is written `5`, but negative zero keeps its `.0`: `-0` reads back as the integer 0 in Python.
        if s.hasSuffix(".0") && s != "-0.0" { s.removeLast(2) }
        return s
    }

    private mutating func payload(_ s: Subscription, n: Int, epochMS: Int64) -> String {
        let eventTime = epochMS / 1000 * 1000
        switch (s.channel, s.target) {
        case (.cryptoLatestPrice, .crypto(let id)):
            let price = self.walk(s.target, 0.01, 500, fixed: id == 1 ? 81187.93284788371 : id == 1027 ? 3124.117741 : nil)
            let supply = Double(20_000_000 + id * 1_000)
            var fields = [#""cid":\#(id)"#, #""p":\#(Self.fmt(price))"#, #""vu":\#(self.num(1e5, 5e10))"#]
            fields.append(self.rng.chance(0.02) ? #""mc":null"# : #""mc":\#(Self.fmt(price * supply))"#)
            fields.append(#""cs":\#(Self.fmt(supply))"#)
            let p24 = self.rng.uniform(-8, 8)
            fields.append(#""p24h":\#(Self.fmt(p24))"#)
            for key in ["p7d", "p30d", "p60d", "p3m", "p1y", "pytd", "pall"] {
                fields.append(#""\#(key)":\#(Self.fmt(self.rng.uniform(-60, 150)))"#)
            }
            fields.append(#""fdv24h":\#(Self.fmt(p24))"#)  // mirrors p24h, as observed
            return "{" + fields.joined(separator: ",") + "}"
        case (_, .address(let platform, let address)):
            return self.onChain(s, platform: platform, address: address, n: n, eventTime: eventTime)
        default:
            return "{}"
        }
    }

    private mutating func onChain(_ s: Subscription, platform: Int64, address: String, n: Int, eventTime: Int64) -> String {
        let a = jsonString(address)
        let price = self.walk(s.target, 1e-4, 3000)
        switch s.channel {
        case .tokenAggEvent:
            let p = self.rng.chance(0.05) ? "" : #","p":\#(Self.fmt(price * (1 + self.rng.uniform(-0.001, 0.001))))"#
            return #"{"pid":\#(platform),"a":\#(a),"ap":\#(Self.fmt(price))\#(p),"lu":\#(self.num(1e4, 2e8)),"ts":\#(eventTime)}"#
        case .transaction, .liquidityEvent:
            self.block += 1
            let tx = Self.hex(self.rng.next(), self.rng.next(), 64)
            let lgid = Int(self.rng.next() % 400)
            return self.swapPayload(s, platform: platform, address: address, tx: tx, lgid: lgid, eventTime: eventTime)
        case .kline:
            let o = price
            let c = self.walk(s.target, 1e-4, 3000)
            return #"{"o":\#(Self.fmt(o)),"h":\#(Self.fmt(max(o, c) * 1.0005)),"l":\#(Self.fmt(min(o, c) * 0.9995)),"c":\#(Self.fmt(c)),"vu":\#(self.num(10, 1e6)),"ot":\#(eventTime / Self.intervalMS(s.interval) * Self.intervalMS(s.interval))}"#
        case .uniqueTrader:
            return #"{"ut":\#(self.rng.next() % 500),"ot":\#(eventTime / Self.intervalMS(s.interval) * Self.intervalMS(s.interval))}"#
        case .tokenMetric:
            var windows: [String] = []
            for win in ["1m", "5m", "1h", "4h", "24h"] where self.rng.chance(0.7) {
                windows.append(#"{"win":"\#(win)","vn":\#(self.num(100, 1e7)),"vu":\#(self.num(100, 1e7)),"pc":\#(Self.fmt(self.rng.uniform(-5, 5))),"txs":\#(self.rng.next() % 30000),"bc":\#(self.rng.next() % 15000),"sc":\#(self.rng.next() % 15000),"bvu":\#(self.num(10, 5e6)),"svu":\#(self.num(10, 5e6)),"bvn":\#(self.rng.chance(0.3) ? "null" : self.num(10, 5e6)),"svn":\#(self.rng.chance(0.3) ? "null" : self.num(10, 5e6)),"ut":\#(self.rng.next() % 7000),"but":\#(self.rng.next() % 4000),"sut":\#(self.rng.next() % 4000),"h":\#(Self.fmt(price * 1.01)),"l":\#(Self.fmt(price * 0.99))}"#)
            }
            if windows.isEmpty { windows.append(#"{"win":"24h","vu":\#(self.num(100, 1e7)),"pc":0.5,"txs":10,"bc":5,"sc":5,"bvu":1,"svu":1,"ut":3}"#) }
            let mc = self.rng.chance(0.4) ? "null" : self.num(1e5, 1e10)
            let lu = self.rng.chance(0.4) ? "null" : self.num(1e4, 1e9)
            return #"{"pid":\#(platform),"a":\#(a),"p":\#(Self.fmt(price)),"mc":\#(mc),"lu":\#(lu),"sts":[\#(windows.joined(separator: ","))]}"#
        case .poolMetric:
            var parts = [#""pid":\#(platform)"#, #""pa":\#(a)"#]
            for win in ["5m", "1h", "4h", "24h", "7d"] where self.rng.chance(0.8) {
                let ut = self.rng.next() % 1000
                let but = ut / 2 + self.rng.next() % max(1, ut / 2 + 1)
                let sut = ut - but / 2
                parts.append(#""\#(win)":{"bvn":\#(self.num(1, 1e6)),"bvu":\#(self.num(1, 1e6)),"svn":\#(self.num(1, 1e6)),"svu":\#(self.num(1, 1e6)),"ut":\#(ut),"but":\#(but),"sut":\#(sut)}"#)
            }
            return "{" + parts.joined(separator: ",") + "}"
        case .holdersMetrics:
            let kinds = ["tag_distribution", "holder_count", "top_share", "tag_pnl", "tag_balance"]
            let kind = kinds[(n - 1) % kinds.count]
            var fields = [#""pid":\#(platform)"#, #""a":\#(a)"#, #""tp":"\#(kind)""#, #""ts":\#(eventTime + 455)"#]
            switch kind {
            case "tag_distribution":
                fields.append(#""devp":\#(Self.fmt(self.rng.uniform(0, 30)))"#)
                for k in ["khc", "whc", "bdhc", "shc", "bhc", "smhc"] { fields.append(#""\#(k)":\#(self.rng.next() % 5000)"#) }
            case "top_share":
                let t10 = self.rng.uniform(1, 30)
                fields += [#""t10p":\#(Self.fmt(t10))"#, #""t50p":\#(Self.fmt(t10 * 1.3))"#, #""t100p":\#(Self.fmt(t10 * 1.45))"#, #""t100ab":\#(self.num(1e4, 1e9))"#]
            case "holder_count":
                fields.append(#""hc":\#(10_000 + self.rng.next() % 500_000)"#)  // [INF] field name
            case "tag_pnl":
                fields.append(#""tag":"tag_whale","pnl":\#(Self.fmt(self.rng.uniform(-1e6, 1e6)))"#)  // [INF]
            default:
                fields.append(#""tag":"tag_whale","tb":\#(self.num(1e3, 1e9)),"hr":\#(Self.fmt(self.rng.uniform(0, 40)))"#)  // [INF]
            }
            return "{" + fields.joined(separator: ",") + "}"
        case .holderWalletUpdate:
            let kinds = ["token_balance", "native_balance", "pnl_stats", "last_active", "position_time"]
            let kind = kinds[(n - 1) % kinds.count]
            var fields = [#""pid":\#(platform)"#, #""wa":\#(a)"#, #""tp":"\#(kind)""#, #""bh":\#(self.block)"#, #""ts":\#(eventTime + 803)"#]
            switch kind {
            case "token_balance":
                fields += [#""a":"\#(Self.hex(self.rng.next(), self.rng.next(), 40))""#, #""b":\#(self.num(1, 1e9))"#, #""hp":\#(Self.fmt(self.rng.uniform(0, 10)))"#]
            case "native_balance": fields.append(#""b":\#(self.num(0.01, 1e5))"#)  // [INF]
            case "pnl_stats": fields.append(#""rp":\#(Self.fmt(self.rng.uniform(-1e5, 1e5))),"up":\#(Self.fmt(self.rng.uniform(-1e5, 1e5)))"#)  // [INF]
            case "last_active": fields.append(#""lat":\#(eventTime - 60_000)"#)
            default: fields += [#""a":"\#(Self.hex(self.rng.next(), self.rng.next(), 40))""#, #""spot":\#(eventTime - 86_400_000)"#, #""spct":\#(eventTime - 3_600_000)"#]
            }
            return "{" + fields.joined(separator: ",") + "}"
        case .cryptoLatestPrice:
            return "{}"
        }
    }

    /// A swap or liquidity payload; both token legs of one event carry the same `tx` and `lgid`.
    func swapPayload(
        _ s: Subscription,
        platform: Int64,
        address: String,
        tx: String,
        lgid: Int,
        eventTime: Int64,
        other: String? = nil
    ) -> String {
        var seed: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in tx.utf8 { seed = (seed ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        var rng = SimRandom(seed: seed)
        let counterparty = "0x" + Self.hex(rng.next(), rng.next(), 40)
        let tp = s.channel == .transaction ? (rng.chance(0.5) ? "buy" : "sell") : ["add", "remove", "migrate"][Int(rng.next() % 3)]
        var fields = [
            #""pid":\#(platform)"#, #""f":"0x\#(Self.hex(rng.next(), rng.next(), 40))""#,
            #""tp":"\#(tp)""#, #""t0a":\#(jsonString(address))"#,
            #""t1a":\#(jsonString(other ?? counterparty))"#, #""t0s":"TKN""#, #""t1s":"USDT""#,
            #""vu":\#(Self.fmt(rng.logUniform(1, 1e6)))"#, #""tx":"0x\#(tx)""#, #""ts":\#(eventTime)"#,
            #""ma":"0x\#(Self.hex(rng.next(), rng.next(), 40))""#,
            #""a0":\#(Self.fmt(rng.logUniform(1e-3, 1e7)))"#, #""a1":\#(Self.fmt(rng.logUniform(1e-3, 1e7)))"#,
            platform == 16 ? #""iix":\#(lgid)"# : #""lgid":\#(lgid)"#,
        ]
        if s.channel == .transaction {
            let excluded = rng.chance(0.05)
            fields += [
                #""bh":\#(self.block)"#, #""pa":"0x\#(Self.hex(rng.next(), rng.next(), 40))""#,
                #""q":\#(Self.fmt(rng.logUniform(1e-6, 1e4)))"#, #""t0pu":\#(Self.fmt(rng.logUniform(1e-6, 1e4)))"#,
                #""t1pu":1"#, #""ba":"0x55d398326f99059ff775485246999027b3197955""#, #""qi":1"#, #""tii":\#(rng.next() % 2)"#,
                #""ex":\#(excluded)"#, #""txtp":\#(excluded ? 1 : 0)"#,
            ]
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func hex(_ a: UInt64, _ b: UInt64, _ digits: Int) -> String {
        var s = String(a, radix: 16) + String(b, radix: 16) + String(a &* 31 ^ b, radix: 16) + String(b &* 17, radix: 16)
        while s.count < digits { s += "0" }
        return String(s.prefix(digits))
    }
}

/// The core's SplitMix64 with the distributions the model needs.
struct SimRandom: Sendable {
    private var source: SplitMix64
    init(seed: UInt64) { self.source = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { self.source.next() }
    mutating func unit() -> Double { Double(self.next() >> 11) / Double(1 << 53) }
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * self.unit() }
    mutating func chance(_ p: Double) -> Bool { self.unit() < p }
    mutating func logUniform(_ lo: Double, _ hi: Double) -> Double { exp(self.uniform(log(lo), log(hi))) }
    mutating func exponential(mean: Double) -> Double { -mean * log(max(1e-12, 1 - self.unit())) }
    mutating func normal() -> Double { sqrt(-2 * log(max(1e-12, self.unit()))) * cos(2 * .pi * self.unit()) }
}
