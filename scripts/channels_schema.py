"""The one table of StreamKit's channel payloads: every field, its wire key, type and meaning.

Generators read this table (scripts/gen_channels.py writes the Swift payload types, the C payload structs of
include/streamkit_payloads.h and the Swift code that fills them); nothing else restates it.
Evidence tags follow ../shared/spec/cmc-websocket-reference.md: DOC, EX, OBS, INF, UNKNOWN.

Field kinds: int (Int64), double, text (a string, kept as a slice of the frame), bool.
A field is optional unless routing cannot do without it (req=True): only `cid` of a price. Every other field may
be absent, null (a numeric field "may be null when unavailable", the overview's best practices [DOC]) or of
another JSON type than the table says; the decoders read such a field as absent and set its bit in the payload's
mistyped mask. A payload without a required field is delivered as an unknown payload of no channel.
"""

from dataclasses import dataclass, field as dc_field
from typing import List, Optional


@dataclass
class Field:
    wire: str
    name: str  # descriptive Swift name; equal to `wire` when the meaning is unknown
    kind: str  # int | double | text | bool
    doc: str
    req: bool = False
    enum: Optional[str] = None  # text fields with a known vocabulary: the Swift enum type derived from them


@dataclass
class Enum:
    name: str
    doc: str
    cases: List[tuple]  # (swift case, wire text, doc)


@dataclass
class Windowed:
    """Nested window objects.

    style "array": an array under `wire` whose objects name themselves in `name_key` (token_metric `sts`).
    style "keys": one object per window under a top-level key named after the window (pool_metric).
    """
    style: str
    wire: str
    type: str
    names: List[tuple]  # (swift case, wire name)
    name_key: Optional[str] = None


@dataclass
class Payload:
    type: str
    channel_case: str
    channel: str
    doc: str
    fields: List[Field]
    windows: Optional[Windowed] = None


@dataclass
class Struct:
    type: str
    doc: str
    fields: List[Field]


def F(wire, name, kind, doc, req=False, enum=None):
    return Field(wire, name, kind, doc, req, enum)


ENUMS = [
    Enum("SwapSide", "The side of a swap, relative to the pair (`tp` of `onchain@transaction`). [DOC]", [
        ("buy", "buy", "A buy of token0."),
        ("sell", "sell", "A sell of token0."),
    ]),
    Enum("LiquidityKind", "What a liquidity event did (`tp` of `onchain@liquidity_event`). [DOC]", [
        ("add", "add", "Liquidity added."),
        ("remove", "remove", "Liquidity removed."),
        ("migrate", "migrate", "Liquidity migrated."),
    ]),
    Enum("HolderMetricKind", "The variant of an `onchain@holders_metrics` push (`tp`). [DOC]", [
        ("tagDistribution", "tag_distribution", "Holder counts by tag (KOL, whale, bundler, sniper, ...). [EX]"),
        ("holderCount", "holder_count", "Holder count. Fields [UNKNOWN]: read them from the raw payload."),
        ("topShare", "top_share", "Supply share of the top 10/50/100 holders. [OBS]"),
        ("tagPnl", "tag_pnl", "PnL by tag. Fields [UNKNOWN]: read them from the raw payload."),
        ("tagBalance", "tag_balance", "Balance by tag. Fields [UNKNOWN]: read them from the raw payload."),
    ]),
    Enum("WalletUpdateKind", "The variant of an `onchain@holder_wallet_update` push (`tp`). [DOC]", [
        ("tokenBalance", "token_balance", "A token balance of the wallet. [EX]"),
        ("nativeBalance", "native_balance", "The native-coin balance. Fields [UNKNOWN] beyond `b` [INF]."),
        ("pnlStats", "pnl_stats", "PnL statistics. Fields [UNKNOWN]: read them from the raw payload."),
        ("lastActive", "last_active", "Last activity time, probably `lat` [INF]."),
        ("positionTime", "position_time", "Position times, probably `spot`/`spct` [INF]."),
    ]),
]

