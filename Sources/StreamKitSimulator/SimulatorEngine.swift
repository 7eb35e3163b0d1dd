// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

public import StreamKit

// MARK: - Theory of operation
//
// The simulator's protocol logic for one connection, sans-I/O like the client's: the server hands it each text
// frame and `now`, and sends back what it returns. It validates requests exactly as the reference's error table
// says, keeps the connection's subscriptions (one per channel and normalised id/address/interval, at most
// `subscriptionLimit`), and answers with the documented ack and error envelopes. Pushes come from the one
// `MarketModel` of the server; timers (idle close, push cadence) are the server's, driven by `now`. `epochMS` is
// the simulated clock's (`SimulatedClock`).

/// Plans, keys and limits of a simulated service.
public struct SimulatorConfiguration: Sendable {
    /// What a key may do.
    public enum KeyStatus: Sendable, Hashable {
        /// Valid, WebSocket allowed.
        case active
        /// Disabled: the connection is closed with 4101.
        case disabled
        /// The plan lacks WebSocket access: closed with 4102.
        case noWebSocketPlan
    }

    /// Known keys. Any other key is closed with 4100 (no JSON body), as the reference describes.
    public var keys: [String: KeyStatus]
    /// Concurrent connections per key; one more is closed with 4004. Documented: 10.
    public var connectionsPerKey: Int = 10
    /// Subscriptions per connection (`sub_limit`). Documented: 100.
    public var subscriptionLimit: Int = 100
    /// `ping_interval_ms` in the welcome at speed 1. Documented: "typically 10s". Scaled by ``speed`` like every
    /// time (``announcedPingIntervalMS``).
    public var pingIntervalMS: Int64 = 10_000
    /// Close 1001 after this long with no client frame and no data pushed [UNKNOWN in the reference: three ping
    /// intervals], at speed 1; scaled as the ping interval is (``scaledIdleTimeoutMS``).
    public var idleTimeout: Duration = .seconds(30)
    /// Largest request accepted; a longer one is answered with 2203 [UNKNOWN: 4 KiB].
    public var maxRequestBytes: Int = 4096
    /// Channels each key's plan allows (all by default); another channel is answered with 2302.
    public var channelsOnPlan: Set<Channel> = Set(Channel.allCases)
    /// How much faster than the wall clock the simulator's clock runs from the server's start: at 10, every
    /// `ts`, `ot` and window is ten times faster (a 1m candle closes every 6 s of wall time, `p24h` still means 24
    /// simulated hours), and so are the announced ping interval and the idle close.
    public var speed: Double = 1
    /// Seed of the market model.
    public var seed: UInt64 = 42
    /// Load mode, for benchmarks: data frames per second per connection, spread round-robin over its
    /// subscriptions, instead of each channel's cadence. `.infinity` pushes as fast as the client reads (the next
    /// batch is written whenever the socket can take it). `nil` (the default): the channels' own cadences.
    public var rate: Double? = nil
    /// For soak tests: stamp every data push with a unique sequence number (a leading `"sk_seq":N` key, which the
    /// real service does not send; clients ignore unknown keys) and keep a ledger of what was sent on which
    /// connection (``SimulatorServer/ledger()``). Load mode at full speed renders every push fresh when on.
    public var ledger: Bool = false
    /// Pushes the ledger holds before it grows (allocated and touched at start, so a soak's memory figures do not
    /// count it as growth).
    public var ledgerCapacity: Int = 0
    /// Serve this capture instead of the market (`streamkit sim --replay`): its data frames as recorded, each to
    /// the connections subscribed to what its params echo names. Default `nil`: the market. ``rate`` (load mode)
    /// does not apply to a replay.
    public var replay: ReplayConfiguration? = nil

    /// - Parameter keys: Known keys and their status.
    public init(keys: [String: KeyStatus]) {
        self.keys = keys
    }

