// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Theory of operation
//
// A JSON number is validated and converted in one left-to-right pass over its bytes:
//
// 1. Grammar and digits. `-? (0 | [1-9][0-9]*) (.[0-9]+)? ([eE][+-]?[0-9]+)?` is checked while the significant
//    digits accumulate into a 64-bit integer `w` (at most 19 of them fit exactly) and the decimal exponent `q`
//    is tracked, so that the value is w * 10^q. Leading zeros do not count as significant; of more than 19
//    significant digits, `w` keeps the first 19.
// 2. Conversion, every path correctly rounded (round half to even, as `strtod`):
//    - Clinger's exact path (general path only): w <= 2^53 and |q| <= 22. Both w and 10^|q| are exact doubles,
//      and IEEE multiplication or division of two exact values rounds once, correctly. The common shapes go
//      straight to Eisel-Lemire, whose multiplications take less time than the division.
//    - Eisel-Lemire: w is normalised to 64 bits and multiplied by a 128-bit truncated power of five
//      (`pow5Table`); the high bits of the product give the 53-bit mantissa and the rounding direction. Mushtak
//      and Lemire ("Fast Number Parsing Without Fallback", 2023) prove that with the second 64-bit word of the
//      table the product is always sufficient for an exact w, so no fallback is needed for <= 19 digits.
//    - More than 19 significant digits: the value lies between w * 10^q and (w + 1) * 10^q. When Eisel-Lemire
//      rounds both bounds to the same double, that double is the answer; otherwise (rare: a halfway case hidden
//      in the dropped digits) glibc `strtod`, which is correctly rounded, decides from all the digits.
//
// Integer literals (no fraction, no exponent) that fit `Int64` are also returned exactly.

/// The result of converting one JSON number in place.
///
/// Four scalars, so that it comes back from ``NumberParser/parse(_:start:limit:)`` in registers: the next key's
/// scan starts from `end`, and a round trip through memory would sit on that path for every number.
@usableFromInline
struct ParsedNumber {
    /// The correctly rounded value (±0, subnormals and ±infinity for overflow included).
    @usableFromInline var double: Double = 0
    /// The exact value when `isInteger` is true.
    @usableFromInline var integer: Int64 = 0
    /// On success: the offset just past the number. On failure: the offset of the offending byte, or the limit
    /// when the input ended inside the number.
    @usableFromInline var end: Int = 0
    @usableFromInline var flags: UInt8 = 0

    @usableFromInline init() {}

    /// True when the literal has no fraction and no exponent and fits `Int64`.
    @inlinable var isInteger: Bool {
        get { self.flags & 2 != 0 }
        set { self.flags = newValue ? self.flags | 2 : self.flags & ~2 }
    }

    /// True when the bytes were a valid JSON number.
    @inlinable var isValid: Bool {
        get { self.flags & 1 != 0 }
        set { self.flags = newValue ? self.flags | 1 : self.flags & ~1 }
    }
}

@usableFromInline
enum NumberParser {
    /// Parses the JSON number that starts at `base[start]` (a `-` or a digit, as the scanner dispatched it),
    /// stopping at the first byte that cannot continue it. What follows is the caller's to check.
    ///
    /// All of `base[0..<limit]` must be readable, not only `base[start..<limit]`: digits near `limit` are read as
    /// the word that ends there. (`base` is the start of the frame, as every caller passes it.)
    ///
    /// - Returns: The number; not ``ParsedNumber/isValid``, with `end` at the offending byte (or `limit`), when
    ///   the grammar is violated.
    @usableFromInline @inline(never)
    static func parse(_ base: UnsafePointer<UInt8>, start: Int, limit: Int) -> ParsedNumber {
        var result = ParsedNumber()
        if parseCommonShape(base, start: start, limit: limit, into: &result) {
            result.isValid = true
            return result
        }
        return parseGeneral(base, start: start, limit: limit)
    }

    /// ``parseGeneral(_:start:limit:into:)`` as a result (a call of its own, so that the common shapes keep
    /// theirs in registers).
    @usableFromInline @inline(never)
    static func parseGeneral(_ base: UnsafePointer<UInt8>, start: Int, limit: Int) -> ParsedNumber {
        var result = ParsedNumber()
        result.isValid = parseGeneral(base, start: start, limit: limit, into: &result)
        return result
    }

