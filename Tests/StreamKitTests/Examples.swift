// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0
//
// The reference's JSON examples, verbatim (../shared/spec/cmc-websocket-reference.md and the overview page).
// Official examples are tagged [EX] there; the "...ObservedPayload" ones are real captured payloads [OBS]
// (payload only, without envelope).

enum Examples {
    static let ack = #"""
{ "type": "ack", "id": 1, "code": 0, "msg": "ok", "channel": "market@crypto_latest_price", "sub_count": 1, "sub_limit": 100 }
"""#

    static let pong = #"""
{ "type": "pong", "id": 1, "code": 0, "ts": 1778659200000 }
"""#

    static let error = #"""
{
  "type": "error",
  "id": 1,
  "status": {
    "timestamp": "2026-05-21T01:57:09.125Z",
    "error_code": "2401",
    "category": "PROTOCOL",
    "error_message": "Missing required param for channel.",
    "error_detail": "Param 'crypto_ids' is required for channel 'market@crypto_latest_price'."
  }
}
"""#

    static let cryptoLatestPrice = #"""
{ "type": "data", "channel": "market@crypto_latest_price", "params": { "crypto_ids": 1 },
  "data": { "cid": 1, "p": 81187.93284788371, "vu": 29932025976.79, "mc": 1626089237758.01, "cs": 20028706,
            "p24h": 0.534347439686, "p7d": -0.769630510488, "p30d": 14.825850522161, "p60d": 14.895817222241,
            "p3m": 20.814087592967, "p1y": -21.146722852984, "pytd": -8.280487978902, "pall": 131301167.42003132,
            "fdv24h": 0.534347439686 },
  "ts": 1778663880111 }
"""#

    static let tokenAggEvent = #"""
{ "type": "data", "channel": "onchain@token_agg_event",
  "params": { "platform_id": 14, "address": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d" },
  "data": { "pid": 14, "a": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d",
            "ap": 0.9998026294970268, "p": 0.9997425990337028, "lu": 112769637.58815227, "ts": 1778659194000 },
  "ts": 1778663880111 }
"""#

    static let kline = #"""
{ "type": "data", "channel": "onchain@kline",
  "params": { "platform_id": 14, "address": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d", "interval": "1m" },
  "data": { "o": 0.9995980459860556, "h": 0.999729701705, "l": 0.999529767125, "c": 0.999677480145,
            "vu": 3237.47055005272, "ot": 1778649420000 },
  "ts": 1778663880111 }
"""#

    static let uniqueTrader = #"""
{ "type": "data", "channel": "onchain@unique_trader",
  "params": { "platform_id": 14, "address": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d", "interval": "1m" },
  "data": { "ut": 6, "ot": 1778659140000 }, "ts": 1778663880111 }
"""#

    static let transaction = #"""
{ "type": "data", "channel": "onchain@transaction",
  "params": { "platform_id": 14, "address": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d" },
  "data": { "pid": 14, "f": "0xdb1d10011ad0ff90774d0c6bb92e5c5c8b4461f7", "bh": 98011237, "tp": "sell",
            "pa": "0x2f4a644cd20eb9f45fa166dbb87068697fe8e6e3",
            "t0a": "0x5feccd17c393caf1001d18164236a37e731fcb9d", "t1a": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d",
            "t0s": "USDC", "t1s": "WBNB", "vu": 167.11650988683866, "q": 0.2876839934391258,
            "t0pu": 0.28760994330122636, "t1pu": 0.9997425990337028,
            "tx": "0xade908a367c85915a89719ddce9e95a864bd2c9691bb28c6d6b86d907181f7aa", "ts": 1778659192000,
            "ma": "0x28e2ea090877bf75740558f6bfb36a5ffee9e9df", "ba": "0x55d398326f99059ff775485246999027b3197955",
            "a0": 8.581676894301156, "a1": 0.9999663716704877, "qi": 0, "tii": 0, "lgid": 59, "ex": false, "txtp": 0 },
  "ts": 1778663880111 }
"""#

    static let liquidityEvent = #"""
{ "type": "data", "channel": "onchain@liquidity_event",
  "params": { "platform_id": 14, "address": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d" },
  "data": { "pid": 14, "f": "0x0bfbcf9fa4f9c56b0f40a671ad40e0805a091865", "ts": 1778659195000, "tp": "add",
            "t0s": "USDC", "t1s": "MAT", "t0a": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d",
            "t1a": "0xfe2dd2d57a05f89438f3aec94e", "a0": 0, "a1": 293.8158004758334, "vu": 49.84709760712249,
            "ma": "0x7cc5a95f6e688a917c899084b5cfd389de730fdf",
            "tx": "0xcf859eb0b1c563ea69255eb4ea8a134002948e7e7e9913f441896c518a4dfaeb", "lgid": 12 },
  "ts": 1778663880111 }
"""#

    static let tokenMetric = #"""
{ "type": "data", "channel": "onchain@token_metric",
  "params": { "platform_id": 14, "address": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d" },
  "data": { "pid": 14, "a": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d", "p": 0.9997425990337028, "mc": null, "lu": null,
            "sts": [ { "win": "4h", "vn": 6615525.086132893, "vu": 6613627.176252886, "pc": -0.01, "txs": 28864,
                       "bc": 12692, "sc": 16172, "bvu": 3234904.850668452, "svu": 3378722.325584434,
                       "bvn": null, "svn": null, "ut": 6211, "but": 3695, "sut": 4142,
                       "h": 1.0003681078349795, "l": 0.9994 } ] },
  "ts": 1778663880111 }
"""#

    static let tokenMetricObservedPayload = #"""
{ "pid": 14, "a": "0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82", "p": 1.4150399680598924,
  "sts": [ { "win": "4h", "vn": 607443.6, "vu": 864545.6, "pc": 0.3, "txs": 2107, "bc": 912, "sc": 1195,
             "bvu": 464549.1, "svu": 399996.4, "bvn": 326148.2, "svn": 281295.4, "ut": 720, "but": 423, "sut": 409,
             "h": 1.4409, "l": 1.4011 },
           { "win": "24h", "vu": 9521162.7, "pc": 7.84, "txs": 2604, "bc": 1296, "sc": 1308,
             "bvu": 3015218.5, "svu": 6505944.2, "ut": 607 } ] }
"""#

    static let poolMetric = #"""
{ "type": "data", "channel": "onchain@pool_metric",
  "params": { "platform_id": 16, "pool_address": "DJpdHs4wbm1XqRruM1NPHnSfpnSztUEeFW3bcaDEeg7H" },
  "data": { "pid": 16, "pa": "DJpdHs4wbm1XqRruM1NPHnSfpnSztUEeFW3bcaDEeg7H",
            "5m":  { "bvn": 0,        "bvu": 0,     "svn": 0,       "svu": 0,     "ut": 11,   "but": 2,   "sut": 10 },
            "1h":  { "bvn": 123.45,   "bvu": 500,   "svn": 87.65,   "svu": 400,   "ut": 53,   "but": 21,  "sut": 38 },
            "4h":  { "bvn": 1234.56,  "bvu": 5000,  "svn": 987.65,  "svu": 4000,  "ut": 200,  "but": 80,  "sut": 120 },
            "24h": { "bvn": 12345.67, "bvu": 50000, "svn": 9876.54, "svu": 40000, "ut": 1000, "but": 400, "sut": 600 } },
  "ts": 1778663880111 }
"""#

    static let holdersMetricsTagDistribution = #"""
{ "type": "data", "channel": "onchain@holders_metrics",
  "params": { "platform_id": 14, "address": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d" },
  "data": { "pid": 14, "a": "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d", "tp": "tag_distribution", "ts": 1778659184000,
            "devp": 12, "khc": 221, "whc": 2518, "bdhc": 3897, "shc": 102, "bhc": 45, "smhc": 2 },
  "ts": 1778663880111 }
"""#

    static let holdersMetricsTopShareObservedPayload = #"""
{ "pid": 14, "a": "0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82", "tp": "top_share", "ts": 1781550268455,
  "t10p": 3.9934, "t50p": 5.3503, "t100p": 5.6799, "t100ab": 2589719.48 }
"""#

    static let holderWalletUpdateTokenBalance = #"""
{ "type": "data", "channel": "onchain@holder_wallet_update",
  "params": { "platform_id": 16, "wallet_address": "6p6xgHyF7AeE6TZkSmFsko444wqoP15icUSqi2jfGiPN" },
  "data": { "pid": 16, "wa": "6p6xgHyF7AeE6TZkSmFsko444wqoP15icUSqi2jfGiPN", "tp": "token_balance",
            "a": "GYQQfZTnTokenMintAddress", "b": 37151378.807477, "hp": 3.715, "bh": 416995858, "ts": 1778659191803 },
  "ts": 1778663880111 }
"""#

    /// The overview page's short data push (6 fields).
    static let cryptoLatestPriceShort = #"""
{ "type": "data", "channel": "market@crypto_latest_price", "params": { "crypto_ids": 1 }, "data": { "cid": 1, "p": 81187.93, "vu": 29932025976.79, "mc": 1626089237758.01, "cs": 20028706, "p24h": 0.534 }, "ts": 1778663880111 }
"""#

    /// The raw captured token_agg_event payload without `p` [OBS].
    static let tokenAggEventObservedPayload = #"""
{"pid":14,"a":"0x0e09fabb73bd3ade0a17ecc321fd13a19e81ce82","ap":1.4114,"ts":1781554539000,"lu":12141216.56}
"""#

    /// The captured liquidity payload without `lgid` [OBS] (addresses shortened in the reference; kept as given).
    static let liquidityEventObservedPayload = #"""
{"pid":14,"f":"0x0bfb…1865","ts":1781550270000,"tp":"remove","t0s":"Cake","t1s":"USDT","a0":0.0,"a1":0.0,"vu":12500.0,"ma":"0x7737…82c1","tx":"0xe655…1308","t0a":"0x0e09…ce82","t1a":"0x55d3…7955"}
"""#

    /// The pong variant without `type` [FIX].
    static let pongWithoutType = #"""
{"id":2,"code":0,"ts":1,"msg":"PONG"}
"""#

    /// Wraps a payload-only capture in a data envelope.
    static func envelope(_ channel: String, params: String, payload: String, ts: Int64 = 1778663880111) -> String {
        #"{"type":"data","channel":"\#(channel)","params":\#(params),"data":\#(payload),"ts":\#(ts)}"#
    }
}
