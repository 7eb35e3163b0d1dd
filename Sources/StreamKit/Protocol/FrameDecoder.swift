// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// MARK: - FrameDecoder

/// Decodes server frames into typed ``ServerFrame``s in one pass, without a DOM and without allocating.
///
/// The envelope keys may come in any order. When `channel` precedes `data` (as the server sends them), the
/// payload is decoded in the same pass; otherwise its region is remembered and decoded once the channel is
/// known. Unknown keys are skipped (and counted), never fatal; unknown `type`s and channels decode as
/// ``ServerFrame/unknown(_:)`` and ``Payload/unknown``.
///
/// Tolerance: the decoder throws only for bytes that are not one JSON object (malformed JSON, another JSON
/// value, nesting deeper than ``DecodeLimits/maxDepth``, a frame larger than ``DecodeLimits/maxFrameBytes``).
/// Everything else is delivered as far as it can be read:
/// - A payload field that is `null` or of the wrong JSON type reads as absent; the payload's `nullFields` and
///   `mistypedFields` say which. An envelope field of the wrong type (`"id":"x"`, `"ts":"x"`, a non-boolean
///   `duplicate`) reads as absent too; a `type` that is not a string makes the frame ``ServerFrame/unknown(_:)``.
/// - A payload without a field routing needs (`cid` of a price), or a `data` that is not an object, decodes as
///   a data frame of no channel (``Payload/unknown``; `channelName` as sent, the raw payload kept).
/// - A data frame without `channel` (or with a `channel` that is not a string) is classified by its shape where
///   that is unambiguous (see ``inferChannel(_:_:_:)``), else delivered as a data frame of no channel.
/// - A `"type":"data"` frame without `data` has nothing to deliver: it decodes as ``ServerFrame/unknown(_:)``.
///
/// ```swift
/// let decoder = FrameDecoder()
/// let message = try decoder.decode(Array(text.utf8))
/// if case .data(let push) = message.frame, case .cryptoLatestPrice(let quote) = push.payload {
///     print(quote.cid, quote.price)
/// }
/// ```
public struct FrameDecoder: Sendable {
    /// Bounds on depth and size; see ``DecodeLimits``.
    public var limits: DecodeLimits

    /// - Parameter limits: Bounds on depth and size. The defaults fit every documented frame with a wide margin.
    public init(limits: DecodeLimits = DecodeLimits()) {
        self.limits = limits
    }

