// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// MARK: - TextSlice

/// A JSON string value located in a frame's bytes, recorded without copying it.
///
/// The scanner never builds a `String` while it decodes: a string field becomes a `TextSlice`, the offset and
/// length of the string's *contents* (between the quotes) in the frame, plus a flag saying whether the contents
/// contain escapes. Materialise it only when you need it, with ``Message/string(_:)`` or
/// ``string(in:)``. Slices without escapes can be compared and hashed byte for byte.
///
/// A slice means nothing without the bytes it was scanned from: keep them together (``Message`` does).
///
/// ```swift
/// let message = try FrameDecoder().decode(frameBytes)
/// if case .data(let data) = message.frame, case .transaction(let swap) = data.payload, let tx = swap.tx {
///     print(message.string(tx))
/// }
/// ```
public struct TextSlice: Sendable, Hashable, CustomStringConvertible {
    @usableFromInline let _offset: UInt32
    @usableFromInline let _bits: UInt32  // low 31 bits: count; high bit: contains escapes

    /// Byte offset of the first content byte (just after the opening quote) in the frame.
    @inlinable public var offset: Int { Int(self._offset) }
    /// Number of raw content bytes (escapes counted as written on the wire).
    @inlinable public var count: Int { Int(self._bits & 0x7FFF_FFFF) }
    /// True when the contents contain at least one backslash escape, so the raw bytes differ from the text.
    @inlinable public var hasEscapes: Bool { self._bits & 0x8000_0000 != 0 }
    /// The byte range of the raw contents in the frame.
    @inlinable public var range: Range<Int> { self.offset..<(self.offset + self.count) }

    @inlinable
    init(offset: Int, count: Int, hasEscapes: Bool) {
        self._offset = UInt32(truncatingIfNeeded: offset)
        self._bits = UInt32(truncatingIfNeeded: count) | (hasEscapes ? 0x8000_0000 : 0)
    }

    public var description: String {
        "TextSlice(offset: \(self.offset), count: \(self.count)\(self.hasEscapes ? ", escaped" : ""))"
    }

    /// Decodes the slice into a `String`, resolving escapes.
    ///
    /// - Parameter bytes: The frame the slice was scanned from.
    /// - Returns: The text. The scanner validated the UTF-8 and every escape, so this cannot fail.
    public func string(in bytes: UnsafeRawBufferPointer) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[self.range])
        if !self.hasEscapes {
            return String(decoding: raw, as: UTF8.self)
        }
        return JSONStringUnescaper.unescape(raw)
    }

    /// Compares the slice's text with `literal` without materialising a `String`.
    ///
    /// - Parameters:
    ///   - literal: ASCII text to compare with.
    ///   - bytes: The frame the slice was scanned from.
    @inlinable
    public func equals(_ literal: StaticString, in bytes: UnsafeRawBufferPointer) -> Bool {
        guard !self.hasEscapes else {
            return self.string(in: bytes) == literal.description
        }
        guard literal.utf8CodeUnitCount == self.count, let base = bytes.baseAddress else { return false }
        return memoryEquals(base + self.offset, literal.utf8Start, self.count)
    }
}

/// `memcmp` for short runs, eight bytes at a time, without importing libc into the hot path.
@inlinable @inline(__always)
func memoryEquals(_ a: UnsafeRawPointer, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var i = 0
    let b = UnsafeRawPointer(b)
    while i &+ 8 <= count {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
            return false
        }
        i &+= 8
    }
    while i < count {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i &+= 1
    }
    return true
}

// MARK: - Unescaping

/// Resolves JSON escapes in already-validated string contents (the slow, materialising path).
enum JSONStringUnescaper {
    static func unescape(_ raw: UnsafeRawBufferPointer) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        let n = raw.count
        while i < n {
            let b = raw[i]
            guard b == UInt8(ascii: "\\"), i + 1 < n else {
                out.append(b)
                i += 1
                continue
            }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(hex4(raw, i))
                i += 4
                if (0xD800...0xDBFF).contains(scalar), i + 6 <= n, raw[i] == 0x5C, raw[i + 1] == UInt8(ascii: "u") {
                    let low = UInt32(hex4(raw, i + 2))
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                appendUTF8(Unicode.Scalar(scalar) ?? "\u{FFFD}", to: &out)
            default:
                out.append(e)  // unreachable for validated input
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hex4(_ raw: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        var v: UInt16 = 0
        for k in 0..<4 where at + k < raw.count {
            v = v << 4 | UInt16(hexValue(raw[at + k]) ?? 0)
        }
        return v
    }

    private static func appendUTF8(_ s: Unicode.Scalar, to out: inout [UInt8]) {
        let v = s.value
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(0xC0 | UInt8(v >> 6))
            out.append(0x80 | UInt8(v & 0x3F))
        case 0x800..<0x10000:
            out.append(0xE0 | UInt8(v >> 12))
            out.append(0x80 | UInt8((v >> 6) & 0x3F))
            out.append(0x80 | UInt8(v & 0x3F))
        default:
            out.append(0xF0 | UInt8(v >> 18))
            out.append(0x80 | UInt8((v >> 12) & 0x3F))
            out.append(0x80 | UInt8((v >> 6) & 0x3F))
            out.append(0x80 | UInt8(v & 0x3F))
        }
    }
}

@inlinable @inline(__always)
func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return b &- UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return b &- UInt8(ascii: "a") &+ 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return b &- UInt8(ascii: "A") &+ 10
    default: return nil
    }
}
