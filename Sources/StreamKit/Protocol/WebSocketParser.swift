// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// MARK: - Theory of operation
//
// The receive side of RFC 6455, sans-I/O: the transport hands over whatever the socket read, in any split, and
// pulls events with `next(_:)` until it returns nil. Every byte handed over is consumed at once; nothing has to be
// handed over again.
//
// - A data frame that is whole in the bytes handed over and unfragmented is yielded in place: the event's view
//   points into the caller's bytes, which are validated (UTF-8 for text) but never copied.
// - Any other message (fragmented, or cut by the end of a read) is copied into one reassembly buffer, each byte
//   once, as it arrives. The buffer is allocated for the first such message, grows (doubling, up to the message
//   limit) only for a longer one, and is reused for every message after: no allocation per message.
// - Control frames (ping, pong, close: at most 125 bytes) are yielded in place, or from a small buffer of their
//   own when cut by the end of a read; they may come between the fragments of a message.
// - A cut header is kept byte by byte (at most 10 bytes: a server never masks).
//
// Every rule is checked as soon as the bytes it concerns arrive: the first header byte (reserved bits, opcode,
// fragmentation), the second (mask, control frame length), the length (its top bit; the message limit, before a
// byte of the payload is buffered), text payload (UTF-8, incrementally across fragments and reads), and the close
// payload (length, code, UTF-8 reason). So the events, and the error that ends them, are the same however the
// stream is split. After a close frame the parser ignores every further byte; after an error it throws that error
// again.

/// What one WebSocket frame or message from the server says, as a view of its bytes.
///
/// The views are valid until the next call to ``WebSocketParser/next(_:)`` and, for a view into the caller's
/// bytes (a whole unfragmented frame within one read), as long as those bytes.
public enum WebSocketEvent {
    /// A complete text message, validated as UTF-8.
    case text(UnsafeRawBufferPointer)
    /// A complete binary message.
    case binary(UnsafeRawBufferPointer)
    /// A ping: answer with a pong carrying the same payload.
    case ping(UnsafeRawBufferPointer)
    /// A pong (an answer to a ping, or a unidirectional heartbeat).
    case pong(UnsafeRawBufferPointer)
    /// A close frame: its status code (nil when the payload was empty: 1005, "no status", for the application)
    /// and its reason, validated as UTF-8. The parser ignores every byte after it.
    case close(code: UInt16?, reason: UnsafeRawBufferPointer)
}

/// A violation of RFC 6455 by the server: the connection must be failed, sending a close frame with
/// ``closeCode``.
public struct WebSocketProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public enum Kind: Sendable, Hashable {
        /// RSV1, RSV2 or RSV3 set: no extension was negotiated.
        case reservedBits
        /// An opcode RFC 6455 reserves (3-7, 11-15).
        case reservedOpcode(UInt8)
        /// A continuation frame without a message to continue.
        case unexpectedContinuation
        /// A text or binary frame while a fragmented message is still open.
        case unfinishedMessage
        /// A control frame without FIN.
        case fragmentedControlFrame
        /// A control frame with a payload longer than 125 bytes.
        case oversizedControlFrame
        /// A 64-bit payload length with its most significant bit set.
        case invalidLength
        /// A masked frame: a server must not mask.
        case maskedFrame
        /// A close frame with a 1-byte payload.
        case truncatedCloseCode
        /// A close code that may not be sent on the wire (below 1000, 1004-1006, 1015-2999, 5000 and above).
        case invalidCloseCode(UInt16)
        /// A text message that is not valid UTF-8.
        case invalidUTF8
        /// A close reason that is not valid UTF-8.
        case invalidCloseReason
        /// A message (all its fragments) of `size` bytes, or more, beyond the limit.
        case messageTooLarge(size: UInt64, limit: Int)
    }

    /// What was wrong.
    public var kind: Kind

    public init(_ kind: Kind) {
        self.kind = kind
    }

    /// The status code of the close frame to send (RFC 6455 7.4.1): 1007 for invalid UTF-8, 1009 for a message
    /// too large, 1002 for everything else.
    public var closeCode: UInt16 {
        switch self.kind {
        case .invalidUTF8, .invalidCloseReason: 1007
        case .messageTooLarge: 1009
        default: 1002
        }
    }

    public var description: String {
        let what =
            switch self.kind {
            case .reservedBits: "reserved bits set without an extension"
            case .reservedOpcode(let opcode): "reserved opcode \(opcode)"
            case .unexpectedContinuation: "a continuation frame without a message to continue"
            case .unfinishedMessage: "a new message while a fragmented one is unfinished"
            case .fragmentedControlFrame: "a fragmented control frame"
            case .oversizedControlFrame: "a control frame longer than 125 bytes"
            case .invalidLength: "a 64-bit length with its top bit set"
            case .maskedFrame: "a masked frame from the server"
            case .truncatedCloseCode: "a close frame with a 1-byte payload"
            case .invalidCloseCode(let code): "close code \(code), which may not be sent"
            case .invalidUTF8: "a text message that is not valid UTF-8"
            case .invalidCloseReason: "a close reason that is not valid UTF-8"
            case .messageTooLarge(let size, let limit): "a message of \(size) bytes, beyond the limit of \(limit)"
            }
        return "WebSocket protocol error \(self.closeCode): \(what)"
    }
}