    /// ``parse(_:start:limit:)`` into `result`; returns whether it is valid.
    @inlinable @inline(__always)
    static func parse(_ base: UnsafePointer<UInt8>, start: Int, limit: Int, into result: inout ParsedNumber) -> Bool {
        result = parse(base, start: start, limit: limit)
        return result.isValid
    }

    /// The shapes the feed sends almost exclusively, `[-]ddd` and `[-]ddd.ddd` with at most 19 significant digits
    /// and no exponent, in up to five runs of eight digits with no per-digit work and no branch on a number's
    /// exact length (which varies from value to value and would mispredict): a run is read only when the one before
    /// it filled all eight bytes, which a field's numbers mostly do or mostly don't. Returns false for anything
    /// else, every invalid input included; `parseGeneral` then decides (and reports the offset of the error).
    @usableFromInline @inline(__always)
    static func parseCommonShape(
        _ base: UnsafePointer<UInt8>,
        start: Int,
        limit: Int,
        into result: inout ParsedNumber
    ) -> Bool {
        // The furthest read short of a third fraction run (which checks for room of its own) is the second fraction
        // run's word, 9 to 17 bytes after the '.'; the '.' is at most 16 bytes after `start` (a sign, then at most
        // 15 integer digits), so that word ends by `start + 33`. (The byte after the number is within it.)
        guard start &+ 33 <= limit else { return false }
        let negative = base[start] == UInt8(ascii: "-")
        var i = negative ? start &+ 1 : start
        // Integer part: one run, plus a second when the first filled all eight bytes.
        let (n1, v1) = digitRun(base, i)
        var n2 = 0
        var v2: UInt64 = 0
        if n1 == 8 { (n2, v2) = digitRun(base, i &+ 8) }
        // No digit, a leading zero followed by digits, or 16+ integer digits: the general path.
        guard n1 > 0, n2 < 8, n1 == 1 || base[i] != UInt8(ascii: "0") else { return false }
        var w = v1 &* powerOfTen(n2) &+ v2
        var digits = n1 &+ n2
        i &+= digits
        var exponent = 0
        let isInteger = base[i] != UInt8(ascii: ".")
        if !isInteger {
            i &+= 1
            let (n3, v3) = digitRun(base, i)
            var n4 = 0
            var v4: UInt64 = 0
            if n3 == 8 { (n4, v4) = digitRun(base, i &+ 8) }
            guard n3 > 0 else { return false }
            w = w &* powerOfTen(n3) &* powerOfTen(n4) &+ v3 &* powerOfTen(n4) &+ v4
            var n = n3 &+ n4
            if n4 == 8 {
                // A third run, for 16 to 23 fraction digits (small prices carry them: 0.0002742018337635933). Its
                // word ends by `start + 41`.
                guard start &+ 41 <= limit else { return false }
                let (n5, v5) = digitRun(base, i &+ 16)
                guard n5 < 8 else { return false }
                w = w &* powerOfTen(n5) &+ v5
                n &+= n5
                // The zeros right after "0." are not significant: they do not count against the 19 digits that w
                // holds. (Only the first eight are seen; any more count as digits, which can only send a number
                // that would fit to the general path.)
                if n1 == 1 && v1 == 0 {
                    let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                    digits &-= 1 &+ ((word ^ 0x3030_3030_3030_3030).trailingZeroBitCount &>> 3)
                }
            }
            digits &+= n
            i &+= n
            exponent = -n
        }
        // More than 19 digits, or an exponent follows: not this shape.
        guard digits <= 19, base[i] | 0x20 != UInt8(ascii: "e") else { return false }
        result.end = i
        if isInteger {
            guard w <= UInt64(Int64.max) else { return false }
            result.integer = negative ? -Int64(w) : Int64(w)
            result.isInteger = true
            let d = Double(w)  // exact for w <= 2^53; correctly rounded (to nearest even) above
            result.double = negative ? -d : d
            return true
        }
        result.isInteger = false
        // Eisel-Lemire, exact for any 19-digit w. (Not Clinger's path first, though it applies to most of these:
        // its division takes longer than Eisel-Lemire's multiplications, 2 to 3% of a frame's decode measured.)
        let bits = eiselLemire(w: w, q: exponent)
        result.double = Double(bitPattern: bits | (negative ? 1 << 63 : 0))
        return true
    }

