// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
import StreamKit

// MARK: - Theory of operation
//
// Every price in the simulated market comes from a *path*: a Brownian motion in log price whose value at any second
// is a pure function of (seed, asset, time). It is built by midpoint displacement (Lévy's construction): the
// value at the midpoint of a dyadic interval is the mean of its end values plus a Gaussian of variance length/4,
// the Gaussian drawn from a hash of the midpoint. So the price 24 h, 30 d or a year ago costs 33 hashes, needs no
// stored history, and is the same whenever it is asked for: the history is "generated lazily per asset from the
// seed", with nothing kept per asset but a handful of constants. Each path is anchored at the reference's example
// time (`Path.referenceMS`, the official examples' `ts`), where it passes through the asset's reference price
// (BTC 81187.93 as in the official example), so the examples' orders of magnitude hold around the present.

/// A hash of two words (SplitMix64's finaliser over `a + b·φ`).
@inline(__always)
func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
    var z = a &+ (b &+ 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A hash of a string (FNV-1a, then mixed).
func hashString(_ s: String, _ salt: UInt64) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
    return mix(h, salt)
}

/// A unit-variance, zero-mean variate from one hash: the Irwin–Hall sum of four 16-bit uniforms, rescaled. Bounded
/// (±3.46), cheap (no transcendental function), and close enough to Gaussian for a market path.
@inline(__always)
func gauss(_ h: UInt64) -> Double {
    let s = Double(h & 0xFFFF) + Double((h >> 16) & 0xFFFF) + Double((h >> 32) & 0xFFFF) + Double(h >> 48)
    return (s / 65536 - 2) * 1.732_050_807_568_877_2
}

/// A uniform variate in [0, 1) from one hash.
@inline(__always)
func unit(_ h: UInt64) -> Double { Double(h >> 11) / Double(1 << 53) }

/// Brownian paths on a dyadic grid of seconds.
enum Path {
    /// Origin of every path: 2009-01-01T00:00:00Z, in epoch seconds.
    static let originS: Int64 = 1_230_768_000
    /// 2^33 s (about 272 years) from the origin.
    static let levels = 33
    /// The official examples' `ts` (epoch ms), where every path passes through its asset's reference price.
    static let referenceMS: Int64 = 1_778_663_880_111
    /// sqrt(2^k)/2: the standard deviation of a midpoint displacement over an interval of 2^k seconds.
    static let halfRoots: [Double] = (0...33).map { sqrt(Double(UInt64(1) << UInt64($0))) / 2 }

    /// W(t): standard Brownian motion (variance t, in seconds) of path `key` at epoch-ms time `ms`, at one-second
    /// resolution.
    static func w(_ key: UInt64, _ ms: Int64) -> Double {
        let x = UInt64(clamping: max(0, ms / 1000 - originS))
        var lo: UInt64 = 0
        var hi: UInt64 = 1 << 33
        var wlo = 0.0
        var whi = gauss(mix(key, hi)) * halfRoots[33] * 2
        if x >= hi { return whi }
        var level = 33
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            let wmid = (wlo + whi) * 0.5 + gauss(mix(key, mid)) * halfRoots[level]
            level -= 1
            if x < mid {
                hi = mid
                whi = wmid
            } else {
                lo = mid
                wlo = wmid
            }
            if x == lo { return wlo }
        }
        return x == lo ? wlo : whi
    }
}

// MARK: - Assets

/// One priced asset: a CMC id on `market@crypto_latest_price`, or a token's fundamental USD price on-chain.
struct Asset: Sendable {
    /// The path's key (seed and asset mixed).
    let key: UInt64
    /// Price at ``Path/referenceMS``.
    let reference: Double
    /// Log-price volatility per square-root second.
    let sigma: Double
    /// Pinned near 1 (a stablecoin): the price is 1 ± 0.15 %, a squashed path, not an exponential one.
    let stable: Bool
    /// Price at listing: `pall` is measured against it [INF: CMC's all-time change is against the first price].
    let listing: Double
    /// Circulating supply (constant: `mc = p × cs`, and `fdv24h = p24h`).
    let supply: Double
    /// Typical 24 h volume in USD.
    let volume: Double
    /// W at the reference time.
    let w0: Double