/// The receive side of a WebSocket client connection (RFC 6455), over bytes, without I/O.
///
/// Feed it the bytes after the HTTP upgrade, in whatever pieces they arrive, and pull events until it returns
/// nil. See the theory of operation at the top of `WebSocketParser.swift`.
///
/// ```swift
/// var parser = WebSocketParser(maxMessageSize: 1 << 20)
/// bytes.withUnsafeBytes { read in
///     var input = read
///     do {
///         while let event = try parser.next(&input) {
///             if case .text(let text) = event { print(String(decoding: text, as: UTF8.self)) }
///         }
///     } catch {
///         // Send a close frame with error.closeCode, then close the connection.
///     }
/// }
/// ```
public struct WebSocketParser: ~Copyable {
    /// The largest message accepted, in bytes, across all its fragments.
    public let maxMessageSize: Int

    /// A cut header (at most 10 bytes) at offset 0; a cut control frame's payload from offset `headerBytes`.
    private let scratch: UnsafeMutableRawPointer
    private static let headerBytes = 16
    private static let controlBytes = 125
    /// Header bytes kept in `scratch` from an earlier read.
    private var headerCount = 0
    /// Control payload bytes kept in `scratch` from earlier reads.
    private var controlCount = 0

    /// The reassembly buffer: allocated for the first message that needs it, reused after.
    private var message: UnsafeMutableRawPointer?
    private var messageCapacity = 0
    /// Bytes of the current (or last) message in `message`.
    private var messageCount = 0
    /// A data frame has come whose message's FIN frame has not been read yet.
    private var messageOpen = false
    private var messageIsText = false
    private var utf8 = UTF8Validator()

    /// The header of the current frame has been read; `remaining` of its payload bytes have not.
    private var inPayload = false
    private var opcode: UInt8 = 0
    private var fin = false
    private var remaining = 0

    private var closed = false
    private var failure: WebSocketProtocolError?

    /// - Parameter maxMessageSize: The largest message accepted, across its fragments; a longer one is refused
    ///   from its header (1009), before any of it is buffered.
    public init(maxMessageSize: Int) {
        self.maxMessageSize = max(0, maxMessageSize)
        self.scratch = UnsafeMutableRawPointer.allocate(
            byteCount: Self.headerBytes + Self.controlBytes,
            alignment: MemoryLayout<UInt64>.alignment
        )
    }

    deinit {
        self.scratch.deallocate()
        self.message?.deallocate()
    }

    /// Bytes of the reassembly buffer allocated so far: 0 until a message has had to be copied.
    public var reassemblyCapacity: Int { self.messageCapacity }

    /// A close frame has been read: every further byte is ignored.
    public var isClosed: Bool { self.closed }

