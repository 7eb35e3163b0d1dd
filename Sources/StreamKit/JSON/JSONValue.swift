// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A JSON value inside a message's bytes, read on demand: the escape hatch to every key the server sent.
///
/// Typed payloads cover the documented fields; `JSONValue` reaches everything else (unknown keys, unknown holder
/// variants, nested values) and gives numbers exactly as written, for `Decimal` users. It keeps no parsed state:
/// each access re-scans the (already validated) bytes, so keep it off the hot path.
///
/// ```swift
/// let vu = message.payloadJSON?["sts"]?[0]?["vu"]
/// vu?.double        // 6613627.176252886 (correctly rounded)
/// vu?.numberText    // "6613627.176252886" (as sent)
/// vu?.decimal       // Decimal, no binary rounding
/// ```
public struct JSONValue: Sendable, CustomStringConvertible {
    /// The message bytes the value lives in.
    public let bytes: [UInt8]
    /// Offset of the value's first byte.
    public let offset: Int

    /// The JSON type of a value.
    public enum Kind: Sendable, Hashable {
        case object, array, string, number, bool, null
    }

    init(bytes: [UInt8], offset: Int) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Validates a whole JSON document (any value, surrounding whitespace allowed) and returns its root.
    ///
    /// - Parameters:
    ///   - bytes: The document. Retained, not copied.
    ///   - limits: Depth and size bounds (the defaults suit requests and frames).
    /// - Throws: ``DecodeError`` with the offset of the first problem.
    public init(parsing bytes: [UInt8], limits: DecodeLimits = DecodeLimits()) throws(DecodeError) {
        guard bytes.count <= limits.maxFrameBytes else { throw DecodeError(.tooLarge, at: limits.maxFrameBytes) }
        let start: Result<Int, DecodeError> = bytes.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress, buf.count > 0 else { return .failure(DecodeError(.unexpectedEnd, at: 0)) }
            let c = JSONCursor(base: base, count: buf.count, maxDepth: limits.maxDepth)
            do throws(DecodeError) {
                let start = c.skipWhitespace(0)
                let end = c.skipWhitespace(try c.skipValue(start, depth: 1))
                guard end == buf.count else { throw DecodeError(.unexpectedByte, at: end) }
                return .success(start)
            } catch {
                return .failure(error)
            }
        }
        self.init(bytes: bytes, offset: try start.get())
    }

    private func withCursor<R>(_ body: (JSONCursor) throws(DecodeError) -> R) -> R? {
        self.bytes.withUnsafeBytes { raw -> R? in
            guard let base = raw.baseAddress, self.offset < raw.count else { return nil }
            let c = JSONCursor(base: base.assumingMemoryBound(to: UInt8.self), count: raw.count, maxDepth: 512)
            do throws(DecodeError) {
                return try body(c)
            } catch {
                return nil
            }
        }
    }

    /// The value's JSON type.
    public var kind: Kind {
        guard self.offset < self.bytes.count else { return .null }
        switch self.bytes[self.offset] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: return .number
        }
    }

    /// The value's bytes exactly as sent.
    public var rawText: String {
        let end = self.withCursor { (c) throws(DecodeError) in try c.skipValue(self.offset, depth: 1) } ?? self.offset
        return String(decoding: self.bytes[self.offset..<end], as: UTF8.self)
    }

    public var description: String { self.rawText }

    /// The member named `key` of an object (the last one, if the key repeats).
    public subscript(key: String) -> JSONValue? {
        guard self.kind == .object else { return nil }
        let found: Int? = self.withCursor { (c) throws(DecodeError) -> Int in
            var hit = -1
            _ = try c.forEachMember(self.offset, depth: 1) { (k, v) throws(DecodeError) -> Int in
                if k.slice.string(in: c.buffer) == key { hit = v }
                return try c.skipValue(v, depth: 2)
            }
            return hit
        }
        guard let at = found, at >= 0 else { return nil }
        return JSONValue(bytes: self.bytes, offset: at)
    }

    /// The element at `index` of an array.
    public subscript(index: Int) -> JSONValue? {
        guard self.kind == .array, index >= 0 else { return nil }
        let found: Int? = self.withCursor { (c) throws(DecodeError) -> Int in
            var hit = -1
            var i = 0
            _ = try c.forEachElement(self.offset, depth: 1) { (v) throws(DecodeError) -> Int in
                if i == index { hit = v }
                i += 1
                return try c.skipValue(v, depth: 2)
            }
            return hit
        }
        guard let at = found, at >= 0 else { return nil }
        return JSONValue(bytes: self.bytes, offset: at)
    }

    /// An object's members in wire order.
    public var members: [(key: String, value: JSONValue)] {
        guard self.kind == .object else { return [] }
        return self.withCursor { (c) throws(DecodeError) -> [(key: String, value: JSONValue)] in
            var out: [(key: String, value: JSONValue)] = []
            _ = try c.forEachMember(self.offset, depth: 1) { (k, v) throws(DecodeError) -> Int in
                out.append((k.slice.string(in: c.buffer), JSONValue(bytes: self.bytes, offset: v)))
                return try c.skipValue(v, depth: 2)
            }
            return out
        } ?? []
    }

    /// An array's elements in order.
    public var elements: [JSONValue] {
        guard self.kind == .array else { return [] }
        return self.withCursor { (c) throws(DecodeError) -> [JSONValue] in
            var out: [JSONValue] = []
            _ = try c.forEachElement(self.offset, depth: 1) { (v) throws(DecodeError) -> Int in
                out.append(JSONValue(bytes: self.bytes, offset: v))
                return try c.skipValue(v, depth: 2)
            }
            return out
        } ?? []
    }

    /// A string's text, escapes resolved.
    public var string: String? {
        guard self.kind == .string else { return nil }
        return self.withCursor { (c) throws(DecodeError) in try c.scanString(self.offset).slice.string(in: c.buffer) }
    }

    /// A number as a correctly rounded `Double`.
    public var double: Double? {
        self.parsedNumber?.double
    }

    /// A number as an `Int64`, when it is an exact integer in range.
    public var int: Int64? {
        self.parsedNumber.flatMap { JSONCursor.exactInteger($0) }
    }

    /// A boolean.
    public var bool: Bool? {
        guard self.offset < self.bytes.count else { return nil }
        switch self.bytes[self.offset] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: return nil
        }
    }

    /// True for `null`.
    public var isNull: Bool { self.kind == .null }

    /// A number's text exactly as sent (`"81187.93284788371"`), for decimal arithmetic without binary rounding.
    public var numberText: String? {
        guard self.kind == .number, let n = self.parsedNumber else { return nil }
        return String(decoding: self.bytes[self.offset..<n.end], as: UTF8.self)
    }

    /// A number as a `Decimal`, parsed from its exact text.
    public var decimal: Decimal? {
        self.numberText.flatMap { Decimal(string: $0) }
    }

    private var parsedNumber: ParsedNumber? {
        guard self.kind == .number else { return nil }
        return self.bytes.withUnsafeBufferPointer { buf -> ParsedNumber? in
            guard let base = buf.baseAddress else { return nil }
            var n = ParsedNumber()
            return NumberParser.parse(base, start: self.offset, limit: buf.count, into: &n) ? n : nil
        }
    }
}
