// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
public import StreamKit

// MARK: - Theory of operation
//
// One market per simulator process, shared by every connection. It is sans-I/O: simulated time (epoch ms, the
// simulator's clock, see `SimulatedClock`) comes in as `now`; the frames to push come out, each with the
// subscription it is for, and the server fans each out to every connection subscribed to it. So two connections
// watching one target receive the same frame (same `ts`, same values), and a reconnect finds the market where it
// left it.
//
// Inputs, outputs and polling order:
//   handleSubscribe / handleUnsubscribe (one per connection and subscription: the market counts watchers)
//   advance(to: now)                    generates every event up to `now`
//   pollPushes(into:)                   the frames those events made, in order
//   renderNow(_:peers:now:)             load mode and payload faults: one push of a subscription, now
//
// What is in it:
// - CEX prices (`market@crypto_latest_price`): one path per id (MarketPaths.swift). Every field follows from it:
//   `p` is the path now, `p24h` ... `p1y` and `pytd` the change against the path that long ago, `pall` against the
//   listing price, `vu` the 24 h volume from the path, `mc = p × cs`, `fdv24h = p24h`. Cadence by rank (`Listing`).
// - On-chain, per token one constant-product pool against a quote asset of its platform (wrapped native, USDT or
//   USDC, each priced by its CMC id's path, so the quote is not always $1). A token's fundamental USD price is a
//   path of its own; swaps arrive as a Poisson process per pool, partly arbitrage toward the fundamental, partly
//   noise, and each moves the pool's price. Volatility is therefore the path's, whatever is subscribed. Every swap
//   is one `onchain@transaction` event (pushed on both tokens' subscriptions, one `tx`) and one
//   `onchain@token_agg_event`. Liquidity events (add, remove, migrate) change the reserves. Candles, unique
//   traders and the rolling windows are built from the pool's trades: per-interval candles, per-minute and
//   per-hour buckets, and each trader's last buy and sell time. Holders evolve with the trades.
// - A pool's history starts `warmUpMS` before it is first watched (simulated silently then), so its windows are
//   full from the first push up to that length; a pool nobody watches is frozen and, watched again, catches up on
//   the time it missed (at most 24 h), drawing the same trades it would have drawn had it run throughout.

/// The simulated market: every channel's data, coherent across channels and connections, deterministic for a seed.
///
/// ```swift
/// var market = MarketModel(seed: 42)
/// market.handleSubscribe(.cryptoLatestPrice(1), now: t)
/// market.advance(to: t + 10_000)
/// var pushes: [MarketModel.Push] = []
/// market.pollPushes(into: &pushes)   // BTC's price pushes at t + 200 and t + 5200
/// ```
public struct MarketModel: Sendable {
    /// One frame to send to every connection subscribed to ``subscription``.
    public struct Push: Sendable {
        /// Whom it is for.
        public var subscription: Subscription
        /// The whole `data` frame.
        public var text: String
        /// The market event it belongs to: both token legs of one swap share it.
        public var event: Int
        /// Simulated time of the event (the envelope's `ts`).
        public var time: Int64
    }

    /// How much history a pool has when it is first watched: 4 h of trades [a choice: longer costs start-up time;
    /// the 24 h and 7 d windows hold what the pool has traded since].
    public static let warmUpMS: Int64 = 4 * 3_600_000
    /// The most a frozen pool catches up when it is watched again.
    static let catchUpMS: Int64 = 24 * 3_600_000
    /// Delay from the first subscription of a target to its first push (price, metrics, holders).
    static let firstPushMS: Int64 = 200

    private let seed: UInt64
    private var refs: [Subscription: Int] = [:]
    private var cex: [Int64: Asset] = [:]
    private var feeds: [(id: Int64, next: Int64)] = []
    private var snapshots: [Snapshot] = []
    private var pools: [Pool] = []
    private var poolByToken: [TokenKey: Int] = [:]
    private var poolByAddress: [TokenKey: Int] = [:]
    private var wallets: [Wallet] = []
    private var walletIndex: [TokenKey: Int] = [:]
    private var outbox: [Push] = []
    private var nextEvent = 0

    public init(seed: UInt64) { self.seed = seed }

    // MARK: - Inputs

    /// One connection subscribed `s` at simulated `now`. The target's first push follows (prices, metrics and
    /// holders after ``firstPushMS``, klines and unique traders at the next interval close, swaps as they come).
    public mutating func handleSubscribe(_ s: Subscription, now: Int64) {
        let count = self.refs[s, default: 0]
        self.refs[s] = count + 1
        guard count == 0 else { return }
        switch (s.channel, s.target) {
        case (.cryptoLatestPrice, .crypto(let id)):
            _ = self.asset(id)
            if !self.feeds.contains(where: { $0.id == id }) { self.feeds.append((id, now + Self.firstPushMS)) }
        case (.holderWalletUpdate, .address(let platform, let address)):
            _ = self.wallet(TokenKey(platform: platform, address: address), now: now)
            self.addSnapshot(s, now: now)
        case (.poolMetric, .address(let platform, let address)):
            let i = self.pool(address: TokenKey(platform: platform, address: address), now: now)
            self.watch(i, now: now)
            self.addSnapshot(s, now: now)
        case (_, .address(let platform, let address)):
            let i = self.pool(token: TokenKey(platform: platform, address: address), now: now)
            self.watch(i, now: now)
            if s.channel == .kline || s.channel == .uniqueTrader {
                let ms = Self.intervalMS(s.interval)
                // Unique traders are counted as trades come (a maker's first trade in the interval); the interval
                // in progress is counted once, here.
                let distinct = s.channel == .uniqueTrader ? self.distinctTraders(i, since: now / ms * ms) : 0
                self.pools[i].closes.append(Close(subscription: s, intervalMS: ms, next: (now / ms + 1) * ms, distinct: distinct))
            }
            if s.channel == .tokenMetric || s.channel == .holdersMetrics { self.addSnapshot(s, now: now) }
        default:
            break
        }
    }

    /// One connection unsubscribed `s` (or closed).
    public mutating func handleUnsubscribe(_ s: Subscription, now: Int64) {
        guard let count = self.refs[s] else { return }
        if count > 1 {
            self.refs[s] = count - 1
            return
        }
        self.refs[s] = nil
        switch (s.channel, s.target) {
        case (.cryptoLatestPrice, .crypto(let id)):
            self.feeds.removeAll { $0.id == id }
        case (.holderWalletUpdate, _):
            self.snapshots.removeAll { $0.subscription == s }
        case (.poolMetric, .address(let platform, let address)):
            self.snapshots.removeAll { $0.subscription == s }
            if let i = self.poolByAddress[TokenKey(platform: platform, address: address)] { self.unwatch(i, now: now) }
        case (_, .address(let platform, let address)):
            guard let i = self.poolByToken[TokenKey(platform: platform, address: address)] else { return }
            self.pools[i].closes.removeAll { $0.subscription == s }
            self.snapshots.removeAll { $0.subscription == s }
            self.unwatch(i, now: now)
        default:
            break
        }
    }