TOKEN_WINDOW = Struct("TokenMetricWindow", "One rolling window of `onchain@token_metric` (an element of `sts[]`). "
                      "Any field may be absent: real pushes carry partial windows. [EX][OBS]", [
    F("win", "window", "text", "Window name: `1m`, `5m`, `1h`, `4h` or `24h`. [DOC]"),
    F("vn", "volumeNative", "double", "Volume in native token units. [INF]"),
    F("vu", "volumeUSD", "double", "Volume, USD. [EX]"),
    F("pc", "priceChangePercent", "double", "Price change over the window, 0-100 scale (-0.01 = -0.01 %). [DOC]"),
    F("txs", "transactionCount", "int", "Transaction count. [INF]"),
    F("bc", "buyCount", "int", "Buy count. [DOC]"),
    F("sc", "sellCount", "int", "Sell count. [DOC]"),
    F("bvu", "buyVolumeUSD", "double", "Buy volume, USD. [INF]"),
    F("svu", "sellVolumeUSD", "double", "Sell volume, USD. [INF]"),
    F("bvn", "buyVolumeNative", "double", "Buy volume, native units. [INF]"),
    F("svn", "sellVolumeNative", "double", "Sell volume, native units. [INF]"),
    F("ut", "uniqueTraders", "int", "Unique traders. [INF]"),
    F("but", "uniqueBuyers", "int", "Unique buyers. [INF]"),
    F("sut", "uniqueSellers", "int", "Unique sellers. [INF]"),
    F("h", "high", "double", "Window high price, USD. [DOC]"),
    F("l", "low", "double", "Window low price, USD. [INF]"),
])

POOL_WINDOW = Struct("PoolMetricWindow", "One rolling window of `onchain@pool_metric` (the object under `5m`, "
                     "`1h`, `4h`, `24h` or `7d`). [DOC][EX]", [
    F("bvn", "buyVolumeNative", "double", "Buy volume, native units. [INF]"),
    F("bvu", "buyVolumeUSD", "double", "Buy volume, USD. [INF]"),
    F("svn", "sellVolumeNative", "double", "Sell volume, native units. [INF]"),
    F("svu", "sellVolumeUSD", "double", "Sell volume, USD. [INF]"),
    F("ut", "uniqueTraders", "int", "Unique traders (a de-duplicated union: `ut <= but + sut`). [INF]"),
    F("but", "uniqueBuyers", "int", "Unique buyers. [INF]"),
    F("sut", "uniqueSellers", "int", "Unique sellers. [INF]"),
])

PID = F("pid", "platformID", "int", "Platform id (14 = BSC, 16 = Solana; not an EVM chain id). [DOC]")