    /// Decodes a frame in place into `frame`: the hot path, with no allocation and no copy of the payload.
    ///
    /// - Parameters:
    ///   - bytes: One complete JSON text frame. `frame`'s ``TextSlice``s point into it.
    ///   - frame: Overwritten with the frame's envelope and its channel's payload slot.
    /// - Throws: ``DecodeError`` with the byte offset of the first problem, only when the bytes are not one JSON
    ///   object within the limits; `frame` is then unspecified.
    public func decode(_ bytes: UnsafeRawBufferPointer, into frame: inout DecodedFrame) throws(DecodeError) {
        guard bytes.count <= self.limits.maxFrameBytes else { throw DecodeError(.tooLarge, at: self.limits.maxFrameBytes) }
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw DecodeError(.unexpectedEnd, at: 0) }
        let cursor = JSONCursor(
            base: base.assumingMemoryBound(to: UInt8.self),
            count: bytes.count,
            maxDepth: self.limits.maxDepth
        )
        try FrameDecoder.decodeFrame(cursor, into: &frame)
    }

    /// Decodes a frame in place. The result's ``TextSlice``s point into `bytes`.
    ///
    /// - Parameter bytes: One complete JSON text frame.
    /// - Returns: The classified, typed frame.
    /// - Throws: ``DecodeError`` with the byte offset of the first problem.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodeError) -> ServerFrame {
        var frame = DecodedFrame()
        try self.decode(bytes, into: &frame)
        return frame.frame
    }

    /// Decodes a frame held in a `Span`. The result's ``TextSlice``s are offsets into the span's bytes.
    public func decode(_ bytes: Span<UInt8>) throws(DecodeError) -> ServerFrame {
        let result: Result<ServerFrame, DecodeError> = bytes.withUnsafeBytes { raw in
            do throws(DecodeError) {
                return .success(try self.decode(raw))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Decodes a frame and keeps its bytes with it, so text fields can be read as `String`s.
    ///
    /// - Parameter bytes: One complete JSON text frame. The array is retained, not copied.
    /// - Throws: ``DecodeError`` with the byte offset of the first problem.
    public func decode(_ bytes: [UInt8]) throws(DecodeError) -> Message {
        let result: Result<ServerFrame, DecodeError> = bytes.withUnsafeBytes { raw in
            do throws(DecodeError) {
                return .success(try self.decode(raw))
            } catch {
                return .failure(error)
            }
        }
        return Message(bytes: bytes, frame: try result.get())
    }

    /// Decodes a frame given as text.
    public func decode(_ text: String) throws(DecodeError) -> Message {
        try self.decode(Array(text.utf8))
    }

    // MARK: - Envelope

    enum FrameType: UInt8 {
        case absent, welcome, ack, data, error, pong, other
    }

    static func decodeFrame(_ c: JSONCursor, into f: inout DecodedFrame) throws(DecodeError) {
        f.resetEnvelope()
        let start = c.skipWhitespace(0)
        guard start < c.count else { throw DecodeError(.unexpectedEnd, at: start) }
        guard c.base[start] == UInt8(ascii: "{") else {
            // Valid JSON of another kind is `notAnObject`; anything else is a grammar error.
            _ = try c.skipValue(start, depth: 1)
            throw DecodeError(.notAnObject, at: start)
        }

        var type = FrameType.absent
        var dataStart = -1
        var dataEnd = -1
        var payloadDecoded = false
        var payloadComplete = false

        // A data push as the server writes it, `{"type":"data","channel":…,"params":…,"data":…,"ts":…}`, takes
        // the fast path: the opening bytes compared at once, then the expected keys in order. Anything else, from
        // wherever it departs, goes to the general member loop.
        guard 1 <= c.maxDepth else { throw DecodeError(.tooDeep, at: start) }
        var i = start &+ 1
        ordered: do {
            guard start &+ 32 <= c.count else { break ordered }
            let p = UnsafeRawPointer(c.base + start)
            // `{"type":"data","channel":"`: 26 bytes, as three words and the two bytes after them (the last one
            // the channel's opening quote).
            guard p.loadUnaligned(as: UInt64.self) == 0x3A22_6570_7974_227B,
                p.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == 0x222C_2261_7461_6422,
                p.loadUnaligned(fromByteOffset: 16, as: UInt64.self) == 0x226C_656E_6E61_6863,
                p.loadUnaligned(fromByteOffset: 24, as: UInt16.self) == 0x223A
            else { break ordered }
            f.type = TextSlice(offset: start &+ 9, count: 4, hasEscapes: false)
            type = .data
            i = try FrameDecoder.channelMember(c, start &+ 25, &f)
            guard c.pastComma(&i) else { break ordered }
            if let v = c.expectMember(i, 0x3A22_736D_6172_6170, 8) {  // "params":
                i = try FrameDecoder.paramsMember(c, v, &f)
                guard c.pastComma(&i) else { break ordered }
            }
            if let v = c.expectMember(i, 0x3A22_6174_6164, 6) {  // "data":
                i = try FrameDecoder.dataMember(c, v, &f, type, &dataStart, &dataEnd, &payloadDecoded, &payloadComplete)
                guard c.pastComma(&i) else { break ordered }
            }
            if let v = c.expectMember(i, 0x3A22_7374, 4) {  // "ts":
                i = try FrameDecoder.optionalInt(c, v, &f.ts)
            }
        }

        let end = try c.members(continuing: i, in: start) { (k, v) throws(DecodeError) -> Int in
            switch k.packed {
            case 0x6570_7974:  // "type"
                guard c.base[v] == UInt8(ascii: "\"") else {
                    // A `type` that is not a string: a frame of unknown type.
                    f.type = nil
                    type = .other
                    return try c.skipValue(v, depth: 2)
                }
                let (s, e) = try c.scanString(v)
                f.type = s
                type = FrameDecoder.classify(s, c)
                return e
            case 0x6C_656E_6E61_6863:  // "channel"
                return try FrameDecoder.channelMember(c, v, &f)
            case 0x6174_6164:  // "data"
                return try FrameDecoder.dataMember(c, v, &f, type, &dataStart, &dataEnd, &payloadDecoded, &payloadComplete)
            case 0x736D_6172_6170:  // "params"
                return try FrameDecoder.paramsMember(c, v, &f)
            case 0x7374:  // "ts"
                return try FrameDecoder.optionalInt(c, v, &f.ts)
            case 0x6469:  // "id"
                return try FrameDecoder.lenientID(c, v, &f.id)
            case 0x6564_6F63:  // "code"
                return try FrameDecoder.optionalInt(c, v, &f.code)
            case 0x67_736D:  // "msg"
                return try FrameDecoder.optionalText(c, v, &f.msg)
            case 0x7375_7461_7473:  // "status"
                var s = ErrorStatus()
                let e = try FrameDecoder.decodeStatus(c, v, into: &s)
                f.status = s
                return e
            case 0:
                switch k.long {
                case (0x746E_695F_676E_6970, 0x736D_5F6C_6176_7265):  // "ping_interval_ms"
                    return try FrameDecoder.optionalInt(c, v, &f.pingIntervalMS)
                case (0x6E75_6F63_5F62_7573, 0x74):  // "sub_count"
                    return try FrameDecoder.optionalInt(c, v, &f.subCount)
                case (0x696D_696C_5F62_7573, 0x74):  // "sub_limit"
                    return try FrameDecoder.optionalInt(c, v, &f.subLimit)
                case (0x7461_6369_6C70_7564, 0x65):  // "duplicate"
                    // Not a boolean: absent (false), and the ack is still read.
                    var value = false
                    var present: UInt64 = 0
                    var nulls: UInt64 = 0
                    let e = try c.readBool(v, into: &value, bit: 1, present: &present, nulls: &nulls, depth: 2)
                    f.duplicate = present != 0 && nulls == 0 && value
                    return e
                default:
                    return try c.skipValue(v, depth: 2)
                }
            default:
                return try c.skipValue(v, depth: 2)
            }
        }
        // Nothing but whitespace may follow the object.
        let tail = c.skipWhitespace(end)
        guard tail == c.count else { throw DecodeError(.unexpectedByte, at: tail) }

        // Frames without `type`: classify by shape (see `ServerFrame`).
        if type == .absent {
            if dataStart >= 0 && f.channelName != nil {
                type = .data
            } else if f.status != nil {
                type = .error
            } else if f.pingIntervalMS != nil {
                type = .welcome
            } else if let m = f.msg, c.slice(m, equals: "PONG") || c.slice(m, equals: "pong") {
                type = .pong
            } else if f.subCount != nil || f.subLimit != nil {
                type = .ack
            }
        }

        switch type {
        case .data:
            guard dataStart >= 0 else {
                // `"type":"data"` without `data`: nothing to deliver.
                f.kind = .unknown
                return
            }
            if f.channelName == nil {
                f.channel = FrameDecoder.inferChannel(c, dataStart, f.params)
            }
            if !payloadDecoded, let ch = f.channel, c.base[dataStart] == UInt8(ascii: "{") {
                _ = try f.slots.decode(ch, c, dataStart, depth: 2, complete: &payloadComplete)
                payloadDecoded = true
            }
            // A `data` that is not an object, or a payload without what routing needs: a data frame of no channel.
            if !payloadDecoded || !payloadComplete { f.channel = nil }
            f.payloadRegion = JSONRegion(offset: dataStart, count: dataEnd - dataStart)
            f.kind = .data
        case .ack: f.kind = .ack
        case .welcome: f.kind = .welcome
        case .pong: f.kind = .pong
        case .error: f.kind = .error
        case .absent, .other: f.kind = .unknown
        }
    }

    @inline(__always)
    static func channelMember(_ c: JSONCursor, _ v: Int, _ f: inout DecodedFrame) throws(DecodeError) -> Int {
        guard c.base[v] == UInt8(ascii: "\"") else {
            // Not a string: as if absent (the frame is classified by its shape).
            f.channelName = nil
            f.channel = nil
            return try c.skipValue(v, depth: 2)
        }
        let (s, e) = try c.scanString(v)
        f.channelName = s
        f.channel = Channel.match(s, in: c.buffer)
        return e
    }

    @inline(__always)
    static func paramsMember(_ c: JSONCursor, _ v: Int, _ f: inout DecodedFrame) throws(DecodeError) -> Int {
        var p = ParamsEcho()
        let e = try FrameDecoder.decodeParams(c, v, into: &p)
        f.params = p
        return e
    }

    /// `data`: the payload decoded in place when the channel is known (and the frame is a data push, or has no
    /// `type`), else skipped and decoded once the envelope is complete.
    @inline(__always)
    static func dataMember(
        _ c: JSONCursor, _ v: Int, _ f: inout DecodedFrame, _ type: FrameType,
        _ dataStart: inout Int, _ dataEnd: inout Int, _ payloadDecoded: inout Bool, _ payloadComplete: inout Bool
    ) throws(DecodeError) -> Int {
        dataStart = v
        payloadDecoded = false
        if let ch = f.channel, type == .absent || type == .data, c.base[v] == UInt8(ascii: "{") {
            dataEnd = try f.slots.decode(ch, c, v, depth: 2, complete: &payloadComplete)
            payloadDecoded = true
            return dataEnd
        }
        dataEnd = try c.skipValue(v, depth: 2)
        return dataEnd
    }

    // MARK: - Data frames without a channel

    /// The channel of a data frame that names none, from its shape; `nil` unless exactly one channel fits.
    ///
    /// The rule (conservative: a frame that two channels could have sent stays unattributed):
    /// 1. The params echo's target key, where only one channel uses it: `crypto_ids` → market@crypto_latest_price,
    ///    `pool_address` → onchain@pool_metric, `wallet_address` → onchain@holder_wallet_update. (`address` is
    ///    shared by seven channels and decides nothing.)
    /// 2. The payload's distinctive keys (after mission-control's shape dispatch, reference §3.9): `cid` → price;
    ///    `sts` → token_metric; `ap` → token_agg_event; `tx` with `tp` `buy`/`sell` → transaction; `tx` with `tp`
    ///    `add`/`remove`/`migrate` → liquidity_event; `wa` with a wallet-update `tp` → holder_wallet_update; a
    ///    holder-metric `tp` (`tag_distribution`, `top_share`, ...) without `wa` → holders_metrics.
    /// Every rule that fires names a candidate; the frame is classified only when they all name the same one.
    /// Kline, unique_trader and pool_metric payloads share generic keys (`o`, `ut`, `ot`, windows) and are never
    /// guessed from the payload alone.
    static func inferChannel(_ c: JSONCursor, _ dataStart: Int, _ params: ParamsEcho?) -> Channel? {
        var candidates: UInt16 = 0
        func add(_ ch: Channel) { candidates |= 1 << UInt16(ch.ordinal) }
        switch params?.targetParam {
        case .cryptoIDs?: add(.cryptoLatestPrice)
        case .poolAddress?: add(.poolMetric)
        case .walletAddress?: add(.holderWalletUpdate)
        default: break
        }
        if c.base[dataStart] == UInt8(ascii: "{") {
            var hasTx = false
            var hasWA = false
            var tp: TextSlice? = nil
            do throws(DecodeError) {
                _ = try c.forEachMember(dataStart, depth: 2) { (k, v) throws(DecodeError) -> Int in
                    switch k.packed {
                    case 0x64_6963: add(.cryptoLatestPrice)  // "cid"
                    case 0x73_7473: add(.tokenMetric)  // "sts"
                    case 0x7061: add(.tokenAggEvent)  // "ap"
                    case 0x7874: hasTx = true  // "tx"
                    case 0x6177: hasWA = true  // "wa"
                    case 0x7074:  // "tp"
                        if c.base[v] == UInt8(ascii: "\"") {
                            let (slice, end) = try c.scanString(v)
                            tp = slice
                            return end
                        }
                    default: break
                    }
                    return try c.skipValue(v, depth: 3)
                }
            } catch {
                return nil  // not reached: the frame was scanned whole before
            }
            if let tp {
                if hasTx && SwapSide(tp, in: c) != .other { add(.transaction) }
                if hasTx && LiquidityKind(tp, in: c) != .other { add(.liquidityEvent) }
                if hasWA && WalletUpdateKind(tp, in: c) != .other { add(.holderWalletUpdate) }
                if !hasWA && HolderMetricKind(tp, in: c) != .other { add(.holdersMetrics) }
            }
        }
        guard candidates != 0, candidates & (candidates &- 1) == 0 else { return nil }
        return Channel.allCases.first { $0.ordinal == UInt64(candidates.trailingZeroBitCount) }
    }

    static func classify(_ s: TextSlice, _ c: JSONCursor) -> FrameType {
        switch s.count {
        case 4 where c.slice(s, equals: "data"): .data
        case 3 where c.slice(s, equals: "ack"): .ack
        case 4 where c.slice(s, equals: "pong"): .pong
        case 5 where c.slice(s, equals: "error"): .error
        case 7 where c.slice(s, equals: "welcome"): .welcome
        default: s.hasEscapes ? FrameDecoder.classifySlow(s, c) : .other
        }
    }

    static func classifySlow(_ s: TextSlice, _ c: JSONCursor) -> FrameType {
        switch s.string(in: c.buffer) {
        case "data": .data
        case "ack": .ack
        case "pong": .pong
        case "error": .error
        case "welcome": .welcome
        default: .other
        }
    }

    // MARK: - Envelope fields

    /// An integer envelope field: `nil` when null or of another type (a mistyped value reads as absent).
    static func optionalInt(_ c: JSONCursor, _ v: Int, _ out: inout Int64?, depth: Int = 2) throws(DecodeError) -> Int {
        var value: Int64 = 0
        var present: UInt64 = 0
        var nulls: UInt64 = 0
        let e = try c.readInt(v, into: &value, bit: 1, present: &present, nulls: &nulls, depth: depth)
        out = present != 0 && nulls == 0 ? value : nil
        return e
    }

    /// A text envelope field: `nil` when null or of another type.
    static func optionalText(_ c: JSONCursor, _ v: Int, _ out: inout TextSlice?, depth: Int = 2) throws(DecodeError) -> Int {
        var value = TextSlice(offset: 0, count: 0, hasEscapes: false)
        var present: UInt64 = 0
        var nulls: UInt64 = 0
        let e = try c.readText(v, into: &value, bit: 1, present: &present, nulls: &nulls, depth: depth)
        out = present != 0 && nulls == 0 ? value : nil
        return e
    }

    /// `id` is an integer in every example; anything else is kept in the frame but not interpreted
    /// [UNKNOWN: whether the server accepts string ids].
    static func lenientID(_ c: JSONCursor, _ v: Int, _ out: inout Int64?) throws(DecodeError) -> Int {
        let b = c.base[v]
        if b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) {
            var n = ParsedNumber()
            if NumberParser.parse(c.base, start: v, limit: c.count, into: &n), let i = JSONCursor.exactInteger(n) {
                out = i
                return n.end
            }
        }
        return try c.skipValue(v, depth: 2)
    }

    static func decodeParams(_ c: JSONCursor, _ v: Int, into p: inout ParamsEcho) throws(DecodeError) -> Int {
        // Null or not an object: no echo (the frame is delivered unattributed, or classified by its payload).
        guard c.base[v] == UInt8(ascii: "{") else { return try c.skipValue(v, depth: 2) }
        guard 2 <= c.maxDepth else { throw DecodeError(.tooDeep, at: v) }
        // The echo of a data push, as the server writes it: `crypto_ids`, or `platform_id`, then the address
        // (token, pool or wallet), then `interval` where the channel has one. Anything else goes to the loop.
        var i = v &+ 1
        ordered: do {
            if let w = c.expectMember(i, 0x695F_6F74_7079_7263, 0x3A22_7364, 12) {  // "crypto_ids":
                i = try decodeTarget(c, w, .cryptoIDs, &p)
                guard c.pastComma(&i) else { break ordered }
            }
            if let w = c.expectMember(i, 0x6D72_6F66_7461_6C70, 0x3A_2264_695F, 13) {  // "platform_id":
                i = try optionalInt(c, w, &p.platformID, depth: 3)
                guard c.pastComma(&i) else { break ordered }
            }
            var target: Int? = nil
            if let w = c.expectMember(i, 0x2273_7365_7264_6461, 0x3A, 9) {  // "address":
                target = try decodeTarget(c, w, .address, &p)
            } else if let w = c.expectMember(i, 0x6464_615F_6C6F_6F70, 0x3A22_7373_6572, 14) {  // "pool_address":
                target = try decodeTarget(c, w, .poolAddress, &p)
            } else if let w = c.expectMember(i, 0x615F_7465_6C6C_6177, 0x3A22_7373_6572_6464, 16) {  // "wallet_address":
                target = try decodeTarget(c, w, .walletAddress, &p)
            }
            if let e = target {
                i = e
                guard c.pastComma(&i) else { break ordered }
            }
            if let w = c.expectMember(i, 0x6C61_7672_6574_6E69, 0x3A22, 10) {  // "interval":
                i = try optionalText(c, w, &p.interval, depth: 3)
            }
        }
        let end = try c.members(continuing: i, in: v) { (k, w) throws(DecodeError) -> Int in
            switch k.packed {
            case 0x73_7365_7264_6461:  // "address"
                return try decodeTarget(c, w, .address, &p)
            case 0x6C61_7672_6574_6E69:  // "interval"
                return try optionalText(c, w, &p.interval, depth: 3)
            case 0:
                switch k.long {
                case (0x6D72_6F66_7461_6C70, 0x64_695F):  // "platform_id"
                    return try optionalInt(c, w, &p.platformID, depth: 3)
                case (0x695F_6F74_7079_7263, 0x7364):  // "crypto_ids"
                    return try decodeTarget(c, w, .cryptoIDs, &p)
                case (0x6464_615F_6C6F_6F70, 0x7373_6572):  // "pool_address"
                    return try decodeTarget(c, w, .poolAddress, &p)
                case (0x615F_7465_6C6C_6177, 0x7373_6572_6464):  // "wallet_address"
                    return try decodeTarget(c, w, .walletAddress, &p)
                default:
                    p.unknownKeyCount &+= 1
                    return try c.skipValue(w, depth: 3)
                }
            default:
                p.unknownKeyCount &+= 1
                return try c.skipValue(w, depth: 3)
            }
        }
        p.region = JSONRegion(offset: v, count: end - v)
        return end
    }

    /// A target param as a scalar (data pushes) or an array (acks echoing a request).
    static func decodeTarget(
        _ c: JSONCursor,
        _ v: Int,
        _ param: TargetParam,
        _ p: inout ParamsEcho
    ) throws(DecodeError) -> Int {
        p.targetParam = param
        if c.base[v] == UInt8(ascii: "[") {
            return try c.forEachElement(v, depth: 3) { (e) throws(DecodeError) -> Int in
                p.targetCount &+= 1
                if p.targetCount > 1 { return try c.skipValue(e, depth: 4) }
                return try decodeTargetScalar(c, e, param, &p)
            }
        }
        p.targetCount &+= 1
        return try decodeTargetScalar(c, v, param, &p)
    }

    static func decodeTargetScalar(
        _ c: JSONCursor,
        _ v: Int,
        _ param: TargetParam,
        _ p: inout ParamsEcho
    ) throws(DecodeError) -> Int {
        if param == .cryptoIDs {
            return try optionalInt(c, v, &p.cryptoID)
        }
        return try optionalText(c, v, &p.address)
    }

    static func decodeStatus(_ c: JSONCursor, _ v: Int, into s: inout ErrorStatus) throws(DecodeError) -> Int {
        // Null or not an object: an error frame without status.
        guard c.base[v] == UInt8(ascii: "{") else { return try c.skipValue(v, depth: 2) }
        return try c.forEachMember(v, depth: 2) { (k, w) throws(DecodeError) -> Int in
            switch k.packed {
            case 0x7972_6F67_6574_6163:  // "category"
                return try optionalText(c, w, &s.category)
            case 0:
                switch k.long {
                case (0x6F63_5F72_6F72_7265, 0x6564):  // "error_code"
                    // A string ("2401") in the official example, a number in some clients: accept both. Anything
                    // else leaves the code unknown rather than losing the error frame.
                    var code: Int64? = nil
                    let e: Int
                    if c.base[w] == UInt8(ascii: "\"") {
                        let (n, end) = try c.quotedNumber(w)
                        code = n.flatMap { JSONCursor.exactInteger($0) }
                        e = end
                    } else {
                        e = try optionalInt(c, w, &code, depth: 3)
                    }
                    s.errorCode = code.map { StreamErrorCode(rawValue: Int(truncatingIfNeeded: $0)) }
                    return e
                case (0x656D_5F72_6F72_7265, 0x65_6761_7373):  // "error_message"
                    return try optionalText(c, w, &s.errorMessage)
                case (0x6564_5F72_6F72_7265, 0x6C69_6174):  // "error_detail"
                    return try optionalText(c, w, &s.errorDetail)
                case (0x6D61_7473_656D_6974, 0x70):  // "timestamp"
                    return try optionalText(c, w, &s.timestamp)
                default:
                    return try c.skipValue(w, depth: 3)
                }
            default:
                return try c.skipValue(w, depth: 3)
            }
        }
    }
}
