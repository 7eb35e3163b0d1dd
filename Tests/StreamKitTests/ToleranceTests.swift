// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import Testing

@testable import StreamKit

/// Issue #20, point 1: a frame that is JSON is delivered as far as it can be read. Null and mistyped optional
/// fields read as absent (and say so), only `cid` is required, and a data frame without `channel` is classified
/// by its shape or delivered unattributed. Only bytes that are not a JSON object throw.
@Suite struct ToleranceTests {
    static func data(_ text: String) throws -> DataFrame {
        let message = try FrameDecoder().decode(text)
        guard case .data(let d) = message.frame else {
            Issue.record("not a data frame: \(text)")
            throw DecodeError(.missingField, at: 0)
        }
        return d
    }

    static func price(_ payload: String) throws -> CryptoLatestPrice {
        let d = try Self.data(#"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":"# + payload + #","ts":1}"#)
        guard case .cryptoLatestPrice(let q) = d.payload else {
            Issue.record("not a price: \(payload)")
            throw DecodeError(.missingField, at: 0)
        }
        return q
    }

    @Test func nullPriceIsDeliveredWithItsNullBit() throws {
        let q = try Self.price(#"{"cid":1,"p":null,"vu":12.5}"#)
        #expect(q.cid == 1 && q.price == nil && q.vu == 12.5)
        #expect(q.contains(.p) && q.isNull(.p) && !q.isMistyped(.p))
        #expect(q.nullFields == 1 << CryptoLatestPrice.Field.p.rawValue && q.mistypedFields == 0)
    }

    @Test func absentPriceDecodes() throws {
        let q = try Self.price(#"{"cid":1027,"p24h":-1.5}"#)
        #expect(q.cid == 1027 && q.price == nil && !q.contains(.p) && q.p24h == -1.5)
        #expect(q.presentFields == 0b10_0001 && q.nullFields == 0 && q.mistypedFields == 0)
    }

    @Test func stringWhereADoubleBelongsIsMistyped() throws {
        let q = try Self.price(#"{"cid":1,"p":81187.9,"vu":"12.5","mc":{"x":[1]},"cs":true}"#)
        #expect(q.price == 81187.9 && q.vu == nil && q.mc == nil && q.cs == nil)
        for f in [CryptoLatestPrice.Field.vu, .mc, .cs] {
            #expect(q.isMistyped(f) && !q.contains(f) && !q.isNull(f), "\(f)")
            #expect(q[f] == .absent)
        }
        #expect(q.mistypedFields == 0b1_1100 && q.presentFields == 0b11)
    }

    /// The last value of a repeated key counts, mistyped or not.
    @Test func repeatedKeyLastValueCounts() throws {
        let a = try Self.price(#"{"cid":1,"vu":"x","vu":2}"#)
        #expect(a.vu == 2 && !a.isMistyped(.vu))
        let b = try Self.price(#"{"cid":1,"vu":2,"vu":"x"}"#)
        #expect(b.vu == nil && b.isMistyped(.vu))
        let c = try Self.price(#"{"cid":1,"vu":"x","vu":null}"#)
        #expect(c.vu == nil && c.isNull(.vu) && !c.isMistyped(.vu))
    }

    @Test func swapWithMistypedExAndTxtp() throws {
        let d = try Self.data(
            #"{"type":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":"0xabc"},"data":{"pid":14,"tp":"buy","tx":"0x1","lgid":3,"ex":0,"txtp":"1","vu":1.5,"bh":1.5,"iix":18446744073709551616},"ts":1}"#
        )
        guard case .transaction(let t) = d.payload else {
            Issue.record("not a swap")
            return
        }
        #expect(t.ex == nil && t.isMistyped(.ex) && t.txtp == nil && t.isMistyped(.txtp))
        #expect(t.bh == nil && t.isMistyped(.bh) && t.iix == nil && t.isMistyped(.iix))
        #expect(t.pid == 14 && t.side == .buy && t.lgid == 3 && t.vu == 1.5)
        #expect(t.mistypedFields.nonzeroBitCount == 4 && t.nullFields == 0)
    }

    @Test func holderFramesWithoutTs() throws {
        let d = try Self.data(
            #"{"type":"data","channel":"onchain@holders_metrics","params":{"platform_id":16,"address":"So1"},"data":{"pid":16,"a":"So1","tp":"holder_count","hc":1234},"ts":1}"#
        )
        guard case .holdersMetrics(let h) = d.payload else {
            Issue.record("not holders")
            return
        }
        #expect(h.ts == nil && h.kind == .holderCount && h.pid == 16 && h.unknownKeyCount == 1)
        let w = try Self.data(
            #"{"type":"data","channel":"onchain@holder_wallet_update","params":{"platform_id":16,"wallet_address":"W"},"data":{"tp":"pnl_stats"},"ts":1}"#
        )
        guard case .holderWalletUpdate(let u) = w.payload else {
            Issue.record("not a wallet update")
            return
        }
        #expect(u.ts == nil && u.wa == nil && u.pid == nil && u.kind == .pnlStats)
    }

    @Test func windowsOfTheWrongTypeReadAsAbsent() throws {
        let d = try Self.data(
            #"{"type":"data","channel":"onchain@token_metric","params":{},"data":{"p":1,"sts":{"win":"1h"}},"ts":1}"#
        )
        guard case .tokenMetric(let m) = d.payload else {
            Issue.record("not a token metric")
            return
        }
        #expect(m.p == 1 && m.windowMask == 0 && m.mistypedWindowMask == 0xFF)
        let e = try Self.data(
            #"{"type":"data","channel":"onchain@token_metric","params":{},"data":{"sts":[1,{"win":"1h","vu":"x","bc":2}]},"ts":1}"#
        )
        guard case .tokenMetric(let n) = e.payload, let h1 = n.window(.h1) else {
            Issue.record("no 1h window")
            return
        }
        #expect(n.unknownWindowCount == 1 && h1.vu == nil && h1.isMistyped(.vu) && h1.bc == 2)
        let f = try Self.data(
            #"{"type":"data","channel":"onchain@pool_metric","params":{},"data":{"pid":1,"5m":[],"1h":{"ut":3}},"ts":1}"#
        )
        guard case .poolMetric(let p) = f.payload else {
            Issue.record("not a pool metric")
            return
        }
        #expect(p.window(.m5) == nil && p.mistypedWindowMask == 1 && p.window(.h1)?.ut == 3)
    }

    /// A price without what routing needs, or a `data` that is not an object: delivered, of no channel.
    @Test(arguments: [
        #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"p":1},"ts":1}"#,
        #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":null,"p":1}}"#,
        #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1.5,"p":1}}"#,
        #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":"1","p":1}}"#,
        #"{"type":"data","channel":"market@crypto_latest_price","params":{},"data":[1]}"#,
    ])
    func incompletePayloadIsUnattributed(_ text: String) throws {
        let d = try Self.data(text)
        #expect(d.channel == nil)
        guard case .unknown = d.payload else {
            Issue.record("typed payload for \(text)")
            return
        }
        let m = try FrameDecoder().decode(text)
        #expect(d.payloadRegion.count > 0 && m.bytes.count == text.utf8.count)
        #expect(m.string(d.channelName) == "market@crypto_latest_price")
    }

    /// Classified by shape where exactly one channel fits.
    @Test(arguments: [
        (#"{"type":"data","params":{"crypto_ids":1},"data":{"cid":1,"p":2},"ts":1}"#, Channel.cryptoLatestPrice),
        (#"{"type":"data","data":{"cid":1,"p":2}}"#, .cryptoLatestPrice),
        (#"{"type":"data","channel":7,"data":{"cid":1,"p":2}}"#, .cryptoLatestPrice),
        (#"{"type":"data","params":{"platform_id":14,"address":"0xa"},"data":{"sts":[]}}"#, .tokenMetric),
        (#"{"type":"data","data":{"pid":14,"a":"0xa","ap":1.5,"lu":2}}"#, .tokenAggEvent),
        (#"{"type":"data","data":{"pid":14,"tp":"sell","tx":"0x1"}}"#, .transaction),
        (#"{"type":"data","data":{"pid":14,"tp":"migrate","tx":"0x1"}}"#, .liquidityEvent),
        (#"{"type":"data","data":{"pid":16,"a":"So1","tp":"top_share","t10p":1}}"#, .holdersMetrics),
        (#"{"type":"data","data":{"pid":16,"wa":"W","tp":"token_balance"}}"#, .holderWalletUpdate),
        (#"{"type":"data","params":{"platform_id":14,"pool_address":"0xp"},"data":{"pid":14,"5m":{}}}"#, .poolMetric),
    ])
    func channelLessFrameIsClassified(_ text: String, _ channel: Channel) throws {
        let d = try Self.data(text)
        #expect(d.channel == channel, "\(text)")
        #expect(d.payload.channel == channel)
    }

    @Test(arguments: [
        #"{"type":"data","params":{"platform_id":14,"address":"0xa"},"data":{"o":1,"h":2,"l":0.5,"c":1.5,"ot":1}}"#,
        #"{"type":"data","data":{"ut":3,"ot":1}}"#,
        #"{"type":"data","data":{"cid":1,"sts":[]}}"#,
        #"{"type":"data","params":{"crypto_ids":1},"data":{"ap":1}}"#,
        #"{"type":"data","data":{"tx":"0x1","tp":"other"}}"#,
        #"{"type":"data","data":{"x":1}}"#,
        #"{"type":"data","data":7}"#,
    ])
    func unclassifiableFrameIsUnattributed(_ text: String) throws {
        let d = try Self.data(text)
        #expect(d.channel == nil, "\(text)")
        guard case .unknown = d.payload else {
            Issue.record("typed payload for \(text)")
            return
        }
    }

    /// Envelope fields of the wrong type read as absent; a `type` that is not a string makes the frame unknown.
    @Test func envelopeFieldsOfTheWrongType() throws {
        let ack = try FrameDecoder().decode(#"{"type":"ack","id":"x","code":0,"duplicate":"yes","sub_count":"2","msg":1}"#)
        guard case .ack(let a) = ack.frame else {
            Issue.record("not an ack")
            return
        }
        #expect(a.id == nil && a.code == 0 && a.duplicate == false && a.subCount == nil && a.msg == nil)
        let dup = try FrameDecoder().decode(#"{"type":"ack","id":3,"code":0,"duplicate":true}"#)
        guard case .ack(let b) = dup.frame else { return }
        #expect(b.id == 3 && b.duplicate)
        let push = try Self.data(#"{"type":"data","channel":"onchain@kline","params":[1],"data":{"o":1},"ts":"x"}"#)
        #expect(push.ts == nil && push.channel == .kline)
        let typed = try FrameDecoder().decode(#"{"type":1,"channel":"onchain@kline","data":{"o":1}}"#)
        guard case .unknown = typed.frame else {
            Issue.record("a numeric type is not unknown")
            return
        }
        let noData = try FrameDecoder().decode(#"{"type":"data","channel":"onchain@kline"}"#)
        guard case .unknown = noData.frame else {
            Issue.record("a data frame without data is not unknown")
            return
        }
        let error = try FrameDecoder().decode(#"{"type":"error","id":2,"status":"x"}"#)
        guard case .error(let e) = error.frame else { return }
        #expect(e.id == 2 && e.status.errorCode == nil)
        let coded = try FrameDecoder().decode(#"{"type":"error","status":{"error_code":"abc","error_message":7}}"#)
        guard case .error(let f) = coded.frame else { return }
        #expect(f.status.errorCode == nil && f.status.errorMessage == nil)
    }

    /// Only bytes that are not one JSON object throw.
    @Test(arguments: [#"{"type":"data","data":{"p":1"#, "[1]", "nope", #"{"type":"data","data":{"vu":"\x"}}"#])
    func onlyNonObjectsThrow(_ text: String) {
        #expect(throws: DecodeError.self) { try FrameDecoder().decode(text) }
    }
}