    /// Generates every event up to simulated `now`: price pushes due, each watched pool's swaps, liquidity events
    /// and interval closes, metric and holder updates due.
    public mutating func advance(to now: Int64) {
        for f in self.feeds.indices {
            var due = self.feeds[f].next
            guard due <= now else { continue }
            let id = self.feeds[f].id
            let period = Listing.periodMS(id)
            // Far behind (a stalled server): one push for the latest due time, not a burst of stale ones.
            if (now - due) / period > 8 { due += (now - due) / period * period }
            while due <= now {
                self.emitPrice(id, at: due)
                due += period
            }
            self.feeds[f].next = due
        }
        for i in self.pools.indices where self.pools[i].watchers > 0 { self.advancePool(i, to: now, emit: true) }
        for k in self.snapshots.indices where self.snapshots[k].next <= now {
            let s = self.snapshots[k].subscription
            let text = self.snapshot(s, now: now)
            self.push(s, text, event: self.newEvent(), time: now)
            self.snapshots[k].next = now + max(1, Int64(self.snapshots[k].rng.exponential(mean: self.snapshots[k].meanMS)))
        }
    }

    /// Moves the frames made so far to `buffer` (appended), in the order the market made them.
    public mutating func pollPushes(into buffer: inout [Push]) {
        buffer.append(contentsOf: self.outbox)
        self.outbox.removeAll(keepingCapacity: true)
    }

    /// One push of `s` at `now`, outside the channels' own cadence: the load mode's and the payload faults'. A
    /// price, metric or holder push is the state at `now`; a swap, liquidity or aggregate push is a new trade (or
    /// liquidity event) of the pool at `now`, with a frame for every subscription in `peers` that names its other
    /// token; a kline or unique-trader push is the interval in progress. The frames are returned, not queued.
    public mutating func renderNow(_ s: Subscription, peers: [Subscription], now: Int64) -> [Push] {
        let event = self.newEvent()
        switch (s.channel, s.target) {
        case (.cryptoLatestPrice, .crypto(let id)):
            return [Push(subscription: s, text: Self.frame(s, self.priceData(id, at: now), now), event: event, time: now)]
        case (.transaction, .address(let platform, let address)), (.liquidityEvent, .address(let platform, let address)),
            (.tokenAggEvent, .address(let platform, let address)):
            let i = self.pool(token: TokenKey(platform: platform, address: address), now: now)
            // Up to now first (silently: in load mode nobody polls; in cadence mode the server has just advanced
            // the market), so the trade comes after every earlier one.
            self.advancePool(i, to: now, emit: false)
            let t = max(now, self.pools[i].time)
            let data = s.channel == .liquidityEvent ? self.liquidity(i, at: t) : self.swap(i, at: t)
            self.pools[i].time = t
            guard s.channel != .tokenAggEvent else {
                return [Push(subscription: s, text: Self.frame(s, self.aggData(i, at: t), t), event: event, time: t)]
            }
            var out = [Push(subscription: s, text: Self.frame(s, data, t), event: event, time: t)]
            let p = self.pools[i]
            let other = address == p.baseAddress ? p.quoteAddress : p.baseAddress
            for peer in peers where peer != s && peer.channel == s.channel && peer.target == .address(platformID: platform, address: other) {
                out.append(Push(subscription: peer, text: Self.frame(peer, data, t), event: event, time: t))
            }
            return out
        case (.kline, .address(let platform, let address)), (.uniqueTrader, .address(let platform, let address)):
            let i = self.pool(token: TokenKey(platform: platform, address: address), now: now)
            let ms = Self.intervalMS(s.interval)
            let ot = now / ms * ms
            let data = s.channel == .kline ? self.klineData(i, ot: ot, intervalMS: ms) : self.uniqueTraderData(i, ot: ot)
            return [Push(subscription: s, text: Self.frame(s, data, now), event: event, time: now)]
        default:
            return [Push(subscription: s, text: self.snapshot(s, now: now), event: event, time: now)]
        }
    }

    // MARK: - Inspection (tests, tools)

    /// `id`'s USD price on its path at simulated `ms` (what `p` says at that time).
    public mutating func price(cryptoID id: Int64, at ms: Int64) -> Double { self.asset(id).price(ms) }

    /// The CMC rank the simulator gives `id` (the reference's common ids first, then by id).
    public static func rank(cryptoID id: Int64) -> Int64 { Listing.rank(id) }

    /// Simulated ms between two price pushes of `id`: 5000 for the top 500 by rank, else 15 000.
    public static func pricePeriodMS(cryptoID id: Int64) -> Int64 { Listing.periodMS(id) }

    /// The address of the quote asset the pool of token `address` on `platform` trades against (its swaps are
    /// pushed on that address's subscriptions too). EVM addresses lowercased.
    public static func quoteAddress(ofToken address: String, platform: Int64) -> String {
        Platform.quote(for: Subscription.normalizedAddress(address), platform: platform).address
    }

    /// Subscriptions watched by at least one connection.
    public var watchedCount: Int { self.refs.count }

    // MARK: - Cadence

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

    /// The kline intervals every pool keeps a candle for.
    static let klineIntervals: [Int64] = [1000, 5000, 30_000, 60_000, 180_000, 300_000, 900_000, 1_800_000]

    private mutating func addSnapshot(_ s: Subscription, now: Int64) {
        let mean: Double = s.channel == .tokenMetric || s.channel == .poolMetric ? 5000 : 10_000
        let rng = SimRandom(seed: mix(self.seed, hashString(s.description, 0x5AA9)))
        self.snapshots.append(Snapshot(subscription: s, next: now + Self.firstPushMS, meanMS: mean, rng: rng))
    }

    private mutating func newEvent() -> Int {
        self.nextEvent += 1
        return self.nextEvent
    }

    private mutating func push(_ s: Subscription, _ text: String, event: Int, time: Int64) {
        self.outbox.append(Push(subscription: s, text: text, event: event, time: time))
    }

    private func watched(_ s: Subscription?) -> Bool { s.map { self.refs[$0] != nil } ?? false }

    // MARK: - CEX prices