    /// Any JSON number, and every grammar error with its offset.
    @usableFromInline
    static func parseGeneral(_ base: UnsafePointer<UInt8>, start: Int, limit: Int, into result: inout ParsedNumber) -> Bool {
        var i = start
        let negative = base[i] == UInt8(ascii: "-")
        if negative {
            i &+= 1
        }
        guard i < limit else {
            result.end = limit
            return false
        }
        var w: UInt64 = 0
        var significant = 0  // significant digits seen (leading zeros excluded)
        var exponent = 0  // decimal exponent adjustment from fraction digits and dropped integer digits

        // Integer part.
        let first = base[i]
        if first == UInt8(ascii: "0") {
            i &+= 1
        } else if first &- UInt8(ascii: "1") < 9 {
            let (_, dropped) = accumulateDigits(base, &i, limit, &w, &significant)
            exponent &+= dropped  // integer digits past the 19th still count as powers of ten
        } else {
            result.end = i
            return false
        }
        var isInteger = true

        // Fraction.
        if i < limit && base[i] == UInt8(ascii: ".") {
            isInteger = false
            i &+= 1
            let fractionStart = i
            // Leading zeros of 0.000ddd: not significant, they only move the exponent.
            if significant == 0 {
                while i < limit && base[i] == UInt8(ascii: "0") {
                    exponent &-= 1
                    i &+= 1
                }
            }
            let (kept, _) = accumulateDigits(base, &i, limit, &w, &significant)
            exponent &-= kept  // fraction digits past the 19th are dropped: they are below w's last digit
            guard i > fractionStart else {
                result.end = i
                return false
            }
        }

        // Exponent.
        if i < limit && (base[i] | 0x20) == UInt8(ascii: "e") {
            isInteger = false
            i &+= 1
            var negativeExponent = false
            if i < limit && (base[i] == UInt8(ascii: "-") || base[i] == UInt8(ascii: "+")) {
                negativeExponent = base[i] == UInt8(ascii: "-")
                i &+= 1
            }
            let digitsStart = i
            var e = 0
            while i < limit {
                let d = base[i] &- UInt8(ascii: "0")
                guard d < 10 else { break }
                if e < 100_000_000 { e = e &* 10 &+ Int(d) }  // saturate: far beyond any finite double
                i &+= 1
            }
            guard i > digitsStart else {
                result.end = i
                return false
            }
            exponent = negativeExponent ? exponent &- e : exponent &+ e
        }
        result.end = i

        // Exact integers.
        if isInteger && significant <= 19 {
            if negative {
                if w <= 1 << 63 {
                    result.integer = w == 1 << 63 ? Int64.min : -Int64(w)
                    result.isInteger = true
                }
            } else if w <= UInt64(Int64.max) {
                result.integer = Int64(w)
                result.isInteger = true
            }
        } else {
            result.isInteger = false
        }

        // Conversion.
        if significant <= 19 {
            if w <= 1 << 53 && exponent >= -22 && exponent <= 22 {
                var d = Double(w)
                d = exponent < 0 ? d / exactPowersOfTen[-exponent] : d * exactPowersOfTen[exponent]
                result.double = negative ? -d : d
                return true
            }
            result.double = Double(bitPattern: eiselLemire(w: w, q: exponent) | (negative ? 1 << 63 : 0))
            return true
        } else if w != UInt64.max {
            // w * 10^q and (w + 1) * 10^q are both exact decimals, each correctly rounded: when they round alike,
            // so does every value between them.
            let low = eiselLemire(w: w, q: exponent)
            if low == eiselLemire(w: w &+ 1, q: exponent) {
                result.double = Double(bitPattern: low | (negative ? 1 << 63 : 0))
                return true
            }
        }
        result.double = strtodFallback(base, start: start, end: i)
        return true
    }