    /// Consumes bytes from the front of `input` up to the end of the next event and returns that event, or
    /// consumes all of `input` and returns nil when it holds no further complete event (a cut frame is kept).
    ///
    /// Call it until it returns nil; `input` is then empty. The event's views are valid until the next call, and
    /// a view into `input` as long as its bytes.
    ///
    /// - Throws: ``WebSocketProtocolError`` when the stream breaks RFC 6455; the connection must be failed with
    ///   its ``WebSocketProtocolError/closeCode``. Every later call throws it again.
    public mutating func next(_ input: inout UnsafeRawBufferPointer) throws(WebSocketProtocolError) -> WebSocketEvent? {
        if let failure = self.failure { throw failure }
        do {
            return try self.step(&input)
        } catch {
            self.failure = error
            throw error
        }
    }

    // MARK: - Frames

    private mutating func step(_ input: inout UnsafeRawBufferPointer) throws(WebSocketProtocolError) -> WebSocketEvent? {
        while true {
            if self.closed {
                input = Self.drop(input, input.count)
                return nil
            }
            if !self.inPayload {
                guard try self.readHeader(&input) else { return nil }
            }
            if self.opcode >= 8 {
                // A control frame: whole in `input`, or gathered in `scratch`.
                let payload: UnsafeRawBufferPointer
                if self.controlCount == 0, input.count >= self.remaining {
                    payload = UnsafeRawBufferPointer(rebasing: input[..<self.remaining])
                    input = Self.drop(input, self.remaining)
                } else {
                    let n = min(self.remaining, input.count)
                    let kept = self.scratch + Self.headerBytes
                    if n > 0 {
                        (kept + self.controlCount).copyMemory(from: input.baseAddress!, byteCount: n)
                        self.controlCount += n
                        self.remaining -= n
                        input = Self.drop(input, n)
                    }
                    guard self.remaining == 0 else { return nil }
                    payload = UnsafeRawBufferPointer(start: kept, count: self.controlCount)
                    self.controlCount = 0
                }
                self.remaining = 0
                self.inPayload = false
                return try self.control(payload)
            }
            // A data frame. Whole, unfragmented and nothing of it copied yet: in place.
            if self.fin, self.opcode != 0, self.messageCount == 0, input.count >= self.remaining {
                let payload = UnsafeRawBufferPointer(rebasing: input[..<self.remaining])
                input = Self.drop(input, self.remaining)
                self.remaining = 0
                self.inPayload = false
                self.messageOpen = false
                guard self.messageIsText else { return .binary(payload) }
                guard UTF8Validator.isValid(payload) else { throw WebSocketProtocolError(.invalidUTF8) }
                return .text(payload)
            }
            let n = min(self.remaining, input.count)
            if n > 0 {
                let chunk = UnsafeRawBufferPointer(rebasing: input[..<n])
                if self.messageIsText, !self.utf8.feed(chunk) { throw WebSocketProtocolError(.invalidUTF8) }
                self.reserve(self.messageCount + self.remaining)
                (self.message! + self.messageCount).copyMemory(from: chunk.baseAddress!, byteCount: n)
                self.messageCount += n
                self.remaining -= n
                input = Self.drop(input, n)
            }
            guard self.remaining == 0 else { return nil }
            self.inPayload = false
            guard self.fin else { continue }  // the next fragment
            self.messageOpen = false
            let payload = UnsafeRawBufferPointer(start: self.message, count: self.messageCount)
            guard self.messageIsText else { return .binary(payload) }
            guard self.utf8.isComplete else { throw WebSocketProtocolError(.invalidUTF8) }
            return .text(payload)
        }
    }