    init(key: UInt64, reference: Double, dailyVolatility: Double, stable: Bool, listing: Double, supply: Double, volume: Double) {
        self.key = key
        self.reference = reference
        self.sigma = dailyVolatility / 86_400.0.squareRoot()
        self.stable = stable
        self.listing = listing
        self.supply = supply
        self.volume = volume
        self.w0 = Path.w(key, Path.referenceMS)
    }

    /// The USD price at epoch-ms `ms`.
    func price(_ ms: Int64) -> Double {
        let dw = Path.w(self.key, ms) - self.w0
        if self.stable { return self.reference * (1 + 0.0015 * tanh(dw * 0.5 / 86_400.0.squareRoot())) }
        return self.reference * exp(self.sigma * dw)
    }

    /// The 24 h volume at `ms`: the asset's typical volume, times a slow factor of its own path (±25 %), times
    /// one plus four times the absolute 24 h log return (a moving market trades more) [INF].
    func volume24h(_ ms: Int64, change24h r: Double) -> Double {
        let slow = Path.w(self.key ^ 0x5EED_F00D, ms) / 86_400.0.squareRoot() / 4
        return self.volume * exp(0.25 * tanh(slow)) * (1 + 4 * abs(r))
    }
}

/// The rank table and the listed assets of `market@crypto_latest_price`.
///
/// The reference's common ids (its §1.9 list) rank at the top, in the order below. Every other id ranks after
/// them in id order (rank = 10 + id − the listed ids below it) [INF: CMC ranks by market cap, which the reference
/// does not give; older, smaller ids tend to rank higher]. So ids 2 ... 499 or so are "top 500" and push every
/// ~5 s; larger ids push every ~15 s. Volatility by class: the listed majors their own (2.5–6 % a day),
/// stablecoins pinned near 1, ranks 11–100 4.5 %, 101–500 6 %, the rest 10 % a day.
enum Listing {
    struct Entry {
        let id: Int64
        let symbol: String
        let price: Double
        let supply: Double
        let volatility: Double
        let volume: Double
        let listing: Double
    }

    /// Ranks 1 ... 10, reference prices near the examples' time (BTC's and its `pall` are the official example's).
    static let top: [Entry] = [
        Entry(id: 1, symbol: "BTC", price: 81_187.932_847_883_71, supply: 20_028_706, volatility: 0.025, volume: 29_932_025_976.79,
              listing: 81_187.932_847_883_71 / (1 + 131_301_167.420_031_32 / 100)),
        Entry(id: 1027, symbol: "ETH", price: 3124.117741, supply: 120_700_000, volatility: 0.035, volume: 15e9, listing: 2.83),
        Entry(id: 825, symbol: "USDT", price: 1, supply: 160e9, volatility: 0, volume: 60e9, listing: 1),
        Entry(id: 52, symbol: "XRP", price: 2.21, supply: 59e9, volatility: 0.045, volume: 2.5e9, listing: 0.005874),
        Entry(id: 1839, symbol: "BNB", price: 612.4, supply: 140_900_000, volatility: 0.03, volume: 1.8e9, listing: 0.1097),
        Entry(id: 5426, symbol: "SOL", price: 148.3, supply: 520e6, volatility: 0.05, volume: 3.5e9, listing: 0.9516),
        Entry(id: 3408, symbol: "USDC", price: 1, supply: 62e9, volatility: 0, volume: 8e9, listing: 1),
        Entry(id: 74, symbol: "DOGE", price: 0.171, supply: 149e9, volatility: 0.06, volume: 1.2e9, listing: 0.0002),
        Entry(id: 2010, symbol: "ADA", price: 0.68, supply: 36e9, volatility: 0.05, volume: 6e8, listing: 0.02),
        Entry(id: 6636, symbol: "DOT", price: 4.35, supply: 1.6e9, volatility: 0.055, volume: 2.5e8, listing: 2.94),
    ]
    static let listedIDs: [Int64] = top.map(\.id).sorted()

    /// CMC rank of `id` (1 = BTC).
    static func rank(_ id: Int64) -> Int64 {
        if let i = top.firstIndex(where: { $0.id == id }) { return Int64(i + 1) }
        var below: Int64 = 0
        for listed in listedIDs where listed < id { below += 1 }
        return 10 + id - below
    }

    /// Push period of `id` in simulated ms: ~5 s for the top 500 by rank, ~15 s for the rest (the channel index).
    static func periodMS(_ id: Int64) -> Int64 { rank(id) <= 500 ? 5000 : 15_000 }

