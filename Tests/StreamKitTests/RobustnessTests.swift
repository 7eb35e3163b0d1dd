// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import StreamKitTestSupport
import Testing

@testable import StreamKit

/// Everything a frame can do wrong, and everything a well-formed frame may legitimately vary.
@Suite struct RobustnessTests {
    static let dataExamples = [
        Examples.cryptoLatestPrice, Examples.tokenAggEvent, Examples.kline, Examples.uniqueTrader,
        Examples.transaction, Examples.liquidityEvent, Examples.tokenMetric, Examples.poolMetric,
        Examples.holdersMetricsTagDistribution, Examples.holderWalletUpdateTokenBalance,
    ]
    static let allExamples = dataExamples + [Examples.ack, Examples.pong, Examples.error, Examples.pongWithoutType]

    // MARK: - Legitimate variation

    /// Whitespace between every token (pretty printing, CRLF, tabs) changes nothing.
    @Test(arguments: dataExamples)
    func whitespaceEverywhere(_ example: String) throws {
        let spaced = insertWhitespace(example, "\r\n\t  ")
        #expect(try fingerprint(decode(spaced)) == fingerprint(decode(example)))
        let compact = insertWhitespace(example, "")
        #expect(try fingerprint(decode(compact)) == fingerprint(decode(example)))
    }

    /// Any key order, at every level, decodes the same (data before channel included).
    @Test(arguments: dataExamples)
    func reversedKeyOrder(_ example: String) throws {
        let original = try decode(example)
        let reversed = reverseMembers(original.json)
        #expect(reversed.firstRange(of: "\"data\"")!.lowerBound < reversed.firstRange(of: "\"channel\"")!.lowerBound)
        #expect(try fingerprint(decode(reversed)) == fingerprint(original))
    }