    private mutating func asset(_ id: Int64) -> Asset {
        if let a = self.cex[id] { return a }
        let a = Listing.asset(id, seed: self.seed)
        self.cex[id] = a
        return a
    }

    private mutating func emitPrice(_ id: Int64, at t: Int64) {
        let s = Subscription.cryptoLatestPrice(id)
        self.push(s, Self.frame(s, self.priceData(id, at: t), t), event: self.newEvent(), time: t)
    }

    /// The 14 fields at `t`, every one a function of the path.
    private mutating func priceData(_ id: Int64, at t: Int64) -> String {
        let a = self.asset(id)
        let p = a.price(t)
        func change(_ back: Int64) -> Double { (p / a.price(t - back) - 1) * 100 }
        let day: Int64 = 86_400_000
        let p24 = change(day)
        var out = "{"
        out.reserveCapacity(320)
        out += #""cid":\#(id),"p":\#(Self.fmt(p)),"vu":\#(Self.fmt(a.volume24h(t, change24h: log(1 + p24 / 100))))"#
        // Occasionally null [DOC: "numeric fields may be null when unavailable"].
        out += unit(mix(a.key, UInt64(bitPattern: t))) < 0.02 ? #","mc":null"# : #","mc":\#(Self.fmt(p * a.supply))"#
        out += #","cs":\#(Self.fmt(a.supply)),"p24h":\#(Self.fmt(p24)),"p7d":\#(Self.fmt(change(7 * day)))"#
        out += #","p30d":\#(Self.fmt(change(30 * day))),"p60d":\#(Self.fmt(change(60 * day)))"#
        // p3m: 90 days [INF]; pytd: against 1 January 00:00 UTC of the current year; pall: against the listing.
        out += #","p3m":\#(Self.fmt(change(90 * day))),"p1y":\#(Self.fmt(change(365 * day)))"#
        out += #","pytd":\#(Self.fmt((p / a.price(yearStartMS(t)) - 1) * 100)),"pall":\#(Self.fmt((p / a.listing - 1) * 100))"#
        out += #","fdv24h":\#(Self.fmt(p24))}"#  // constant supply: the FDV's 24 h change is the price's
        return out
    }

    // MARK: - Pools

    private mutating func pool(token: TokenKey, now: Int64) -> Int {
        if let i = self.poolByToken[token] { return i }
        let poolAddress = Address.make(hashString(token.address, UInt64(bitPattern: token.platform) ^ 0x9001), platform: token.platform)
        return self.makePool(base: token, address: TokenKey(platform: token.platform, address: poolAddress), now: now)
    }

    /// The pool at `address`; one the market does not know is a pool of a token of its own (an address drawn from
    /// the pool's) [INF: a client names any pool it likes].
    private mutating func pool(address: TokenKey, now: Int64) -> Int {
        if let i = self.poolByAddress[address] { return i }
        let token = Address.make(hashString(address.address, UInt64(bitPattern: address.platform) ^ 0x70CE), platform: address.platform)
        return self.makePool(base: TokenKey(platform: address.platform, address: token), address: address, now: now)
    }

    private mutating func makePool(base: TokenKey, address: TokenKey, now: Int64) -> Int {
        let platform = base.platform
        let quote = Platform.quote(for: base.address, platform: platform)
        let key = mix(self.seed, hashString(address.address, UInt64(bitPattern: platform)))
        var rng = SimRandom(seed: key)
        let quotes = Platform.quotes(platform)
        let baseAsset: Asset
        let baseSymbol: String
        if let known = quotes.first(where: { $0.address == base.address }) {
            baseAsset = self.asset(known.cryptoID)
            baseSymbol = known.symbol
        } else {
            let h = hashString(base.address, UInt64(bitPattern: platform) ^ 0x7070)
            baseAsset = Asset(key: mix(self.seed, h), reference: rng.logUniform(1e-4, 50), dailyVolatility: rng.logUniform(0.05, 0.2),
                              stable: false, listing: 1, supply: rng.logUniform(1e8, 1e12), volume: 0)
            let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
            var hh = h
            baseSymbol = String(decoding: (0..<(3 + Int(h % 3))).map { _ in
                hh = mix(hh, 7)
                return letters[Int(hh % 26)]
            }, as: UTF8.self)
        }
        let quoteAsset = self.asset(quote.cryptoID)
        let start = now - Self.warmUpMS
        let tvl = rng.logUniform(2e5, 5e7)
        let spot = baseAsset.price(start) / quoteAsset.price(start)
        let rq = tvl / 2 / quoteAsset.price(start)
        let factories = (0..<2).map { Address.make(mix(UInt64(bitPattern: platform), 100 + UInt64($0)), platform: platform) }
        func sub(_ c: StreamKit.Channel, _ a: String) -> Subscription? { try? Subscription(channel: c, target: .address(platformID: platform, address: a)) }
        var pool = Pool(
            key: key, platform: platform, address: address.address, factory: factories[Int(key % 2)],
            baseAddress: base.address, quoteAddress: quote.address, baseSymbol: baseSymbol, quoteSymbol: quote.symbol,
            baseIs0: base.address < quote.address, base: baseAsset, quote: quoteAsset, rb: rq / spot, rq: rq,
            rng: rng, time: start,
            // A quote asset's own pool (WBNB/USDT, ...) is busier than a token's.
            swapMeanMS: quotes.contains { $0.address == base.address } ? rng.logUniform(600, 2500) : rng.logUniform(1500, 8000), liquidityMeanMS: rng.logUniform(10_000, 40_000),
            makers: 1024 << Int(key % 4), aggregate: 1 + rng.uniform(0, 1.5))
        pool.txBase = sub(.transaction, base.address)
        pool.txQuote = sub(.transaction, quote.address)
        pool.liqBase = sub(.liquidityEvent, base.address)
        pool.liqQuote = sub(.liquidityEvent, quote.address)
        pool.agg = sub(.tokenAggEvent, base.address)
        pool.lastAny = [UInt32](repeating: 0, count: pool.makers)
        pool.lastBuy = pool.lastAny
        pool.lastSell = pool.lastAny
        pool.nextSwap = start + Int64(pool.rng.exponential(mean: pool.swapMeanMS))
        pool.nextLiquidity = start + Int64(pool.rng.exponential(mean: pool.liquidityMeanMS))
        pool.lastPrice = baseAsset.price(start)
        pool.holders = Holders(hc: rng.logUniform(2000, 200_000), devp: rng.uniform(0, 15), t10p: rng.uniform(2, 30),
                               t50: rng.uniform(1.2, 1.6), t100: rng.uniform(1.05, 1.2),
                               tags: (0..<6).map { k in rng.logUniform(1e-4, [0.01, 0.05, 0.03, 0.01, 0.02, 0.002][k]) })
        let i = self.pools.count
        self.pools.append(pool)
        self.poolByToken[base] = i
        self.poolByAddress[address] = i
        self.advancePool(i, to: now, emit: false)  // the warm-up history
        return i
    }