    /// The asset of `id` in the market seeded `seed`.
    static func asset(_ id: Int64, seed: UInt64) -> Asset {
        let key = mix(seed, UInt64(bitPattern: id) &* 0x1_0000_0001)
        if let e = top.first(where: { $0.id == id }) {
            return Asset(key: key, reference: e.price, dailyVolatility: e.volatility == 0 ? 1 : e.volatility,
                         stable: e.volatility == 0, listing: e.listing, supply: e.supply, volume: e.volume)
        }
        let r = rank(id)
        var h = SplitMix64(seed: key)
        let price = exp(log(1e-3) + (log(200.0) - log(1e-3)) * unit(h.next()))
        let supply = exp(log(1e7) + (log(1e11) - log(1e7)) * unit(h.next()))
        let turnover = exp(log(0.01) + (log(0.2) - log(0.01)) * unit(h.next()))
        let listing = price * exp(log(0.01) + (log(3.0) - log(0.01)) * unit(h.next()))
        let volatility = r <= 100 ? 0.045 : r <= 500 ? 0.06 : 0.10
        return Asset(key: key, reference: price, dailyVolatility: volatility, stable: false, listing: listing,
                     supply: supply, volume: price * supply * turnover)
    }
}

// MARK: - Calendar

/// Epoch ms of 00:00 UTC on 1 January of the year containing `ms` (for `pytd`).
func yearStartMS(_ ms: Int64) -> Int64 {
    var days = ms / 86_400_000
    if ms < 0 && ms % 86_400_000 != 0 { days -= 1 }
    // The civil year, then days from civil (y, 1, 1) (Howard Hinnant's algorithm).
    let y = civilDate(days: days).year
    // Days from civil for (y, 1, 1): January counts in the previous "March year".
    let yy = y - 1
    let era2 = (yy >= 0 ? yy : yy - 399) / 400
    let yoe2 = yy - era2 * 400
    let doy2: Int64 = (153 * (1 + 9) + 2) / 5  // month 1 → mp 10
    let doe2 = yoe2 * 365 + yoe2 / 4 - yoe2 / 100 + doy2
    return (era2 * 146_097 + doe2 - 719_468) * 86_400_000
}

// MARK: - Addresses

