// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// A request from client to server. Methods are lowercase on the wire.
///
/// ```swift
/// let bytes = ClientRequest.subscribe(.cryptoLatestPrice, SubscriptionParams(cryptoIDs: [1, 1027]))
///     .encoded(id: 1)
/// // {"id":1,"method":"subscribe","channel":"market@crypto_latest_price","params":{"crypto_ids":[1,1027]}}
/// ```
public enum ClientRequest: Sendable, Hashable {
    /// Subscribe to one or more targets of a channel.
    case subscribe(Channel, SubscriptionParams)
    /// Unsubscribe the targets named in params (they must repeat the subscribe's channel and params), or
    /// with `nil` params, the whole channel.
    case unsubscribe(Channel, SubscriptionParams?)
    /// Drop every subscription on the connection.
    case unsubscribeAll
    /// Application-level keep-alive; the server answers `pong` echoing the `id`.
    case ping

    /// The wire method name.
    public var method: String {
        switch self {
        case .subscribe: "subscribe"
        case .unsubscribe: "unsubscribe"
        case .unsubscribeAll: "unsubscribe_all"
        case .ping: "ping"
        }
    }

    /// Validates the request the way the server would.
    ///
    /// - Throws: ``RequestError`` (2401, 2402) for params that do not fit the channel.
    public func validate() throws(RequestError) {
        switch self {
        case .subscribe(let channel, let params):
            _ = try params.subscriptions(for: channel)
        case .unsubscribe(let channel, let params?):
            _ = try params.subscriptions(for: channel)
        case .unsubscribe(_, nil), .unsubscribeAll, .ping:
            break
        }
    }

    /// Encodes the request as a JSON text frame, keys in the documented order.
    ///
    /// - Parameter id: The request id to send (echoed in the `ack`, `error` or `pong`), or `nil` for none.
    /// - Returns: UTF-8 JSON bytes.
    public func encoded(id: Int64?) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        if let id { w.key("id"); w.int(id) }
        w.key("method"); w.string(self.method)
        switch self {
        case .subscribe(let channel, let params):
            w.key("channel"); w.string(channel.rawValue)
            w.key("params"); w.params(params, for: channel)
        case .unsubscribe(let channel, let params):
            w.key("channel"); w.string(channel.rawValue)
            if let params { w.key("params"); w.params(params, for: channel) }
        case .unsubscribeAll, .ping:
            break
        }
        w.endObject()
        return w.bytes
    }

    /// The request as a JSON `String`.
    public func encodedString(id: Int64?) -> String {
        String(decoding: self.encoded(id: id), as: UTF8.self)
    }
}

// MARK: - JSONWriter

/// A minimal JSON writer for the few shapes StreamKit sends (and the simulator serves).
struct JSONWriter {
    var bytes: [UInt8] = []
    private var needsComma = false

    init(capacity: Int = 128) { self.bytes.reserveCapacity(capacity) }

    mutating func beginObject() { self.separator(); self.bytes.append(UInt8(ascii: "{")); self.needsComma = false }
    mutating func endObject() { self.bytes.append(UInt8(ascii: "}")); self.needsComma = true }
    mutating func beginArray() { self.separator(); self.bytes.append(UInt8(ascii: "[")); self.needsComma = false }
    mutating func endArray() { self.bytes.append(UInt8(ascii: "]")); self.needsComma = true }

    mutating func key(_ k: String) {
        self.string(k)
        self.bytes.append(UInt8(ascii: ":"))
        self.needsComma = false
    }

    mutating func int(_ v: Int64) {
        self.separator()
        self.bytes.append(contentsOf: String(v).utf8)
        self.needsComma = true
    }

    mutating func bool(_ v: Bool) {
        self.separator()
        self.bytes.append(contentsOf: (v ? "true" : "false").utf8)
        self.needsComma = true
    }

    mutating func null() {
        self.separator()
        self.bytes.append(contentsOf: "null".utf8)
        self.needsComma = true
    }

    /// Writes a double so that it parses back to the same bits (Swift's shortest round-trip form).
    /// Non-finite values have no JSON form and are written as `null`. Negative zero is written `-0.0`, not `-0`:
    /// readers that keep integers apart from floats (Python's `json`) read `-0` as the integer 0, losing the sign.
    mutating func double(_ v: Double) {
        guard v.isFinite else { return self.null() }
        self.separator()
        if v == 0 && v.sign == .minus {
            self.bytes.append(contentsOf: "-0.0".utf8)
        } else if v == v.rounded(), abs(v) < 1e15 {
            self.bytes.append(contentsOf: String(Int64(v)).utf8)
        } else {
            self.bytes.append(contentsOf: v.description.utf8)
        }
        self.needsComma = true
    }

    /// Writes raw JSON text (a value the caller knows is valid, such as an exact number's wire text).
    mutating func raw(_ text: some Collection<UInt8>) {
        self.separator()
        self.bytes.append(contentsOf: text)
        self.needsComma = true
    }

    mutating func string(_ s: String) {
        self.separator()
        JSONText.appendQuoted(s.utf8, to: &self.bytes)
        self.needsComma = true
    }

    mutating func params(_ p: SubscriptionParams, for channel: Channel) {
        self.beginObject()
        switch channel.targetParam {
        case .cryptoIDs:
            self.key("crypto_ids")
            self.beginArray()
            for id in p.cryptoIDs { self.int(id) }
            self.endArray()
        case .address, .poolAddress, .walletAddress:
            if let platform = p.platformID { self.key("platform_id"); self.int(platform) }
            self.key(channel.targetParam.rawValue)
            self.beginArray()
            for a in p.addresses { self.string(a) }
            self.endArray()
        }
        if let interval = p.interval { self.key("interval"); self.string(interval) }
        self.endObject()
    }

    private mutating func separator() {
        if self.needsComma { self.bytes.append(UInt8(ascii: ",")) }
    }
}

/// JSON text helpers for tools that write JSON (the CLI's capture files).
package enum JSONText {
    /// Appends `text` (UTF-8) as a quoted JSON string: `"`, `\\`, and control bytes escaped; everything else as is.
    package static func appendQuoted(_ text: some Sequence<UInt8>, to out: inout [UInt8]) {
        let hex: StaticString = "0123456789abcdef"
        out.append(UInt8(ascii: "\""))
        for b in text {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                out.append(hex.utf8Start[Int(b >> 4)])
                out.append(hex.utf8Start[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
