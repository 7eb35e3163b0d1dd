// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// A frame decoded in place: the allocation-free, copy-free hot path.
///
/// Keep one per connection (or per thread) and hand it to ``FrameDecoder/decode(_:into:)`` for every frame. The
/// decoder overwrites the envelope fields and only the payload slot of the frame's channel, so decoding allocates
/// nothing and writes nothing larger than that one payload. Read the payload through its channel's accessor
/// (`frame.transaction`, `frame.cryptoLatestPrice`, ...; `nil` for other frames), or build the ``ServerFrame``
/// enum with ``frame`` when convenience matters more than the copy.
///
/// Text fields are ``TextSlice``s into the bytes the frame was decoded from.
///
/// ```swift
/// var decoded = DecodedFrame()
/// for bytes in frames {
///     try bytes.withUnsafeBytes { try decoder.decode($0, into: &decoded) }
///     if let quote = decoded.cryptoLatestPrice { print(quote.cid, quote.price) }
/// }
/// ```
public struct DecodedFrame: Sendable {
    /// What kind of frame this is (from `type`, or from its shape when `type` is absent).
    public enum Kind: UInt8, Sendable, Hashable {
        case welcome, ack, data, error, pong, unknown
    }

    /// What kind of frame this is.
    public internal(set) var kind: Kind = .unknown
    /// `type` as sent.
    public internal(set) var type: TextSlice?
    /// The channel, when this version knows it.
    public internal(set) var channel: Channel?
    /// `channel` as sent.
    public internal(set) var channelName: TextSlice?
    /// The `params` echo.
    public internal(set) var params: ParamsEcho?
    /// `ts`: server time, epoch ms.
    public internal(set) var ts: Int64?
    /// `id`: the request id echoed by `ack`, `error` and `pong`.
    public internal(set) var id: Int64?
    /// `code`: 0 for success in `ack` and `pong`.
    public internal(set) var code: Int64?
    /// `msg`.
    public internal(set) var msg: TextSlice?
    /// `status` of an `error` frame.
    public internal(set) var status: ErrorStatus?
    /// `ping_interval_ms` of `welcome`.
    public internal(set) var pingIntervalMS: Int64?
    /// `sub_count` of `ack`.
    public internal(set) var subCount: Int64?
    /// `sub_limit` of `ack`.
    public internal(set) var subLimit: Int64?
    /// `duplicate` of `ack`.
    public internal(set) var duplicate: Bool = false
    /// Where the raw `data` object is.
    public internal(set) var payloadRegion: JSONRegion?

    @usableFromInline var slots = PayloadSlots()

    /// An empty frame, ready to decode into.
    public init() {}

    mutating func resetEnvelope() {
        self.kind = .unknown
        self.type = nil
        self.channel = nil
        self.channelName = nil
        self.params = nil
        self.ts = nil
        self.id = nil
        self.code = nil
        self.msg = nil
        self.status = nil
        self.pingIntervalMS = nil
        self.subCount = nil
        self.subLimit = nil
        self.duplicate = false
        self.payloadRegion = nil
    }

    /// The typed payload of a data frame (``Payload/unknown`` otherwise). Copies the payload out of its slot.
    public var payload: Payload {
        self.kind == .data ? self.slots.payload(self.channel) : .unknown
    }

    /// The frame as a ``ServerFrame`` enum.
    public var frame: ServerFrame {
        switch self.kind {
        case .data:
            return .data(
                DataFrame(
                    channel: self.channel,
                    channelName: self.channelName ?? TextSlice(offset: 0, count: 0, hasEscapes: false),
                    params: self.params ?? ParamsEcho(),
                    ts: self.ts,
                    payload: self.payload,
                    payloadRegion: self.payloadRegion ?? JSONRegion(offset: 0, count: 0)
                )
            )
        case .ack:
            return .ack(
                Ack(
                    id: self.id, code: self.code, msg: self.msg, channel: self.channel,
                    channelName: self.channelName, params: self.params, subCount: self.subCount,
                    subLimit: self.subLimit, duplicate: self.duplicate
                )
            )
        case .welcome:
            return .welcome(Welcome(pingIntervalMS: self.pingIntervalMS.flatMap { $0 > 0 ? $0 : nil }))
        case .pong:
            return .pong(Pong(id: self.id, code: self.code, ts: self.ts, msg: self.msg))
        case .error:
            return .error(ErrorFrame(id: self.id, status: self.status ?? ErrorStatus()))
        case .unknown:
            return .unknown(UnknownFrame(type: self.type))
        }
    }
}