enum Address {
    static let hexDigits = Array("0123456789abcdef".utf8)
    static let base58Digits = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    /// `0x` and 40 (an address) or 64 (a tx hash) lowercase hex digits from a hash.
    static func hex(_ h: UInt64, digits: Int) -> String {
        var bytes = [UInt8](repeating: 0, count: digits + 2)
        bytes[0] = UInt8(ascii: "0")
        bytes[1] = UInt8(ascii: "x")
        var word = h
        var n: UInt64 = 0
        for i in 0..<digits {
            if i % 16 == 0 {
                n &+= 1
                word = mix(h, n)
            }
            bytes[i + 2] = hexDigits[Int(word & 0xF)]
            word >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Base58 (Bitcoin's alphabet, as Solana writes keys and signatures) of `count` bytes drawn from a hash: 32 for
    /// an address, 64 for a transaction signature.
    static func base58(_ h: UInt64, count: Int) -> String {
        var input = [UInt8](repeating: 0, count: count)
        var word = h
        for i in 0..<count {
            if i % 8 == 0 { word = mix(h, UInt64(i)) }
            input[i] = UInt8(truncatingIfNeeded: word)
            word >>= 8
        }
        input[0] |= 1  // no leading zero bytes: the encoding has its usual length
        var digits = [UInt8](repeating: 0, count: count * 138 / 100 + 1)
        var length = 0
        for byte in input {
            var carry = Int(byte)
            var i = 0
            while i < length || carry != 0 {
                if i < length { carry += 256 * Int(digits[i]) }
                digits[i] = UInt8(carry % 58)
                carry /= 58
                i += 1
            }
            length = i
        }
        var out = [UInt8](repeating: 0, count: length)
        for i in 0..<length { out[i] = base58Digits[Int(digits[length - 1 - i])] }
        return String(decoding: out, as: UTF8.self)
    }

    /// An address on `platform`: base58 on Solana (16), 0x-hex elsewhere.
    static func make(_ h: UInt64, platform: Int64) -> String {
        platform == 16 ? base58(h, count: 32) : hex(h, digits: 40)
    }

    /// A transaction hash on `platform`: a base58 signature on Solana, 0x and 64 hex digits elsewhere.
    static func tx(_ h: UInt64, platform: Int64) -> String {
        platform == 16 ? base58(h, count: 64) : hex(h, digits: 64)
    }
}

// MARK: - Platforms

/// What the market knows of a DEX platform: its block time, a block height at the reference time, and the quote
/// assets its pools trade against (wrapped native coin, USDT, USDC, with the CMC id whose path prices each).
enum Platform {
    struct Quote {
        let address: String
        let symbol: String
        let cryptoID: Int64
    }

    static func blockMS(_ platform: Int64) -> Int64 {
        switch platform {
        case 1: 12_000
        case 14: 3000
        case 16: 400
        case 51: 250
        default: 2000
        }
    }

    /// Block height at ``Path/referenceMS`` (BSC's and Solana's are the official examples').
    static func referenceHeight(_ platform: Int64) -> Int64 {
        switch platform {
        case 1: 24_950_000
        case 14: 98_011_237
        case 16: 416_995_858
        case 51: 412_000_000
        case 199: 36_400_000
        default: 10_000_000
        }
    }

    /// The block height at `ms`.
    static func height(_ platform: Int64, _ ms: Int64) -> Int64 {
        referenceHeight(platform) + (ms - Path.referenceMS) / blockMS(platform)
    }

    /// The quote assets of `platform`, wrapped native first.
    static func quotes(_ platform: Int64) -> [Quote] {
        switch platform {
        case 1:
            [Quote(address: "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", symbol: "WETH", cryptoID: 1027),
             Quote(address: "0xdac17f958d2ee523a2206206994597c13d831ec7", symbol: "USDT", cryptoID: 825),
             Quote(address: "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", symbol: "USDC", cryptoID: 3408)]
        case 14:
            [Quote(address: "0xbb4cdb9cbd36b01bd1cbaebf2de08d9173bc095c", symbol: "WBNB", cryptoID: 1839),
             Quote(address: "0x55d398326f99059ff775485246999027b3197955", symbol: "USDT", cryptoID: 825),
             Quote(address: "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d", symbol: "USDC", cryptoID: 3408)]
        case 16:
            [Quote(address: "So11111111111111111111111111111111111111112", symbol: "SOL", cryptoID: 5426),
             Quote(address: "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB", symbol: "USDT", cryptoID: 825),
             Quote(address: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", symbol: "USDC", cryptoID: 3408)]
        case 51:
            [Quote(address: "0x82af49447d8a07e3bd95bd0d56f35241523fbab1", symbol: "WETH", cryptoID: 1027),
             Quote(address: "0xfd086bc7cd5c481dcc9c85ebe478a1c0b69fcbb9", symbol: "USDT", cryptoID: 825),
             Quote(address: "0xaf88d065e77c8cc2239327c5edb3a432268e5831", symbol: "USDC", cryptoID: 3408)]
        case 199:
            [Quote(address: "0x4200000000000000000000000000000000000006", symbol: "WETH", cryptoID: 1027),
             Quote(address: "0xfde4c96c8593536e31f229ea8f37b2ada2699bb2", symbol: "USDT", cryptoID: 825),
             Quote(address: "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913", symbol: "USDC", cryptoID: 3408)]
        default:
            // A platform the table does not know: synthetic wrapped native (priced as ETH) and stables.
            [Quote(address: Address.make(mix(UInt64(bitPattern: platform), 1), platform: platform), symbol: "WNATIVE", cryptoID: 1027),
             Quote(address: Address.make(mix(UInt64(bitPattern: platform), 2), platform: platform), symbol: "USDT", cryptoID: 825),
             Quote(address: Address.make(mix(UInt64(bitPattern: platform), 3), platform: platform), symbol: "USDC", cryptoID: 3408)]
        }
    }

    /// The quote a token's pool trades against, a property of the chain (not of the seed): a quote asset trades
    /// against the next one in the list (WBNB/USDT, USDT/USDC, USDC/WBNB); any other token against the wrapped
    /// native coin (60 %), USDT (25 %) or USDC (15 %), by a hash of its address.
    static func quote(for address: String, platform: Int64) -> Quote {
        let qs = quotes(platform)
        if let i = qs.firstIndex(where: { $0.address == address }) { return qs[(i + 1) % qs.count] }
        let u = unit(hashString(address, UInt64(bitPattern: platform)))
        return u < 0.6 ? qs[0] : u < 0.85 ? qs[1] : qs[2]
    }
}