    /// The fast paths for members in the expected order (the envelope's, the params echo's, and the payload
    /// decoders' in schema order) hand over to the general loop wherever the frame departs from it (a member
    /// absent, spaced, unknown, moved, repeated, or an array for a scalar), and the values, or the error, are the
    /// same as when the general loop decodes the whole frame (pretty-printed).
    @Test(arguments: dataExamples)
    func orderedFastPathHandsOver(_ example: String) throws {
        let frame = try decode(insertWhitespace(example, "")).json
        func members(_ v: JSONValue) -> [String] { v.members.map { "\"\($0.key)\":" + $0.value.rawText } }
        /// Each member absent, spaced after its colon, preceded by an unknown key, repeated at the end, swapped
        /// with the next one, and its value wrapped in an array.
        func departures(_ m: [String]) -> [[String]] {
            m.indices.flatMap { k -> [[String]] in
                var absent = m, spaced = m, unknown = m, repeated = m, swapped = m, array = m
                absent.remove(at: k)
                let colon = m[k].range(of: "\":")!
                spaced[k] = m[k].replacingCharacters(in: colon, with: "\": ")
                unknown.insert("\"zz\":[1,{\"data\":2}]", at: k)
                repeated.append(m[k])
                swapped.swapAt(k, (k + 1) % m.count)
                array[k] = String(m[k][..<colon.upperBound]) + "[" + String(m[k][colon.upperBound...]) + "]"
                return [absent, spaced, unknown, repeated, swapped, array]
            }
        }
        func object(_ m: [String]) -> String { "{" + m.joined(separator: ",") + "}" }
        /// The frame with the object under `key` (nil: the frame itself) given by `m`.
        func rebuilt(with m: [String], at key: String?) -> String {
            guard let key else { return object(m) }
            return object(frame.members.map { "\"\($0.key)\":" + ($0.key == key ? object(m) : $0.value.rawText) })
        }
        var variants = [object(members(frame))]
        variants += departures(members(frame)).map { rebuilt(with: $0, at: nil) }
        for key in ["params", "data"] {
            variants += departures(members(try #require(frame[key]))).map { rebuilt(with: $0, at: key) }
        }
        func outcome(_ text: String) -> String {  // values, or the error without its offset (spacing moves it)
            do {
                let m = try decode(text)
                // A data frame without `data` is an unknown frame: its `type` as text (spacing moves the slice).
                if case .unknown(let u) = m.frame { return "unknown \(m.string(u.type) ?? "-")" }
                return fingerprint(m)
            } catch let e as DecodeError { return "\(e.code) \(e.key ?? "-")" } catch { return "\(error)" }
        }
        for text in variants {
            #expect(outcome(text) == outcome(insertWhitespace(text, " ")), "\(text)")
        }
    }

    /// Escapes in keys and values resolve: `\u` escapes, surrogate pairs, and every short escape.
    @Test func escapes() throws {
        let frame = #"""
            {"t\u0079pe":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":"0x\u0041b"},
             "data":{"t\u0030s":"\ud83d\ude80 \"q\" \\ \/ \b\f\n\r\t é","tp":"b\u0075y","tx":"0xabc","lgid":1},"ts":1}
            """#
        let m = try decode(frame)
        let (d, s) = try payload(m, Transaction.self) { if case .transaction(let x) = $0 { x } else { nil } }
        #expect(m.string(s.t0s) == "🚀 \"q\" \\ / \u{8}\u{c}\n\r\t é")
        #expect(s.side == .buy)
        #expect(m.string(d.params.address) == "0xAb")
        #expect(s.tx.map { $0.hasEscapes } == false)
        #expect(s.t0s.map { $0.hasEscapes } == true)
    }

    /// Keys of 8 to 16 bytes (one word exactly, or two) are found plain, escaped, spaced and in any order; keys
    /// that only share a prefix with a known key are unknown keys, not that key.
    @Test func longKeys() throws {
        let frames = [
            #"{"type":"ack","id":1,"code":0,"params":{"platform_id":14,"interval":"1m"},"sub_count":2,"sub_limit":100,"duplicate":true}"#,
            #"{"type":"ack","id":1,"code":0,"params":{"platform\u005fid":14,"interva\u006c":"1m"},"sub\u005fcount":2,"sub_limit":100,"duplicat\u0065":true}"#,
            #"{ "type" : "ack", "id":1, "code":0, "params" : { "platform_id" : 14 , "interval" : "1m" }, "sub_count" : 2, "sub_limit":100, "duplicate" : true }"#,
            #"{"type":"ack","id":1,"code":0,"params":{"interval":"1m","platform_id":14},"sub_limit":100,"duplicate":true,"sub_count":2}"#,
        ]
        for text in frames {
            guard case .ack(let a) = try decode(text).frame else { Issue.record("not an ack: \(text)"); continue }
            #expect(a.params?.platformID == 14, "\(text)")
            #expect(a.params?.interval != nil, "\(text)")
            #expect(a.subCount == 2 && a.subLimit == 100 && a.duplicate, "\(text)")
            #expect(a.params?.unknownKeyCount == 0, "\(text)")
        }
        let welcome = try decode(#"{"type":"welcome","ping_interval_ms":30000}"#)
        guard case .welcome(let w) = welcome.frame else { Issue.record("not a welcome"); return }
        #expect(w.pingIntervalMS == 30000)
        let nearMisses = try decode(
            #"{"type":"ack","params":{"platform_idx":1,"platform_i":2,"crypto_ids_":[3],"pool_address2":"x"},"sub_counts":2}"#
        )
        guard case .ack(let n) = nearMisses.frame else { Issue.record("not an ack"); return }
        #expect(n.params?.platformID == nil && n.params?.cryptoID == nil && n.params?.address == nil)
        #expect(n.params?.unknownKeyCount == 4)
        #expect(n.subCount == nil)
    }

    /// Raw UTF-8 in strings is kept as is.
    @Test func rawUTF8() throws {
        let m = try decode(
            #"{"type":"data","channel":"onchain@transaction","params":{},"data":{"t0s":"ñ€😀","tx":"x"},"ts":1}"#
        )
        let (_, s) = try payload(m, Transaction.self) { if case .transaction(let x) = $0 { x } else { nil } }
        #expect(m.string(s.t0s) == "ñ€😀")
    }

    /// `null` differs from absent, for every kind of field.
    @Test func nullVersusAbsent() throws {
        let m = try decode(
            #"{"type":"data","channel":"onchain@transaction","params":{},"data":{"vu":null,"tx":null,"ex":null,"lgid":null},"ts":null}"#
        )
        let (d, s) = try payload(m, Transaction.self) { if case .transaction(let x) = $0 { x } else { nil } }
        #expect(d.ts == nil)
        for field in [Transaction.Field.vu, .tx, .ex, .lgid] {
            #expect(s[field] == .null)
            #expect(s.isNull(field) && s.contains(field))
        }
        #expect(s[.q] == .absent && !s.contains(.q) && !s.isNull(.q))
        #expect(s.vu == nil && s.tx == nil && s.ex == nil && s.lgid == nil)
    }

    /// A repeated key: the last value counts, null or not, for fields of every kind, for `sts` (the last array,
    /// and in it the last entry of a window) and for window objects (a repeated one is read over the earlier).
    @Test func repeatedKeysLastWins() throws {
        let swap = try decode(
            #"{"type":"data","channel":"onchain@transaction","params":{},"data":{"vu":null,"tx":"a","lgid":1,"vu":2.5,"tx":null,"lgid":"7","lgid":8},"ts":1}"#
        )
        let (_, s) = try payload(swap, Transaction.self) { if case .transaction(let x) = $0 { x } else { nil } }
        #expect(s.vu == 2.5 && !s.isNull(.vu))
        #expect(s.tx == nil && s.isNull(.tx))
        #expect(s.lgid == 8)
        let metric = try decode(
            #"{"type":"data","channel":"onchain@token_metric","params":{},"data":{"pid":1,"a":"x","sts":null,"sts":[{"win":"5m","vu":9}],"sts":[{"win":"1h","vu":1,"txs":4},{"win":"1h","vu":2}]},"ts":1}"#
        )
        let (_, t) = try payload(metric, TokenMetric.self) { if case .tokenMetric(let x) = $0 { x } else { nil } }
        #expect(t.window(.m5) == nil)
        #expect(t.window(.h1)?.vu == 2 && t.window(.h1)?.txs == nil)
        let pool = try decode(
            #"{"type":"data","channel":"onchain@pool_metric","params":{},"data":{"pid":1,"pa":"x","1h":null,"1h":{"bvu":1,"ut":3},"1h":{"bvu":2}},"ts":1}"#
        )
        let (_, q) = try payload(pool, PoolMetric.self) { if case .poolMetric(let x) = $0 { x } else { nil } }
        #expect(q.window(.h1)?.bvu == 2 && q.window(.h1)?.ut == 3)
    }

    /// Keys, frame types and channels this version does not know are kept, never fatal.
    @Test func unknownThingsAreKept() throws {
        let m = try decode(
            #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1,"mode":"full"},"data":{"cid":1,"p":2.5,"p1h":0.25,"nested":{"a":[1,{"b":null}]}},"ts":1,"extra":true}"#
        )
        let (d, q) = try payload(m, CryptoLatestPrice.self) { if case .cryptoLatestPrice(let x) = $0 { x } else { nil } }
        #expect(q.unknownKeyCount == 2)
        #expect(d.params.unknownKeyCount == 1)
        #expect(m.payloadJSON?["p1h"]?.double == 0.25)
        #expect(m.payloadJSON?["nested"]?["a"]?[1]?["b"]?.isNull == true)

        let unknownType = try decode(#"{"type":"heartbeat","n":1}"#)
        guard case .unknown(let u) = unknownType.frame else { Issue.record("expected unknown"); return }
        #expect(unknownType.string(u.type) == "heartbeat")

        let unknownChannel = try decode(#"{"type":"data","channel":"onchain@new_thing","params":{},"data":{"z":1},"ts":5}"#)
        guard case .data(let uc) = unknownChannel.frame else { Issue.record("expected data"); return }
        #expect(uc.channel == nil)
        #expect(unknownChannel.string(uc.channelName) == "onchain@new_thing")
        guard case .unknown = uc.payload else { Issue.record("expected unknown payload"); return }
        #expect(unknownChannel.payloadJSON?["z"]?.int == 1)

        // A holder variant whose fields the reference does not know: its keys are all reachable.
        let holderCount = try decode(
            #"{"type":"data","channel":"onchain@holders_metrics","params":{},"data":{"pid":1,"a":"0x1","tp":"holder_count","ts":5,"hc":1234,"hcc":-3.5}}"#
        )
        let (_, h) = try payload(holderCount, HoldersMetrics.self) {
            if case .holdersMetrics(let x) = $0 { x } else { nil }
        }
        #expect(h.kind == .holderCount)
        #expect(h.unknownKeyCount == 2)
        #expect(holderCount.payloadJSON?["hc"]?.int == 1234)
        #expect(holderCount.payloadJSON?["hcc"]?.decimal?.description == "-3.5")
    }

    /// Scalar and array params, as acks and pushes send them.
    @Test func paramsScalarAndArray() throws {
        let ack = try decode(
            #"{"type":"ack","id":3,"code":0,"msg":"ok","channel":"market@crypto_latest_price","params":{"crypto_ids":[1,1027]},"sub_count":2,"sub_limit":100,"duplicate":true}"#
        )
        guard case .ack(let a) = ack.frame else { Issue.record("not an ack"); return }
        #expect(a.params?.cryptoID == 1)
        #expect(a.params?.targetCount == 2)
        #expect(a.duplicate)
        #expect(ack.json["params"]?["crypto_ids"]?.elements.compactMap(\.int) == [1, 1027])
    }

    /// Exact decimals for every number. Numbers quoted as strings are not numbers: such a field reads as absent
    /// and mistyped (only `error_code` reads a quoted number), and the envelope's read as absent.
    @Test func exactDecimalsAndQuotedNumbers() throws {
        let m = try decode(Examples.transaction)
        #expect(m.payloadJSON?["vu"]?.numberText == "167.11650988683866")
        #expect(m.payloadJSON?["vu"]?.decimal?.description == "167.11650988683866")
        let quoted = try decode(
            #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":"81187.93284788371"},"ts":"1"}"#
        )
        let (d, q) = try payload(quoted, CryptoLatestPrice.self) {
            if case .cryptoLatestPrice(let x) = $0 { x } else { nil }
        }
        #expect(q.cid == 1 && q.p == nil && q.isMistyped(.p) && d.ts == nil && d.params.cryptoID == 1)
        // Integer fields written as integral numbers of another shape.
        let shapes = try decode(
            #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1e3,"p":1},"ts":17.0E2}"#
        )
        let (d2, q2) = try payload(shapes, CryptoLatestPrice.self) {
            if case .cryptoLatestPrice(let x) = $0 { x } else { nil }
        }
        #expect(q2.cid == 1000 && d2.ts == 1700)
        // A price whose `cid` is not an integer: delivered, of no channel.
        let noID = try decode(#"{"type":"data","channel":"market@crypto_latest_price","data":{"cid":"1.5","p":1}}"#)
        guard case .data(let d3) = noID.frame, case .unknown = d3.payload else {
            Issue.record("a price without an integer cid is typed")
            return
        }
    }

    // MARK: - Malformed input

    /// Every proper prefix of every example is rejected with a typed error, never a crash.
    @Test(arguments: allExamples)
    func everyTruncationIsAnError(_ example: String) {
        let bytes = Array(example.utf8)
        let end = bytes.lastIndex(of: UInt8(ascii: "}"))!
        for cut in 0...end {
            let prefix = Array(bytes[0..<cut])
            #expect(throws: DecodeError.self, "prefix \(cut)") { try FrameDecoder().decode(prefix) }
        }
    }

    @Test func trailingBytes() throws {
        #expect(throws: DecodeError(.unexpectedByte, at: Examples.pong.utf8.count + 1)) {
            try FrameDecoder().decode(Examples.pong + " x")
        }
        _ = try decode(Examples.pong + " \r\n\t ")
    }

    @Test(arguments: [
        (#"{"type":"pong","id":1,}"#, DecodeError.Code.unexpectedByte, 22),
        (#"{"type":"pong" "id":1}"#, .unexpectedByte, 15),
        (#"{"type":pong}"#, .unexpectedByte, 8),
        (#"{"type":"po\x"}"#, .invalidEscape, 11),
        (#"{"type":"\ud800"}"#, .invalidEscape, 9),
        (#"{"type":"\udc00"}"#, .invalidEscape, 9),
        (#"{"type":"\ud800\u0041"}"#, .invalidEscape, 15),
        (#"{"type":"\u12G4"}"#, .invalidEscape, 13),
        ("{\"type\":\"a\u{1}b\"}", .invalidString, 10),
        (#"{"ts":01}"#, .unexpectedByte, 7),
        (#"{"ts":-}"#, .invalidNumber, 7),
        (#"{"ts":1.}"#, .invalidNumber, 8),
        (#"{"ts":1e}"#, .invalidNumber, 8),
        (#"{"ts":tru}"#, .unexpectedByte, 9),
        (#"{"x":tru}"#, .unexpectedByte, 8),
        (#"{"x":[1 2]}"#, .unexpectedByte, 8),
        (#"{"x":nul}"#, .unexpectedByte, 8),
        (#"[1,2]"#, .notAnObject, 0),
        (#""text""#, .notAnObject, 0),
        ("", .unexpectedEnd, 0),
        ("   ", .unexpectedEnd, 3),
        (#"{"type":"data","channel":"market@crypto_latest_price","params":{},"data":{"cid":1,"p":tru}}"#, .unexpectedByte, 89),
        (#"{"type":"data","channel":"onchain@token_metric","params":{},"data":{"sts":[{"win":"1h","vu":"x}]}}"#, .unexpectedEnd, 98),
    ])
    func malformed(_ text: String, _ code: DecodeError.Code, _ offset: Int) {
        #expect(throws: DecodeError.self) { try FrameDecoder().decode(text) }
        do {
            _ = try FrameDecoder().decode(text)
        } catch {
            #expect(error.code == code, "\(text)")
            #expect(error.offset == offset, "\(text): \(error)")
        }
    }

    @Test func invalidUTF8() {
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC3]] {
            let frame = Array(#"{"type":""#.utf8) + bad + Array(#""}"#.utf8)
            #expect(throws: DecodeError.self) { try FrameDecoder().decode(frame) }
        }
    }

    // MARK: - Hostile input

    /// Deep nesting stops at the limit, fast, without recursion blowing the stack.
    @Test func deepNesting() {
        let deep = #"{"x":"# + String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000) + "}"
        #expect(throws: DecodeError(.tooDeep, at: 5 + 31)) { try FrameDecoder().decode(deep) }
        let objects = #"{"x":"# + String(repeating: #"{"a":"#, count: 50_000) + "1" + String(repeating: "}", count: 50_001)
        #expect(throws: DecodeError.self) { try FrameDecoder().decode(objects) }
    }

    @Test func sizeLimit() {
        var decoder = FrameDecoder()
        decoder.limits.maxFrameBytes = 1024
        let big = #"{"type":"pong","pad":""# + String(repeating: "x", count: 2000) + #""}"#
        #expect(throws: DecodeError(.tooLarge, at: 1024)) { try decoder.decode(big) }
    }

    @Test func endlessValues() {
        let endlessString = #"{"type":""# + String(repeating: "a", count: 1 << 20)
        #expect(throws: DecodeError(.unexpectedEnd, at: endlessString.utf8.count)) {
            try FrameDecoder().decode(endlessString)
        }
        let endlessNumber = #"{"ts":"# + String(repeating: "9", count: 1 << 20)
        #expect(throws: DecodeError.self) { try FrameDecoder().decode(endlessNumber) }
        let hugeNumber = #"{"type":"pong","ts":1,"x":"# + String(repeating: "9", count: 100_000) + ".5e-99990}"
        #expect(throws: Never.self) { try FrameDecoder().decode(hugeNumber) }
    }

    /// Random corruption of real frames: every result is a frame or a typed error.
    @Test func randomCorruption() {
        var rng = SplitMix64(seed: 99)
        let sources = Self.allExamples.map { Array($0.utf8) }
        var errors = 0
        for _ in 0..<50_000 {
            var bytes = sources[Int.random(in: 0..<sources.count, using: &rng)]
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes.remove(at: at)
                case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: at)
                default: bytes.removeSubrange(at..<bytes.count)
                }
                if bytes.isEmpty { bytes = [0x7B] }
            }
            do {
                _ = try FrameDecoder().decode(bytes)
            } catch {
                errors += 1
                #expect(error.offset >= 0 && error.offset <= bytes.count)
            }
        }
        #expect(errors > 10_000)
    }

    /// The `Span` entry point decodes in place, like the buffer one.
    @Test func spanEntryPoint() throws {
        let bytes = Array(Examples.kline.utf8)
        let frame = try FrameDecoder().decode(bytes.span)
        guard case .data(let d) = frame, case .kline(let k) = d.payload else { Issue.record("not kline"); return }
        #expect(k.c == 0.999677480145)
    }
}

// MARK: - Helpers

/// A comparable summary of a decoded frame: every field of the payload, strings materialised.
func fingerprint(_ m: Message) -> String {
    guard case .data(let d) = m.frame else { return "\(m.frame)" }
    var out = "\(d.channel?.rawValue ?? "?")|\(d.ts ?? -1)|\(d.params.platformID ?? -1)|\(d.params.cryptoID ?? -1)|"
    out += "\(m.string(d.params.address) ?? "-")|\(m.string(d.params.interval) ?? "-")|"
    func add<P: PayloadFields>(_ p: P) {
        for f in P.Field.allCases {
            switch p[f] {
            case .text(let s): out += "\(f.wireKey)=\(m.string(s));"
            case let v: out += "\(f.wireKey)=\(v);"
            }
        }
        out += "unknown=\(p.unknownKeyCount)|"
    }
    switch d.payload {
    case .cryptoLatestPrice(let p): add(p)
    case .tokenAggEvent(let p): add(p)
    case .transaction(let p): add(p)
    case .liquidityEvent(let p): add(p)
    case .kline(let p): add(p)
    case .tokenMetric(let p):
        add(p)
        p.forEachWindow { name, w in out += "\(name):"; add(w) }
    case .poolMetric(let p):
        add(p)
        p.forEachWindow { name, w in out += "\(name):"; add(w) }
    case .uniqueTrader(let p): add(p)
    case .holdersMetrics(let p): add(p)
    case .holderWalletUpdate(let p): add(p)
    case .unknown: out += "unknown"
    }
    return out
}

/// Re-inserts `ws` between every pair of JSON tokens (outside strings), after removing existing whitespace.
func insertWhitespace(_ json: String, _ ws: String) -> String {
    var out = ""
    var inString = false
    var escaped = false
    for ch in json {
        if inString {
            out.append(ch)
            if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { inString = false }
            continue
        }
        switch ch {
        case " ", "\n", "\t", "\r": continue
        case "\"": inString = true; out += ws; out.append(ch)
        case "{", "[", ",", ":", "}", "]": out += ws; out.append(ch); out += ws
        default: out.append(ch)
        }
    }
    return out
}

/// Rewrites a value with every object's members in reverse order.
func reverseMembers(_ v: JSONValue) -> String {
    switch v.kind {
    case .object:
        let parts = v.members.reversed().map { "\"\($0.key)\":" + reverseMembers($0.value) }
        return "{" + parts.joined(separator: ",") + "}"
    case .array:
        return "[" + v.elements.map(reverseMembers).joined(separator: ",") + "]"
    default:
        return v.rawText
    }
}

@Suite struct JSONValueTests {
    @Test func parsingValidatesTheWholeDocument() throws {
        let v = try JSONValue(parsing: Array(#" {"id":1,"method":"subscribe","params":{"crypto_ids":[1,1027]}} "#.utf8))
        #expect(v["method"]?.string == "subscribe")
        #expect(v["params"]?["crypto_ids"]?.elements.compactMap(\.int) == [1, 1027])
        #expect(v["id"]?.int == 1)
        #expect(v["missing"] == nil)
        #expect(throws: DecodeError(.unexpectedByte, at: 3)) { try JSONValue(parsing: Array("{} x".utf8)) }
        #expect(throws: DecodeError(.unexpectedEnd, at: 0)) { try JSONValue(parsing: []) }
        #expect(try JSONValue(parsing: Array("[1, 2.5, null]".utf8)).elements.count == 3)
    }
}
