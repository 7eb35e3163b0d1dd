// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import StreamKitTestSupport
import Testing

@testable import StreamKit

@Suite struct NormalizedJSONTests {
    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func officialTransactionExample() throws {
        let out = NormalizedJSON.render(Array(Examples.transaction.utf8))
        let o = try Self.object(out)
        #expect(o["type"] as? String == "data")
        #expect(o["channel"] as? String == "onchain@transaction")
        #expect((o["ts"] as? NSNumber)?.int64Value == 1_778_663_880_111)
        let data = try #require(o["data"] as? [String: Any])
        #expect(data.count == 24)
        #expect(out.contains(#""vu":167.11650988683866"#))
        #expect(out.contains(#""tx":"0xade908a367c85915a89719ddce9e95a864bd2c9691bb28c6d6b86d907181f7aa""#))
        #expect(out.contains(#""ex":false"#) && out.contains(#""lgid":59"#))
    }

    @Test func nullsKeptAbsentOmittedUnknownKept() throws {
        let out = NormalizedJSON.render(Array(Examples.tokenMetric.utf8))
        #expect(out.contains(#""mc":null"#) && out.contains(#""lu":null"#) && out.contains(#""bvn":null"#))
        let extra = NormalizedJSON.render(
            Array(#"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1,"mode":"full"},"data":{"cid":1,"p":2.50,"p1h":[1, 2],"vu":1E3},"ts":5}"#.utf8)
        )
        #expect(extra == #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1,"mode":"full"},"ts":5,"data":{"cid":1,"p":2.5,"p1h":[1, 2],"vu":1000}}"#)
    }

    /// Issue #20, point 9: negative zero keeps its sign as `-0.0` (Python's `json` reads `-0` as the integer 0).
    @Test func negativeZeroKeepsItsSign() throws {
        let out = NormalizedJSON.render(
            Array(#"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":-0,"vu":-0.0,"mc":0,"p24h":-0e5,"p7d":-2.0},"ts":5}"#.utf8)
        )
        #expect(out.contains(#""p":-0.0,"vu":-0.0,"mc":0,"p24h":-0.0,"p7d":-2"#), "\(out)")
        let again = try FrameDecoder().decode(out)
        guard case .data(let d) = again.frame, case .cryptoLatestPrice(let q) = d.payload else {
            Issue.record("not a price")
            return
        }
        #expect(q.price?.sign == .minus && q.vu?.sign == .minus && q.mc?.sign == .plus)
    }

    @Test func controlFrames() throws {
        #expect(NormalizedJSON.render(Array(Examples.error.utf8)).contains(#""error_code":2401"#))
        #expect(NormalizedJSON.render(Array(Examples.pongWithoutType.utf8)) == #"{"type":"pong","id":2,"code":0,"ts":1}"#)
        #expect(NormalizedJSON.render(Array(Examples.ack.utf8)) == #"{"type":"ack","id":1,"code":0,"msg":"ok","channel":"market@crypto_latest_price","sub_count":1,"sub_limit":100,"duplicate":false}"#)
        #expect(NormalizedJSON.render(Array(#"{"type":"welcome","ping_interval_ms":10000}"#.utf8)) == #"{"type":"welcome","ping_interval_ms":10000}"#)
        #expect(NormalizedJSON.render(Array("garbage".utf8)) == #"{"type":"invalid","reason":"unexpected byte at byte 0","offset":0}"#)
    }

    /// Rendering loses nothing: decoding the rendered frame gives the same typed values, doubles bit for bit.
    @Test func roundTripOverTheExoticCorpus() async throws {
        var corpus = Corpus(seed: 11, options: Corpus.Options(exotic: true, nullRate: 0.05, absentRate: 0.05))
        for index in 0..<2000 {
            if index % 100 == 99 { await Task.yield() }  // many seconds under the sanitizers: share the test pool
            let bytes = corpus.frame()
            let rendered = NormalizedJSON.render(bytes)
            let original = try FrameDecoder().decode(bytes)
            let again = try FrameDecoder().decode(rendered)
            #expect(fingerprint(again) == fingerprint(original), "\(rendered)")
            _ = try JSONValue(parsing: Array(rendered.utf8))
        }
        for example in RobustnessTests.dataExamples {
            let rendered = NormalizedJSON.render(Array(example.utf8))
            #expect(try fingerprint(FrameDecoder().decode(rendered)) == fingerprint(FrameDecoder().decode(example)))
        }
    }

    /// A message renders from the frame decoded when it was received (the CLI's `watch`), as its bytes do: every
    /// frame of a mixed corpus (exotic text, nulls, absent fields, every channel) and the control examples.
    @Test func aMessageRendersAsItsBytesWithoutADecodeOfItsOwn() throws {
        var corpus = Corpus(seed: 23, options: .init(exotic: true, nullRate: 0.1, absentRate: 0.1))
        let frames = corpus.frames(3000) + [Examples.ack, Examples.pong, Examples.error, Examples.pongWithoutType].map { Array($0.utf8) }
        var data = 0
        for bytes in frames {
            let message = try FrameDecoder().decode(bytes)
            if case .data = message.frame { data += 1 }
            #expect(String(decoding: NormalizedJSON.render(message), as: UTF8.self) == NormalizedJSON.render(bytes))
        }
        #expect(data >= 3000)
    }
}
