// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// MARK: - Theory of operation
//
// `JSONCursor` is the zero-copy key scanner. It walks a frame's bytes once, from left to right, validating the
// JSON grammar as it goes, and hands each object member to the caller as (key, offset of the value). The caller
// (a schema-specialised payload decoder) recognises the key by comparing it as one integer (keys of up to 8
// bytes are packed little-endian into a `UInt64`; the wire's short keys all fit; the envelope's longer keys, up
// to 16 bytes, are compared as two), reads the value with one of
// the typed `read*` functions, or skips it with `skipValue`. Nothing is copied: strings become `TextSlice`s
// (offset, length, "has escapes"), numbers are converted in place by `NumberParser`.
//
// The payload decoders (generated), the envelope and the params echo first expect the keys in the order the
// server writes them: `expectMember` compares a member's key, closing quote and colon with one or two words, and
// the value is read directly. Where a frame departs from that order (an absent field costs one failed comparison;
// another order, whitespace, escapes or an unknown key), `members(continuing:in:)` goes on from that
// member with the general scan above, so both paths give the same result for any frame.
//
// Work is bounded: every loop advances at least one byte, nesting is limited by `maxDepth`, and every read is
// bounds-checked against `count`, so no input can trap, loop forever, or read outside the frame.

/// A key as seen by a payload decoder: its slice plus, for keys of 1 to 8 bytes, the bytes packed into an integer
/// (for keys of 9 to 16 bytes, into two).
@usableFromInline
struct JSONKey {
    @usableFromInline let slice: TextSlice
    /// The key's bytes (after resolving escapes) little-endian in a `UInt64`, or 0 when the key is longer than
    /// 8 bytes or contains a NUL. Match it against constants such as `0x7374` for `"ts"`.
    @usableFromInline let packed: UInt64
    /// For a key of 9 to 16 bytes (escapes resolved, no NUL): its first 8 bytes and the rest, little-endian;
    /// (0, 0) otherwise. Match the pair against constants, as `packed`.
    @usableFromInline let long: (low: UInt64, high: UInt64)

    @inlinable init(slice: TextSlice, packed: UInt64, long: (low: UInt64, high: UInt64) = (0, 0)) {
        self.slice = slice
        self.packed = packed
        self.long = long
    }
}

/// Packs up to 8 ASCII bytes of a key literal, for tests and for hand-written decoders.
@inlinable
func packKey(_ s: StaticString) -> UInt64 {
    var v: UInt64 = 0
    let n = s.utf8CodeUnitCount
    guard n <= 8 else { return 0 }
    for i in 0..<n { v |= UInt64(s.utf8Start[i]) << (8 * UInt64(i)) }
    return v
}

@usableFromInline
struct JSONCursor {
    @usableFromInline let base: UnsafePointer<UInt8>
    @usableFromInline let count: Int
    @usableFromInline let maxDepth: Int

    @inlinable
    init(base: UnsafePointer<UInt8>, count: Int, maxDepth: Int) {
        self.base = base
        self.count = count
        self.maxDepth = maxDepth
    }