    /// Consumes a run of digits at `i` into `w` (at most 19 significant digits in all; leading zeros of a
    /// fraction must already be skipped), eight at a time where possible. Reads `base[limit - 8..<limit]` when
    /// fewer than eight bytes are left.
    ///
    /// - Returns: How many digits went into `w`, and how many were dropped past the 19th.
    @usableFromInline @inline(__always)
    static func accumulateDigits(
        _ base: UnsafePointer<UInt8>,
        _ i: inout Int,
        _ limit: Int,
        _ w: inout UInt64,
        _ significant: inout Int
    ) -> (kept: Int, dropped: Int) {
        var kept = 0
        var dropped = 0
        // Runs of up to eight digits: the run's length comes from a bit scan, not a branch per digit, so numbers
        // of varying length cost no mispredictions.
        while i &+ 8 <= limit {
            let (n, value) = digitRun(base, i)
            guard significant &+ n <= 19 else { break }
            w = w &* powerOfTen(n) &+ value
            significant &+= n
            kept &+= n
            i &+= n
            if n < 8 { return (kept, dropped) }
        }
        // Fewer than eight bytes left (a number that ends the input, as the envelope's `ts` nearly does): the word
        // that ends at `limit`, shifted down to start at `i`, so that the bytes past the end read as zero, which is
        // not a digit.
        if i < limit && i &+ 8 > limit && limit >= 8 {
            let v = UnsafeRawPointer(base + (limit &- 8)).loadUnaligned(as: UInt64.self) &>> UInt64((i &+ 8 &- limit) &* 8)
            let (n, value) = digitRun(word: v)
            if significant &+ n <= 19 {
                w = w &* powerOfTen(n) &+ value
                significant &+= n
                kept &+= n
                i &+= n
                return (kept, dropped)
            }
        }
        // The rest one at a time.
        while i < limit {
            let d = base[i] &- UInt8(ascii: "0")
            guard d < 10 else { break }
            if significant < 19 {
                w = w &* 10 &+ UInt64(d)
                kept &+= 1
            } else {
                dropped &+= 1
            }
            if d != 0 || significant > 0 { significant &+= 1 }
            i &+= 1
        }
        return (kept, dropped)
    }

    // MARK: - Eight digits at once