    /// `ping_interval_ms` of the welcome: ``pingIntervalMS`` divided by ``speed``, but never below the 1 s the
    /// client accepts (nor below ``pingIntervalMS`` itself when that is shorter).
    public var announcedPingIntervalMS: Int64 {
        let speed = self.speed.isFinite && self.speed > 0 ? self.speed : 1
        return max(min(1000, self.pingIntervalMS), Int64((Double(self.pingIntervalMS) / speed).rounded()))
    }

    /// The idle close in wall-clock ms: ``idleTimeout`` scaled by the factor the ping interval was (so a client
    /// that pings as the welcome says is never idle, even where the 1 s floor held the interval up).
    public var scaledIdleTimeoutMS: Double {
        let ms = Double(self.idleTimeout.components.seconds) * 1000 + Double(self.idleTimeout.components.attoseconds) / 1e15
        return ms * Double(self.announcedPingIntervalMS) / Double(max(1, self.pingIntervalMS))
    }
}

/// The simulator's clock: epoch ms that run ``speed`` times faster than the wall clock from its start. Pure:
/// the wall clock (uptime nanoseconds) comes in as a parameter.
public struct SimulatedClock: Sendable {
    /// The rate.
    public let speed: Double
    /// Epoch ms at the start (the wall clock's then).
    public let startEpochMS: Int64
    /// Uptime ns at the start.
    public let startUptimeNS: Int64

    public init(speed: Double, startEpochMS: Int64, startUptimeNS: Int64) {
        self.speed = speed.isFinite && speed > 0 ? speed : 1
        self.startEpochMS = startEpochMS
        self.startUptimeNS = startUptimeNS
    }

    /// Simulated epoch ms at uptime `ns`.
    public func epochMS(uptimeNS ns: Int64) -> Int64 {
        self.startEpochMS + Int64((Double(ns - self.startUptimeNS) / 1e6 * self.speed).rounded(.down))
    }

    /// The uptime (ns) at which the simulated clock reads `ms`.
    public func uptimeNS(epochMS ms: Int64) -> Int64 {
        self.startUptimeNS + Int64((Double(ms - self.startEpochMS) / self.speed * 1e6).rounded(.up))
    }
}

/// One connection's protocol state in the simulator.
public struct SimulatorEngine: Sendable {
    /// What the server must send.
    public enum Output: Sendable, Equatable {
        case text(String)
        case close(code: UInt16)
    }

    let configuration: SimulatorConfiguration
    /// The connection's subscriptions, in subscription order.
    public private(set) var subscriptions: [Subscription] = []
    private var index: Set<Subscription> = []
    /// When the client last sent anything.
    public private(set) var lastClientFrame: Instant

    /// `ping_interval_ms` of this connection's welcome.
    public let pingIntervalMS: Int64

    /// - Parameters:
    ///   - configuration: The service's.
    ///   - now: The wall clock.
    ///   - pingIntervalMS: The welcome's `ping_interval_ms` as it is (a fault's), instead of the configuration's
    ///     scaled one (``SimulatorConfiguration/announcedPingIntervalMS``).
    public init(configuration: SimulatorConfiguration, now: Instant, pingIntervalMS: Int64? = nil) {
        self.configuration = configuration
        self.lastClientFrame = now
        self.pingIntervalMS = pingIntervalMS ?? configuration.announcedPingIntervalMS
    }

    /// The welcome sent on connect.
    public func welcome() -> String {
        #"{"type":"welcome","ping_interval_ms":\#(self.pingIntervalMS)}"#
    }