    private mutating func watch(_ i: Int, now: Int64) {
        self.advancePool(i, to: now, emit: self.pools[i].watchers > 0)
        self.pools[i].watchers += 1
    }

    private mutating func unwatch(_ i: Int, now: Int64) {
        self.pools[i].watchers = max(0, self.pools[i].watchers - 1)
    }

    private mutating func advancePool(_ i: Int, to now: Int64, emit: Bool) {
        if now - self.pools[i].time > Self.catchUpMS {
            // Frozen for longer than the catch-up: the gap is skipped; arbitrage has brought the pool to its
            // fundamental price meanwhile.
            let t = now - Self.catchUpMS
            self.pools[i].time = t
            let p = self.pools[i]
            let k = p.rb * p.rq
            let target = p.base.price(t) / p.quote.price(t)
            self.pools[i].rb = (k / target).squareRoot()
            self.pools[i].rq = (k * target).squareRoot()
            self.pools[i].nextSwap = max(p.nextSwap, t)
            self.pools[i].nextLiquidity = max(p.nextLiquidity, t)
        }
        // Payloads are rendered only for someone to tell.
        let swapsTold = emit && (self.watched(self.pools[i].txBase) || self.watched(self.pools[i].txQuote) || self.watched(self.pools[i].agg))
        let liquidityTold = emit && (self.watched(self.pools[i].liqBase) || self.watched(self.pools[i].liqQuote))
        while true {
            var close = -1
            var closeAt = Int64.max
            if emit {
                for (c, x) in self.pools[i].closes.enumerated() where x.next < closeAt {
                    close = c
                    closeAt = x.next
                }
            }
            let swapAt = self.pools[i].nextSwap
            let liquidityAt = self.pools[i].nextLiquidity
            let eventAt = min(swapAt, liquidityAt)
            if close >= 0 && closeAt <= now && closeAt <= eventAt {
                self.emitClose(i, close)
                continue
            }
            guard eventAt <= now else { break }
            if swapAt <= liquidityAt {
                let data = self.swap(i, at: swapAt, render: swapsTold)
                if swapsTold { self.emitSwap(i, data, at: swapAt) }
                self.pools[i].nextSwap = swapAt + max(1, Int64(self.pools[i].rng.exponential(mean: self.pools[i].swapMeanMS)))
            } else {
                let data = self.liquidity(i, at: liquidityAt, render: liquidityTold)
                if liquidityTold { self.emitLegs(i, data, at: liquidityAt, self.pools[i].liqBase, self.pools[i].liqQuote) }
                self.pools[i].nextLiquidity = liquidityAt + max(1, Int64(self.pools[i].rng.exponential(mean: self.pools[i].liquidityMeanMS)))
            }
        }
        self.pools[i].time = max(self.pools[i].time, now)
    }

    private mutating func emitSwap(_ i: Int, _ data: String, at t: Int64) {
        let p = self.pools[i]
        self.emitLegs(i, data, at: t, p.txBase, p.txQuote)
        // The aggregate is an event of its own channel (one per swap), not a third leg.
        if let agg = p.agg, self.refs[agg] != nil {
            self.push(agg, Self.frame(agg, self.aggData(i, at: t), t), event: self.newEvent(), time: t)
        }
    }

    /// Queues `data` on each watched leg; returns the event number when anything was queued.
    @discardableResult
    private mutating func emitLegs(_ i: Int, _ data: String, at t: Int64, _ base: Subscription?, _ quote: Subscription?) -> Int? {
        let legs = [base, quote].compactMap { $0 }.filter { self.refs[$0] != nil }
        guard !legs.isEmpty else { return nil }
        let event = self.newEvent()
        for s in legs { self.push(s, Self.frame(s, data, t), event: event, time: t) }
        return event
    }

    private mutating func emitClose(_ i: Int, _ c: Int) {
        let close = self.pools[i].closes[c]
        let b = close.next
        let ot = b - close.intervalMS
        let data = close.subscription.channel == .kline
            ? self.klineData(i, ot: ot, intervalMS: close.intervalMS) : #"{"ut":\#(close.distinct),"ot":\#(ot)}"#
        self.push(close.subscription, Self.frame(close.subscription, data, b), event: self.newEvent(), time: b)
        self.pools[i].closes[c].next = b + close.intervalMS
        self.pools[i].closes[c].distinct = 0
    }

    /// Executes one swap of pool `i` at `t` and returns its payload.
    private mutating func swap(_ i: Int, at t: Int64, render: Bool = true) -> String { Self.swap(&self.pools[i], at: t, render: render) }