    /// The bytes as a raw buffer, for materialising slices.
    @inlinable var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: self.base, count: self.count) }

    // MARK: - Whitespace and punctuation

    @inlinable @inline(__always)
    func skipWhitespace(_ start: Int) -> Int {
        // Compact frames have no whitespace: one comparison decides.
        guard start < self.count, self.base[start] <= 0x20 else { return start }
        var i = start
        while i < self.count {
            let b = self.base[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { break }
            i &+= 1
        }
        return i
    }

    @inlinable @inline(__always)
    func fail(_ i: Int) -> DecodeError {
        DecodeError(i >= self.count ? .unexpectedEnd : .unexpectedByte, at: min(i, self.count))
    }

    /// In eight key bytes (little-endian): the index of the first quote, and of the first byte that cannot be
    /// part of a plain key (a backslash, a control or a non-ASCII byte); 8 for none.
    @inlinable @inline(__always)
    static func plainKeyWord(_ w: UInt64) -> (quote: Int, special: Int) {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (ones &* 0x22)
        let quoteBits = (quote &- ones) & ~quote & high
        let slash = w ^ (ones &* 0x5C)
        let otherBits = (((slash &- ones) & ~slash) | ((w &- ones &* 0x20) & ~w) | w) & high
        // Borrows can set spurious bits only above a true match, so the lowest set bit is exact.
        return (quoteBits.trailingZeroBitCount &>> 3, otherBits.trailingZeroBitCount &>> 3)
    }

    // MARK: - Objects and arrays

    /// Walks an object's members. `start` is the offset of `{`.
    ///
    /// - Parameters:
    ///   - start: Offset of the opening brace.
    ///   - depth: Nesting depth of this object (the frame's top-level object is 1).
    ///   - body: Called with each key and the offset of its value (whitespace skipped); returns the offset just
    ///     past the value.
    /// - Returns: The offset just past the closing brace.
    @inlinable @inline(__always)
    func forEachMember(
        _ start: Int,
        depth: Int,
        _ body: (JSONKey, Int) throws(DecodeError) -> Int
    ) throws(DecodeError) -> Int {
        guard depth <= self.maxDepth else { throw DecodeError(.tooDeep, at: start) }
        return try self.members(from: start &+ 1, afterValue: false, first: true, body)
    }

    /// The rest of the object whose `{` is at `object`, from where an ordered fast path stopped at `i`. That path
    /// never skips whitespace, so the byte before `i` says where it stopped: `{` (nothing read yet), `,` (a member's
    /// key should start here), or the last byte of a value.
    @inlinable @inline(__always)
    func members(
        continuing i: Int,
        in object: Int,
        _ body: (JSONKey, Int) throws(DecodeError) -> Int
    ) throws(DecodeError) -> Int {
        let first = i == object &+ 1
        return try self.members(from: i, afterValue: !first && self.base[i &- 1] != UInt8(ascii: ","), first: first, body)
    }

    /// The loop of ``forEachMember(_:depth:_:)``, entered at `i`: either just past a member's value (`afterValue`),
    /// or where a member's key should start (`first`: just past `{`, where `}` may also close the object).
    @inlinable @inline(__always)
    func members(
        from start: Int,
        afterValue: Bool,
        first: Bool,
        _ body: (JSONKey, Int) throws(DecodeError) -> Int
    ) throws(DecodeError) -> Int {
        var i = start
        if afterValue {
            i = self.skipWhitespace(i)
            guard i < self.count else { throw DecodeError(.unexpectedEnd, at: i) }
            let b = self.base[i]
            if b == UInt8(ascii: "}") { return i &+ 1 }
            guard b == UInt8(ascii: ",") else { throw DecodeError(.unexpectedByte, at: i) }
            i = self.skipWhitespace(i &+ 1)
        } else {
            i = self.skipWhitespace(i)
            guard i < self.count else { throw DecodeError(.unexpectedEnd, at: i) }
            if first && self.base[i] == UInt8(ascii: "}") { return i &+ 1 }
        }
        while true {
            guard i < self.count, self.base[i] == UInt8(ascii: "\"") else { throw self.fail(i) }
            // Fast path for the compact frames the server sends: a key of at most 15 plain bytes followed
            // directly by ':' and a value, found in one or two 8-byte loads.
            if i &+ 18 <= self.count {
                let w = UnsafeRawPointer(self.base + (i &+ 1)).loadUnaligned(as: UInt64.self)
                var (quoteAt, plain) = Self.plainKeyWord(w)
                var key: JSONKey? = nil
                if quoteAt < plain && quoteAt > 0 {
                    // 1 to 7 bytes.
                    let packed = w & ((1 << (UInt64(quoteAt) &* 8)) &- 1)
                    key = JSONKey(slice: TextSlice(offset: i &+ 1, count: quoteAt, hasEscapes: false), packed: packed)
                } else if quoteAt == 8 && plain == 8 {
                    // 8 to 15 bytes: the second word holds the rest and the closing quote.
                    let w2 = UnsafeRawPointer(self.base + (i &+ 9)).loadUnaligned(as: UInt64.self)
                    let (q2, p2) = Self.plainKeyWord(w2)
                    if q2 < p2 {
                        quoteAt = 8 &+ q2
                        let high = w2 & ((1 << (UInt64(q2) &* 8)) &- 1)
                        let slice = TextSlice(offset: i &+ 1, count: quoteAt, hasEscapes: false)
                        key = q2 == 0 ? JSONKey(slice: slice, packed: w) : JSONKey(slice: slice, packed: 0, long: (w, high))
                    }
                }
                if let key, self.base[i &+ 1 &+ quoteAt &+ 1] == UInt8(ascii: ":") {
                    var v = i &+ quoteAt &+ 3
                    if v < self.count && self.base[v] <= 0x20 { v = self.skipWhitespace(v) }
                    guard v < self.count else { throw DecodeError(.unexpectedEnd, at: v) }
                    i = try body(key, v)
                    if i < self.count && self.base[i] <= 0x20 { i = self.skipWhitespace(i) }
                    guard i < self.count else { throw DecodeError(.unexpectedEnd, at: i) }
                    let b = self.base[i]
                    if b == UInt8(ascii: ",") {
                        i &+= 1
                        if i < self.count && self.base[i] <= 0x20 { i = self.skipWhitespace(i) }
                        continue
                    }
                    if b == UInt8(ascii: "}") { return i &+ 1 }
                    throw DecodeError(.unexpectedByte, at: i)
                }
            }
            let key = try self.scanKey(i)
            i = self.skipWhitespace(key.end)
            guard i < self.count, self.base[i] == UInt8(ascii: ":") else { throw self.fail(i) }
            i = self.skipWhitespace(i &+ 1)
            guard i < self.count else { throw DecodeError(.unexpectedEnd, at: i) }
            i = self.skipWhitespace(try body(key.key, i))
            guard i < self.count else { throw DecodeError(.unexpectedEnd, at: i) }
            let b = self.base[i]
            if b == UInt8(ascii: ",") {
                i = self.skipWhitespace(i &+ 1)
                continue
            }
            if b == UInt8(ascii: "}") { return i &+ 1 }
            throw DecodeError(.unexpectedByte, at: i)
        }
    }

    // MARK: - Members in the expected order

    /// The offset of a member's value when the member at `i` is the expected one, written compactly: `"`, then
    /// exactly the `count` low bytes of `pattern` (the key, its closing quote and `:`, little-endian; 3 to 8
    /// bytes), then the value. `nil` otherwise (another key, whitespace, escapes, the end): the decoder then goes on
    /// with ``members(continuing:in:_:)``, which accepts any of those.
    @inlinable @inline(__always)
    func expectMember(_ i: Int, _ pattern: UInt64, _ count: Int) -> Int? {
        guard i &+ 9 <= self.count, self.base[i] == UInt8(ascii: "\"") else { return nil }
        let w = UnsafeRawPointer(self.base + (i &+ 1)).loadUnaligned(as: UInt64.self)
        let mask: UInt64 = count >= 8 ? ~0 : (1 << (UInt64(count) &* 8)) &- 1
        let v = i &+ 1 &+ count
        guard w & mask == pattern, v < self.count, self.base[v] > 0x20 else { return nil }
        return v
    }

    /// ``expectMember(_:_:_:)`` for a longer key: the `count` bytes (9 to 16) after the opening quote are the
    /// eight of `low` and the `count - 8` low bytes of `high`.
    @inlinable @inline(__always)
    func expectMember(_ i: Int, _ low: UInt64, _ high: UInt64, _ count: Int) -> Int? {
        guard i &+ 17 <= self.count, self.base[i] == UInt8(ascii: "\"") else { return nil }
        let w = UnsafeRawPointer(self.base + (i &+ 1)).loadUnaligned(as: UInt64.self)
        let w2 = UnsafeRawPointer(self.base + (i &+ 9)).loadUnaligned(as: UInt64.self)
        let mask: UInt64 = count >= 16 ? ~0 : (1 << (UInt64(count &- 8) &* 8)) &- 1
        let v = i &+ 1 &+ count
        guard w == low, w2 & mask == high, v < self.count, self.base[v] > 0x20 else { return nil }
        return v
    }

    /// Steps past a compact `,` right after a value at `i` (to where the next member starts); false, `i` unchanged,
    /// when something else follows.
    @inlinable @inline(__always)
    func pastComma(_ i: inout Int) -> Bool {
        guard i < self.count && self.base[i] == UInt8(ascii: ",") else { return false }
        i &+= 1
        return true
    }

    /// Walks an array's elements. `start` is the offset of `[`; `body` gets each element's offset and returns
    /// the offset just past it. Returns the offset just past `]`.
    @inlinable @inline(__always)
    func forEachElement(
        _ start: Int,
        depth: Int,
        _ body: (Int) throws(DecodeError) -> Int
    ) throws(DecodeError) -> Int {
        guard depth <= self.maxDepth else { throw DecodeError(.tooDeep, at: start) }
        var i = self.skipWhitespace(start &+ 1)
        guard i < self.count else { throw DecodeError(.unexpectedEnd, at: i) }
        if self.base[i] == UInt8(ascii: "]") { return i &+ 1 }
        while true {
            i = self.skipWhitespace(try body(i))
            guard i < self.count else { throw DecodeError(.unexpectedEnd, at: i) }
            let b = self.base[i]
            if b == UInt8(ascii: ",") {
                i = self.skipWhitespace(i &+ 1)
                guard i < self.count else { throw DecodeError(.unexpectedEnd, at: i) }
                continue
            }
            if b == UInt8(ascii: "]") { return i &+ 1 }
            throw DecodeError(.unexpectedByte, at: i)
        }
    }

    /// Skips any JSON value, validating it. Returns the offset just past it.
    @inlinable
    func skipValue(_ i: Int, depth: Int) throws(DecodeError) -> Int {
        guard i < self.count else { throw DecodeError(.unexpectedEnd, at: i) }
        switch self.base[i] {
        case UInt8(ascii: "\""):
            return try self.scanString(i).end
        case UInt8(ascii: "{"):
            return try self.forEachMember(i, depth: depth) { (_, v) throws(DecodeError) -> Int in
                try self.skipValue(v, depth: depth &+ 1)
            }
        case UInt8(ascii: "["):
            return try self.forEachElement(i, depth: depth) { (v) throws(DecodeError) -> Int in
                try self.skipValue(v, depth: depth &+ 1)
            }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            var n = ParsedNumber()
            guard NumberParser.parse(self.base, start: i, limit: self.count, into: &n) else {
                throw DecodeError(n.end >= self.count ? .unexpectedEnd : .invalidNumber, at: n.end)
            }
            return n.end
        case UInt8(ascii: "t"):
            return try self.literal(i, "true")
        case UInt8(ascii: "f"):
            return try self.literal(i, "false")
        case UInt8(ascii: "n"):
            return try self.literal(i, "null")
        default:
            throw DecodeError(.unexpectedByte, at: i)
        }
    }

    @inlinable
    func literal(_ i: Int, _ word: StaticString) throws(DecodeError) -> Int {
        let n = word.utf8CodeUnitCount
        var k = 0
        while k < n {
            guard i &+ k < self.count else { throw DecodeError(.unexpectedEnd, at: self.count) }
            guard self.base[i &+ k] == word.utf8Start[k] else { throw DecodeError(.unexpectedByte, at: i &+ k) }
            k &+= 1
        }
        return i &+ n
    }

    // MARK: - Strings

    /// Scans a string whose opening quote is at `start`, validating escapes and UTF-8.
    ///
    /// - Returns: The contents as a slice, and the offset just past the closing quote.
    @inlinable @inline(__always)
    func scanString(_ start: Int) throws(DecodeError) -> (slice: TextSlice, end: Int) {
        var i = start &+ 1
        var escaped = false
        while true {
            // Eight bytes at a time while none of them is a quote, a backslash, a control or a non-ASCII byte;
            // then jump straight to the first one that is. (Each term below sets the high bit of every byte that
            // matches, and may set spurious bits only *above* a true match, through borrows: so the lowest set
            // bit always marks the first special byte.)
            while i &+ 8 <= self.count {
                let w = UnsafeRawPointer(self.base + i).loadUnaligned(as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101
                let high: UInt64 = 0x8080_8080_8080_8080
                let quote = w ^ (ones &* 0x22)
                let slash = w ^ (ones &* 0x5C)
                let special =
                    (((w &- ones &* 0x20) & ~w) | ((quote &- ones) & ~quote) | ((slash &- ones) & ~slash) | w) & high
                if special != 0 {
                    i &+= special.trailingZeroBitCount &>> 3
                    break
                }
                i &+= 8
            }
            guard i < self.count else { throw DecodeError(.unexpectedEnd, at: self.count) }
            let b = self.base[i]
            if b == UInt8(ascii: "\"") {
                return (TextSlice(offset: start &+ 1, count: i &- start &- 1, hasEscapes: escaped), i &+ 1)
            } else if b == UInt8(ascii: "\\") {
                escaped = true
                i = try self.validateEscape(i)
            } else if b < 0x20 {
                throw DecodeError(.invalidString, at: i)
            } else if b >= 0x80 {
                i = try self.validateUTF8(i)
            } else {
                i &+= 1
            }
        }
    }

    /// Scans a key and packs it for matching.
    @inlinable @inline(__always)
    func scanKey(_ start: Int) throws(DecodeError) -> (key: JSONKey, end: Int) {
        let (slice, end) = try self.scanString(start)
        if slice.hasEscapes { return (self.packEscapedKey(slice), end) }
        return (Self.pack(slice, UnsafeRawBufferPointer(rebasing: self.buffer[slice.range])), end)
    }

    /// A key with escapes, resolved and packed (rare: the server sends none).
    @usableFromInline @inline(never)
    func packEscapedKey(_ slice: TextSlice) -> JSONKey {
        Self.pack(slice, slice.string(in: self.buffer).utf8)
    }

    /// Packs a key's bytes (escapes resolved): one word for 1 to 8 bytes, two for 9 to 16, none for longer keys
    /// or keys with a NUL.
    @inlinable @inline(__always)
    static func pack(_ slice: TextSlice, _ bytes: some Sequence<UInt8>) -> JSONKey {
        var low: UInt64 = 0
        var high: UInt64 = 0
        var k: UInt64 = 0
        for b in bytes {
            guard k < 16, b != 0 else { return JSONKey(slice: slice, packed: 0) }
            if k < 8 { low |= UInt64(b) << (k &* 8) } else { high |= UInt64(b) << ((k &- 8) &* 8) }
            k &+= 1
        }
        return k <= 8 ? JSONKey(slice: slice, packed: low) : JSONKey(slice: slice, packed: 0, long: (low, high))
    }

    @usableFromInline @inline(never)
    func validateEscape(_ i: Int) throws(DecodeError) -> Int {
        guard i &+ 1 < self.count else { throw DecodeError(.unexpectedEnd, at: self.count) }
        switch self.base[i &+ 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return i &+ 2
        case UInt8(ascii: "u"):
            let unit = try self.hex4(i &+ 2)
            if unit >= 0xDC00 && unit <= 0xDFFF { throw DecodeError(.invalidEscape, at: i) }
            guard unit >= 0xD800 && unit <= 0xDBFF else { return i &+ 6 }
            // A high surrogate must be followed by an escaped low surrogate.
            guard i &+ 7 < self.count, self.base[i &+ 6] == UInt8(ascii: "\\"),
                self.base[i &+ 7] == UInt8(ascii: "u")
            else {
                if i &+ 6 >= self.count { throw DecodeError(.unexpectedEnd, at: self.count) }
                throw DecodeError(.invalidEscape, at: i)
            }
            let low = try self.hex4(i &+ 8)
            guard low >= 0xDC00 && low <= 0xDFFF else { throw DecodeError(.invalidEscape, at: i &+ 6) }
            return i &+ 12
        default:
            throw DecodeError(.invalidEscape, at: i)
        }
    }

    @inlinable
    func hex4(_ i: Int) throws(DecodeError) -> UInt16 {
        guard i &+ 4 <= self.count else { throw DecodeError(.unexpectedEnd, at: self.count) }
        var v: UInt16 = 0
        for k in 0..<4 {
            guard let h = hexValue(self.base[i &+ k]) else { throw DecodeError(.invalidEscape, at: i &+ k) }
            v = v << 4 | UInt16(h)
        }
        return v
    }

    /// Validates one UTF-8 sequence starting at `i` (whose first byte is >= 0x80). Returns the offset after it.
    @usableFromInline @inline(never)
    func validateUTF8(_ i: Int) throws(DecodeError) -> Int {
        let b0 = self.base[i]
        let length: Int
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; hi = 0x9F
        case 0xF0: length = 4; lo = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; hi = 0x8F
        default: throw DecodeError(.invalidUTF8, at: i)
        }
        guard i &+ length <= self.count else { throw DecodeError(.unexpectedEnd, at: self.count) }
        let b1 = self.base[i &+ 1]
        guard b1 >= lo && b1 <= hi else { throw DecodeError(.invalidUTF8, at: i &+ 1) }
        var k = 2
        while k < length {
            guard self.base[i &+ k] & 0xC0 == 0x80 else { throw DecodeError(.invalidUTF8, at: i &+ k) }
            k &+= 1
        }
        return i &+ length
    }

    // MARK: - Typed reads
    //
    // Payload structs store each field unboxed plus two bit sets, `present` and `nulls`, which encode three states
    // per field: a value (`present` set, `nulls` clear), a JSON null (both set), and a value of the wrong JSON type
    // (`nulls` set, `present` clear: the field reads as absent, and `nulls & ~present` is the "mistyped" mask).
    // A read sets the field's bits for what it found (where a key is repeated, the last value counts) and returns
    // the offset just past the value. A mistyped value is not read, only skipped with ``skipValue(_:depth:)``, so
    // it must still be valid JSON: only bytes that are not JSON fail a frame. (The bit operations are written out
    // at each read: a shared helper measured slower on the hot path.)

    /// Reads a `null` literal into a field: its bit set in both `present` and `nulls`.
    @inlinable @inline(__always)
    func readNull(_ i: Int, bit: UInt64, present: inout UInt64, nulls: inout UInt64) throws(DecodeError) -> Int {
        let end = try self.literal(i, "null")
        present |= bit
        nulls |= bit
        return end
    }

    /// Skips a value of the wrong JSON type for its field, validating it, and marks the field mistyped: its bit
    /// clear in `present` (the field reads as absent) and set in `nulls`.
    @usableFromInline @inline(never)
    func skipMistyped(_ i: Int, depth: Int, bit: UInt64, present: inout UInt64, nulls: inout UInt64) throws(DecodeError) -> Int {
        let end = try self.skipValue(i, depth: depth)
        present &= ~bit
        nulls |= bit
        return end
    }

    /// Reads a number field as `Double`. Accepts a JSON number or `null`; any other JSON value (a string, a
    /// boolean, an object, an array) marks the field mistyped.
    @inlinable @inline(__always)
    func readDouble(
        _ i: Int,
        into value: inout Double,
        bit: UInt64,
        present: inout UInt64,
        nulls: inout UInt64,
        depth: Int
    ) throws(DecodeError) -> Int {
        let b = self.base[i]
        if b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) {
            let n = NumberParser.parse(self.base, start: i, limit: self.count)
            guard n.isValid else {
                throw DecodeError(n.end >= self.count ? .unexpectedEnd : .invalidNumber, at: n.end)
            }
            value = n.double
            present |= bit
            nulls &= ~bit
            return n.end
        }
        return try self.readDoubleSlow(i, bit: bit, present: &present, nulls: &nulls, depth: depth)
    }

    @usableFromInline @inline(never)
    func readDoubleSlow(
        _ i: Int,
        bit: UInt64,
        present: inout UInt64,
        nulls: inout UInt64,
        depth: Int
    ) throws(DecodeError) -> Int {
        if self.base[i] == UInt8(ascii: "n") {
            return try self.readNull(i, bit: bit, present: &present, nulls: &nulls)
        }
        return try self.skipMistyped(i, depth: depth, bit: bit, present: &present, nulls: &nulls)
    }

    /// Reads an integer field. Accepts an integer literal, a number with an exactly integral value within
    /// `Int64` (such as `1e3`), or `null`; any other value (a fraction, a number beyond `Int64`, a string, ...)
    /// marks the field mistyped.
    ///
    /// Only an integer literal is read inline; everything else is one call away, which keeps the payload
    /// decoders' code small.
    @inlinable @inline(__always)
    func readInt(
        _ i: Int,
        into value: inout Int64,
        bit: UInt64,
        present: inout UInt64,
        nulls: inout UInt64,
        depth: Int
    ) throws(DecodeError) -> Int {
        let b = self.base[i]
        if b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) {
            let n = NumberParser.parse(self.base, start: i, limit: self.count)
            if n.flags == 3 {  // valid and an integer
                value = n.integer
                present |= bit
                nulls &= ~bit
                return n.end
            }
        }
        return try self.readIntSlow(i, into: &value, bit: bit, present: &present, nulls: &nulls, depth: depth)
    }

    @usableFromInline @inline(never)
    func readIntSlow(
        _ i: Int,
        into value: inout Int64,
        bit: UInt64,
        present: inout UInt64,
        nulls: inout UInt64,
        depth: Int
    ) throws(DecodeError) -> Int {
        let b = self.base[i]
        if b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) {
            var n = ParsedNumber()
            guard NumberParser.parse(self.base, start: i, limit: self.count, into: &n) else {
                throw DecodeError(n.end >= self.count ? .unexpectedEnd : .invalidNumber, at: n.end)
            }
            guard let v = Self.exactInteger(n) else {
                // Valid JSON, but not an integer: mistyped.
                present &= ~bit
                nulls |= bit
                return n.end
            }
            value = v
            present |= bit
            nulls &= ~bit
            return n.end
        }
        if b == UInt8(ascii: "n") {
            return try self.readNull(i, bit: bit, present: &present, nulls: &nulls)
        }
        return try self.skipMistyped(i, depth: depth, bit: bit, present: &present, nulls: &nulls)
    }

    @inlinable @inline(__always)
    static func exactInteger(_ n: ParsedNumber) -> Int64? {
        if n.isInteger { return n.integer }
        // 2^63 is exactly representable; anything at or above it does not fit.
        guard n.double == n.double.rounded(.towardZero), abs(n.double) < 9_223_372_036_854_775_808.0 else {
            return nil
        }
        return Int64(n.double)
    }

    /// A string whose whole content is a JSON number (`"2401"`), as the server sends `error_code`; `nil` (the
    /// string skipped) for any other string.
    @usableFromInline
    func quotedNumber(_ i: Int) throws(DecodeError) -> (ParsedNumber?, Int) {
        let (slice, end) = try self.scanString(i)
        var n = ParsedNumber()
        guard !slice.hasEscapes, slice.count > 0,
            NumberParser.parse(self.base, start: slice.offset, limit: slice.offset &+ slice.count, into: &n),
            n.end == slice.offset &+ slice.count
        else { return (nil, end) }
        return (n, end)
    }

    /// Reads a string field as a slice; `null` is null, anything else mistyped.
    @inlinable @inline(__always)
    func readText(
        _ i: Int,
        into value: inout TextSlice,
        bit: UInt64,
        present: inout UInt64,
        nulls: inout UInt64,
        depth: Int
    ) throws(DecodeError) -> Int {
        switch self.base[i] {
        case UInt8(ascii: "\""):
            let (slice, end) = try self.scanString(i)
            value = slice
            present |= bit
            nulls &= ~bit
            return end
        case UInt8(ascii: "n"):
            return try self.readNull(i, bit: bit, present: &present, nulls: &nulls)
        default:
            return try self.skipMistyped(i, depth: depth, bit: bit, present: &present, nulls: &nulls)
        }
    }

    /// Reads a boolean field: `true`, `false` or `null`; anything else (`0`, `"true"`, ...) mistyped.
    @inlinable @inline(__always)
    func readBool(
        _ i: Int,
        into value: inout Bool,
        bit: UInt64,
        present: inout UInt64,
        nulls: inout UInt64,
        depth: Int
    ) throws(DecodeError) -> Int {
        switch self.base[i] {
        case UInt8(ascii: "t"):
            let end = try self.literal(i, "true")
            value = true
            present |= bit
            nulls &= ~bit
            return end
        case UInt8(ascii: "f"):
            let end = try self.literal(i, "false")
            value = false
            present |= bit
            nulls &= ~bit
            return end
        case UInt8(ascii: "n"):
            return try self.readNull(i, bit: bit, present: &present, nulls: &nulls)
        default:
            return try self.skipMistyped(i, depth: depth, bit: bit, present: &present, nulls: &nulls)
        }
    }

    /// True when the slice's text equals `literal` (escapes resolved on the rare slow path).
    @inlinable @inline(__always)
    func slice(_ s: TextSlice, equals literal: StaticString) -> Bool {
        s.equals(literal, in: self.buffer)
    }
}
