// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// The capture format: NDJSON, one record per line, optionally zstd-compressed. Three kinds of line, told apart
// by their first key:
//
//   {"capture":"streamkit","format":1,...}     the header, first in every file (CaptureHeader)
//   {"t":NS,"c":CONN,"f":"FRAME"}              a frame as received (unchanged since 0.1: old captures read)
//   {"t":NS,"c":CONN,"e":"gap",...}            a lifecycle event (CaptureEvent)
//
// t is the local receive (or event) time in nanoseconds since the Unix epoch; c the connection (0-based).

public import StreamKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a capture could not be written or read.
public enum CaptureError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A file could not be opened, written or read (the path and the system's reason).
    case io(String)
    /// Compression is unavailable or failed, or compressed data is corrupt.
    case compression(String)
    /// An argument is out of range (a level, a period, no files).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .io(let s), .compression(let s), .invalidArgument(let s): s
        }
    }
}

/// The first line of every capture file: what was recorded, how, where and when.
public struct CaptureHeader: Sendable, Hashable {
    /// The format's version: 1. A reader refuses nothing for a higher number but says so in its stats.
    public static let currentFormat = 1
    public var format: Int = CaptureHeader.currentFormat
    /// The StreamKit version that wrote it.
    public var version: String = StreamKitVersion.string
    /// The stream URL, without user info, query or fragment (a key never reaches a capture).
    public var url: String
    /// The subscriptions requested when the file was opened.
    public var subscriptions: [Subscription]
    /// When the file was opened, ns since the Unix epoch.
    public var start: Int64
    /// The recording machine's host name.
    public var host: String
    /// 0 for the first file of a recording, then 1, 2, ... for each rotated file.
    public var part: Int = 0

    public init(url: String, subscriptions: [Subscription], start: Int64, host: String = CaptureHeader.hostName(), part: Int = 0) {
        self.url = CaptureHeader.redacted(url)
        self.subscriptions = subscriptions
        self.start = start
        self.host = host
        self.part = part
    }

    /// The URL as a capture may store it: scheme, host, port and path only.
    public static func redacted(_ url: String) -> String {
        var u = Array(url.utf8)
        if let cut = u.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) { u.removeSubrange(cut...) }
        let separator = Array("://".utf8)
        if let scheme = (0..<max(0, u.count - 2)).first(where: { Array(u[$0..<$0 + 3]) == separator }) {
            let authority = scheme + 3
            let authorityEnd = u[authority...].firstIndex(of: UInt8(ascii: "/")) ?? u.endIndex
            if let at = u[authority..<authorityEnd].lastIndex(of: UInt8(ascii: "@")) {
                u.removeSubrange(authority...at)
            }
        }
        return String(decoding: u, as: UTF8.self)
    }

    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(cString: buffer)
    }

    /// The header's line (with its newline).
    public func line() -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: #"{"capture":"streamkit","format":\#(self.format),"version":"#.utf8)
        JSONText.appendQuoted(self.version.utf8, to: &out)
        out.append(contentsOf: #","start":\#(self.start),"host":"#.utf8)
        JSONText.appendQuoted(self.host.utf8, to: &out)
        out.append(contentsOf: #","url":"#.utf8)
        JSONText.appendQuoted(self.url.utf8, to: &out)
        out.append(contentsOf: #","part":\#(self.part),"subscriptions":["#.utf8)
        for (i, s) in self.subscriptions.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            CaptureLine.appendSubscription(s, to: &out)
        }
        out.append(contentsOf: "]}\n".utf8)
        return out
    }

    /// Reads a header line; nil when it is not one.
    public init?(_ json: JSONValue) {
        guard json["capture"]?.string == "streamkit", let start = json["start"]?.int else { return nil }
        self.format = json["format"]?.int.map { Int($0) } ?? 1
        self.version = json["version"]?.string ?? ""
        self.url = json["url"]?.string ?? ""
        self.start = start
        self.host = json["host"]?.string ?? ""
        self.part = json["part"]?.int.map { Int($0) } ?? 0
        self.subscriptions = (json["subscriptions"]?.elements ?? []).compactMap(CaptureLine.subscription)
    }
}