    /// `render`: whether anyone is told (the trade and every draw happen either way, so the market is the same).
    private static func swap(_ p: inout Pool, at t: Int64, render: Bool) -> String {
        let ts = p.platform == 16 ? t : t / 1000 * 1000
        let quoteUSD = p.quote.price(t)
        let target = p.base.price(t) / quoteUSD
        let k = p.rb * p.rq
        let price = p.rq / p.rb
        // Size in quote units: log-normal around 0.04 % of the pool, at most 3 % of the quote reserve.
        var size = 0.0008 * p.rq * exp(1.1 * gauss(p.rng.next()))
        let buy: Bool
        if p.rng.chance(0.45) {
            // An arbitrageur: toward the fundamental price, part of the way.
            buy = price < target
            let gap = abs((k * target).squareRoot() - p.rq)
            size = max(size * 0.1, gap * p.rng.uniform(0.3, 1))
        } else {
            buy = p.rng.chance(0.5)
        }
        size = min(size, 0.03 * p.rq)
        let rq = buy ? p.rq + size : p.rq - size
        let rb = k / rq
        let amountBase = abs(p.rb - rb)
        p.rb = rb
        p.rq = rq
        let vu = size * quoteUSD
        let baseUSD = vu / amountBase
        // The trader: one of the pool's population, the active few far more often.
        let maker = min(p.makers - 1, Int(Double(p.makers) * pow(p.rng.unit(), 2.2)))
        let second = UInt32(clamping: ts / 1000 - Path.originS + 1)
        let previous = p.lastAny[maker]
        let firstTrade = previous == 0
        for c in p.closes.indices where p.closes[c].subscription.channel == .uniqueTrader {
            // The maker's first trade in the interval in progress.
            if previous < UInt32(clamping: (p.closes[c].next - p.closes[c].intervalMS) / 1000 - Path.originS + 1) { p.closes[c].distinct += 1 }
        }
        p.lastAny[maker] = second
        if buy { p.lastBuy[maker] = second } else { p.lastSell[maker] = second }
        if buy && firstTrade { p.holders.hc += 1 } else if !buy && p.rng.chance(0.02) { p.holders.hc = max(1, p.holders.hc - 1) }
        p.record(ts: ts, priceUSD: baseUSD, vu: vu, amountBase: amountBase, buy: buy)
        p.seq &+= 1
        let excluded = p.rng.chance(0.03)
        let index = p.platform == 16 ? Int(p.rng.next() % 6) : Int(p.rng.next() % 400)
        guard render else { return "" }
        // Token order as the pool contract keeps it (by address); `qi` names the quote, `tii` the token paid in.
        let (a0, a1) = p.baseIs0 ? (amountBase, size) : (size, amountBase)
        let (pu0, pu1) = p.baseIs0 ? (baseUSD, quoteUSD) : (quoteUSD, baseUSD)
        let qi = p.baseIs0 ? 1 : 0
        var out = "{"
        out.reserveCapacity(700)
        out += #""pid":\#(p.platform),"f":"\#(p.factory)","bh":\#(Platform.height(p.platform, t)),"tp":"\#(buy ? "buy" : "sell")""#
        out += #","pa":\#(jsonString(p.address)),"t0a":\#(jsonString(p.baseIs0 ? p.baseAddress : p.quoteAddress))"#
        out += #","t1a":\#(jsonString(p.baseIs0 ? p.quoteAddress : p.baseAddress))"#
        out += #","t0s":"\#(p.baseIs0 ? p.baseSymbol : p.quoteSymbol)","t1s":"\#(p.baseIs0 ? p.quoteSymbol : p.baseSymbol)""#
        out += #","vu":\#(Self.fmt(vu)),"q":\#(Self.fmt(a1 / a0)),"t0pu":\#(Self.fmt(pu0)),"t1pu":\#(Self.fmt(pu1))"#
        out += #","tx":"\#(Address.tx(mix(p.key, p.seq), platform: p.platform))","ts":\#(ts)"#
        out += #","ma":"\#(Address.make(mix(p.key ^ 0xA11CE, UInt64(maker)), platform: p.platform))""#
        // `ba` [UNKNOWN]: the example's is the platform's USDT, neither token of the pair; so is this one.
        out += #","ba":"\#(p.ba)","a0":\#(Self.fmt(a0)),"a1":\#(Self.fmt(a1))"#
        out += #","qi":\#(qi),"tii":\#(buy ? qi : 1 - qi),"\#(p.platform == 16 ? "iix" : "lgid")":\#(index)"#
        out += #","ex":\#(excluded),"txtp":\#(excluded ? 1 : 0)}"#  // txtp codes [UNKNOWN]: 1 = excluded
        return out
    }

    /// Executes one liquidity event of pool `i` at `t` and returns its payload.
    private mutating func liquidity(_ i: Int, at t: Int64, render: Bool = true) -> String { Self.liquidity(&self.pools[i], at: t, render: render) }

    private static func liquidity(_ p: inout Pool, at t: Int64, render: Bool) -> String {
        let ts = p.platform == 16 ? t : t / 1000 * 1000
        let u = p.rng.unit()
        let kind = u < 0.55 ? "add" : u < 0.95 ? "remove" : "migrate"
        let fraction = p.rng.logUniform(0.0005, 0.02)
        let amountBase = p.rb * fraction
        let amountQuote = p.rq * fraction
        let quoteUSD = p.quote.price(t)
        let vu = 2 * amountQuote * quoteUSD  // both sides, at the pool's price
        // Proportional: the price does not move. A migration moves liquidity between pool versions [INF]: the
        // reserves here stay.
        if kind == "add" {
            p.rb += amountBase
            p.rq += amountQuote
        } else if kind == "remove" {
            p.rb -= amountBase
            p.rq -= amountQuote
        }
        p.seq &+= 1
        let (a0, a1) = p.baseIs0 ? (amountBase, amountQuote) : (amountQuote, amountBase)
        let providerIndex = p.rng.next() % 64
        let logIndex = p.rng.next()
        let hasLogIndex = p.rng.chance(0.85)
        guard render else { return "" }
        let provider = Address.make(mix(p.key ^ 0x11F, providerIndex), platform: p.platform)
        var out = "{"
        out.reserveCapacity(500)
        out += #""pid":\#(p.platform),"f":"\#(p.factory)","ts":\#(ts),"tp":"\#(kind)""#
        out += #","t0s":"\#(p.baseIs0 ? p.baseSymbol : p.quoteSymbol)","t1s":"\#(p.baseIs0 ? p.quoteSymbol : p.baseSymbol)""#
        out += #","t0a":\#(jsonString(p.baseIs0 ? p.baseAddress : p.quoteAddress)),"t1a":\#(jsonString(p.baseIs0 ? p.quoteAddress : p.baseAddress))"#
        out += #","a0":\#(Self.fmt(a0)),"a1":\#(Self.fmt(a1)),"vu":\#(Self.fmt(vu)),"ma":"\#(provider)""#
        out += #","tx":"\#(Address.tx(mix(p.key ^ 0x11E, p.seq), platform: p.platform))""#
        if p.platform == 16 {
            out += #","iix":\#(logIndex % 6)"#
        } else if hasLogIndex {
            out += #","lgid":\#(logIndex % 400)"#  // missing on some events, as on a captured frame [OBS]
        }
        return out + "}"
    }

