// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// Why a frame could not be decoded, and where.
///
/// Every failure the scanner can meet ends here, with the byte offset at which it was detected: malformed JSON,
/// a frame cut short, a JSON value that is not an object, input nested deeper than the limit, or a frame larger
/// than the limit. A frame that is one JSON object within the limits never fails: fields of unexpected types or
/// missing fields are reported in the decoded frame instead (see ``FrameDecoder``). The scanner never traps and
/// never does unbounded work on any input.
///
/// `Code` is an enum-like struct so codes can be added without breaking callers.
public struct DecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong. New codes may be added.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        @usableFromInline enum _Code: UInt8, Sendable {
            case unexpectedEnd = 1, unexpectedByte, invalidString, invalidEscape, invalidUTF8, invalidNumber
            case tooDeep, tooLarge, notAnObject, typeMismatch, missingField
        }
        @usableFromInline let _code: _Code
        @inlinable init(_ code: _Code) { self._code = code }

        /// The input ended inside a value (a truncated frame).
        public static var unexpectedEnd: Code { Code(.unexpectedEnd) }
        /// A byte that the JSON grammar does not allow here.
        public static var unexpectedByte: Code { Code(.unexpectedByte) }
        /// A raw control character inside a string.
        public static var invalidString: Code { Code(.invalidString) }
        /// A malformed backslash escape, or a `\u` escape that is a lone surrogate.
        public static var invalidEscape: Code { Code(.invalidEscape) }
        /// Bytes that are not valid UTF-8 inside a string.
        public static var invalidUTF8: Code { Code(.invalidUTF8) }
        /// A number that breaks the JSON number grammar.
        public static var invalidNumber: Code { Code(.invalidNumber) }
        /// Nesting deeper than ``DecodeLimits/maxDepth``.
        public static var tooDeep: Code { Code(.tooDeep) }
        /// A frame larger than ``DecodeLimits/maxFrameBytes``.
        public static var tooLarge: Code { Code(.tooLarge) }
        /// The frame is valid JSON but not an object.
        public static var notAnObject: Code { Code(.notAnObject) }
        /// A documented field holds a value of another JSON type. No longer thrown by ``FrameDecoder``: such a
        /// field reads as absent and sets its payload's `mistypedFields` bit. Kept so existing code compiles.
        public static var typeMismatch: Code { Code(.typeMismatch) }
        /// A required field is absent or `null`. No longer thrown by ``FrameDecoder``: a payload without what
        /// routing needs is delivered as ``Payload/unknown``. Kept so existing code compiles.
        public static var missingField: Code { Code(.missingField) }

        public var description: String {
            switch self._code {
            case .unexpectedEnd: "unexpected end of input"
            case .unexpectedByte: "unexpected byte"
            case .invalidString: "control character in string"
            case .invalidEscape: "invalid escape"
            case .invalidUTF8: "invalid UTF-8"
            case .invalidNumber: "invalid number"
            case .tooDeep: "nesting too deep"
            case .tooLarge: "frame too large"
            case .notAnObject: "frame is not a JSON object"
            case .typeMismatch: "wrong type"
            case .missingField: "missing required field"
            }
        }
    }

    /// What went wrong.
    public let code: Code
    /// Byte offset in the frame where the problem was detected.
    public let offset: Int
    /// The wire key of the field concerned, for `typeMismatch` and `missingField`.
    public let key: String?

    @inlinable
    init(_ code: Code, at offset: Int, key: StaticString? = nil) {
        self.code = code
        self.offset = offset
        self.key = key.map { $0.description }
    }

    init(_ code: Code, at offset: Int, keyText: String?) {
        self.code = code
        self.offset = offset
        self.key = keyText
    }

    public var description: String {
        if let key = self.key {
            return "\(self.code) for key '\(key)' at byte \(self.offset)"
        }
        return "\(self.code) at byte \(self.offset)"
    }
}

/// Bounds the work the decoder does on any input.
public struct DecodeLimits: Sendable, Hashable {
    /// Deepest nesting of objects and arrays accepted. The deepest documented payload nests 3 levels
    /// (envelope, `data`, `sts[]` window); 32 leaves room for unknown extensions while keeping hostile
    /// input from exhausting the stack.
    public var maxDepth: Int
    /// Largest frame accepted, in bytes. Real frames are well under 4 KiB; 16 MiB tolerates any plausible
    /// batch while rejecting runaway input before it is scanned.
    public var maxFrameBytes: Int

    /// - Parameters:
    ///   - maxDepth: See ``maxDepth``. Default 32.
    ///   - maxFrameBytes: See ``maxFrameBytes``. Default 16 MiB.
    public init(maxDepth: Int = 32, maxFrameBytes: Int = 16 << 20) {
        self.maxDepth = maxDepth
        self.maxFrameBytes = maxFrameBytes
    }
}
