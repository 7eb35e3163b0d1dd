// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import StreamKitTestSupport
import Testing

@testable import StreamKit

/// Thousands of generated frames through StreamKit and through Foundation's `JSONDecoder` (whose doubles are
/// correctly rounded, unlike `JSONSerialization`'s): every value must be identical, doubles bit for bit.
/// `JSONSerialization` is used only for structure (which keys are present, which are null).
@Suite struct DifferentialTests {
    @Test(arguments: [(UInt64(42), false), (UInt64(7), true), (UInt64(2026), true)])
    func corpusMatchesJSONDecoder(seed: UInt64, exotic: Bool) async throws {
        var corpus = Corpus(seed: seed, options: Corpus.Options(exotic: exotic, nullRate: 0.05, absentRate: 0.05))
        let jsonDecoder = JSONDecoder()
        var checkedFields = 0
        for index in 0..<3000 {
            // Seconds of CPU under the sanitizers: leave the shared test pool to the tests that wait for timers.
            if index % 100 == 99 { await Task.yield() }
            let bytes = corpus.frame()
            let context = "seed \(seed) frame \(index): \(String(decoding: bytes, as: UTF8.self))"
            let message = try FrameDecoder().decode(bytes)
            let dto = try jsonDecoder.decode(DataFrameDTO.self, from: Data(bytes))
            let raw = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
            let rawData = try #require(raw["data"] as? [String: Any])
            guard case .data(let frame) = message.frame else {
                Issue.record("not data: \(context)")
                continue
            }
            #expect(frame.channel?.rawValue == dto.channel, "\(context)")
            #expect(frame.ts == dto.ts, "\(context)")
            #expect(frame.params.platformID == dto.params.platform_id, "\(context)")
            #expect(frame.params.cryptoID == dto.params.crypto_ids, "\(context)")
            let address = dto.params.address ?? dto.params.pool_address ?? dto.params.wallet_address
            #expect(message.string(frame.params.address) == address, "\(context)")
            #expect(message.string(frame.params.interval) == dto.params.interval, "\(context)")

            var c = Comparer(message: message, context: context)
            switch (frame.payload, dto.payload) {
            case (.cryptoLatestPrice(let p), .cryptoLatestPrice(let d)): c.compare(p, { d[wire: $0] }, rawData)
            case (.tokenAggEvent(let p), .tokenAggEvent(let d)): c.compare(p, { d[wire: $0] }, rawData)
            case (.transaction(let p), .transaction(let d)): c.compare(p, { d[wire: $0] }, rawData)
            case (.liquidityEvent(let p), .liquidityEvent(let d)): c.compare(p, { d[wire: $0] }, rawData)
            case (.kline(let p), .kline(let d)): c.compare(p, { d[wire: $0] }, rawData)
            case (.uniqueTrader(let p), .uniqueTrader(let d)): c.compare(p, { d[wire: $0] }, rawData)
            case (.holdersMetrics(let p), .holdersMetrics(let d)): c.compare(p, { d[wire: $0] }, rawData)
            case (.holderWalletUpdate(let p), .holderWalletUpdate(let d)): c.compare(p, { d[wire: $0] }, rawData)
            case (.tokenMetric(let p), .tokenMetric(let d)):
                c.compare(p, { d[wire: $0] }, rawData, extraKnownKeys: ["sts"])
                let rawWindows = rawData["sts"] as? [Any] ?? []
                #expect(p.windowMask.nonzeroBitCount == (d.sts ?? []).count, "\(context)")
                for (i, dw) in (d.sts ?? []).enumerated() {
                    guard let dw, let name = dw.win.flatMap(TokenMetricWindow.Name.init(wireName:)) else { continue }
                    let w = try #require(p.window(name), "\(context)")
                    c.compare(w, { dw[wire: $0] }, rawWindows[i] as? [String: Any] ?? [:])
                }
            case (.poolMetric(let p), .poolMetric(let d)):
                c.compare(p, { d[wire: $0] }, rawData, extraKnownKeys: ["5m", "1h", "4h", "24h", "7d"])
                let pairs: [(PoolMetricWindow.Name, PoolMetricWindowDTO?)] = [
                    (.m5, d.m5), (.h1, d.h1), (.h4, d.h4), (.h24, d.h24), (.d7, d.d7),
                ]
                for (name, dw) in pairs {
                    let rawWindow = rawData[name.description]
                    #expect((p.window(name) != nil) == (dw != nil), "\(name) \(context)")
                    #expect((p.windowMask & (1 << name.rawValue) != 0) == (rawWindow != nil), "\(context)")
                    if let w = p.window(name), let dw {
                        c.compare(w, { dw[wire: $0] }, rawWindow as? [String: Any] ?? [:])
                    }
                }
            default:
                Issue.record("payload mismatch \(frame.payload) vs \(dto.payload): \(context)")
            }
            checkedFields += c.checked
        }
        #expect(checkedFields > 3000 * 8)
    }
}

/// Compares one payload's fields with Foundation's view of them.
struct Comparer {
    let message: Message
    let context: String
    var checked = 0

    mutating func compare<P: PayloadFields>(
        _ payload: P,
        _ mirror: (String) -> MirrorValue,
        _ raw: [String: Any],
        extraKnownKeys: Set<String> = []
    ) {
        var known = extraKnownKeys
        for field in P.Field.allCases {
            let key = field.wireKey
            known.insert(key)
            let value = payload[field]
            // Structure: absent and null exactly where Foundation sees them.
            switch raw[key] {
            case nil: #expect(value == .absent, "\(key) should be absent: \(self.context)")
            case is NSNull: #expect(value == .null, "\(key) should be null: \(self.context)")
            default: #expect(value != .absent && value != .null, "\(key) should have a value: \(self.context)")
            }
            let expected = mirror(key)
            switch (value, expected) {
            case (.absent, .none), (.null, .none):
                break
            case (.double(let a), .double(let b)):
                #expect(a.bitPattern == b.bitPattern, "\(key): \(a) vs \(b): \(self.context)")
            case (.int(let a), .int(let b)):
                #expect(a == b, "\(key): \(self.context)")
            case (.bool(let a), .bool(let b)):
                #expect(a == b, "\(key): \(self.context)")
            case (.text(let s), .text(let b)):
                #expect(self.message.string(s) == b, "\(key): \(self.context)")
            default:
                Issue.record("\(key): \(value) vs \(expected): \(self.context)")
            }
            self.checked += 1
        }
        let unknown = raw.keys.filter { !known.contains($0) }.count
        #expect(payload.unknownKeyCount == unknown, "unknown keys: \(self.context)")
    }
}
