// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// Renders frames as StreamKit understood them: one JSON object per frame, the format of `streamkit decode`.
///
/// - Data frames: `{"type":"data","channel":...,"params":{...},"ts":...,"data":{...}}`, where `data` has every
///   documented field under its wire key as decoded (numbers printed so they parse back to the same double,
///   `null` kept, absent fields omitted) and every key StreamKit does not know copied exactly as sent, in wire
///   order.
/// - Control frames: the normalised envelope (`welcome`, `ack`, `pong`, `error` with `error_code` as an integer,
///   `unknown` with the `type` as sent).
/// - Frames that cannot be decoded: `{"type":"invalid","reason":"...","offset":N}`.
///
/// ```swift
/// print(NormalizedJSON.render(bytes))   // bytes: one frame as received
/// ```
public enum NormalizedJSON {
    /// Decodes `frame` and renders it (or the reason it could not be decoded).
    public static func render(_ frame: [UInt8]) -> String {
        let decoder = FrameDecoder()
        var decoded = DecodedFrame()
        let outcome: Result<Void, DecodeError> = frame.withUnsafeBytes { raw in
            do throws(DecodeError) {
                try decoder.decode(raw, into: &decoded)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .failure(let error):
            var w = JSONWriter()
            w.beginObject()
            w.key("type"); w.string("invalid")
            w.key("reason"); w.string(error.description)
            w.key("offset"); w.int(Int64(error.offset))
            w.endObject()
            return String(decoding: w.bytes, as: UTF8.self)
        case .success:
            return String(decoding: self.render(decoded, bytes: frame), as: UTF8.self)
        }
    }

    /// Renders a message as it was decoded when received (a data push is not decoded again; any other frame is,
    /// from its bytes). The same text as ``render(_:)-([UInt8])`` of the message's bytes.
    public static func render(_ message: Message) -> [UInt8] {
        let bytes = message.array
        guard case .data(let d) = message.frame else { return Array(Self.render(bytes).utf8) }
        return bytes.withUnsafeBytes { raw in
            var w = JSONWriter(capacity: bytes.count + 64)
            w.beginObject()
            w.key("type"); w.string("data")
            if d.channelName.count > 0 {
                w.key("channel"); w.string(d.channelName.string(in: raw))
            } else if let channel = d.channel {
                w.key("channel"); w.string(channel.rawValue)
                w.key("channel_inferred"); w.bool(true)
            }
            if d.params.region.count > 0 { w.key("params"); w.raw(raw[d.params.region.range]) }
            if let ts = d.ts { w.key("ts"); w.int(ts) }
            if d.payloadRegion.count > 0 {
                w.key("data")
                Self.payload(d.payload, region: d.payloadRegion, raw: raw, bytes: bytes, into: &w)
            }
            w.endObject()
            return w.bytes
        }
    }

    /// Renders an already decoded frame; `bytes` are the frame's bytes.
    public static func render(_ f: DecodedFrame, bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { raw in
            var w = JSONWriter(capacity: bytes.count + 64)
            w.beginObject()
            switch f.kind {
            case .data:
                w.key("type"); w.string("data")
                if let name = f.channelName {
                    w.key("channel"); w.string(name.string(in: raw))
                } else if let channel = f.channel {
                    // Not sent: classified by the frame's shape (FrameDecoder.inferChannel), and said so.
                    w.key("channel"); w.string(channel.rawValue)
                    w.key("channel_inferred"); w.bool(true)
                }
                if let params = f.params { w.key("params"); w.raw(raw[params.region.range]) }
                if let ts = f.ts { w.key("ts"); w.int(ts) }
                if let region = f.payloadRegion {
                    w.key("data")
                    Self.payload(f.payload, region: region, raw: raw, bytes: bytes, into: &w)
                }
            case .ack:
                w.key("type"); w.string("ack")
                if let id = f.id { w.key("id"); w.int(id) }
                if let code = f.code { w.key("code"); w.int(code) }
                if let msg = f.msg { w.key("msg"); w.string(msg.string(in: raw)) }
                if let name = f.channelName { w.key("channel"); w.string(name.string(in: raw)) }
                if let params = f.params { w.key("params"); w.raw(raw[params.region.range]) }
                if let n = f.subCount { w.key("sub_count"); w.int(n) }
                if let n = f.subLimit { w.key("sub_limit"); w.int(n) }
                w.key("duplicate"); w.bool(f.duplicate)
            case .pong:
                w.key("type"); w.string("pong")
                if let id = f.id { w.key("id"); w.int(id) }
                if let code = f.code { w.key("code"); w.int(code) }
                if let ts = f.ts { w.key("ts"); w.int(ts) }
            case .welcome:
                w.key("type"); w.string("welcome")
                if let ms = f.pingIntervalMS { w.key("ping_interval_ms"); w.int(ms) }
            case .error:
                w.key("type"); w.string("error")
                if let id = f.id { w.key("id"); w.int(id) }
                let s = f.status ?? ErrorStatus()
                w.key("status")
                w.beginObject()
                if let t = s.timestamp { w.key("timestamp"); w.string(t.string(in: raw)) }
                if let c = s.errorCode { w.key("error_code"); w.int(Int64(c.rawValue)) }
                if let c = s.category { w.key("category"); w.string(c.string(in: raw)) }
                if let m = s.errorMessage { w.key("error_message"); w.string(m.string(in: raw)) }
                if let d = s.errorDetail { w.key("error_detail"); w.string(d.string(in: raw)) }
                w.endObject()
            case .unknown:
                w.key("type"); w.string("unknown")
                if let t = f.type { w.key("sent_type"); w.string(t.string(in: raw)) }
            }
            w.endObject()
            return w.bytes
        }
    }

    // MARK: - Payloads

    private static func payload(
        _ payload: Payload,
        region: JSONRegion,
        raw: UnsafeRawBufferPointer,
        bytes: [UInt8],
        into w: inout JSONWriter
    ) {
        let object = JSONValue(bytes: bytes, offset: region.offset)
        switch payload {
        case .cryptoLatestPrice(let p): Self.fields(p, object, raw, &w)
        case .tokenAggEvent(let p): Self.fields(p, object, raw, &w)
        case .transaction(let p): Self.fields(p, object, raw, &w)
        case .liquidityEvent(let p): Self.fields(p, object, raw, &w)
        case .kline(let p): Self.fields(p, object, raw, &w)
        case .uniqueTrader(let p): Self.fields(p, object, raw, &w)
        case .holdersMetrics(let p): Self.fields(p, object, raw, &w)
        case .holderWalletUpdate(let p): Self.fields(p, object, raw, &w)
        case .tokenMetric(let p):
            Self.fields(p, object, raw, &w) { key, value, w in
                guard key == "sts", value.kind == .array else { return false }
                w.beginArray()
                for element in value.elements {
                    guard element.kind == .object, let name = element["win"]?.string,
                        let windowName = TokenMetricWindow.Name(wireName: name), let window = p.window(windowName)
                    else {
                        w.raw(element.rawText.utf8)
                        continue
                    }
                    Self.fields(window, element, raw, &w)
                }
                w.endArray()
                return true
            }
        case .poolMetric(let p):
            Self.fields(p, object, raw, &w) { key, value, w in
                guard let name = PoolMetricWindow.Name(wireName: key), let window = p.window(name) else { return false }
                Self.fields(window, value, raw, &w)
                return true
            }
        case .unknown:
            w.raw(object.rawText.utf8)
        }
    }

    /// Writes an object in wire order: documented fields from the typed payload, the rest as sent.
    private static func fields<P: PayloadFields>(
        _ p: P,
        _ object: JSONValue,
        _ raw: UnsafeRawBufferPointer,
        _ w: inout JSONWriter,
        special: (String, JSONValue, inout JSONWriter) -> Bool = { _, _, _ in false }
    ) {
        var byKey: [String: P.Field] = [:]
        for field in P.Field.allCases { byKey[field.wireKey] = field }
        w.beginObject()
        for (key, value) in object.members {
            w.key(key)
            if special(key, value, &w) { continue }
            guard let field = byKey[key] else {
                w.raw(value.rawText.utf8)
                continue
            }
            switch p[field] {
            case .absent: w.raw(value.rawText.utf8)
            case .null: w.null()
            case .int(let v): w.int(v)
            case .double(let v): v.isFinite ? w.double(v) : w.raw(value.numberText?.utf8 ?? "null".utf8)
            case .text(let s): w.string(s.string(in: raw))
            case .bool(let v): w.bool(v)
            }
        }
        w.endObject()
    }
}