    /// Handles one text frame from the client.
    public mutating func handle(_ text: [UInt8], now: Instant, epochMS: Int64) -> [Output] {
        self.lastClientFrame = now
        let timestamp = isoTimestamp(epochMS)
        guard text.count <= self.configuration.maxRequestBytes else {
            return [.text(Self.error(nil, .messageLength, "Request is \(text.count) bytes; the limit is \(self.configuration.maxRequestBytes).", timestamp))]
        }
        guard let request = try? JSONValue(parsing: text), request.kind == .object else {
            return [.text(Self.error(nil, .invalidRequestFormat, "Request is not a JSON object.", timestamp))]
        }
        let idValue = request["id"]
        let id = idValue?.int
        if let idValue, id == nil {
            return [.text(Self.error(nil, .invalidRequestFormat, "Field 'id' must be an integer, got \(idValue.rawText).", timestamp))]
        }
        guard let methodValue = request["method"] else {
            return [.text(Self.error(id, .missingField, "Field 'method' is required.", timestamp))]
        }
        guard let method = methodValue.string else {
            return [.text(Self.error(id, .invalidRequestFormat, "Field 'method' must be a string.", timestamp))]
        }
        switch method {
        case "ping":
            // A ping without `id` gets a pong without one (`id` is echoed, never invented).
            return [.text(#"{"type":"pong",\#(id.map { #""id":\#($0),"# } ?? "")"code":0,"ts":\#(epochMS)}"#)]
        case "unsubscribe_all":
            let removed = self.subscriptions.count
            self.subscriptions.removeAll()
            self.index.removeAll()
            return [.text(self.ack(id, channel: nil, params: nil, duplicate: false, note: removed))]
        case "subscribe", "unsubscribe":
            return [.text(self.handleSubscription(method == "subscribe", request, id: id, timestamp: timestamp))]
        default:
            return [.text(Self.error(id, .unknownMethod, "Method '\(method)' is not one of subscribe, unsubscribe, unsubscribe_all, ping.", timestamp))]
        }
    }

    private mutating func handleSubscription(_ subscribe: Bool, _ request: JSONValue, id: Int64?, timestamp: String) -> String {
        guard let channelValue = request["channel"] else {
            return Self.error(id, .missingField, "Field 'channel' is required.", timestamp)
        }
        guard let name = channelValue.string, let channel = Channel(rawValue: name) else {
            return Self.error(id, .unknownChannel, "Channel '\(channelValue.string ?? channelValue.rawText)' does not exist.", timestamp)
        }
        guard self.configuration.channelsOnPlan.contains(channel) else {
            return Self.error(id, .channelNotOnPlan, "Channel '\(name)' is not available on your plan.", timestamp)
        }
        guard let paramsValue = request["params"] else {
            if subscribe {
                return Self.error(id, .missingParam, "Param '\(channel.targetParam.rawValue)' is required for channel '\(name)'.", timestamp)
            }
            // Unsubscribe the whole channel.
            self.subscriptions.removeAll { $0.channel == channel }
            self.index = Set(self.subscriptions)
            return self.ack(id, channel: name, params: nil, duplicate: false, note: 0)
        }
        let params: SubscriptionParams
        switch Self.params(paramsValue, channel: channel) {
        case .failure(let e): return Self.error(id, e.code, e.detail, timestamp)
        case .success(let p): params = p
        }
        let wanted: [Subscription]
        do {
            wanted = try params.subscriptions(for: channel)
        } catch {
            return Self.error(id, error.code, error.detail, timestamp)
        }
        let raw = paramsValue.rawText
        if subscribe {
            let fresh = wanted.filter { !self.index.contains($0) }
            if fresh.isEmpty {
                return self.ack(id, channel: name, params: raw, duplicate: true, note: 0)
            }
            // The whole request is refused when it would go past the limit [UNKNOWN: refusing all of it].
            guard self.subscriptions.count + fresh.count <= self.configuration.subscriptionLimit else {
                return Self.error(
                    id,
                    .subscriptionLimit,
                    "Subscription limit reached: \(self.subscriptions.count) of \(self.configuration.subscriptionLimit) in use, \(fresh.count) more requested.",
                    timestamp
                )
            }
            self.subscriptions += fresh
            self.index.formUnion(fresh)
            return self.ack(id, channel: name, params: raw, duplicate: false, note: 0)
        }
        self.subscriptions.removeAll { wanted.contains($0) }
        self.index.subtract(wanted)
        return self.ack(id, channel: name, params: raw, duplicate: false, note: 0)
    }

    /// Reads `params` as the server does: scalars or arrays, integer ids, the channel's own address key,
    /// `interval`; `mode` is accepted and ignored (a real client sends `"mode":"full"`); anything else is 2402.
    static func params(_ v: JSONValue, channel: Channel) -> Result<SubscriptionParams, RequestError> {
        guard v.kind == .object else { return .failure(RequestError(.invalidParam, "Field 'params' must be an object.")) }
        var p = SubscriptionParams()
        for (key, value) in v.members {
            switch key {
            case "crypto_ids":
                let items = value.kind == .array ? value.elements : [value]
                for item in items {
                    guard let id = item.int else {
                        return .failure(RequestError(.invalidParam, "Param 'crypto_ids' must hold integers, got \(item.rawText)."))
                    }
                    p.cryptoIDs.append(id)
                }
            case "platform_id":
                guard let id = value.int else {
                    return .failure(RequestError(.invalidParam, "Param 'platform_id' must be an integer, got \(value.rawText)."))
                }
                p.platformID = id
            case "address", "pool_address", "wallet_address":
                guard key == channel.targetParam.rawValue else {
                    return .failure(RequestError(.invalidParam, "Param '\(key)' is not valid for channel '\(channel)'."))
                }
                let items = value.kind == .array ? value.elements : [value]
                for item in items {
                    guard let address = item.string else {
                        return .failure(RequestError(.invalidParam, "Param '\(key)' must hold strings, got \(item.rawText)."))
                    }
                    p.addresses.append(address)
                }
            case "interval":
                guard let interval = value.string else {
                    return .failure(RequestError(.invalidParam, "Param 'interval' must be a string."))
                }
                p.interval = interval
            case "mode":
                break
            default:
                return .failure(RequestError(.invalidParam, "Param '\(key)' is not valid for channel '\(channel)'."))
            }
        }
        return .success(p)
    }

    private func ack(_ id: Int64?, channel: String?, params: String?, duplicate: Bool, note: Int) -> String {
        var s = #"{"type":"ack""#
        if let id { s += #","id":\#(id)"# }
        s += #","code":0,"msg":"ok""#
        if let channel { s += #","channel":"\#(channel)""# }
        if let params { s += #","params":\#(params)"# }
        s += #","sub_count":\#(self.subscriptions.count),"sub_limit":\#(self.configuration.subscriptionLimit)"#
        if duplicate { s += #","duplicate":true"# }
        return s + "}"
    }

    /// The documented error envelope, `error_code` as a string as in the official example.
    static func error(_ id: Int64?, _ code: StreamErrorCode, _ detail: String, _ timestamp: String) -> String {
        var s = #"{"type":"error""#
        if let id { s += #","id":\#(id)"# }
        s += #","status":{"timestamp":"\#(timestamp)","error_code":"\#(code.rawValue)","category":"\#(code.category.rawValue)","#
        s += #""error_message":"\#(code.documentedMessage ?? "Error.")","error_detail":\#(jsonString(detail))}}"#
        return s
    }

}

/// A JSON string literal for `s`.
func jsonString(_ s: String) -> String {
    var out = "\""
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}

/// The proleptic Gregorian (year, month, day) of a day counted from 1970-01-01 (Howard Hinnant's algorithm).
func civilDate(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
}

/// `2026-05-21T01:57:09.125Z` for an epoch-ms time (proleptic Gregorian, UTC).
func isoTimestamp(_ ms: Int64) -> String {
    let days = Int64((Double(ms) / 86_400_000).rounded(.down))
    let msOfDay = ms - days * 86_400_000
    let (y, m, d) = civilDate(days: days)
    func pad(_ v: Int64, _ n: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, n - s.count)) + s
    }
    let h = msOfDay / 3_600_000
    let mi = msOfDay / 60_000 % 60
    let sec = msOfDay / 1000 % 60
    let milli = msOfDay % 1000
    return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(sec, 2)).\(pad(milli, 3))Z"
}