/// A lifecycle event in a capture, in order with the frames: what the client reported (connected, subscribed,
/// closed, reconnecting, gap, ...), so a replay shows an outage where it happened.
public struct CaptureEvent: Sendable, Hashable {
    /// The kind, as written (`"gap"`). A growable set: a newer capture may hold kinds this version lacks.
    public struct Kind: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { self.rawValue }

        public static let connecting = Kind(rawValue: "connecting")
        public static let connected = Kind(rawValue: "connected")
        public static let welcome = Kind(rawValue: "welcome")
        public static let subscribed = Kind(rawValue: "subscribed")
        public static let unsubscribed = Kind(rawValue: "unsubscribed")
        public static let subscriptionFailed = Kind(rawValue: "subscription_failed")
        public static let stale = Kind(rawValue: "stale")
        /// A connection ended: `code` (close code, HTTP status of a refused upgrade, or 1006 for an abrupt end) and
        /// `text`. Followed by `reconnecting`, or `fatal`, or `stopped`.
        public static let closed = Kind(rawValue: "closed")
        public static let reconnecting = Kind(rawValue: "reconnecting")
        public static let restored = Kind(rawValue: "restored")
        public static let gap = Kind(rawValue: "gap")
        public static let serverError = Kind(rawValue: "server_error")
        public static let dropped = Kind(rawValue: "dropped")
        public static let fatal = Kind(rawValue: "fatal")
        public static let stopped = Kind(rawValue: "stopped")
    }

    /// When it happened, ns since the Unix epoch.
    public var time: Int64
    public var kind: Kind
    public var connection: Int
    /// The subscription it is about (subscribed, stale, gap, dropped, ...).
    public var subscription: Subscription?
    /// connecting, reconnecting: the attempt.
    public var attempt: Int?
    /// reconnecting: the backoff; welcome: the ping interval (ms).
    public var delayMS: Int64?
    /// closed, reconnecting, fatal: the close code or HTTP status; server_error: its code; subscribed: 1 = duplicate.
    public var code: Int?
    /// A one-line description (the reason, the error).
    public var text: String?
    /// gap: the interruption, ns since the Unix epoch (stale: `from` is when the last data arrived).
    public var from: Int64?
    public var to: Int64?
    /// dropped: how many messages.
    public var count: Int?

    public init(time: Int64, kind: Kind, connection: Int, subscription: Subscription? = nil, attempt: Int? = nil,
                delayMS: Int64? = nil, code: Int? = nil, text: String? = nil, from: Int64? = nil, to: Int64? = nil,
                count: Int? = nil) {
        self.time = time
        self.kind = kind
        self.connection = connection
        self.subscription = subscription
        self.attempt = attempt
        self.delayMS = delayMS
        self.code = code
        self.text = text
        self.from = from
        self.to = to
        self.count = count
    }

    /// The events a session event is recorded as (a close is written as `closed` then `reconnecting`, `fatal`
    /// or `stopped`). `wall` maps the session's monotonic instants to ns since the Unix epoch.
    public static func from(_ event: SessionEvent, connection c: Int, time t: Int64, wall: (Instant) -> Int64) -> [CaptureEvent] {
        func closed(_ reason: DisconnectReason) -> CaptureEvent {
            let code: Int
            switch reason {
            case .closedByServer(let n, _): code = Int(n)
            case .refused(let status): code = status
            case .stopped: code = 1000
            case .transportError, .pongTimeout, .silent, .connectTimeout, .protocolError:
                code = 1006  // no close frame: abnormal closure (RFC 6455, 7.1.5)
            }
            return CaptureEvent(time: t, kind: .closed, connection: c, code: code, text: "\(reason)")
        }
        switch event {
        case .connecting(let attempt):
            return [CaptureEvent(time: t, kind: .connecting, connection: c, attempt: attempt)]
        case .connected:
            return [CaptureEvent(time: t, kind: .connected, connection: c)]
        case .welcome(let ping):
            return [CaptureEvent(time: t, kind: .welcome, connection: c, delayMS: ping.nanoseconds / 1_000_000)]
        case .subscribed(let s, let duplicate):
            return [CaptureEvent(time: t, kind: .subscribed, connection: c, subscription: s, code: duplicate ? 1 : 0)]
        case .unsubscribed(let s):
            return [CaptureEvent(time: t, kind: .unsubscribed, connection: c, subscription: s)]
        case .subscriptionFailed(let s, let why):
            return [CaptureEvent(time: t, kind: .subscriptionFailed, connection: c, subscription: s, text: "\(why)")]
        case .stale(let s, let since):
            return [CaptureEvent(time: t, kind: .stale, connection: c, subscription: s, from: wall(since))]
        case .reconnecting(let attempt, let delay, let reason):
            let r = closed(reason)
            return [r, CaptureEvent(time: t, kind: .reconnecting, connection: c, attempt: attempt,
                                    delayMS: delay.nanoseconds / 1_000_000, code: r.code, text: r.text)]
        case .restored:
            return [CaptureEvent(time: t, kind: .restored, connection: c)]
        case .gap(let s, let from, let to, let reason):
            return [CaptureEvent(time: t, kind: .gap, connection: c, subscription: s, text: "\(reason)",
                                 from: wall(from), to: wall(to))]
        case .serverError(let code, let message, let detail):
            return [CaptureEvent(time: t, kind: .serverError, connection: c, code: code.map { Int($0.rawValue) },
                                 text: detail.isEmpty ? message : "\(message): \(detail)")]
        case .fatal(let reason):
            let r = closed(reason)
            return [r, CaptureEvent(time: t, kind: .fatal, connection: c, code: r.code, text: r.text)]
        case .stopped:
            return [CaptureEvent(time: t, kind: .stopped, connection: c)]
        }
    }

    /// The event's line (with its newline).
    public func line() -> [UInt8] {
        var out: [UInt8] = []
        self.append(to: &out)
        return out
    }

    func append(to out: inout [UInt8]) {
        out.append(contentsOf: #"{"t":\#(self.time),"c":\#(self.connection),"e":"#.utf8)
        JSONText.appendQuoted(self.kind.rawValue.utf8, to: &out)
        if let s = self.subscription {
            out.append(contentsOf: #","sub":"#.utf8)
            CaptureLine.appendSubscription(s, to: &out)
        }
        if let v = self.attempt { out.append(contentsOf: #","attempt":\#(v)"#.utf8) }
        if let v = self.delayMS { out.append(contentsOf: #","delay_ms":\#(v)"#.utf8) }
        if let v = self.code { out.append(contentsOf: #","code":\#(v)"#.utf8) }
        if let v = self.from { out.append(contentsOf: #","from":\#(v)"#.utf8) }
        if let v = self.to { out.append(contentsOf: #","to":\#(v)"#.utf8) }
        if let v = self.count { out.append(contentsOf: #","count":\#(v)"#.utf8) }
        if let v = self.text {
            out.append(contentsOf: #","text":"#.utf8)
            JSONText.appendQuoted(v.utf8, to: &out)
        }
        out.append(contentsOf: "}\n".utf8)
    }

    /// Reads an event line; nil when it is not one.
    public init?(_ json: JSONValue) {
        guard let kind = json["e"]?.string, let t = json["t"]?.int else { return nil }
        self.init(time: t, kind: Kind(rawValue: kind), connection: json["c"]?.int.map { Int(clamping: $0) } ?? 0)
        self.subscription = json["sub"].flatMap(CaptureLine.subscription)
        self.attempt = json["attempt"]?.int.map { Int(clamping: $0) }
        self.delayMS = json["delay_ms"]?.int
        self.code = json["code"]?.int.map { Int(clamping: $0) }
        self.text = json["text"]?.string
        self.from = json["from"]?.int
        self.to = json["to"]?.int
        self.count = json["count"]?.int.map { Int(clamping: $0) }
    }
}

/// Encoding and fast decoding of capture lines.
public enum CaptureLine {
    /// Appends a frame line: `{"t":T,"c":C,"f":"FRAME"}` and a newline.
    public static func appendFrame(_ bytes: UnsafeRawBufferPointer, time: Int64, connection: Int, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"t":\#(time),"c":\#(connection),"f":"#.utf8)
        JSONText.appendQuoted(bytes, to: &out)
        out.append(contentsOf: "}\n".utf8)
    }

    /// `{"channel":"onchain@kline","platform_id":14,"address":"0x..","interval":"1m"}`: the wire's param names.
    static func appendSubscription(_ s: Subscription, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"channel":"#.utf8)
        JSONText.appendQuoted(s.channel.rawValue.utf8, to: &out)
        switch s.target {
        case .crypto(let id):
            out.append(contentsOf: #","crypto_ids":\#(id)"#.utf8)
        case .address(let platform, let address):
            out.append(contentsOf: #","platform_id":\#(platform),"#.utf8)
            JSONText.appendQuoted(s.channel.targetParam.rawValue.utf8, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONText.appendQuoted(address.utf8, to: &out)
        }
        if let interval = s.interval {
            out.append(contentsOf: #","interval":"#.utf8)
            JSONText.appendQuoted(interval.utf8, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    static func subscription(_ v: JSONValue) -> Subscription? {
        guard let name = v["channel"]?.string, let channel = Channel(rawValue: name) else { return nil }
        let interval = v["interval"]?.string
        if channel.targetParam == .cryptoIDs {
            guard let id = v["crypto_ids"]?.int else { return nil }
            return try? Subscription(channel: channel, target: .crypto(id: id), interval: interval)
        }
        guard let platform = v["platform_id"]?.int, let address = v[channel.targetParam.rawValue]?.string else { return nil }
        return try? Subscription(channel: channel, target: .address(platformID: platform, address: address), interval: interval)
    }

    /// A frame line in the exact form the writer produces, parsed without a DOM: the time, the connection, and
    /// the frame unescaped into `out`, which must have room for `line.count + 16` bytes (an unescaped frame is
    /// never longer than its escaped form; the 16 are for word-at-a-time stores). Nil when the line has another
    /// shape (a header, an event, or a frame line written by other tools with other spacing or key order: parse
    /// those with ``JSONValue``).
    @inline(__always)
    public static func parseFrame(_ line: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<UInt8>) -> (time: Int64, connection: Int, count: Int)? {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return nil }
        let n = line.count
        // {"t":
        guard n > 16, base[0] == 0x7B, base[1] == 0x22, base[2] == UInt8(ascii: "t"), base[3] == 0x22, base[4] == 0x3A
        else { return nil }
        var i = 5
        guard let t = integer(base, n, &i), i + 5 < n, base[i] == 0x2C, base[i + 1] == 0x22,
            base[i + 2] == UInt8(ascii: "c"), base[i + 3] == 0x22, base[i + 4] == 0x3A
        else { return nil }
        i += 5
        guard let c = integer(base, n, &i), i + 5 < n, base[i] == 0x2C, base[i + 1] == 0x22,
            base[i + 2] == UInt8(ascii: "f"), base[i + 3] == 0x22, base[i + 4] == 0x3A, base[i + 5] == 0x22
        else { return nil }
        i += 6
        var o = 0
        guard unescape(base, n, &i, into: out, &o), i + 1 == n, base[i] == 0x7D else { return nil }
        return (t, Int(c), o)
    }

    @inline(__always)
    static func integer(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int) -> Int64? {
        var negative = false
        if i < n, p[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        let start = i
        var v: Int64 = 0
        while i < n, p[i] &- 0x30 < 10, i - start < 19 {
            v = v &* 10 &+ Int64(p[i] &- 0x30)
            i += 1
        }
        guard i > start, i < n, p[i] &- 0x30 >= 10 else { return nil }
        return negative ? -v : v
    }

    /// Unescapes the JSON string whose contents start at `p[i]` into `out[o...]`; `i` ends past the closing quote.
    /// Eight bytes at a time between escapes: each word is stored as is, then the first `"` or `\\` in it (if
    /// any) found with the has-zero-byte trick, exact for the lowest such byte.
    @inline(__always)
    static func unescape(_ p: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int, into out: UnsafeMutablePointer<UInt8>, _ o: inout Int) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while true {
            while i + 8 <= n {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                UnsafeMutableRawPointer(out + o).storeBytes(of: w, as: UInt64.self)
                let q = w ^ 0x2222_2222_2222_2222
                let b = w ^ 0x5C5C_5C5C_5C5C_5C5C
                let m = ((q &- ones) & ~q | (b &- ones) & ~b) & highs
                if m == 0 {
                    i += 8
                    o += 8
                    continue
                }
                let k = m.littleEndian.trailingZeroBitCount >> 3
                i += k
                o += k
                break
            }
            guard i < n else { return false }
            let ch = p[i]
            if ch == 0x22 {
                i += 1
                return true
            }
            guard ch == 0x5C else {
                out[o] = ch
                o += 1
                i += 1
                continue
            }
            guard i + 1 < n else { return false }
            let e = p[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""): out[o] = 0x22
            case UInt8(ascii: "\\"): out[o] = 0x5C
            case UInt8(ascii: "/"): out[o] = 0x2F
            case UInt8(ascii: "b"): out[o] = 0x08
            case UInt8(ascii: "f"): out[o] = 0x0C
            case UInt8(ascii: "n"): out[o] = 0x0A
            case UInt8(ascii: "r"): out[o] = 0x0D
            case UInt8(ascii: "t"): out[o] = 0x09
            case UInt8(ascii: "u"):
                guard i + 4 <= n, var scalar = hex4(p, i) else { return false }
                i += 4
                if (0xD800...0xDBFF).contains(scalar), i + 6 <= n, p[i] == 0x5C, p[i + 1] == UInt8(ascii: "u"),
                    let low = hex4(p, i + 2), (0xDC00...0xDFFF).contains(low)
                {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                // \\uXXXX is 6 bytes (12 for a pair); its UTF-8 at most 4: it fits where the escape was.
                o += appendUTF8(scalar, to: out + o)
                continue
            default:
                return false
            }
            o += 1
        }
    }

    static func hex4(_ p: UnsafePointer<UInt8>, _ at: Int) -> UInt32? {
        var v: UInt32 = 0
        for k in 0..<4 {
            guard let h = hexValue(p[at + k]) else { return nil }
            v = v << 4 | UInt32(h)
        }
        return v
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x61...0x66: b - 0x61 + 10
        case 0x41...0x46: b - 0x41 + 10
        default: nil
        }
    }

    /// Writes `v` as UTF-8 at `out` (a lone surrogate as U+FFFD); returns the byte count.
    static func appendUTF8(_ v: UInt32, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let v = Unicode.Scalar(v).map(\.value) ?? 0xFFFD
        switch v {
        case 0..<0x80:
            out[0] = UInt8(v)
            return 1
        case 0x80..<0x800:
            out[0] = 0xC0 | UInt8(v >> 6)
            out[1] = 0x80 | UInt8(v & 0x3F)
            return 2
        case 0x800..<0x10000:
            out[0] = 0xE0 | UInt8(v >> 12)
            out[1] = 0x80 | UInt8((v >> 6) & 0x3F)
            out[2] = 0x80 | UInt8(v & 0x3F)
            return 3
        default:
            out[0] = 0xF0 | UInt8(v >> 18)
            out[1] = 0x80 | UInt8((v >> 12) & 0x3F)
            out[2] = 0x80 | UInt8((v >> 6) & 0x3F)
            out[3] = 0x80 | UInt8(v & 0x3F)
            return 4
        }
    }
}
