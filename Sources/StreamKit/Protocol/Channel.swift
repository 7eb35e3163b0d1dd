// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// A stream channel: one CEX channel and nine on-chain (DEX) channels.
///
/// The raw value is the wire name. A data frame whose channel is not in this list still decodes, as
/// ``Payload/unknown``, with its channel name and every key of its payload available.
public enum Channel: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    /// CEX spot price, market cap, volume and % changes; ~5 s for the top 500 by rank, ~15 s for the rest.
    case cryptoLatestPrice = "market@crypto_latest_price"
    /// Aggregated and single-pool DEX token price plus liquidity, per swap.
    case tokenAggEvent = "onchain@token_agg_event"
    /// One swap, per swap. May arrive twice (token0 and token1 subscriptions): dedupe on `tx`+`lgid`/`iix`.
    case transaction = "onchain@transaction"
    /// Liquidity add, remove or migrate, per liquidity transaction. May arrive twice, like swaps.
    case liquidityEvent = "onchain@liquidity_event"
    /// OHLCV candle at each interval close.
    case kline = "onchain@kline"
    /// Rolling token metrics in windows `1m 5m 1h 4h 24h`, per metric update.
    case tokenMetric = "onchain@token_metric"
    /// Rolling pool metrics in windows `5m 1h 4h 24h 7d`, per metric update.
    case poolMetric = "onchain@pool_metric"
    /// Distinct traders per interval, at each interval close.
    case uniqueTrader = "onchain@unique_trader"
    /// Holder analytics of a token, routed by `tp`.
    case holdersMetrics = "onchain@holders_metrics"
    /// Updates about one wallet, routed by `tp`.
    case holderWalletUpdate = "onchain@holder_wallet_update"

    public var description: String { self.rawValue }

    /// Hashes the case, not its wire name: the default for a `String`-backed enum hashes the name's bytes, and a
    /// ``Subscription`` (keyed by its channel) is looked up twice per message. Equal channels hash alike.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.ordinal)
    }

    /// A stable small number per channel (for hashing without allocating).
    var ordinal: UInt64 {
        switch self {
        case .cryptoLatestPrice: 0
        case .tokenAggEvent: 1
        case .transaction: 2
        case .liquidityEvent: 3
        case .kline: 4
        case .tokenMetric: 5
        case .poolMetric: 6
        case .uniqueTrader: 7
        case .holdersMetrics: 8
        case .holderWalletUpdate: 9
        }
    }

    /// True for the nine `onchain@` channels, which take `platform_id` and an address list.
    public var isOnChain: Bool { self != .cryptoLatestPrice }

    /// The subscribe param that lists this channel's targets.
    public var targetParam: TargetParam {
        switch self {
        case .cryptoLatestPrice: .cryptoIDs
        case .poolMetric: .poolAddress
        case .holderWalletUpdate: .walletAddress
        case .tokenAggEvent, .transaction, .liquidityEvent, .kline, .tokenMetric, .uniqueTrader, .holdersMetrics:
            .address
        }
    }

    /// Intervals the channel accepts, or `nil` when it takes no `interval`.
    ///
    /// `onchain@kline`: the documented `KlineInterval` enum. A client that subscribed with `1h` was acked and
    /// then got nothing, so StreamKit refuses values outside the enum before sending.
    /// `onchain@unique_trader`: the reference lists the same enum but says "intervals up to 1d" [CONFLICT];
    /// StreamKit accepts the enum plus `1h`, `4h` and `1d` and lets the server have the last word.
    public var allowedIntervals: [String]? {
        switch self {
        case .kline: ["1s", "5s", "30s", "1m", "3m", "5m", "15m", "30m"]
        case .uniqueTrader: ["1s", "5s", "30s", "1m", "3m", "5m", "15m", "30m", "1h", "4h", "1d"]
        case .cryptoLatestPrice, .tokenAggEvent, .transaction, .liquidityEvent, .tokenMetric, .poolMetric,
            .holdersMetrics, .holderWalletUpdate:
            nil
        }
    }

    /// Recognises a channel name in a frame without materialising it.
    @inlinable
    static func match(_ s: TextSlice, in bytes: UnsafeRawBufferPointer) -> Channel? {
        // Names are told apart by length and the byte after "onchain@"; the full name is then compared once.
        guard !s.hasEscapes else {
            return Channel(rawValue: s.string(in: bytes))
        }
        guard s.count >= 13, let base = bytes.baseAddress else { return nil }
        let b8 = base.load(fromByteOffset: s.offset + 8, as: UInt8.self)
        let candidate: Channel
        switch (s.count, b8) {
        case (26, _): candidate = .cryptoLatestPrice
        case (23, UInt8(ascii: "t")): candidate = .tokenAggEvent
        case (23, UInt8(ascii: "l")): candidate = .liquidityEvent
        case (23, UInt8(ascii: "h")): candidate = .holdersMetrics
        case (19, UInt8(ascii: "t")): candidate = .transaction
        case (19, UInt8(ascii: "p")): candidate = .poolMetric
        case (13, _): candidate = .kline
        case (20, _): candidate = .tokenMetric
        case (21, _): candidate = .uniqueTrader
        case (28, _): candidate = .holderWalletUpdate
        default: return nil
        }
        return candidate.matches(s, in: bytes) ? candidate : nil
    }

    @inlinable
    func matches(_ s: TextSlice, in bytes: UnsafeRawBufferPointer) -> Bool {
        switch self {
        case .cryptoLatestPrice: s.equals("market@crypto_latest_price", in: bytes)
        case .tokenAggEvent: s.equals("onchain@token_agg_event", in: bytes)
        case .transaction: s.equals("onchain@transaction", in: bytes)
        case .liquidityEvent: s.equals("onchain@liquidity_event", in: bytes)
        case .kline: s.equals("onchain@kline", in: bytes)
        case .tokenMetric: s.equals("onchain@token_metric", in: bytes)
        case .poolMetric: s.equals("onchain@pool_metric", in: bytes)
        case .uniqueTrader: s.equals("onchain@unique_trader", in: bytes)
        case .holdersMetrics: s.equals("onchain@holders_metrics", in: bytes)
        case .holderWalletUpdate: s.equals("onchain@holder_wallet_update", in: bytes)
        }
    }
}

/// The subscribe param that names a channel's targets.
public enum TargetParam: String, Sendable, Hashable, CaseIterable {
    /// `crypto_ids`: CMC cryptocurrency ids (integers).
    case cryptoIDs = "crypto_ids"
    /// `address`: token contract addresses.
    case address = "address"
    /// `pool_address`: pool / LP contract addresses (`onchain@pool_metric`).
    case poolAddress = "pool_address"
    /// `wallet_address`: wallet addresses (`onchain@holder_wallet_update`).
    case walletAddress = "wallet_address"
}