PAYLOADS = [
    Payload("CryptoLatestPrice", "cryptoLatestPrice", "market@crypto_latest_price",
            "A CEX spot quote (`CryptoLatestPriceFullPayload`, 14 fields). Percentages are on a 0-100 scale.", [
        F("cid", "cryptoID", "int", "CMC cryptocurrency id. [DOC]", req=True),
        F("p", "price", "double", "Spot price, USD; may be null when unavailable (overview, best practices). [DOC]"),
        F("vu", "volume24hUSD", "double", "24 h volume, USD. [OBS]"),
        F("mc", "marketCapUSD", "double", "Market cap, USD (`p * cs`). [OBS]"),
        F("cs", "circulatingSupply", "double", "Circulating supply. [DOC]"),
        F("p24h", "percentChange24h", "double", "Price change over 24 h, %. [DOC]"),
        F("p7d", "percentChange7d", "double", "Price change over 7 d, %. [DOC]"),
        F("p30d", "percentChange30d", "double", "Price change over 30 d, %. [DOC]"),
        F("p60d", "percentChange60d", "double", "Price change over 60 d, %. [DOC]"),
        F("p3m", "percentChange3m", "double", "Price change over 3 months, %. [DOC]"),
        F("p1y", "percentChange1y", "double", "Price change over 1 year, %. [DOC]"),
        F("pytd", "percentChangeYTD", "double", "Price change year to date, %. [DOC]"),
        F("pall", "percentChangeAllTime", "double", "Price change over all time, %. [DOC]"),
        F("fdv24h", "fullyDilutedMarketCapChange24h", "double",
          "Fully diluted market cap change over 24 h, % (mirrors `p24h` in practice). [DOC][OBS]"),
    ]),
    Payload("TokenAggEvent", "tokenAggEvent", "onchain@token_agg_event",
            "Aggregated and single-pool DEX price of a token plus its liquidity, pushed per swap.", [
        PID,
        F("a", "address", "text", "Token address. [EX]"),
        F("ap", "aggregatedPriceUSD", "double", "Price aggregated across pools, USD. [EX]"),
        F("p", "priceUSD", "double", "Single-pool price (the triggering swap's pool), USD. Absent on some "
                                      "real frames. [EX][OBS]"),
        F("lu", "liquidityUSD", "double", "Total token liquidity across pools, USD. [EX][OBS]"),
        F("ts", "time", "int", "Event time, epoch ms. [EX]"),
    ]),
    Payload("Transaction", "transaction", "onchain@transaction",
            "One DEX swap. The same swap may arrive on both token legs: dedupe on `tx` + `lgid` (`tx` + `iix` "
            "on Solana); see ``dedupeIndex``.", [
        PID,
        F("f", "factoryAddress", "text", "DEX factory contract address. [INF]"),
        F("bh", "blockHeight", "int", "Block height. [INF]"),
        F("tp", "side", "text", "`buy` or `sell`, relative to the pair; use `qi`/`tii` for token-level "
                                "direction. [DOC]", enum="SwapSide"),
        F("pa", "poolAddress", "text", "Pool (pair) address. [INF]"),
        F("t0a", "token0Address", "text", "Token0 (base) address. [INF]"),
        F("t1a", "token1Address", "text", "Token1 (quote) address. [INF]"),
        F("t0s", "token0Symbol", "text", "Token0 symbol. [INF]"),
        F("t1s", "token1Symbol", "text", "Token1 symbol. [INF]"),
        F("vu", "valueUSD", "double", "Swap value, USD. [EX][OBS]"),
        F("q", "quotePrice", "double", "Price of token0 in token1 units. [INF]"),
        F("t0pu", "token0PriceUSD", "double", "Token0 price, USD. [INF]"),
        F("t1pu", "token1PriceUSD", "double", "Token1 price, USD. [INF]"),
        F("tx", "transactionHash", "text", "Transaction hash (base58 signature on Solana). [DOC]"),
        F("ts", "time", "int", "Transaction time, epoch ms. [EX]"),
        F("ma", "makerAddress", "text", "Maker (trader) address. [INF]"),
        F("ba", "ba", "text", "An address whose meaning is [UNKNOWN] (BSC-USDT in the official example)."),
        F("a0", "amount0", "double", "Token0 amount, decimal-adjusted. [INF]"),
        F("a1", "amount1", "double", "Token1 amount, decimal-adjusted. [INF]"),
        F("qi", "quoteIndex", "int", "Which token is the quote, 0 or 1. [INF]"),
        F("tii", "tokenInIndex", "int", "Which token went into the pool, 0 or 1. [INF]"),
        F("lgid", "logIndex", "int", "EVM log index; dedupe key with `tx`. Absent on some real frames. [DOC]"),
        F("iix", "instructionIndex", "int", "Solana instruction index; dedupe key with `tx` on Solana. [DOC]"),
        F("ex", "isExcluded", "bool", "Excluded from CMC aggregates; `txtp` says why. [DOC]"),
        F("txtp", "transactionType", "int", "Transaction type / exclusion reason code (values [UNKNOWN]). [DOC]"),
    ]),
    Payload("LiquidityEvent", "liquidityEvent", "onchain@liquidity_event",
            "A liquidity add, remove or migrate. May arrive on both token legs: dedupe like swaps.", [
        PID,
        F("f", "factoryAddress", "text", "DEX factory contract address. [INF]"),
        F("ts", "time", "int", "Event time, epoch ms. [EX]"),
        F("tp", "kind", "text", "`add`, `remove` or `migrate`. [DOC]", enum="LiquidityKind"),
        F("t0s", "token0Symbol", "text", "Token0 symbol. [EX]"),
        F("t1s", "token1Symbol", "text", "Token1 symbol. [EX]"),
        F("t0a", "token0Address", "text", "Token0 address. [EX]"),
        F("t1a", "token1Address", "text", "Token1 address. [EX]"),
        F("a0", "amount0", "double", "Token0 amount (may be 0). [EX]"),
        F("a1", "amount1", "double", "Token1 amount (may be 0). [EX]"),
        F("vu", "valueUSD", "double", "USD value of the change. [EX]"),
        F("ma", "makerAddress", "text", "Provider address. [INF]"),
        F("tx", "transactionHash", "text", "Transaction hash. [EX]"),
        F("lgid", "logIndex", "int", "Log index; absent on some real frames. [EX][OBS]"),
        F("iix", "instructionIndex", "int", "Solana instruction index. [INF]"),
    ]),
    Payload("Kline", "kline", "onchain@kline",
            "An OHLCV candle, pushed at interval close. Carries no `pid`/`a`: its identity is the params echo.", [
        F("o", "open", "double", "Open price, USD. [DOC]"),
        F("h", "high", "double", "High price, USD. [DOC]"),
        F("l", "low", "double", "Low price, USD. [DOC]"),
        F("c", "close", "double", "Close price, USD. [DOC]"),
        F("vu", "volumeUSD", "double", "Volume, USD. [DOC]"),
        F("ot", "openTime", "int", "Candle open time, epoch ms. [DOC]"),
    ]),
    Payload("TokenMetric", "tokenMetric", "onchain@token_metric",
            "Rolling token metrics. A push may carry any subset of the windows in `sts[]`.", [
        PID,
        F("a", "address", "text", "Token address. [EX]"),
        F("p", "priceUSD", "double", "Price, USD. [EX]"),
        F("mc", "marketCapUSD", "double", "Market cap, USD (often null). [EX]"),
        F("lu", "liquidityUSD", "double", "Liquidity, USD (often null). [EX]"),
    ], windows=Windowed("array", "sts", "TokenMetricWindow",
                        [("m1", "1m"), ("m5", "5m"), ("h1", "1h"), ("h4", "4h"), ("h24", "24h")], name_key="win")),
    Payload("PoolMetric", "poolMetric", "onchain@pool_metric",
            "Rolling pool metrics. Each window is a top-level key; a push may carry any subset.", [
        PID,
        F("pa", "poolAddress", "text", "Pool address. [EX]"),
    ], windows=Windowed("keys", "", "PoolMetricWindow",
                        [("m5", "5m"), ("h1", "1h"), ("h4", "4h"), ("h24", "24h"), ("d7", "7d")])),
    Payload("UniqueTrader", "uniqueTrader", "onchain@unique_trader",
            "Distinct traders in one interval, pushed at interval close.", [
        F("ut", "uniqueTraders", "int", "Distinct traders in the interval. [EX]"),
        F("ot", "openTime", "int", "Interval open time, epoch ms. [EX]"),
    ]),
    Payload("HoldersMetrics", "holdersMetrics", "onchain@holders_metrics",
            "Holder analytics of a token. Route on ``kind`` (`tp`) before reading variant fields; variants "
            "whose fields the reference does not know keep every key in the raw payload.", [
        F("pid", "platformID", "int", "Platform id. [DOC]"),
        F("a", "address", "text", "Token address. [DOC]"),
        F("tp", "kind", "text", "The variant. [DOC]", enum="HolderMetricKind"),
        F("ts", "time", "int", "Update time, epoch ms. [DOC]"),
        F("devp", "devHoldingPercent", "double", "tag_distribution: developer (creator) holding, %. [DOC][INF]"),
        F("khc", "kolHolderCount", "int", "tag_distribution: KOL holders. [INF]"),
        F("whc", "whaleHolderCount", "int", "tag_distribution: whale holders. [INF]"),
        F("bdhc", "bundlerHolderCount", "int", "tag_distribution: bundler holders. [INF]"),
        F("shc", "sniperHolderCount", "int", "tag_distribution: sniper holders. [INF]"),
        F("bhc", "botHolderCount", "int", "tag_distribution: bot holders. [INF]"),
        F("smhc", "smartMoneyHolderCount", "int", "tag_distribution: smart-money holders. [INF]"),
        F("t10p", "top10SharePercent", "double", "top_share: supply held by the top 10 holders, %. [DOC][OBS]"),
        F("t50p", "top50SharePercent", "double", "top_share: supply held by the top 50 holders, %. [DOC][OBS]"),
        F("t100p", "top100SharePercent", "double", "top_share: supply held by the top 100 holders, %. [DOC][OBS]"),
        F("t100ab", "top100Balance", "double", "top_share: aggregate balance of the top 100 holders. [OBS][INF]"),
    ]),
    Payload("HolderWalletUpdate", "holderWalletUpdate", "onchain@holder_wallet_update",
            "An update about one wallet. Route on ``kind`` (`tp`) before reading variant fields; variants "
            "whose fields the reference does not know keep every key in the raw payload.", [
        F("pid", "platformID", "int", "Platform id. [DOC]"),
        F("wa", "walletAddress", "text", "Wallet address. [DOC]"),
        F("tp", "kind", "text", "The variant. [DOC]", enum="WalletUpdateKind"),
        F("ts", "time", "int", "Update time, epoch ms. [DOC]"),
        F("bh", "blockHeight", "int", "Block height (slot on Solana). [INF]"),
        F("a", "tokenAddress", "text", "token_balance: token address (mint). [EX]"),
        F("b", "balance", "double", "token_balance: balance, decimal-adjusted. [INF]"),
        F("hp", "holdingPercent", "double", "token_balance: the wallet's share of supply, %. [DOC][INF]"),
        F("lat", "lastActiveTime", "int", "last_active: last activity, epoch ms. [DOC lists it as a time][INF]"),
        F("spot", "spot", "int", "position_time: an epoch-ms time whose meaning is [UNKNOWN]. [DOC]"),
        F("spct", "spct", "int", "position_time: an epoch-ms time whose meaning is [UNKNOWN]. [DOC]"),
    ]),
]
