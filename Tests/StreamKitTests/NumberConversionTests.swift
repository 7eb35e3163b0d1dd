// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
import Foundation
import StreamKitTestSupport
import Testing

@testable import StreamKit

/// Number conversion: the JSON grammar exactly, doubles bit-identical to glibc `strtod`, exact Int64 integers.
@Suite struct NumberConversionTests {
    /// Parses `text` as a whole; nil when the grammar rejects it or it does not consume everything.
    ///
    /// - Parameter padded: Follow the number with a delimiter and 48 spaces, as inside a frame, so the
    ///   common-shape path (which needs room to read ahead) runs; unpadded, only the general path can.
    static func parse(_ text: String, padded: Bool = false) -> ParsedNumber? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return nil }
        let buffer = padded ? bytes + Array(",}".utf8) + Array(repeating: 0x20, count: 48) : bytes
        var r = ParsedNumber()
        let ok = buffer.withUnsafeBufferPointer { NumberParser.parse($0.baseAddress!, start: 0, limit: $0.count, into: &r) }
        return ok && r.end == bytes.count ? r : nil
    }

    /// Both paths (padded and not) must agree with strtod, bit for bit, and with each other on integers.
    static func expectSameAsStrtod(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let reference = strtod(text, nil)
        var results: [ParsedNumber] = []
        for padded in [false, true] {
            guard let r = parse(text, padded: padded) else {
                Issue.record("rejected valid number \(text) (padded: \(padded))", sourceLocation: sourceLocation)
                return
            }
            #expect(
                r.double.bitPattern == reference.bitPattern,
                "\(text) (padded: \(padded)): \(r.double) vs strtod \(reference)",
                sourceLocation: sourceLocation
            )
            results.append(r)
        }
        #expect(results[0].isInteger == results[1].isInteger, "\(text)", sourceLocation: sourceLocation)
        #expect(results[0].integer == results[1].integer || !results[0].isInteger, "\(text)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [
        "2.2250738585072011e-308", "2.2250738585072012e-308", "1.7976931348623157e308", "1.7976931348623158e308",
        "1.7976931348623159e308", "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
        "9007199254740993", "9007199254740992.5", "0.1", "-0", "-0.0", "0e0", "1E+2", "1e-0", "7.038531e-26",
        "89255.0e-22", "1e23", "8.589973e9", "1e400", "-1e400", "1e-400", "1e-99999999999", "1e99999999999",
        "123456789012345678901234567890", "0.000000000000000000000000000000000000001", "18446744073709551616",
        "1.00000000000000011102230246251565404236316680908203125", "1.00000000000000011102230246251565404236316680908203124",
        "1.00000000000000011102230246251565404236316680908203126", "0.30000000000000004", "81187.93284788371",
        "167.11650988683866", "1778663880111", "131301167.42003132", "-0.769630510488", "4.5492442045448474e-06",
    ])
    func hardCases(_ text: String) {
        Self.expectSameAsStrtod(text)
    }

    /// 200 000 seeded inputs across every regime, each bit-identical to strtod.
    ///
    /// It yields every thousand inputs: it runs for many seconds under the sanitizers, and the tests run in
    /// parallel on a pool of as many threads as cores, where the tests that wait for timers would otherwise starve.
    @Test func differentialAgainstStrtod() async {
        var rng = SplitMix64(seed: 2026)
        func digits(_ n: Int) -> String {
            String((0..<n).map { i in Character(String(i == 0 ? Int.random(in: 1...9, using: &rng) : Int.random(in: 0...9, using: &rng))) })
        }
        var inputs = 0
        func yieldNow() async {
            inputs += 1
            if inputs % 1000 == 0 { await Task.yield() }
        }
        for _ in 0..<60_000 {
            await yieldNow()
            // The feed's shape: 15-17 significant digits, the point anywhere.
            var m = digits(Int.random(in: 15...17, using: &rng))
            m.insert(".", at: m.index(m.startIndex, offsetBy: Int.random(in: 1..<(m.count - 1), using: &rng)))
            Self.expectSameAsStrtod(Bool.random(using: &rng) ? "-" + m : m)
        }
        for _ in 0..<40_000 {
            await yieldNow()
            // Long fractions (the common shape's third digit run): small prices `0.000ddd` with up to 21
            // significant digits after 0 to 10 zeros, and 14 to 24 fraction digits after a short integer part.
            let zeros = String(repeating: "0", count: Int.random(in: 0...10, using: &rng))
            let small = "0.\(zeros)\(digits(Int.random(in: 14...21, using: &rng)))"
            let long = "\(digits(Int.random(in: 1...3, using: &rng))).\(zeros.prefix(1))\(digits(Int.random(in: 13...23, using: &rng)))"
            for m in [small, long] { Self.expectSameAsStrtod(Bool.random(using: &rng) ? "-" + m : m) }
        }
        for _ in 0..<60_000 {
            await yieldNow()
            // 1-19 digit mantissas, exponents across the whole range and beyond.
            Self.expectSameAsStrtod("\(digits(Int.random(in: 1...19, using: &rng)))e\(Int.random(in: -350...320, using: &rng))")
        }
        for _ in 0..<40_000 {
            await yieldNow()
            // Random doubles in shortest form and with 17 and 30 significant digits (near-halfway cases).
            let d = Double(bitPattern: UInt64.random(in: 0...0x7FEF_FFFF_FFFF_FFFF, using: &rng))
            Self.expectSameAsStrtod("\(d)")
            Self.expectSameAsStrtod(String(format: "%.16e", d))
            Self.expectSameAsStrtod(String(format: "%.29e", d))
        }
        for _ in 0..<2_000 {
            await yieldNow()
            // More than 19 digits: the two-bound check and the fallback.
            Self.expectSameAsStrtod("0.\(String(repeating: "0", count: Int.random(in: 0...5, using: &rng)))\(digits(Int.random(in: 20...60, using: &rng)))")
            Self.expectSameAsStrtod("\(digits(Int.random(in: 20...400, using: &rng)))e-\(Int.random(in: 0...400, using: &rng))")
        }
    }

    /// The shapes the feed sends take the common-shape path (the general one would give the same values, slower,
    /// so only this checks which path runs), and what it must not take goes to the general path.
    @Test func commonShapeTakesTheFeedsNumbers() {
        func common(_ text: String) -> ParsedNumber? {
            let buffer = Array(text.utf8) + Array(",}".utf8) + Array(repeating: 0x20, count: 48)
            var r = ParsedNumber()
            let ok = buffer.withUnsafeBufferPointer {
                NumberParser.parseCommonShape($0.baseAddress!, start: 0, limit: $0.count, into: &r)
            }
            return ok ? r : nil
        }
        let taken = [
            "167.11650988683866", "0.12314902509161489", "-30.032882300388508", "0.0002742018337635933",
            "0.00000000123456789012345", "29326577239793.984", "1778666666122", "-7", "0", "0.5",
            "123456789012345.6", "0.0000000000000000000001", "12.12345678901234567",
        ]
        for text in taken {
            guard let r = common(text) else {
                Issue.record("\(text): not taken by the common shape")
                continue
            }
            #expect(r.end == text.utf8.count, "\(text)")
            #expect(r.double.bitPattern == strtod(text, nil).bitPattern, "\(text)")
        }
        let refused = [
            "1e5", "4.5492442045448474e-06", "12345678901234567", "0.000000000000000000000001", "01",
            "1.12345678901234567890", "0.123456789012345678901234", "-", "1.", "-.5",
        ]
        for text in refused {
            #expect(common(text) == nil, "\(text): taken by the common shape")
        }
    }

    /// Exact midpoints between adjacent doubles, written out in full: ties must round to even.
    @Test func exactHalfwayPoints() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            // d = m * 2^e with 53-bit m; the midpoint (2m + 1) * 2^(e-1) printed exactly via Decimal-free big integers.
            let m = UInt64.random(in: (1 << 52)..<(1 << 53), using: &rng)
            let e = Int.random(in: -30...30, using: &rng)
            let odd = 2 * m + 1  // midpoint numerator at exponent e - 1
            let text: String
            if e - 1 >= 0 {
                text = Self.multiply(String(odd), byPowerOfTwo: e - 1)
            } else {
                // odd / 2^k = odd * 5^k / 10^k
                let k = -(e - 1)
                let digits = Self.multiply(String(odd), byPowerOfFive: k)
                text = "\(digits)e-\(k)"
            }
            Self.expectSameAsStrtod(text)
        }
    }

    static func multiply(_ decimal: String, by factor: Int) -> String {
        var digits = decimal.utf8.map { Int($0) - 48 }
        var carry = 0
        for i in stride(from: digits.count - 1, through: 0, by: -1) {
            let v = digits[i] * factor + carry
            digits[i] = v % 10
            carry = v / 10
        }
        while carry > 0 {
            digits.insert(carry % 10, at: 0)
            carry /= 10
        }
        return String(digits.map { Character(String($0)) })
    }

    static func multiply(_ decimal: String, byPowerOfTwo k: Int) -> String {
        (0..<k).reduce(decimal) { acc, _ in multiply(acc, by: 2) }
    }

    static func multiply(_ decimal: String, byPowerOfFive k: Int) -> String {
        (0..<k).reduce(decimal) { acc, _ in multiply(acc, by: 5) }
    }

    @Test(arguments: [
        ("01", 1), ("-", 1), ("1.", 2), (".5", 0), ("1e", 2), ("1e+", 3), ("+1", 0), ("-a", 1), ("1.e5", 2),
        ("--1", 1), ("0x10", 1), ("NaN", 0), ("-Infinity", 1), ("01.5", 1), ("-01", 2), ("1.5.3", 3),
        ("-.5", 1), ("00", 1), ("1.5e", 4), ("123456789012345678901234.5e", 27),
    ])
    func grammar(_ text: String, _ stop: Int) {
        let bytes = Array(text.utf8)
        for buffer in [bytes, bytes + Array(repeating: 0x20, count: 48)] {
            var r = ParsedNumber()
            let ok = buffer.withUnsafeBufferPointer {
                NumberParser.parse($0.baseAddress!, start: 0, limit: $0.count, into: &r)
            }
            // Either rejected at `stop`, or accepted as a shorter number ending at `stop` (the caller then sees
            // the next byte as an unexpected delimiter).
            #expect(!ok || r.end < bytes.count, "\(text)")
            #expect(r.end == stop, "\(text): stopped at \(r.end)")
        }
    }

    /// Every prefix of a valid number is either a valid shorter number or rejected; never a trap.
    @Test func prefixes() {
        for text in ["-1.5e+3", "81187.93284788371", "1778663880111", "0.000123E-7"] {
            let bytes = Array(text.utf8)
            for cut in 1...bytes.count {
                var r = ParsedNumber()
                let prefix = Array(bytes[0..<cut])
                _ = prefix.withUnsafeBufferPointer {
                    NumberParser.parse($0.baseAddress!, start: 0, limit: $0.count, into: &r)
                }
                #expect(r.end <= cut)
            }
        }
    }

    @Test func integers() {
        for padded in [false, true] {
            #expect(Self.parse("1234567890123456", padded: padded)?.integer == 1_234_567_890_123_456)
            #expect(Self.parse("-123456789012345", padded: padded)?.integer == -123_456_789_012_345)
            #expect(Self.parse("1778663880111", padded: padded)?.integer == 1_778_663_880_111)
            #expect(Self.parse("0", padded: padded)?.integer == 0)
        }
        #expect(Self.parse("9223372036854775807")?.integer == Int64.max)
        #expect(Self.parse("-9223372036854775808")?.integer == Int64.min)
        #expect(Self.parse("9223372036854775808")?.isInteger == false)
        #expect(Self.parse("-9223372036854775809")?.isInteger == false)
        #expect(Self.parse("1778663880111")?.integer == 1_778_663_880_111)
        #expect(Self.parse("-0")?.integer == 0)
        #expect(Self.parse("-0")?.double.sign == .minus)
        #expect(Self.parse("1.0")?.isInteger == false)
        #expect(Self.parse("1e3")?.isInteger == false)
        #expect(Self.parse("1e3")?.double == 1000)
    }
}