    /// Reads a frame header from `input` (completing one cut by an earlier read) and sets up its payload. Returns
    /// false when `input` ran out first (its bytes are kept).
    private mutating func readHeader(_ input: inout UnsafeRawBufferPointer) throws(WebSocketProtocolError) -> Bool {
        if self.headerCount == 0, input.count >= 2 {
            let b0 = input[0]
            let b1 = input[1]
            try self.checkFirst(b0)
            try self.checkSecond(b1, opcode: b0 & 0x0F)
            let size = Self.headerSize(b1)
            if input.count >= size {
                try self.begin(b0, b1, extended: UnsafeRawPointer(input.baseAddress! + 2))
                input = Self.drop(input, size)
                return true
            }
        }
        while let b = input.first {
            input = Self.drop(input, 1)
            self.scratch.storeBytes(of: b, toByteOffset: self.headerCount, as: UInt8.self)
            self.headerCount += 1
            if self.headerCount == 1 {
                try self.checkFirst(b)
                continue
            }
            let b0 = self.scratch.load(as: UInt8.self)
            let b1 = self.scratch.load(fromByteOffset: 1, as: UInt8.self)
            if self.headerCount == 2 { try self.checkSecond(b1, opcode: b0 & 0x0F) }
            if self.headerCount == Self.headerSize(b1) {
                self.headerCount = 0
                try self.begin(b0, b1, extended: UnsafeRawPointer(self.scratch + 2))
                return true
            }
        }
        return false
    }

    /// The rules the first header byte alone decides: reserved bits, opcode, fragmentation.
    private func checkFirst(_ b0: UInt8) throws(WebSocketProtocolError) {
        guard b0 & 0x70 == 0 else { throw WebSocketProtocolError(.reservedBits) }
        switch b0 & 0x0F {
        case 0:
            guard self.messageOpen else { throw WebSocketProtocolError(.unexpectedContinuation) }
        case 1, 2:
            guard !self.messageOpen else { throw WebSocketProtocolError(.unfinishedMessage) }
        case 8, 9, 10:
            guard b0 & 0x80 != 0 else { throw WebSocketProtocolError(.fragmentedControlFrame) }
        case let opcode:
            throw WebSocketProtocolError(.reservedOpcode(opcode))
        }
    }

    /// The rules the second header byte decides: no mask, control frames short.
    private func checkSecond(_ b1: UInt8, opcode: UInt8) throws(WebSocketProtocolError) {
        guard b1 & 0x80 == 0 else { throw WebSocketProtocolError(.maskedFrame) }
        guard opcode < 8 || b1 <= 125 else { throw WebSocketProtocolError(.oversizedControlFrame) }
    }

    /// The header's size, from its second byte (unmasked: checked before).
    private static func headerSize(_ b1: UInt8) -> Int {
        switch b1 & 0x7F {
        case 126: 4
        case 127: 10
        default: 2
        }
    }

    /// Starts the frame whose (checked) first two bytes and extended length are given: the length's rules, the
    /// message limit, and a new message for a text or binary frame.
    private mutating func begin(_ b0: UInt8, _ b1: UInt8, extended: UnsafeRawPointer) throws(WebSocketProtocolError) {
        var length = UInt64(b1 & 0x7F)
        if length == 126 {
            length = UInt64(UInt16(bigEndian: extended.loadUnaligned(as: UInt16.self)))
        } else if length == 127 {
            length = UInt64(bigEndian: extended.loadUnaligned(as: UInt64.self))
            guard length >> 63 == 0 else { throw WebSocketProtocolError(.invalidLength) }
        }
        let opcode = b0 & 0x0F
        if opcode < 8 {
            let before = opcode == 0 ? self.messageCount : 0
            guard length <= UInt64(self.maxMessageSize - before) else {
                throw WebSocketProtocolError(.messageTooLarge(size: UInt64(before) + length, limit: self.maxMessageSize))
            }
            if opcode != 0 {
                self.messageOpen = true
                self.messageIsText = opcode == 1
                self.messageCount = 0
                self.utf8 = UTF8Validator()
            }
        }
        self.opcode = opcode
        self.fin = b0 & 0x80 != 0
        self.remaining = Int(length)
        self.inPayload = true
    }

