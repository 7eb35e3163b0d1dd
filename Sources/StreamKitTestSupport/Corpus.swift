// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import StreamKit

// MARK: - Corpus

/// Generates realistic stream frames for all ten channels: the shapes of the reference's examples, plausible
/// magnitudes, full-precision numbers (15-17 significant digits, as the official examples carry), occasional
/// nulls and absent optional fields. Written independently of the decoder, with its own JSON text writer.
///
/// With ``Options/exotic`` it also varies what a decoder must tolerate: key order, whitespace and pretty printing,
/// string escapes (including `\u` surrogate pairs), unknown keys and exponent-form numbers.
package struct Corpus {
    package struct Options: Sendable {
        /// Vary key order, whitespace, escapes, unknown keys and number forms.
        package var exotic: Bool
        /// Probability that an optional numeric field is `null`.
        package var nullRate: Double
        /// Probability that an optional field is left out.
        package var absentRate: Double

        package init(exotic: Bool = false, nullRate: Double = 0.02, absentRate: Double = 0.03) {
            self.exotic = exotic
            self.nullRate = nullRate
            self.absentRate = absentRate
        }
    }

    /// Channel names in the order frames are drawn, with weights that give a ~500 B average frame.
    package static let channels: [(name: String, weight: Int)] = [
        ("market@crypto_latest_price", 30), ("onchain@token_agg_event", 12), ("onchain@transaction", 16),
        ("onchain@liquidity_event", 5), ("onchain@kline", 8), ("onchain@token_metric", 7),
        ("onchain@pool_metric", 6), ("onchain@unique_trader", 6), ("onchain@holders_metrics", 5),
        ("onchain@holder_wallet_update", 5),
    ]

    private var rng: SplitMix64
    package let options: Options

    package init(seed: UInt64, options: Options = Options()) {
        self.rng = SplitMix64(seed: seed)
        self.options = options
    }

    /// `count` frames, channels mixed by ``channels``' weights.
    package mutating func frames(_ count: Int) -> [[UInt8]] {
        (0..<count).map { _ in self.frame() }
    }

    /// One frame of a random channel.
    package mutating func frame() -> [UInt8] {
        let total = Self.channels.reduce(0) { $0 + $1.weight }
        var pick = Int.random(in: 0..<total, using: &self.rng)
        for (name, weight) in Self.channels {
            if pick < weight { return self.frame(channel: name) }
            pick -= weight
        }
        return self.frame(channel: Self.channels[0].name)
    }

    /// One frame of `channel`.
    package mutating func frame(channel: String) -> [UInt8] {
        var w = TextWriter(exotic: self.options.exotic, rng: SplitMix64(seed: self.rng.next()))
        let ts = 1_778_663_880_111 + Int64.random(in: 0..<10_000_000, using: &self.rng)
        var env: [(String, (inout TextWriter, inout Corpus) -> Void)] = [
            ("type", { w, _ in w.string("data") }),
            ("channel", { w, _ in w.string(channel) }),
            ("params", { w, c in c.params(channel, &w) }),
            ("data", { w, c in c.payload(channel, ts: ts, &w) }),
            ("ts", { w, _ in w.int(ts) }),
        ]
        if self.options.exotic && self.chance(0.3) { env.shuffle(using: &self.rng) }
        if self.options.exotic && self.chance(0.1) { env.append(("x_extension", { w, _ in w.raw(#"{"a":[1,2,{"b":null}]}"#) })) }
        w.object(env.count) { w, i in
            w.key(env[i].0)
            env[i].1(&w, &self)
        }
        return w.bytes
    }

    // MARK: - Params

    private var platform: Int64 = 14
    private var address = ""
    private var interval = "1m"

    private mutating func params(_ channel: String, _ w: inout TextWriter) {
        if channel == "market@crypto_latest_price" {
            let id = [1, 1027, 1839, 5426, 2010, 52, 74, 6636, 3408, 825][Int.random(in: 0..<10, using: &self.rng)]
            w.object(1) { w, _ in w.key("crypto_ids"); w.int(Int64(id)) }
            self.platform = Int64(id)
            return
        }
        let solana = self.chance(0.3)
        self.platform = solana ? 16 : [1, 14, 51, 199][Int.random(in: 0..<4, using: &self.rng)]
        self.address = solana ? self.base58(44) : self.evm()
        let key =
            channel == "onchain@pool_metric"
            ? "pool_address" : channel == "onchain@holder_wallet_update" ? "wallet_address" : "address"
        let hasInterval = channel == "onchain@kline" || channel == "onchain@unique_trader"
        self.interval = ["1s", "5s", "30s", "1m", "3m", "5m", "15m", "30m"][Int.random(in: 0..<8, using: &self.rng)]
        let address = self.address
        let interval = self.interval
        let platform = self.platform
        w.object(hasInterval ? 3 : 2) { w, i in
            switch i {
            case 0: w.key("platform_id"); w.int(platform)
            case 1: w.key(key); w.string(address)
            default: w.key("interval"); w.string(interval)
            }
        }
    }

    // MARK: - Payloads

    private typealias Member = (key: String, required: Bool, write: (inout TextWriter, inout Corpus) -> Void)

    private mutating func payload(_ channel: String, ts: Int64, _ w: inout TextWriter) {
        let eventTime = (ts - Int64.random(in: 0..<9000, using: &self.rng)) / 1000 * 1000
        var m: [Member]
        switch channel {
        case "market@crypto_latest_price":
            let price = self.magnitude(0.0001, 120_000)
            let supply = self.magnitude(1e6, 1e11)
            m = [
                ("cid", true, { [p = self.platform] w, _ in w.int(p) }),
                ("p", true, { w, _ in w.double(price) }),
                ("vu", false, { w, c in w.double(c.magnitude(1e4, 5e10)) }),
                ("mc", false, { w, _ in w.double(price * supply) }),
                ("cs", false, { w, _ in w.double(supply.rounded()) }),
            ]
            for k in ["p24h", "p7d", "p30d", "p60d", "p3m", "p1y", "pytd", "pall", "fdv24h"] {
                m.append((k, false, { w, c in w.double(c.percent()) }))
            }
        case "onchain@token_agg_event":
            let p = self.magnitude(1e-6, 5000)
            m = [
                ("pid", false, { [p = self.platform] w, _ in w.int(p) }),
                ("a", false, { [a = self.address] w, _ in w.string(a) }),
                ("ap", false, { w, c in w.double(p * (1 + c.small())) }),
                ("p", false, { w, _ in w.double(p) }),
                ("lu", false, { w, c in w.double(c.magnitude(1e3, 5e8)) }),
                ("ts", false, { w, _ in w.int(eventTime) }),
            ]
        case "onchain@transaction", "onchain@liquidity_event":
            let swap = channel == "onchain@transaction"
            let solana = self.platform == 16
            let t0 = solana ? self.base58(44) : self.evm()
            let t1 = self.address
            let tx = solana ? self.base58(88) : self.evm(64)
            m = [
                ("pid", false, { [p = self.platform] w, _ in w.int(p) }),
                ("f", false, { w, c in w.string(solana ? c.base58(44) : c.evm()) }),
                ("bh", false, { w, c in w.int(Int64.random(in: 30_000_000...420_000_000, using: &c.rng)) }),
                ("tp", false, { w, c in
                    w.string(swap ? (c.chance(0.5) ? "buy" : "sell") : ["add", "remove", "migrate"][Int.random(in: 0..<3, using: &c.rng)])
                }),
                ("pa", false, { w, c in w.string(solana ? c.base58(44) : c.evm()) }),
                ("t0a", false, { w, _ in w.string(t0) }),
                ("t1a", false, { w, _ in w.string(t1) }),
                ("t0s", false, { w, c in w.string(c.symbol()) }),
                ("t1s", false, { w, c in w.string(c.symbol()) }),
                ("vu", false, { w, c in w.double(c.magnitude(0.5, 2e6)) }),
                ("tx", false, { w, _ in w.string(tx) }),
                ("ts", false, { w, _ in w.int(eventTime) }),
                ("ma", false, { w, c in w.string(solana ? c.base58(44) : c.evm()) }),
                ("a0", false, { w, c in w.double(c.magnitude(1e-4, 1e7)) }),
                ("a1", false, { w, c in w.double(c.magnitude(1e-4, 1e7)) }),
                (solana ? "iix" : "lgid", false, { w, c in w.int(Int64.random(in: 0..<400, using: &c.rng)) }),
            ]
            if swap {
                m += [
                    ("q", false, { w, c in w.double(c.magnitude(1e-6, 1e4)) }),
                    ("t0pu", false, { w, c in w.double(c.magnitude(1e-6, 1e4)) }),
                    ("t1pu", false, { w, c in w.double(c.magnitude(1e-6, 1e4)) }),
                    ("ba", false, { w, c in w.string(solana ? c.base58(44) : c.evm()) }),
                    ("qi", false, { w, c in w.int(Int64.random(in: 0...1, using: &c.rng)) }),
                    ("tii", false, { w, c in w.int(Int64.random(in: 0...1, using: &c.rng)) }),
                    ("ex", false, { w, c in w.bool(c.chance(0.05)) }),
                    ("txtp", false, { w, c in w.int(c.chance(0.9) ? 0 : Int64.random(in: 1...5, using: &c.rng)) }),
                ]
            }
        case "onchain@kline":
            let o = self.magnitude(1e-6, 5000)
            let c = o * (1 + self.small())
            m = [
                ("o", false, { w, _ in w.double(o) }),
                ("h", false, { w, _ in w.double(max(o, c) * 1.0004) }),
                ("l", false, { w, _ in w.double(min(o, c) * 0.9996) }),
                ("c", false, { w, _ in w.double(c) }),
                ("vu", false, { w, c in w.double(c.magnitude(1, 1e7)) }),
                ("ot", false, { w, _ in w.int(eventTime / 60_000 * 60_000) }),
            ]
        case "onchain@token_metric":
            m = [
                ("pid", false, { [p = self.platform] w, _ in w.int(p) }),
                ("a", false, { [a = self.address] w, _ in w.string(a) }),
                ("p", false, { w, c in w.double(c.magnitude(1e-6, 5000)) }),
                ("mc", false, { w, c in c.chance(0.3) ? w.null() : w.double(c.magnitude(1e5, 1e10)) }),
                ("lu", false, { w, c in c.chance(0.3) ? w.null() : w.double(c.magnitude(1e3, 1e9)) }),
                ("sts", false, { w, c in c.tokenWindows(&w) }),
            ]
        case "onchain@pool_metric":
            m = [
                ("pid", false, { [p = self.platform] w, _ in w.int(p) }),
                ("pa", false, { [a = self.address] w, _ in w.string(a) }),
            ]
            for name in ["5m", "1h", "4h", "24h", "7d"] {
                m.append((name, false, { w, c in c.poolWindow(&w) }))
            }
        case "onchain@unique_trader":
            m = [
                ("ut", false, { w, c in w.int(Int64.random(in: 0..<5000, using: &c.rng)) }),
                ("ot", false, { w, _ in w.int(eventTime / 60_000 * 60_000) }),
            ]
        case "onchain@holders_metrics":
            let top = self.chance(0.5)
            m = [
                ("pid", true, { [p = self.platform] w, _ in w.int(p) }),
                ("a", true, { [a = self.address] w, _ in w.string(a) }),
                ("tp", true, { w, _ in w.string(top ? "top_share" : "tag_distribution") }),
                ("ts", true, { w, _ in w.int(eventTime + 455) }),
            ]
            if top {
                for k in ["t10p", "t50p", "t100p"] { m.append((k, false, { w, c in w.double(c.magnitude(0.1, 99)) })) }
                m.append(("t100ab", false, { w, c in w.double(c.magnitude(1e3, 1e12)) }))
            } else {
                m.append(("devp", false, { w, c in w.double(c.magnitude(0.01, 60)) }))
                for k in ["khc", "whc", "bdhc", "shc", "bhc", "smhc"] {
                    m.append((k, false, { w, c in w.int(Int64.random(in: 0..<10_000, using: &c.rng)) }))
                }
            }
        default:  // onchain@holder_wallet_update
            let kinds = ["token_balance", "native_balance", "last_active", "position_time"]
            let kind = kinds[Int.random(in: 0..<kinds.count, using: &self.rng)]
            m = [
                ("pid", true, { [p = self.platform] w, _ in w.int(p) }),
                ("wa", true, { [a = self.address] w, _ in w.string(a) }),
                ("tp", true, { w, _ in w.string(kind) }),
                ("ts", true, { w, _ in w.int(eventTime + 803) }),
                ("bh", false, { w, c in w.int(Int64.random(in: 30_000_000...420_000_000, using: &c.rng)) }),
            ]
            switch kind {
            case "token_balance":
                m += [
                    ("a", false, { w, c in w.string(c.platform == 16 ? c.base58(44) : c.evm()) }),
                    ("b", false, { w, c in w.double(c.magnitude(1e-3, 1e9)) }),
                    ("hp", false, { w, c in w.double(c.magnitude(1e-4, 20)) }),
                ]
            case "native_balance":
                m.append(("b", false, { w, c in w.double(c.magnitude(1e-3, 1e5)) }))
            case "last_active":
                m.append(("lat", false, { w, _ in w.int(eventTime - 3_600_000) }))
            default:
                m += [
                    ("spot", false, { w, _ in w.int(eventTime - 86_400_000) }),
                    ("spct", false, { w, _ in w.int(eventTime - 3_600_000) }),
                ]
            }
        }
        self.writeObject(m, &w)
    }

    private mutating func writeObject(_ members: [Member], _ w: inout TextWriter) {
        var kept = members.filter { $0.required || !self.chance(self.options.absentRate) }
        if self.options.exotic && self.chance(0.3) { kept.shuffle(using: &self.rng) }
        if self.options.exotic && self.chance(0.15) {
            kept.append(("unknown_\(Int.random(in: 0..<100, using: &self.rng))", false, { w, _ in w.raw(#"[1,"x",{}]"#) }))
        }
        w.object(kept.count) { w, i in
            w.key(kept[i].key)
            if !kept[i].required, self.chance(self.options.nullRate) {
                w.null()
            } else {
                kept[i].write(&w, &self)
            }
        }
    }

    private mutating func tokenWindows(_ w: inout TextWriter) {
        var names = ["1m", "5m", "1h", "4h", "24h"].filter { _ in self.chance(0.6) }
        if names.isEmpty { names = ["24h"] }
        w.array(names.count) { w, i in
            let name = names[i]
            var m: [Member] = [("win", true, { w, _ in w.string(name) })]
            for k in ["vn", "vu", "bvu", "svu", "bvn", "svn"] {
                m.append((k, false, { w, c in w.double(c.magnitude(10, 5e7)) }))
            }
            m.append(("pc", false, { w, c in w.double(c.percent()) }))
            for k in ["txs", "bc", "sc", "ut", "but", "sut"] {
                m.append((k, false, { w, c in w.int(Int64.random(in: 0..<30_000, using: &c.rng)) }))
            }
            m.append(("h", false, { w, c in w.double(c.magnitude(1e-6, 5000)) }))
            m.append(("l", false, { w, c in w.double(c.magnitude(1e-6, 5000)) }))
            self.writeObject(m, &w)
        }
    }

    private mutating func poolWindow(_ w: inout TextWriter) {
        var m: [Member] = []
        for k in ["bvn", "bvu", "svn", "svu"] { m.append((k, false, { w, c in w.double(c.magnitude(1, 5e6)) })) }
        for k in ["ut", "but", "sut"] { m.append((k, false, { w, c in w.int(Int64.random(in: 0..<2000, using: &c.rng)) })) }
        self.writeObject(m, &w)
    }

    // MARK: - Values

    private mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self.rng) < p }

    /// A log-uniform value in [lo, hi): full-precision doubles across magnitudes.
    private mutating func magnitude(_ lo: Double, _ hi: Double) -> Double {
        let e = Double.random(in: lo.log10()..<hi.log10(), using: &self.rng)
        return Double.pow10(e)
    }

    private mutating func percent() -> Double { Double.random(in: -60..<150, using: &self.rng) }
    private mutating func small() -> Double { Double.random(in: -0.02..<0.02, using: &self.rng) }

    private mutating func evm(_ hexDigits: Int = 40) -> String {
        let hex = Array("0123456789abcdef")
        return "0x" + String((0..<hexDigits).map { _ in hex[Int.random(in: 0..<16, using: &self.rng)] })
    }

    private mutating func base58(_ n: Int) -> String {
        let alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")
        return String((0..<n).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &self.rng)] })
    }

    private mutating func symbol() -> String {
        let symbols = ["USDC", "USDT", "WBNB", "Cake", "WETH", "SOL", "PEPE", "MAT", "DOGE", "ARB", "JUP", "BONK"]
        let s = symbols[Int.random(in: 0..<symbols.count, using: &self.rng)]
        if self.options.exotic && self.chance(0.1) { return s + "\u{1F680}é\"\\/\n" }
        return s
    }
}

extension Double {
    fileprivate func log10() -> Double { _log10(self) }
    fileprivate static func pow10(_ e: Double) -> Double { _pow10(e) }
}

#if canImport(Glibc)
import Glibc
private func _log10(_ x: Double) -> Double { Glibc.log10(x) }
private func _pow10(_ e: Double) -> Double { Glibc.pow(10, e) }
#else
import Foundation
private func _log10(_ x: Double) -> Double { Foundation.log10(x) }
private func _pow10(_ e: Double) -> Double { Foundation.pow(10, e) }
#endif

// MARK: - TextWriter

/// Writes JSON text; with `exotic`, varies whitespace, escapes and number forms the way other servers might.
struct TextWriter {
    var bytes: [UInt8] = []
    let exotic: Bool
    var rng: SplitMix64
    private var pretty = false
    private var depth = 0

    init(exotic: Bool, rng: SplitMix64) {
        self.exotic = exotic
        self.rng = rng
        self.bytes.reserveCapacity(640)
        if exotic { self.pretty = Double.random(in: 0..<1, using: &self.rng) < 0.2 }
    }

    private mutating func space() {
        guard self.exotic else { return }
        if self.pretty {
            self.bytes.append(0x0A)
            self.bytes.append(contentsOf: repeatElement(0x20, count: self.depth * 2))
        } else if Double.random(in: 0..<1, using: &self.rng) < 0.1 {
            self.bytes.append(contentsOf: [[0x20], [0x09], [0x0D, 0x0A], [0x20, 0x20]][Int.random(in: 0..<4, using: &self.rng)])
        }
    }

    mutating func object(_ count: Int, _ member: (inout TextWriter, Int) -> Void) {
        self.bytes.append(UInt8(ascii: "{"))
        self.depth += 1
        for i in 0..<count {
            if i > 0 { self.bytes.append(UInt8(ascii: ",")) }
            self.space()
            member(&self, i)
        }
        self.depth -= 1
        self.space()
        self.bytes.append(UInt8(ascii: "}"))
    }

    mutating func array(_ count: Int, _ element: (inout TextWriter, Int) -> Void) {
        self.bytes.append(UInt8(ascii: "["))
        self.depth += 1
        for i in 0..<count {
            if i > 0 { self.bytes.append(UInt8(ascii: ",")) }
            self.space()
            element(&self, i)
        }
        self.depth -= 1
        self.space()
        self.bytes.append(UInt8(ascii: "]"))
    }

    mutating func key(_ k: String) {
        self.string(k, escapeFreely: false)
        self.space()
        self.bytes.append(UInt8(ascii: ":"))
        self.space()
    }

    mutating func int(_ v: Int64) { self.bytes.append(contentsOf: String(v).utf8) }
    mutating func bool(_ v: Bool) { self.bytes.append(contentsOf: (v ? "true" : "false").utf8) }
    mutating func null() { self.bytes.append(contentsOf: "null".utf8) }
    mutating func raw(_ s: String) { self.bytes.append(contentsOf: s.utf8) }

    /// Shortest round-trip digits; with `exotic`, sometimes in exponent form or with extra precision.
    mutating func double(_ v: Double) {
        var text = v.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        if self.exotic, Double.random(in: 0..<1, using: &self.rng) < 0.1, let dot = text.firstIndex(of: "."),
            !text.contains("e")
        {
            // 123.456 -> 1.23456e2 (the same value written in exponent form).
            let intPart = text[..<dot].filter { $0 != "-" }
            let frac = text[text.index(after: dot)...]
            if intPart.count > 1 {
                let sign = v < 0 ? "-" : ""
                text = "\(sign)\(intPart.first!).\(intPart.dropFirst())\(frac)E+\(intPart.count - 1)"
            }
        }
        self.bytes.append(contentsOf: text.utf8)
    }

    mutating func string(_ s: String, escapeFreely: Bool = true) {
        self.bytes.append(UInt8(ascii: "\""))
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": self.bytes.append(contentsOf: [0x5C, 0x22])
            case "\\": self.bytes.append(contentsOf: [0x5C, 0x5C])
            case "\n": self.bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case "/" where self.exotic: self.bytes.append(contentsOf: [0x5C, 0x2F])
            default:
                if scalar.value < 0x20 {
                    self.bytes.append(contentsOf: Array(String(format4: scalar.value).utf8))
                } else if self.exotic && escapeFreely && (scalar.value > 0x7F || Double.random(in: 0..<1, using: &self.rng) < 0.01) {
                    // \u escapes, as UTF-16 code units (surrogate pairs above the BMP).
                    for unit in String(scalar).utf16 { self.bytes.append(contentsOf: Array(String(format4: UInt32(unit)).utf8)) }
                } else {
                    self.bytes.append(contentsOf: Array(String(scalar).utf8))
                }
            }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }
}

extension String {
    /// `\uXXXX` for a UTF-16 code unit.
    fileprivate init(format4 v: UInt32) {
        let hex = Array("0123456789ABCDEF")
        self = "\\u" + String([hex[Int(v >> 12) & 15], hex[Int(v >> 8) & 15], hex[Int(v >> 4) & 15], hex[Int(v) & 15]])
    }
}