    /// True when all eight bytes of `v` (little-endian) are ASCII digits.
    @usableFromInline @inline(__always)
    static func isEightDigits(_ v: UInt64) -> Bool {
        // Each byte must be 0x30...0x39: its high nibble is 3, and adding 6 must not carry into the high nibble.
        ((v & 0xF0F0_F0F0_F0F0_F0F0) | (((v &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4))
            == 0x3333_3333_3333_3333
    }

    /// The value of eight ASCII digits (first digit in the lowest byte), by pairwise combination: bytes to
    /// two-digit lanes, then four-digit lanes, then the whole.
    @usableFromInline @inline(__always)
    static func eightDigits(_ v: UInt64) -> UInt64 {
        var x = v &- 0x3030_3030_3030_3030
        x = (x &* 10) &+ (x >> 8)  // each 16-bit lane: 10 * d0 + d1 in its low byte
        let mask: UInt64 = 0x0000_00FF_0000_00FF
        let mul1: UInt64 = 100 &+ (1_000_000 << 32)
        let mul2: UInt64 = 1 &+ (10_000 << 32)
        return (((x & mask) &* mul1) &+ (((x >> 16) & mask) &* mul2)) >> 32
    }

    /// The digits at `base[i]` (at most eight; `i + 8` must be within the input): how many, and their value.
    @usableFromInline @inline(__always)
    static func digitRun(_ base: UnsafePointer<UInt8>, _ i: Int) -> (count: Int, value: UInt64) {
        digitRun(word: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
    }

    /// The digits that open the eight bytes of `v` (little-endian): how many, and their value.
    @usableFromInline @inline(__always)
    static func digitRun(word v: UInt64) -> (count: Int, value: UInt64) {
        // A byte is a digit when its high nibble is 3 and adding 6 keeps it so. A carry out of a byte >= 0xFA
        // can only disturb bytes above it, so the lowest non-digit byte is always found exactly.
        let high: UInt64 = 0xF0F0_F0F0_F0F0_F0F0
        let threes: UInt64 = 0x3333_3333_3333_3333 & high
        let nonDigit = ((v & high) ^ threes) | (((v &+ 0x0606_0606_0606_0606) & high) ^ threes)
        let n = nonDigit == 0 ? 8 : nonDigit.trailingZeroBitCount &>> 3
        guard n > 0 else { return (0, 0) }
        // Keep the n digits as the high bytes and fill the low bytes with '0', then convert all eight.
        let shift = UInt64((8 &- n) &* 8)
        let padded = n == 8 ? v : (v << shift) | (0x3030_3030_3030_3030 >> (64 &- shift))
        return (n, eightDigits(padded))
    }

    /// 10^n for n in 0...8 (a table lookup: n varies from number to number, a branch would mispredict).
    @usableFromInline @inline(__always)
    static func powerOfTen(_ n: Int) -> UInt64 {
        integerPowersOfTen[n & 15]
    }

    @usableFromInline static let integerPowersOfTen: [UInt64] = [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 0, 0, 0, 0, 0, 0, 0,
    ]

    /// 10^0 ... 10^22, all exactly representable.
    @usableFromInline static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]

    // MARK: - Eisel-Lemire

    /// The bits of the double nearest to w * 10^q (sign excluded), rounded half to even. With the table's second
    /// word, the product always decides, for any w (Mushtak and Lemire).
    @usableFromInline @inline(__always)
    static func eiselLemire(w: UInt64, q: Int) -> UInt64 {
        if w == 0 || q < -342 { return 0 }
        if q > 308 { return 0x7FF0_0000_0000_0000 }
        let lz = w.leadingZeroBitCount
        let wn = w << UInt64(lz)
        let index = q &+ 342
        let (tableHigh, tableLow) = pow5Table[index]
        var (high, low) = wn.multipliedFullWidth(by: tableHigh)
        if high & 0x1FF == 0x1FF {
            let (secondHigh, _) = wn.multipliedFullWidth(by: tableLow)
            let (sum, carry) = low.addingReportingOverflow(secondHigh)
            low = sum
            if carry { high &+= 1 }
        }
        let upperBit = Int(high >> 63)
        let shift = UInt64(upperBit &+ 9)
        var mantissa = high >> shift
        // power2 = floor(log2(10^q)) + 63 + upperBit - lz + 1023.
        var power2 = (((152_170 &+ 65_536) &* q) >> 16) &+ 63 &+ upperBit &- lz &+ 1023
        if power2 <= 0 {
            // Subnormal (or zero).
            if -power2 &+ 1 >= 64 { return 0 }
            mantissa >>= UInt64(-power2 &+ 1)
            mantissa &+= mantissa & 1
            mantissa >>= 1
            power2 = mantissa < 1 << 52 ? 0 : 1
            return UInt64(power2) << 52 | (mantissa & ((1 << 52) &- 1))
        }
        // Exactly halfway between two doubles: round to even instead of up. Only possible for small q.
        if low <= 1 && q >= -4 && q <= 23 && mantissa & 3 == 1 && (mantissa << shift) == high {
            mantissa &= ~1
        }
        mantissa &+= mantissa & 1
        mantissa >>= 1
        if mantissa >= 2 << 52 {
            mantissa = 1 << 52
            power2 &+= 1
        }
        mantissa &= ~(1 << 52)
        if power2 >= 0x7FF { return 0x7FF0_0000_0000_0000 }
        return UInt64(power2) << 52 | mantissa
    }

    // MARK: - Fallback

    /// glibc `strtod` on a NUL-terminated copy of the number (on the stack for any realistic length).
    @usableFromInline @inline(never)
    static func strtodFallback(_ base: UnsafePointer<UInt8>, start: Int, end: Int) -> Double {
        let count = end - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer -> Double in
            guard let p = buffer.baseAddress else { return .nan }
            UnsafeMutableRawPointer(p).copyMemory(from: base + start, byteCount: count)
            p[count] = 0
            return strtod(p, nil)
        }
    }
}