    /// The event of a complete control frame.
    private mutating func control(_ payload: UnsafeRawBufferPointer) throws(WebSocketProtocolError) -> WebSocketEvent {
        switch self.opcode {
        case 9:
            return .ping(payload)
        case 10:
            return .pong(payload)
        default:
            guard payload.count != 1 else { throw WebSocketProtocolError(.truncatedCloseCode) }
            var code: UInt16?
            var reason = UnsafeRawBufferPointer(start: payload.baseAddress, count: 0)
            if payload.count >= 2 {
                let value = UInt16(bigEndian: payload.loadUnaligned(as: UInt16.self))
                guard Self.isSendable(closeCode: value) else { throw WebSocketProtocolError(.invalidCloseCode(value)) }
                reason = UnsafeRawBufferPointer(rebasing: payload[2...])
                guard UTF8Validator.isValid(reason) else { throw WebSocketProtocolError(.invalidCloseReason) }
                code = value
            }
            self.closed = true
            return .close(code: code, reason: reason)
        }
    }

    /// Whether a close frame may carry `code` (RFC 6455 7.4 and the IANA registry): 1000-1003, 1007-1014, and the
    /// ranges for libraries (3000-3999) and applications (4000-4999). 1005, 1006 and 1015 are only reported
    /// locally; the rest is unassigned.
    public static func isSendable(closeCode code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: true
        default: false
        }
    }

    // MARK: - Buffers

    /// Makes room for `needed` bytes of message (at most the limit: checked from the header), keeping those
    /// already there.
    private mutating func reserve(_ needed: Int) {
        guard needed > self.messageCapacity else { return }
        let capacity = min(max(needed, 2 * self.messageCapacity, 4096), max(needed, self.maxMessageSize))
        let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: MemoryLayout<UInt64>.alignment)
        if let old = self.message {
            grown.copyMemory(from: old, byteCount: self.messageCount)
            old.deallocate()
        }
        self.message = grown
        self.messageCapacity = capacity
    }

    private static func drop(_ bytes: UnsafeRawBufferPointer, _ n: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[n...])
    }
}

// MARK: - UTF-8

/// An incremental UTF-8 validator (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF): bytes may
/// be fed in any pieces, a code point cut between them included.
struct UTF8Validator: Sendable {
    /// Continuation bytes still expected for the current code point.
    private var need: UInt8 = 0
    /// The range the next continuation byte must be in (narrower than 80-BF after E0, ED, F0 and F4).
    private var low: UInt8 = 0x80
    private var high: UInt8 = 0xBF

    init() {}

    /// No code point is cut at the end of the bytes fed so far.
    var isComplete: Bool { self.need == 0 }

    /// Whether `bytes` are valid UTF-8, whole.
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var validator = UTF8Validator()
        return validator.feed(bytes) && validator.isComplete
    }

    /// Validates the next bytes; false at the first byte that cannot continue valid UTF-8 (the validator's state
    /// is then unspecified).
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var need = self.need
        var low = self.low
        var high = self.high
        var i = 0
        while i < count {
            if need == 0 {
                // ASCII, 8 bytes at a time.
                while i &+ 8 <= count, base.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                    i &+= 8
                }
                guard i < count else { break }
                let b = base.load(fromByteOffset: i, as: UInt8.self)
                i &+= 1
                switch b {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: need = 1; low = 0x80; high = 0xBF
                case 0xE0: need = 2; low = 0xA0; high = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: need = 2; low = 0x80; high = 0xBF
                case 0xED: need = 2; low = 0x80; high = 0x9F
                case 0xF0: need = 3; low = 0x90; high = 0xBF
                case 0xF1...0xF3: need = 3; low = 0x80; high = 0xBF
                case 0xF4: need = 3; low = 0x80; high = 0x8F
                default: return false
                }
            } else {
                let b = base.load(fromByteOffset: i, as: UInt8.self)
                i &+= 1
                guard b >= low, b <= high else { return false }
                need &-= 1
                low = 0x80
                high = 0xBF
            }
        }
        self.need = need
        self.low = low
        self.high = high
        return true
    }
}
