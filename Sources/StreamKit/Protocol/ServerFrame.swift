// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// A frame from the server, classified by its `type` and decoded without copying.
///
/// Text fields are ``TextSlice``s into the frame's bytes; hold the frame in a ``Message`` (which keeps the
/// bytes) to read them as `String`s.
public enum ServerFrame: Sendable {
    /// `{"type":"welcome","ping_interval_ms":10000}`, sent on connect.
    case welcome(Welcome)
    /// The answer to subscribe, unsubscribe and unsubscribe_all.
    case ack(Ack)
    /// A channel push.
    case data(DataFrame)
    /// A request failed, or the server reports a problem.
    case error(ErrorFrame)
    /// The answer to `ping`. Also recognised without `type` when `msg` is `"PONG"` (a variant seen in
    /// client code).
    case pong(Pong)
    /// A frame whose `type` this version of StreamKit does not know (or that has none and matches no known
    /// shape). Never an error: the bytes stay available.
    case unknown(UnknownFrame)
}

/// The region of a raw JSON value in a frame.
public struct JSONRegion: Sendable, Hashable {
    /// Offset of the value's first byte.
    public let offset: Int
    /// Length of the value in bytes.
    public let count: Int
    /// The byte range of the value.
    public var range: Range<Int> { self.offset..<(self.offset + self.count) }
}

/// The `welcome` frame.
public struct Welcome: Sendable {
    /// How often to send `ping`, in ms (typically 10 000). `nil` when absent or not a positive number.
    public var pingIntervalMS: Int64?
}

/// The `ack` frame.
public struct Ack: Sendable {
    /// The request id echoed back.
    public var id: Int64?
    /// 0 for success; anything else is a failure.
    public var code: Int64?
    /// `"ok"` on success.
    public var msg: TextSlice?
    /// The request's channel, when this version knows it.
    public var channel: Channel?
    /// The channel name as sent.
    public var channelName: TextSlice?
    /// The params echo, when the server sends one.
    public var params: ParamsEcho?
    /// Subscriptions on the connection after this request.
    public var subCount: Int64?
    /// The connection's subscription limit (100 on every documented plan).
    public var subLimit: Int64?
    /// True when the subscribe repeated an existing subscription (`sub_count` did not grow).
    public var duplicate: Bool = false
    /// True when `code` is 0 or absent.
    public var isSuccess: Bool { (self.code ?? 0) == 0 }
}

/// The `pong` frame.
public struct Pong: Sendable {
    /// The ping's id echoed back.
    public var id: Int64?
    /// 0 for success.
    public var code: Int64?
    /// Server time, epoch ms.
    public var ts: Int64?
    /// `"PONG"` in the variant without `type`.
    public var msg: TextSlice?
}

/// The `error` frame: `{"type":"error","id":1,"status":{...}}`.
public struct ErrorFrame: Sendable {
    /// The failed request's id, when it had one.
    public var id: Int64?
    /// The REST-style status object.
    public var status: ErrorStatus
}

/// The `status` object of an `error` frame.
public struct ErrorStatus: Sendable {
    /// `error_code`, sent as a string (`"2401"`) or a number; `nil` when absent or not numeric.
    public var errorCode: StreamErrorCode?
    /// `category`: `AUTH`, `PROTOCOL` or `SERVER`.
    public var category: TextSlice?
    /// `error_message`: the table's text for the code.
    public var errorMessage: TextSlice?
    /// `error_detail`: which field, allowed values, current/max limits.
    public var errorDetail: TextSlice?
    /// `timestamp`: ISO 8601 time of the error.
    public var timestamp: TextSlice?
}

/// A frame of a `type` this version does not know.
public struct UnknownFrame: Sendable {
    /// The `type` as sent, if any.
    public var type: TextSlice?
}

/// The `data` frame: a channel push.
public struct DataFrame: Sendable {
    /// The channel, or `nil` when this version does not know it (the payload is then ``Payload/unknown``).
    public var channel: Channel?
    /// The channel name as sent.
    public var channelName: TextSlice
    /// The subscription identity echoed by the server (scalar id or address).
    public var params: ParamsEcho
    /// Server send time, epoch ms (the envelope's `ts`; payloads may have their own event time).
    public var ts: Int64?
    /// The typed payload.
    public var payload: Payload
    /// Where the raw `data` object is in the frame, for keys this version does not know and exact decimals.
    public var payloadRegion: JSONRegion
}

/// The `params` object echoed in data pushes (and some acks): which subscription a push belongs to.
public struct ParamsEcho: Sendable {
    /// `platform_id`, for on-chain channels.
    public var platformID: Int64?
    /// `crypto_ids` as a scalar (the first id when the server sends an array).
    public var cryptoID: Int64?
    /// The address (`address`, `pool_address` or `wallet_address`; the first when an array).
    public var address: TextSlice?
    /// Which param carried the target.
    public var targetParam: TargetParam?
    /// `interval`, for kline and unique trader.
    public var interval: TextSlice?
    /// How many ids or addresses the echo named (1 for the scalar echo of data pushes).
    public var targetCount: Int = 0
    /// Keys this version does not know (such as `mode`).
    public var unknownKeyCount: Int = 0
    /// The raw params object.
    public var region: JSONRegion = JSONRegion(offset: 0, count: 0)

    /// An empty echo (no params).
    public init() {}
}
