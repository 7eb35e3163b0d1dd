// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// A decoded frame together with the bytes it was decoded from.
///
/// A `Message` owns (retains) its bytes, so it can be stored and sent across tasks, and its ``TextSlice``s can
/// be read as `String`s at any time. Nothing is materialised until asked for. A client's messages share blocks of
/// bytes (see ``FrameBytes``).
///
/// ```swift
/// let message = try FrameDecoder().decode(bytes)
/// if case .data(let push) = message.frame, case .transaction(let swap) = push.payload {
///     print(message.string(swap.tx) ?? "-", swap.side ?? .other, swap.vu ?? .nan)
///     let exact = message.payloadJSON?["vu"]?.numberText   // "167.11650988683866", as sent
/// }
/// ```
public struct Message: Sendable {
    /// The frame's bytes, as received.
    public let bytes: FrameBytes
    /// The decoded frame.
    public let frame: ServerFrame
    /// Every subscription a pushed message belongs to (set by the client; empty for a frame decoded on its own):
    /// usually one; both tokens' subscriptions for a swap or liquidity event between two subscribed tokens. See
    /// ``SubscriptionMatches``.
    public var subscriptions = SubscriptionMatches()

    /// Pairs a frame with the bytes it was decoded from.
    public init(bytes: [UInt8], frame: ServerFrame) {
        self.bytes = FrameBytes(bytes)
        self.frame = frame
    }

    /// Pairs a frame with its bytes, stored already (by a ``ByteBlockWriter``).
    public init(bytes: FrameBytes, frame: ServerFrame) {
        self.bytes = bytes
        self.frame = frame
    }

    /// The text of a slice of this message.
    public func string(_ slice: TextSlice) -> String {
        self.bytes.withUnsafeBytes { slice.string(in: $0) }
    }

    /// The text of an optional slice of this message.
    public func string(_ slice: TextSlice?) -> String? {
        slice.map { self.string($0) }
    }

    /// The whole frame as a navigable JSON value (re-scanned on demand; nothing is kept).
    public var json: JSONValue {
        let start = self.bytes.withUnsafeBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            let c = JSONCursor(base: base.assumingMemoryBound(to: UInt8.self), count: raw.count, maxDepth: Int.max)
            return c.skipWhitespace(0)
        }
        return JSONValue(bytes: self.array, offset: start)
    }

    /// The bytes as an array (the array itself when the message was made from one; a copy otherwise).
    var array: [UInt8] {
        if case .array(let a) = self.bytes.storage { return a }
        return Array(self.bytes)
    }

    /// The raw `data` object of a data frame: every key the server sent, including those this version does not
    /// know, with exact number text.
    public var payloadJSON: JSONValue? {
        guard case .data(let d) = self.frame else { return nil }
        return JSONValue(bytes: self.array, offset: d.payloadRegion.offset)
    }
}