    private func aggData(_ i: Int, at t: Int64) -> String {
        let p = self.pools[i]
        let quoteUSD = p.quote.price(t)
        let spot = p.rq / p.rb * quoteUSD
        // `ap`: across the token's pools, which arbitrage holds to the fundamental price [INF]; `p`: this pool
        // after the swap, missing now and then as on a captured frame [OBS]; `lu`: this pool's depth times the
        // token's other pools.
        var out = #"{"pid":\#(p.platform),"a":\#(jsonString(p.baseAddress)),"ap":\#(Self.fmt(p.base.price(t)))"#
        if unit(mix(p.key, p.seq)) >= 0.05 { out += #","p":\#(Self.fmt(spot))"# }
        let ts = p.platform == 16 ? t : t / 1000 * 1000
        return out + #","lu":\#(Self.fmt((p.rb * spot + p.rq * quoteUSD) * p.aggregate)),"ts":\#(ts)}"#
    }

    /// The candle of `[ot, ot + interval)`: its trades' first, highest, lowest and last prices and their volume;
    /// with no trade, flat at the last price before it, volume 0 [INF: the reference does not say whether an
    /// empty interval is pushed].
    private func klineData(_ i: Int, ot: Int64, intervalMS: Int64) -> String {
        let p = self.pools[i]
        if let k = Self.klineIntervals.firstIndex(of: intervalMS), p.candles[k].ot == ot {
            let c = p.candles[k]
            return #"{"o":\#(Self.fmt(c.o)),"h":\#(Self.fmt(c.h)),"l":\#(Self.fmt(c.l)),"c":\#(Self.fmt(c.c)),"vu":\#(Self.fmt(c.vu)),"ot":\#(ot)}"#
        }
        let last = Self.fmt(p.lastPrice)
        return #"{"o":\#(last),"h":\#(last),"l":\#(last),"c":\#(last),"vu":0,"ot":\#(ot)}"#
    }

    /// Distinct traders of the pool since `ot` (the interval in progress).
    private func uniqueTraderData(_ i: Int, ot: Int64) -> String {
        #"{"ut":\#(self.distinctTraders(i, since: ot)),"ot":\#(ot)}"#
    }

    private func distinctTraders(_ i: Int, since ot: Int64) -> Int {
        let from = UInt32(clamping: ot / 1000 - Path.originS + 1)
        return self.pools[i].lastAny.withUnsafeBufferPointer { times in
            var n = 0
            for t in times where t >= from { n += 1 }
            return n
        }
    }

    // MARK: - Snapshots: metrics, holders, wallets

    private mutating func snapshot(_ s: Subscription, now: Int64) -> String {
        switch (s.channel, s.target) {
        case (.cryptoLatestPrice, .crypto(let id)):
            return Self.frame(s, self.priceData(id, at: now), now)
        case (.tokenMetric, .address(let platform, let address)):
            let i = self.pool(token: TokenKey(platform: platform, address: address), now: now)
            return Self.frame(s, self.tokenMetric(i, now: now), now)
        case (.poolMetric, .address(let platform, let address)):
            let i = self.pool(address: TokenKey(platform: platform, address: address), now: now)
            return Self.frame(s, self.poolMetric(i, now: now), now)
        case (.holdersMetrics, .address(let platform, let address)):
            let i = self.pool(token: TokenKey(platform: platform, address: address), now: now)
            return Self.frame(s, self.holders(i, now: now), now)
        case (.holderWalletUpdate, .address(let platform, let address)):
            let w = self.wallet(TokenKey(platform: platform, address: address), now: now)
            return Self.frame(s, self.walletUpdate(w, now: now), now)
        default:
            return Self.frame(s, "{}", now)
        }
    }

    /// Rolling windows, each the sum of the pool's trades over the last minutes up to now (minute buckets: the
    /// current minute and the ones before it), so a shorter window lies inside a longer one.
    struct Window {
        var bvu = 0.0, svu = 0.0, bvn = 0.0, svn = 0.0
        var bc = 0, sc = 0
        var h = -Double.infinity, l = Double.infinity
        var first = 0.0
        var ut = 0, but = 0, sut = 0
        var startSecond: UInt32 = 0
    }

    /// Windows of `minutes` ending at `now` (the 7 d one from hour buckets).
    private func windows(_ i: Int, now: Int64, minutes: [Int64]) -> [Window] {
        let p = self.pools[i]
        var out = [Window](repeating: Window(), count: minutes.count)
        let m = now / 60_000
        let hour = now / 3_600_000
        for (w, span) in minutes.enumerated() {
            let fromMinute = span >= 7 * 1440 ? (hour - 167) * 60 : m - span + 1
            out[w].startSecond = UInt32(clamping: fromMinute * 60 - Path.originS + 1)
            if span >= 7 * 1440 {
                for k in 0..<168 {
                    let b = p.hours[Int((hour - Int64(k)) % 168)]
                    if b.index == hour - Int64(k) { out[w].add(b) }
                }
            } else {
                for k in 0..<Int(span) {
                    let b = p.minutes[Int((m - Int64(k)) % 1440)]
                    if b.index == m - Int64(k) { out[w].add(b) }
                }
            }
        }
        for j in 0..<p.makers {
            let any = p.lastAny[j]
            guard any != 0 else { continue }
            let buy = p.lastBuy[j]
            let sell = p.lastSell[j]
            for w in out.indices {
                let from = out[w].startSecond
                if any >= from { out[w].ut += 1 }
                if buy >= from { out[w].but += 1 }
                if sell >= from { out[w].sut += 1 }
            }
        }
        return out
    }

    private mutating func tokenMetric(_ i: Int, now: Int64) -> String {
        self.advancePool(i, to: now, emit: false)
        let p = self.pools[i]
        let price = p.rq / p.rb * p.quote.price(now)
        var rng = SimRandom(seed: mix(p.key ^ 0x7E7, UInt64(bitPattern: now)))
        let names = ["1m", "5m", "1h", "4h", "24h"]
        let ws = self.windows(i, now: now, minutes: [1, 5, 60, 240, 1440])
        var out = #"{"pid":\#(p.platform),"a":\#(jsonString(p.baseAddress)),"p":\#(Self.fmt(price))"#
        // `mc`/`lu` null or missing now and then (the example has nulls, a captured frame neither) [EX][OBS].
        out += rng.chance(0.2) ? #","mc":null"# : #","mc":\#(Self.fmt(price * p.base.supply))"#
        out += rng.chance(0.2) ? #","lu":null"# : #","lu":\#(Self.fmt((p.rb * price + p.rq * p.quote.price(now)) * p.aggregate))"#
        out += #","sts":["#
        var any = false
        for (k, w) in ws.enumerated() where rng.chance(0.85) || (k == ws.count - 1 && !any) {
            if any { out += "," }
            any = true
            let vu = w.bvu + w.svu
            let pc = w.bc + w.sc == 0 ? 0 : (price / w.first - 1) * 100
            out += #"{"win":"\#(names[k])""#
            let trimmed = k == ws.count - 1 && rng.chance(0.3)  // the captured 24 h window lacks h, l and the natives
            if !trimmed { out += #","vn":\#(Self.fmt(w.bvn + w.svn))"# }
            out += #","vu":\#(Self.fmt(vu)),"pc":\#(Self.fmt(pc)),"txs":\#(w.bc + w.sc),"bc":\#(w.bc),"sc":\#(w.sc)"#
            out += #","bvu":\#(Self.fmt(w.bvu)),"svu":\#(Self.fmt(w.svu))"#
            if !trimmed {
                let nulls = rng.chance(0.2)
                out += nulls ? #","bvn":null,"svn":null"# : #","bvn":\#(Self.fmt(w.bvn)),"svn":\#(Self.fmt(w.svn))"#
            }
            out += #","ut":\#(w.ut),"but":\#(w.but),"sut":\#(w.sut)"#
            if !trimmed && w.bc + w.sc > 0 { out += #","h":\#(Self.fmt(w.h)),"l":\#(Self.fmt(w.l))"# }
            out += "}"
        }
        return out + "]}"
    }

    private mutating func poolMetric(_ i: Int, now: Int64) -> String {
        self.advancePool(i, to: now, emit: false)
        let p = self.pools[i]
        var rng = SimRandom(seed: mix(p.key ^ 0x9E7, UInt64(bitPattern: now)))
        let names = ["5m", "1h", "4h", "24h", "7d"]
        let ws = self.windows(i, now: now, minutes: [5, 60, 240, 1440, 7 * 1440])
        var out = #"{"pid":\#(p.platform),"pa":\#(jsonString(p.address))"#
        var any = false
        for (k, w) in ws.enumerated() where rng.chance(0.9) || (k == ws.count - 1 && !any) {
            any = true
            out += #","\#(names[k])":{"bvn":\#(Self.fmt(w.bvn)),"bvu":\#(Self.fmt(w.bvu)),"svn":\#(Self.fmt(w.svn)),"svu":\#(Self.fmt(w.svu))"#
            out += #","ut":\#(w.ut),"but":\#(w.but),"sut":\#(w.sut)}"#
        }
        return out + "}"
    }

    /// Holder metrics: the count moves with the pool's trades (a first buy is a new holder, a few sells leave);
    /// shares and the dev's holding drift slowly; tag counts are fixed fractions of the holders. `tp` rotates.
    private mutating func holders(_ i: Int, now: Int64) -> String { Self.holders(&self.pools[i], now: now) }

    private static func holders(_ p: inout Pool, now: Int64) -> String {
        let kinds = ["tag_distribution", "holder_count", "top_share", "tag_pnl", "tag_balance"]
        let kind = kinds[p.holders.n % kinds.count]
        p.holders.n += 1
        p.holders.t10p = min(60, max(0.5, p.holders.t10p * exp(0.003 * gauss(p.rng.next()))))
        p.holders.devp = min(40, max(0, p.holders.devp * exp(0.002 * gauss(p.rng.next()))))
        var out = #"{"pid":\#(p.platform),"a":\#(jsonString(p.baseAddress)),"tp":"\#(kind)","ts":\#(now)"#
        let hc = p.holders.hc.rounded()
        switch kind {
        case "tag_distribution":
            out += #","devp":\#(Self.fmt((p.holders.devp * 100).rounded() / 100))"#
            for (k, name) in ["khc", "whc", "bdhc", "shc", "bhc", "smhc"].enumerated() {
                out += #","\#(name)":\#(Int(hc * p.holders.tags[k]))"#
            }
        case "holder_count":
            out += #","hc":\#(Int(hc))"#  // [INF] field name
        case "top_share":
            let t10 = p.holders.t10p
            out += #","t10p":\#(Self.fmt(t10)),"t50p":\#(Self.fmt(t10 * p.holders.t50)),"t100p":\#(Self.fmt(t10 * p.holders.t50 * p.holders.t100))"#
            out += #","t100ab":\#(Self.fmt(t10 * p.holders.t50 * p.holders.t100 / 100 * p.base.supply))"#
        case "tag_pnl":
            let price = p.rq / p.rb * p.quote.price(now)
            out += #","tag":"tag_whale","pnl":\#(Self.fmt((price - p.lastPrice) * hc * p.holders.tags[1] * 1000))"#  // [INF]
        default:
            let share = p.holders.t10p * 0.6
            out += #","tag":"tag_whale","tb":\#(Self.fmt(share / 100 * p.base.supply)),"hr":\#(Self.fmt(share))"#  // [INF]
        }
        return out + "}"
    }

    private mutating func wallet(_ key: TokenKey, now: Int64) -> Int {
        if let w = self.walletIndex[key] { return w }
        let h = mix(self.seed, hashString(key.address, UInt64(bitPattern: key.platform) ^ 0xBA1))
        var rng = SimRandom(seed: h)
        let supply = rng.logUniform(1e8, 1e12)
        let w = Wallet(
            platform: key.platform, address: key.address, token: Address.make(h ^ 0x70, platform: key.platform),
            supply: supply, balance: supply * rng.logUniform(1e-6, 0.05), native: rng.logUniform(0.05, 5000),
            realized: rng.uniform(-5e4, 2e5), firstSeen: now - Int64(rng.uniform(1, 400) * 86_400_000), lastChange: now - 60_000, rng: rng)
        self.walletIndex[key] = self.wallets.count
        self.wallets.append(w)
        return self.wallets.count - 1
    }

    /// A watched wallet: its token balance drifts (half the updates change it), with everything derived from it.
    private mutating func walletUpdate(_ i: Int, now: Int64) -> String {
        var w = self.wallets[i]
        defer { self.wallets[i] = w }
        let kinds = ["token_balance", "native_balance", "pnl_stats", "last_active", "position_time"]
        let kind = kinds[w.n % kinds.count]
        w.n += 1
        if w.rng.chance(0.5) {
            let before = w.balance
            w.balance *= exp(0.02 * gauss(w.rng.next()))
            w.realized += (w.balance - before) * 0.001
            w.lastChange = now
        }
        var out = #"{"pid":\#(w.platform),"wa":\#(jsonString(w.address)),"tp":"\#(kind)","bh":\#(Platform.height(w.platform, now)),"ts":\#(now)"#
        switch kind {
        case "token_balance":
            out += #","a":"\#(w.token)","b":\#(Self.fmt(w.balance)),"hp":\#(Self.fmt(w.balance / w.supply * 100))"#
        case "native_balance":
            out += #","b":\#(Self.fmt(w.native))"#  // [INF]
        case "pnl_stats":
            out += #","rp":\#(Self.fmt(w.realized)),"up":\#(Self.fmt(w.balance * 1e-4))"#  // [INF]
        case "last_active":
            out += #","lat":\#(w.lastChange)"#
        default:
            out += #","a":"\#(w.token)","spot":\#(w.firstSeen),"spct":\#(w.lastChange)"#
        }
        return out + "}"
    }

    // MARK: - Frames

    static func frame(_ s: Subscription, _ data: String, _ ts: Int64) -> String {
        #"{"type":"data","channel":"\#(s.channel.rawValue)","params":\#(Self.params(s)),"data":\#(data),"ts":\#(ts)}"#
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

    static func fmt(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        var s = "\(v)"
        // `5.0` is written `5`, but negative zero keeps its `.0`: `-0` reads back as the integer 0 in Python.
        if s.hasSuffix(".0") && s != "-0.0" { s.removeLast(2) }
        return s
    }
}

// MARK: - State

struct TokenKey: Hashable, Sendable {
    let platform: Int64
    let address: String
}

/// A target pushed on its own schedule (metrics, holders, wallets).
struct Snapshot: Sendable {
    let subscription: Subscription
    var next: Int64
    let meanMS: Double
    var rng: SimRandom
}

/// A kline or unique-trader subscription's next interval close.
struct Close: Sendable {
    let subscription: Subscription
    let intervalMS: Int64
    var next: Int64
    /// Unique traders only: distinct makers in the interval in progress so far.
    var distinct = 0
}

/// The trades of one minute or one hour.
struct Bucket: Sendable {
    var index: Int64 = -1
    var bvu = 0.0, svu = 0.0, bvn = 0.0, svn = 0.0
    var bc = 0, sc = 0
    var h = -Double.infinity, l = Double.infinity
    var first = 0.0

    mutating func add(index: Int64, price: Double, vu: Double, amount: Double, buy: Bool) {
        if self.index != index { self = Bucket(index: index, first: price) }
        if buy {
            self.bvu += vu
            self.bvn += amount
            self.bc += 1
        } else {
            self.svu += vu
            self.svn += amount
            self.sc += 1
        }
        self.h = max(self.h, price)
        self.l = min(self.l, price)
    }
}

extension MarketModel.Window {
    /// Adds a bucket; buckets come newest first, so the oldest one's first price is the window's.
    mutating func add(_ b: Bucket) {
        guard b.bc + b.sc > 0 else { return }
        self.bvu += b.bvu
        self.svu += b.svu
        self.bvn += b.bvn
        self.svn += b.svn
        self.bc += b.bc
        self.sc += b.sc
        self.h = max(self.h, b.h)
        self.l = min(self.l, b.l)
        self.first = b.first
    }
}

/// The candle in progress for one kline interval.
struct Candle: Sendable {
    var ot: Int64 = -1
    var o = 0.0, h = 0.0, l = 0.0, c = 0.0, vu = 0.0
}

struct Holders: Sendable {
    var hc: Double
    var devp: Double
    var t10p: Double
    var t50: Double
    var t100: Double
    var tags: [Double]
    var n = 0
}

struct Wallet: Sendable {
    let platform: Int64
    let address: String
    let token: String
    let supply: Double
    var balance: Double
    var native: Double
    var realized: Double
    let firstSeen: Int64
    var lastChange: Int64
    var rng: SimRandom
    var n = 0
}

/// One token's pool against its quote asset (constant product).
struct Pool: Sendable {
    let key: UInt64
    let platform: Int64
    let address: String
    let factory: String
    /// `ba` of its swaps.
    let ba: String
    let baseAddress: String
    let quoteAddress: String
    let baseSymbol: String
    let quoteSymbol: String
    /// The base token is token0 (its address sorts first).
    let baseIs0: Bool
    let base: Asset
    let quote: Asset
    /// Reserves, in base and quote units.
    var rb: Double
    var rq: Double
    var rng: SimRandom
    /// Simulated up to here.
    var time: Int64
    let swapMeanMS: Double
    let liquidityMeanMS: Double
    /// The trader population.
    let makers: Int
    /// `lu` counts the token's other pools too: this pool's depth times this.
    let aggregate: Double
    var nextSwap: Int64 = 0
    var nextLiquidity: Int64 = 0
    var seq: UInt64 = 0
    var watchers = 0
    var lastPrice = 0.0
    var txBase: Subscription?
    var txQuote: Subscription?
    var liqBase: Subscription?
    var liqQuote: Subscription?
    var agg: Subscription?
    var closes: [Close] = []
    /// Per trader: the second (since `Path.originS`, plus one; 0 = never) of its last trade, buy and sell.
    var lastAny: [UInt32] = []
    var lastBuy: [UInt32] = []
    var lastSell: [UInt32] = []
    var minutes = [Bucket](repeating: Bucket(), count: 1440)
    var hours = [Bucket](repeating: Bucket(), count: 168)
    var candles = [Candle](repeating: Candle(), count: MarketModel.klineIntervals.count)
    var holders = Holders(hc: 0, devp: 0, t10p: 0, t50: 1, t100: 1, tags: [])

    init(key: UInt64, platform: Int64, address: String, factory: String, baseAddress: String, quoteAddress: String,
         baseSymbol: String, quoteSymbol: String, baseIs0: Bool, base: Asset, quote: Asset, rb: Double, rq: Double,
         rng: SimRandom, time: Int64, swapMeanMS: Double, liquidityMeanMS: Double, makers: Int, aggregate: Double) {
        self.key = key
        self.platform = platform
        self.address = address
        self.factory = factory
        self.ba = Platform.quotes(platform)[1].address
        self.baseAddress = baseAddress
        self.quoteAddress = quoteAddress
        self.baseSymbol = baseSymbol
        self.quoteSymbol = quoteSymbol
        self.baseIs0 = baseIs0
        self.base = base
        self.quote = quote
        self.rb = rb
        self.rq = rq
        self.rng = rng
        self.time = time
        self.swapMeanMS = swapMeanMS
        self.liquidityMeanMS = liquidityMeanMS
        self.makers = makers
        self.aggregate = aggregate
    }

    /// Enters a trade in the buckets and candles.
    mutating func record(ts: Int64, priceUSD: Double, vu: Double, amountBase: Double, buy: Bool) {
        let minute = ts / 60_000
        let hour = ts / 3_600_000
        self.minutes[Int(minute % 1440)].add(index: minute, price: priceUSD, vu: vu, amount: amountBase, buy: buy)
        self.hours[Int(hour % 168)].add(index: hour, price: priceUSD, vu: vu, amount: amountBase, buy: buy)
        for (k, ms) in MarketModel.klineIntervals.enumerated() {
            let ot = ts / ms * ms
            if self.candles[k].ot != ot {
                self.candles[k] = Candle(ot: ot, o: priceUSD, h: priceUSD, l: priceUSD, c: priceUSD, vu: 0)
            }
            self.candles[k].h = max(self.candles[k].h, priceUSD)
            self.candles[k].l = min(self.candles[k].l, priceUSD)
            self.candles[k].c = priceUSD
            self.candles[k].vu += vu
        }
        self.lastPrice = priceUSD
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
