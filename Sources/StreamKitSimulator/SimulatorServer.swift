// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
public import NIOSSL
import NIOWebSocket
public import StreamKit

/// A fault the simulator can inject into live connections.
public enum SimulatorFault: Sendable, Hashable, CustomStringConvertible {
    /// Close the TCP connection with no close frame.
    case drop
    /// Keep the socket open but send nothing and answer nothing.
    case stall
    /// Close with this WebSocket close code (a close frame, then TCP).
    case close(code: UInt16)
    /// Send `{"type":"error",...}` with error code 5001.
    case internalError
    /// Send a frame that is not valid JSON.
    case malformedFrame
    /// Send a text frame of this many bytes.
    case oversizedFrame(bytes: Int)
    /// Push the last swap or liquidity event again (the last data frame if the connection has sent none): the
    /// kind of repeat the service is known for, which a client can recognise by `tx` and `lgid`/`iix`.
    case duplicatePush
    /// Answer pings this much later.
    case pongDelay(Duration)
    /// Push the connection's first price subscription once with `"p": null` ("numeric fields may be null when
    /// unavailable", the overview's best practices). Nothing is sent without a price subscription.
    case nullPrice
    /// Push the connection's first `onchain@holders_metrics` subscription once without `ts` in its payload (the
    /// reference knows only three variants' shapes). Nothing is sent without such a subscription.
    case holderWithoutTS
    /// Push once with an optional field of the wrong JSON type: `"vu":"12.5"` (a string) on the first price
    /// subscription, else `"ex":0` (a number) on the first `onchain@transaction` subscription. Nothing is sent
    /// without either.
    case mistypedField
    /// Echo the params of the connection's next `pushes` price pushes (every later one when `nil`) as an array of
    /// all the ids of the subscribe request that made the subscription, `"params":{"crypto_ids":[1,1027]}`, where
    /// the reference documents a scalar: a server that echoes the request as it was sent. A subscription made by a
    /// request naming one id echoes `[id]`. Pushes of other channels are unchanged and do not count.
    case arrayParamsEcho(pushes: Int?)
    /// Answer the connection's next `subscribe` request (whatever it asks for) with an `error` frame carrying its
    /// `id` instead of an ack: `code` with its category and message from the reference's error table (by default
    /// 1006, AUTH, "Your plan does not support this endpoint.": a plan that lacks one channel). A code the table
    /// does not list is sent without `category`, with `error_message` "Error.". Nothing is subscribed; the
    /// connection stays open and every later request is answered as usual.
    case subscribeError(code: Int = 1006)
    /// Answer the connection's next `subscribe` with 5001 (SERVER, "Internal server error.") carrying its `id`,
    /// and the next `times - 1` subscribes for the same subscriptions (the client's retries) too; the retry after
    /// that is acked as usual. Subscribes for anything else are answered as usual meanwhile.
    case internalErrorThenAck(times: Int = 1)
    /// Welcome every connection opened from now on with this `ping_interval_ms` (else
    /// ``SimulatorConfiguration/pingIntervalMS``), e.g. 60 s; zero goes back to the configured one. Open
    /// connections are unchanged: the interval is only announced in the welcome, so this fault belongs to the
    /// server, not to a connection (``SimulatorServer/inject(_:connection:)`` ignores `connection` and counts it
    /// once; follow it with ``drop`` to move a running client over). Those connections are closed as idle after
    /// three such intervals when that is longer than the idle timeout.
    case pingInterval(Duration)

    public var description: String {
        switch self {
        case .drop: "drop"
        case .stall: "stall"
        case .close(let code): "close \(code)"
        case .internalError: "error 5001"
        case .malformedFrame: "malformed frame"
        case .oversizedFrame(let n): "oversized frame (\(n) bytes)"
        case .duplicatePush: "duplicate push"
        case .pongDelay(let d): "pong delay \(d)"
        case .nullPrice: "null price"
        case .holderWithoutTS: "holder without ts"
        case .mistypedField: "mistyped field"
        case .arrayParamsEcho(let n): "array params echo (\(n.map { "\($0) pushes" } ?? "every push"))"
        case .subscribeError(let code): "subscribe error \(code)"
        case .internalErrorThenAck(let n): "5001 then ack (\(n) errors)"
        case .pingInterval(let d): "ping interval \(Self.milliseconds(d)) ms"
        }
    }

    static func milliseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    /// The reference's error table (section 1.5), copied by hand rather than read from StreamKit's
    /// `StreamErrorCode`: the simulator's answers must not share the client's idea of a code.
    static let documentedErrors: [Int: (category: String, message: String)] = [
        1001: ("AUTH", "This API Key is invalid."),
        1002: ("AUTH", "API key missing."),
        1003: ("AUTH", "Your API Key must be activated."),
        1004: ("AUTH", "Your API Key subscription plan has expired."),
        1006: ("AUTH", "Your plan does not support this endpoint."),
        1007: ("AUTH", "This API Key has been disabled. Please contact support."),
        1010: ("AUTH", "Monthly credit limit exceeded."),
        2201: ("PROTOCOL", "Invalid request format."),
        2202: ("PROTOCOL", "Unknown method."),
        2203: ("PROTOCOL", "Message length is not right."),
        2204: ("PROTOCOL", "Missing required field."),
        2301: ("PROTOCOL", "Channel does not exist."),
        2302: ("PROTOCOL", "Channel not available on your plan."),
        2303: ("PROTOCOL", "Subscription limit reached."),
        2304: ("PROTOCOL", "Connection limit reached."),
        2401: ("PROTOCOL", "Missing required param for channel."),
        2402: ("PROTOCOL", "Invalid param for channel."),
        5001: ("SERVER", "Internal server error."),
    ]

    /// The `error` frame a request fault answers with: the envelope of the reference's official example
    /// (`error_code` a string), written by hand.
    static func errorFrame(id: Int64?, code: Int, detail: String, timestamp: String) -> String {
        var s = #"{"type":"error""#
        if let id { s += #","id":\#(id)"# }
        s += #","status":{"timestamp":"\#(timestamp)","error_code":"\#(code)""#
        let documented = Self.documentedErrors[code]
        if let documented { s += #","category":"\#(documented.category)""# }
        s += #","error_message":"\#(documented?.message ?? "Error.")","error_detail":\#(jsonString(detail))}}"#
        return s
    }

    /// A price push of the simulator's own (`"params":{"crypto_ids":N}`) with its echo written as the array `ids`;
    /// `nil` when the frame has no scalar `crypto_ids` echo.
    static func echoArray(_ frame: String, ids: [Int64]) -> String? {
        guard let start = frame.firstRange(of: #""params":{"crypto_ids":"#),
            let end = frame[start.upperBound...].firstIndex(of: "}"),
            !frame[start.upperBound..<end].isEmpty, frame[start.upperBound..<end].allSatisfy(\.isNumber)
        else { return nil }
        let list = ids.map(String.init).joined(separator: ",")
        return String(frame[..<start.upperBound]) + "[" + list + "]" + String(frame[end...])
    }

    /// `frame` (a push of the simulator's own, `{"type":"data",...,"data":{...},"ts":N}` with a flat payload) with
    /// its payload altered as a payload fault says; `nil` when the fault does not alter payloads or the payload
    /// lacks the member it alters.
    static func alter(_ frame: String, _ fault: SimulatorFault) -> String? {
        guard let open = frame.firstRange(of: #","data":{"#), let close = frame.ranges(of: #"},"ts":"#).last,
            open.upperBound <= close.lowerBound
        else { return nil }
        // The payload is flat and its texts hold no commas: members split on commas.
        var members = frame[open.upperBound..<close.lowerBound].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        func index(_ key: String) -> Int? { members.firstIndex { $0.hasPrefix(#""\#(key)":"#) } }
        switch fault {
        case .nullPrice:
            guard let i = index("p") else { return nil }
            members[i] = #""p":null"#
        case .holderWithoutTS:
            guard let i = index("ts") else { return nil }
            members.remove(at: i)
        case .mistypedField:
            if let i = index("vu"), frame.contains(#""channel":"market@crypto_latest_price""#) {
                members[i] = #""vu":"\#(members[i].dropFirst(5))""#
            } else if let i = index("ex") {
                members[i] = #""ex":0"#
            } else {
                return nil
            }
        default:
            return nil
        }
        return String(frame[..<open.upperBound]) + members.joined(separator: ",") + String(frame[close.lowerBound...])
    }
}

// MARK: - Names

extension SimulatorFault {
    /// One kind of fault as every face names it: the one table behind `sk_fault` (C), `Simulator.inject`
    /// (Python) and `streamkit sim --fault` (the CLI), so the three cannot drift apart. Numbers are only ever
    /// appended.
    public struct Kind: Sendable {
        /// Python's name; the CLI's is the same with `-` for `_`.
        public let name: String
        /// The `sk_fault` constant's value.
        public let number: Int32
        /// What the argument means and its range, or `nil` when the kind takes none (any argument is ignored).
        public let argument: String?
        private let make: @Sendable (Int64) -> SimulatorFault?

        /// `number` comes from the one fault table (`FaultNumbers`, generated from scripts/tables_schema.py).
        init(_ name: String, _ argument: String? = nil, _ make: @escaping @Sendable (Int64) -> SimulatorFault?) {
            self.name = name
            self.number = FaultNumbers.byName[name] ?? 0  // 0: not in the table (a test checks every kind is)
            self.argument = argument
            self.make = make
        }

        /// The fault for `argument` (0 when none is given); `nil` when it is out of range.
        public func fault(_ argument: Int64) -> SimulatorFault? { self.make(argument) }

        /// `--fault`'s spelling: `pong-delay:MS`, `drop`.
        public var commandLine: String {
            let name = String(self.name.map { $0 == "_" ? "-" : $0 })
            guard let argument = self.argument else { return name }
            return name + (argument.hasPrefix("optional") ? "[:N]" : ":N")  // "optional: ..." (0 when left out)
        }
    }

    /// Every kind, in `sk_fault` order (the numbers are the table's).
    public static let kinds: [Kind] = [
        Kind("drop") { _ in .drop },
        Kind("stall") { _ in .stall },
        Kind("close", "the close code, 1000 to 65535") { UInt16(exactly: $0).flatMap { $0 >= 1000 ? .close(code: $0) : nil } },
        Kind("error_5001") { _ in .internalError },
        Kind("malformed") { _ in .malformedFrame },
        Kind("oversized", "the frame's bytes, 1 to 64 MiB") { (1...(64 << 20)).contains($0) ? .oversizedFrame(bytes: Int($0)) : nil },
        Kind("duplicate") { _ in .duplicatePush },
        Kind("pong_delay", "milliseconds, 0 or more") { $0 >= 0 ? .pongDelay(.milliseconds($0)) : nil },
        Kind("null_price") { _ in .nullPrice },
        Kind("holder_without_ts") { _ in .holderWithoutTS },
        Kind("mistyped") { _ in .mistypedField },
        Kind("array_echo", "optional: price pushes to alter, 0 (the default) for every later one") {
            $0 == 0 ? .arrayParamsEcho(pushes: nil) : $0 > 0 ? .arrayParamsEcho(pushes: Int(clamping: $0)) : nil
        },
        Kind("subscribe_error", "optional: the error code, 1000 to 9999; 0 (the default) for 1006") {
            $0 == 0 ? .subscribeError() : (1000...9999).contains($0) ? .subscribeError(code: Int($0)) : nil
        },
        Kind("error_5001_then_ack", "optional: 5001 answers before the ack, 1 to 1000; 0 (the default) for 1") {
            $0 == 0 ? .internalErrorThenAck() : (1...1000).contains($0) ? .internalErrorThenAck(times: Int($0)) : nil
        },
        Kind("ping_interval", "milliseconds, 1 to 86400000; 0 restores the configured interval") {
            (0...86_400_000).contains($0) ? .pingInterval(.milliseconds($0)) : nil
        },
    ]

    /// The kind named `name` (Python's or the CLI's spelling; the CLI's older `5001` too).
    public static func kind(named name: some StringProtocol) -> Kind? {
        let name = name == "5001" ? "error_5001" : String(name.map { $0 == "-" ? "_" : $0 })
        return Self.kinds.first { $0.name == name }
    }
}

/// What the simulator has done, for tests to compare with what a client received.
public struct SimulatorCounters: Sendable, Hashable {
    /// Connections accepted (upgraded), including refused keys.
    public var connections = 0
    /// Connections refused by key (4100/4101/4102) or limit (4004), by close code.
    public var refused: [UInt16: Int] = [:]
    /// Text frames sent, all kinds.
    public var framesSent = 0
    /// Data frames sent per subscription (both legs of a swap count once each).
    public var dataSent: [Subscription: Int] = [:]
    /// Requests received.
    public var requests = 0
    /// Faults injected, by description.
    public var faults: [String: Int] = [:]
    /// Connections accepted per key (refused ones included).
    public var connectionsByKey: [String: Int] = [:]
}

extension SimulatorLedger {
    /// The stamp of a push the ledger numbered (`{"sk_seq":N,...`), else nil.
    static func stamp(_ text: String) -> Int? {
        let prefix = #"{"sk_seq":"#
        guard text.hasPrefix(prefix) else { return nil }
        let digits = text.utf8.dropFirst(prefix.utf8.count).prefix { (0x30...0x39).contains($0) }
        return Int(String(decoding: digits, as: UTF8.self))
    }
}

/// What the simulator sent, push by push, when ``SimulatorConfiguration/ledger`` is on: for comparing with what a
/// client delivered (the soak). Entry `i` is the push stamped `"sk_seq":i`.
public struct SimulatorLedger: Sendable {
    public struct Entry: Sendable, Hashable {
        /// The subscription (token leg) the frame was pushed for.
        public var subscription: Subscription
        /// The simulator's connection number (1, 2, ...).
        public var connection: Int
        /// One market event: both legs of a swap share it; every other push is its own.
        public var event: Int
        /// When it was written (uptime nanoseconds, the clock of `Instant` in the client).
        public var sentAt: Int64
    }
    /// Every push in the order stamped.
    public var entries: [Entry]
    /// When each closed connection closed (uptime nanoseconds, the clock of `Instant` in the client).
    public var closedAt: [Int: Int64]
    /// The API key of each connection.
    public var keys: [Int: String]
    /// Pushes sent again by the duplicate fault (same stamp).
    public var repeats: Int
    /// Of those, the ones a client cannot recognise as repeats (a connection that had pushed no swap or liquidity
    /// event repeats its last data frame, a price say): how often each push (by stamp) was sent again.
    public var plainRepeats: [Int: Int] = [:]
}

/// The stream simulator: a WebSocket server at `ws://host:port/v1` that speaks the stream's protocol.
///
/// ```swift
/// let sim = try await SimulatorServer.start(configuration: SimulatorConfiguration(keys: ["test": .active]))
/// defer { sim.stop() }
/// let client = try StreamClient(configuration: StreamClientConfiguration(url: sim.url, apiKey: "test"))
/// ```
public final class SimulatorServer: Sendable {
    /// `ws://host:port/v1`.
    public let url: String
    /// The bound port (useful with port 0).
    public let port: Int
    private let channel: any NIOCore.Channel
    private let state: NIOLockedValueBox<SharedState>
    private let group: MultiThreadedEventLoopGroup
    private let hub: MarketHub

    struct SharedState {
        var counters = SimulatorCounters()
        var perKey: [String: Int] = [:]
        var live: [ObjectIdentifier: ConnectionHandler] = [:]
        var connectionNumber = 0
        // Ledger (configuration.ledger): packed entries (subscription index << 48 | connection << 32 | event).
        var ledger: [UInt64] = []
        var ledgerSentAt: [Int64] = []
        var ledgerSubscriptions: [Subscription] = []
        var ledgerIndex: [Subscription: Int] = [:]
        var nextEvent = 0
        var closedAt: [Int: Int64] = [:]
        var connectionKeys: [Int: String] = [:]
        var repeats = 0
        var plainRepeats: [Int: Int] = [:]
        var paused = false
        var acceptThenClose: [String: Int] = [:]
        /// `ping_interval_ms` of the welcomes from now on (``SimulatorFault/pingInterval(_:)``), else the
        /// configuration's.
        var pingIntervalMS: Int64?
        /// How far the replay has got (``SimulatorConfiguration/replay``), as of the hub's last tick.
        var replay: ReplayProgress?
    }

    private init(url: String, port: Int, channel: any NIOCore.Channel, state: NIOLockedValueBox<SharedState>, group: MultiThreadedEventLoopGroup, hub: MarketHub) {
        self.url = url
        self.port = port
        self.channel = channel
        self.state = state
        self.group = group
        self.hub = hub
    }

    /// Starts the simulator.
    ///
    /// - Parameters:
    ///   - configuration: Keys, limits, speed, seed.
    ///   - host: Interface to bind. Default loopback.
    ///   - port: Port; 0 (the default) picks a free one (read ``port``).
    ///   - tls: Serve `wss://` with this configuration (certificate chain and key), or `ws://` when `nil`.
    public static func start(
        configuration: SimulatorConfiguration,
        host: String = "127.0.0.1",
        port: Int = 0,
        tls: TLSConfiguration? = nil
    ) async throws -> SimulatorServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var initial = SharedState()
        if configuration.ledger, configuration.ledgerCapacity > 0 {
            initial.ledger = [UInt64](repeating: 0, count: configuration.ledgerCapacity)
            initial.ledger.removeAll(keepingCapacity: true)
            initial.ledgerSentAt = [Int64](repeating: 0, count: configuration.ledgerCapacity)
            initial.ledgerSentAt.removeAll(keepingCapacity: true)
        }
        // A replay: the capture is opened now, so a missing or unreadable file fails the start.
        var replay: CaptureReplay?
        var served = configuration
        if let r = configuration.replay {
            do {
                replay = try CaptureReplay(r, speed: configuration.speed)
            } catch {
                try? await group.shutdownGracefully()
                throw error
            }
            served.rate = nil
            initial.replay = replay?.progress
        }
        let configuration = served
        let state = NIOLockedValueBox(initial)
        // One market for the process, on the group's one event loop, where every connection lives too.
        let hub = MarketHub(configuration: configuration, state: state, eventLoop: group.next(), replay: replay)
        let sslContext = try tls.map { try NIOSSLContext(configuration: $0) }
        let bound = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                let key = NIOLockedValueBox<String?>(nil)
                let upgrader = NIOWebSocketServerUpgrader(
                    maxFrameSize: 1 << 20,
                    automaticErrorHandling: true,
                    shouldUpgrade: { channel, head in
                        // The key: the header first, then the CMC_PRO_API_KEY query parameter.
                        var found = head.headers.first(name: "X-CMC_PRO_API_KEY")
                        if found == nil, let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first {
                            for pair in query.split(separator: "&") where pair.hasPrefix("CMC_PRO_API_KEY=") {
                                found = String(pair.dropFirst("CMC_PRO_API_KEY=".count))
                            }
                        }
                        key.withLockedValue { $0 = found }
                        let path = head.uri.split(separator: "?").first.map(String.init) ?? ""
                        return channel.eventLoop.makeSucceededFuture(path == "/v1" ? HTTPHeaders() : nil)
                    },
                    upgradePipelineHandler: { channel, _ in
                        let handler = ConnectionHandler(
                            configuration: configuration,
                            state: state,
                            hub: hub,
                            key: key.withLockedValue { $0 } ?? "",
                            eventLoop: channel.eventLoop
                        )
                        return channel.pipeline.addHandler(handler)
                    }
                )
                if let sslContext {
                    do {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
                return channel.pipeline.configureHTTPServerPipeline(withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
            }
            .bind(host: host, port: port)
            .get()
        let actualPort = bound.localAddress?.port ?? port
        let scheme = tls == nil ? "ws" : "wss"
        hub.start()
        return SimulatorServer(url: "\(scheme)://\(host):\(actualPort)/v1", port: actualPort, channel: bound, state: state, group: group, hub: hub)
    }

    /// The simulator's clock now: epoch ms running ``SimulatorConfiguration/speed`` times faster than the wall
    /// clock since the server started. Every `ts` and `ot` it sends is on this clock.
    public var simulatedTimeMS: Int64 { self.hub.now() }

    /// How far the replay has got, when serving a capture (``SimulatorConfiguration/replay``); else `nil`.
    public var replayProgress: ReplayProgress? { self.state.withLockedValue { $0.replay } }

    /// Stops listening and closes every connection; returns once done, or at once when called on an event loop
    /// (which must not wait), the shutdown then finishing in the background.
    public func stop() {
        let live = self.state.withLockedValue { Array($0.live.values) }
        for handler in live { handler.inject(.drop) }
        self.hub.stop()
        guard MultiThreadedEventLoopGroup.currentEventLoop == nil else {
            // Called on an event loop (a client's handler, a C callback): NIO forbids waiting there, so the
            // shutdown completes in the background.
            self.channel.close(promise: nil)
            self.group.shutdownGracefully { _ in }
            return
        }
        try? self.channel.close().wait()
        try? self.group.syncShutdownGracefully()
    }

    /// What the simulator has done so far.
    public var counters: SimulatorCounters { self.state.withLockedValue { $0.counters } }

    /// Connections currently open.
    public var liveConnections: Int { self.state.withLockedValue { $0.live.count } }

    /// Injects `fault` into every live connection (or the `index`-th opened, counting from 1).
    /// ``SimulatorFault/pingInterval(_:)`` is the server's instead: it applies to every connection opened after it.
    public func inject(_ fault: SimulatorFault, connection index: Int? = nil) {
        if case .pingInterval(let d) = fault {
            self.state.withLockedValue { s in
                let ms = SimulatorFault.milliseconds(d)
                s.pingIntervalMS = ms > 0 ? ms : nil
                s.counters.faults[fault.description, default: 0] += 1
            }
            return
        }
        let targets = self.state.withLockedValue { s in
            s.live.values.filter { index == nil || $0.number == index }
        }
        for handler in targets { handler.inject(fault) }
    }

    /// The numbers of the live connections made with `key`, oldest first.
    public func liveConnections(key: String) -> [Int] {
        self.state.withLockedValue { s in s.live.values.filter { $0.key == key }.map(\.number).sorted() }
    }

    /// The next `count` connections made with `key` are accepted (upgraded, welcomed) and at once closed with
    /// 1011: a server that accepts and then drops every client.
    public func acceptThenClose(key: String, count: Int) {
        self.state.withLockedValue { $0.acceptThenClose[key, default: 0] += count }
    }

    /// Stops (or resumes) data pushes on every connection; requests, pings and acks are still answered.
    public func pausePushes(_ paused: Bool) {
        self.state.withLockedValue { $0.paused = paused }
    }

    /// Pushes in the ledger so far.
    public var ledgerCount: Int { self.state.withLockedValue { $0.ledger.count } }

    /// What was pushed so far (empty unless ``SimulatorConfiguration/ledger`` is on).
    public func ledger() -> SimulatorLedger {
        self.state.withLockedValue { s in
            SimulatorLedger(
                entries: zip(s.ledger, s.ledgerSentAt).map { packed, sentAt in
                    SimulatorLedger.Entry(
                        subscription: s.ledgerSubscriptions[Int(packed >> 48)],
                        connection: Int((packed >> 32) & 0xFFFF),
                        event: Int(packed & 0xFFFF_FFFF),
                        sentAt: sentAt
                    )
                },
                closedAt: s.closedAt,
                keys: s.connectionKeys,
                repeats: s.repeats,
                plainRepeats: s.plainRepeats
            )
        }
    }
}

// MARK: - One connection

final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let configuration: SimulatorConfiguration
    let state: NIOLockedValueBox<SimulatorServer.SharedState>
    let hub: MarketHub
    let key: String
    /// The connection's event loop, where every `var` below is read and written. (Faults arrive from other
    /// threads: `inject` hops here before it looks at anything.)
    let eventLoop: any EventLoop
    private(set) var number = 0
    private var context: ChannelHandlerContext?
    private var engine: SimulatorEngine
    /// The subscriptions this connection holds in the market (the engine's, as the hub knows them).
    private(set) var registered: [Subscription] = []
    private var tick: RepeatedTask?
    private var stalled = false
    private var pongDelay: Duration = .zero
    private var lastData: String?
    private var lastDedupable: String?
    private var lastActivity: Int64 = 0
    private var counted = false
    // Load mode (`configuration.rate`): the next subscription in the round-robin and the frames owed.
    private var roundRobin = 0
    private var owed = 0.0
    private var lastTickMS: Int64 = 0
    // Load mode at full speed: pushes rendered once per subscription and replayed (see `pushRendered`), and the
    // counts not yet added to the shared counters.
    private var rendered: [Subscription: (frames: [ByteBuffer], next: Int)] = [:]
    private var unreportedData: [Subscription: Int] = [:]
    private var unreportedFrames = 0
    // Request faults (`inject`): the code answering the next subscribe; the 5001s still owed to a subscribe and
    // its retries (the subscriptions it asked for, once known); price pushes left to echo as arrays; the ids of
    // the subscribe request that made each price subscription; the idle floor of a long announced ping interval.
    private var subscribeErrorCode: Int?
    private var internalErrors: (left: Int, targets: Set<Subscription>?)?
    private var arrayEchoesLeft = 0
    private var requestIDs: [Subscription: [Int64]] = [:]
    private var idleFloorMS: Int64 = 0

    init(
        configuration: SimulatorConfiguration,
        state: NIOLockedValueBox<SimulatorServer.SharedState>,
        hub: MarketHub,
        key: String,
        eventLoop: any EventLoop
    ) {
        self.configuration = configuration
        self.state = state
        self.hub = hub
        self.key = key
        self.eventLoop = eventLoop
        self.engine = SimulatorEngine(configuration: configuration, now: Self.now())
    }

    /// The simulated clock now.
    private var simNow: Int64 { self.hub.now() }

    /// Whether the socket takes more now (the replay at `.max` waits while it does not).
    var writable: Bool { self.context?.channel.isWritable ?? false }

    /// Sends one market event's frames for this connection's subscriptions (the hub's fan-out).
    func deliver(_ frames: [(Subscription, String)]) {
        guard let context = self.context, !self.stalled, self.configuration.rate == nil else { return }
        self.emit(frames, context: context)
        self.lastActivity = Self.epochMS()
    }

    /// Brings the market's view of this connection in line with the engine's subscriptions.
    private func syncSubscriptions() {
        let now = self.engine.subscriptions
        let current = Set(now)
        let held = Set(self.registered)
        for s in self.registered where !current.contains(s) { self.hub.unsubscribe(s, self) }
        for s in now where !held.contains(s) { self.hub.subscribe(s, self) }
        self.registered = now
    }

    /// Sends the frames of one market event, stamped and entered in the ledger when it is kept.
    private func emit(_ pushes: [(Subscription, String)], context: ChannelHandlerContext, flush: Bool = true) {
        var frames = pushes
        if self.arrayEchoesLeft > 0 {
            for i in frames.indices where self.arrayEchoesLeft > 0 {
                guard case .crypto(let id) = frames[i].0.target,
                    let echoed = SimulatorFault.echoArray(frames[i].1, ids: self.requestIDs[frames[i].0] ?? [id])
                else { continue }
                frames[i].1 = echoed
                if self.arrayEchoesLeft != .max { self.arrayEchoesLeft -= 1 }
            }
        }
        if self.configuration.ledger {
            let now = Self.now().nanoseconds
            self.state.withLockedValue { s in
                let event = s.nextEvent
                s.nextEvent += 1
                for i in frames.indices {
                    let leg = frames[i].0
                    let index: Int
                    if let known = s.ledgerIndex[leg] {
                        index = known
                    } else {
                        index = s.ledgerSubscriptions.count
                        s.ledgerSubscriptions.append(leg)
                        s.ledgerIndex[leg] = index
                    }
                    frames[i].1 = #"{"sk_seq":\#(s.ledger.count),"# + frames[i].1.dropFirst()
                    s.ledger.append(UInt64(index) << 48 | UInt64(self.number & 0xFFFF) << 32 | UInt64(event & 0xFFFF_FFFF))
                    s.ledgerSentAt.append(now)
                }
            }
        }
        for (leg, text) in frames {
            self.send(text, context: context, flush: flush)
            self.lastData = text
            if leg.channel == .transaction || leg.channel == .liquidityEvent { self.lastDedupable = text }
        }
        self.state.withLockedValue { s in
            for (leg, _) in frames { s.counters.dataSent[leg, default: 0] += 1 }
        }
    }

    static func now() -> Instant { Instant(nanoseconds: Self.uptimeNS()) }
    static func uptimeNS() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds) }
    static func epochMS() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        var acceptThenClose = false
        let refusal: UInt16? = self.state.withLockedValue { s in
            s.counters.connections += 1
            s.counters.connectionsByKey[self.key, default: 0] += 1
            s.connectionNumber += 1
            self.number = s.connectionNumber
            if self.configuration.ledger { s.connectionKeys[self.number] = self.key }
            if let ms = s.pingIntervalMS {
                self.engine = SimulatorEngine(configuration: self.configuration, now: Self.now(), pingIntervalMS: ms)
                self.idleFloorMS = 3 * ms
            }
            if let n = s.acceptThenClose[self.key], n > 0 {
                s.acceptThenClose[self.key] = n - 1
                acceptThenClose = true
            }
            switch self.configuration.keys[self.key] {
            case nil: return 4100
            case .disabled: return 4101
            case .noWebSocketPlan: return 4102
            case .active:
                if s.perKey[self.key, default: 0] >= self.configuration.connectionsPerKey { return 4004 }
                s.perKey[self.key, default: 0] += 1
                s.live[ObjectIdentifier(self)] = self
                self.counted = true
                return nil
            }
        }
        if let code = refusal {
            self.state.withLockedValue { $0.counters.refused[code, default: 0] += 1 }
            self.closeWith(code, context: context)
            return
        }
        self.lastActivity = Self.epochMS()
        self.send(self.engine.welcome(), context: context)
        if acceptThenClose {
            self.state.withLockedValue { $0.counters.faults["accept then close", default: 0] += 1 }
            self.closeWith(1011, context: context)
            return
        }
        let period = self.configuration.rate != nil ? TimeAmount.milliseconds(1) : TimeAmount.milliseconds(Int64(max(2, 20 / max(self.configuration.speed, 1))))
        self.tick = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { [weak self] _ in
            self?.onTick()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.tick?.cancel()
        self.context = nil
        self.hub.remove(self)
        self.state.withLockedValue { s in
            if s.closedAt[self.number] == nil { s.closedAt[self.number] = Self.now().nanoseconds }
            s.live[ObjectIdentifier(self)] = nil
            if self.counted { s.perKey[self.key, default: 1] -= 1 }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.tick?.cancel()
        self.hub.remove(self)
        self.state.withLockedValue { s in
            if s.closedAt[self.number] == nil { s.closedAt[self.number] = Self.now().nanoseconds }
            if s.live.removeValue(forKey: ObjectIdentifier(self)) != nil, self.counted {
                s.perKey[self.key, default: 1] -= 1
                self.counted = false
            }
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        guard !self.stalled else { return }
        switch frame.opcode {
        case .text:
            self.lastActivity = Self.epochMS()
            self.state.withLockedValue { $0.counters.requests += 1 }
            let bytes = Array(frame.unmaskedData.readableBytesView)
            if let answer = self.requestFaultAnswer(bytes) {
                self.send(answer, context: context)
                return
            }
            let before = Set(self.engine.subscriptions)
            let outputs = self.engine.handle(bytes, now: Self.now(), epochMS: self.simNow)
            let isPing = bytes.count < 64 && String(decoding: bytes, as: UTF8.self).contains(#""ping""#)
            for output in outputs {
                switch output {
                case .text(let text):
                    if isPing && self.pongDelay > .zero {
                        let delay = TimeAmount.nanoseconds(self.pongDelay.nanoseconds)
                        context.eventLoop.scheduleTask(in: delay) { [weak self] in
                            guard let self, let context = self.context else { return }
                            self.send(text, context: context)
                        }
                    } else {
                        self.send(text, context: context)
                    }
                case .close(let code):
                    self.closeWith(code, context: context)
                }
            }
            // The market pushes new subscriptions soon, then at their cadence, to every connection holding them.
            self.syncSubscriptions()
            for s in before where !self.engine.subscriptions.contains(s) { self.requestIDs[s] = nil }
            self.recordRequestIDs(bytes, fresh: self.engine.subscriptions.filter { !before.contains($0) && $0.channel == .cryptoLatestPrice })
        case .binary:
            // Binary frames are not part of the protocol: answered as an invalid request.
            self.send(SimulatorEngine.error(nil, .invalidRequestFormat, "Binary frames are not accepted.", isoTimestamp(self.simNow)), context: context)
        case .ping:
            self.lastActivity = Self.epochMS()
            context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: frame.unmaskedData)))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        default:
            break
        }
    }

    private func onTick() {
        guard let context = self.context, !self.stalled else { return }
        let now = Self.epochMS()
        if self.state.withLockedValue({ $0.paused }) {
            self.lastActivity = now
            return
        }
        // Idle: neither requests nor data for too long (scaled as the announced ping interval is).
        let idleMS = max(self.configuration.scaledIdleTimeoutMS, Double(self.idleFloorMS))
        if Double(now - self.lastActivity) >= idleMS {
            self.closeWith(1001, context: context)
            return
        }
        if let rate = self.configuration.rate {
            defer { self.lastTickMS = now }
            if rate.isInfinite { return self.pumpFirehose(context) }
            self.owed = min(self.owed + rate * Double(now - (self.lastTickMS == 0 ? now : self.lastTickMS)) / 1000, rate)
            let n = Int(self.owed)
            self.owed -= Double(n)
            for _ in 0..<n where !self.engine.subscriptions.isEmpty { self.pushNext(context, flush: false) }
            context.flush()
            return
        }
        // Cadence mode: the hub pushes (`deliver`).
    }

    // MARK: Load mode

    /// One push of the next subscription in the round-robin.
    private func pushNext(_ context: ChannelHandlerContext, flush: Bool) {
        let subscriptions = self.engine.subscriptions
        let s = subscriptions[self.roundRobin % subscriptions.count]
        self.roundRobin &+= 1
        let pushes = self.hub.market.renderNow(s, peers: subscriptions, now: self.simNow)
        self.emit(pushes.map { ($0.subscription, $0.text) }, context: context, flush: flush)
        self.lastActivity = Self.epochMS()
    }

    /// One push at full speed. Rendering a push (random walks, number formatting) costs more than a client needs
    /// to read it, so each subscription's first 256 pushes are rendered and then replayed in turn. Swaps and
    /// liquidity events are always rendered fresh: replaying them would only measure deduplication.
    private func pushRendered(_ context: ChannelHandlerContext) {
        let subscriptions = self.engine.subscriptions
        let s = subscriptions[self.roundRobin % subscriptions.count]
        if s.channel == .transaction || s.channel == .liquidityEvent || self.configuration.ledger || self.arrayEchoesLeft > 0 {
            return self.pushNext(context, flush: false)
        }
        self.roundRobin &+= 1
        var entry = self.rendered.removeValue(forKey: s) ?? ([], 0)
        let buffer: ByteBuffer
        if entry.frames.count < 256 {
            let text = self.hub.market.renderNow(s, peers: [], now: self.simNow)[0].text
            buffer = context.channel.allocator.buffer(string: text)
            entry.frames.append(buffer)
            self.lastData = text
        } else {
            buffer = entry.frames[entry.next % entry.frames.count]
            entry.next &+= 1
        }
        self.rendered[s] = entry
        context.write(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: nil)
        self.unreportedData[s, default: 0] += 1
        self.unreportedFrames += 1
    }

    /// Adds the load mode's counts to the shared counters (once per batch, not per frame).
    private func reportCounts() {
        guard self.unreportedFrames > 0 else { return }
        let data = self.unreportedData
        let frames = self.unreportedFrames
        self.unreportedData.removeAll(keepingCapacity: true)
        self.unreportedFrames = 0
        self.state.withLockedValue { state in
            state.counters.framesSent += frames
            for (s, n) in data { state.counters.dataSent[s, default: 0] += n }
        }
    }

    /// As fast as the client reads: write while the socket takes it, flushing every 32 frames; NIO reports
    /// when it can take more (`channelWritabilityChanged`). At most 512 frames per turn of the event loop, so
    /// requests and other connections are served in between.
    private func pumpFirehose(_ context: ChannelHandlerContext) {
        if self.state.withLockedValue({ $0.paused }) { return }
        var sent = 0
        defer {
            self.reportCounts()
            self.lastActivity = Self.epochMS()
        }
        while context.channel.isActive, context.channel.isWritable, !self.engine.subscriptions.isEmpty, !self.stalled {
            self.pushRendered(context)
            sent += 1
            if sent % 32 == 0 { context.flush() }
            if sent == 512 {
                context.flush()
                context.eventLoop.execute { [weak self] in
                    guard let self, let context = self.context else { return }
                    self.pumpFirehose(context)
                }
                return
            }
        }
        context.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let rate = self.configuration.rate, rate.isInfinite, !self.stalled {
            self.pumpFirehose(context)
        }
        context.fireChannelWritabilityChanged()
    }

    /// Carries out a fault (from any thread). Off the event loops, a request fault (answering the next subscribe)
    /// is in effect when this returns, so it always answers a subscribe sent afterwards (a task merely queued
    /// could run after the loop read the request: NIO serves I/O before tasks in a tick). Every other fault is
    /// queued, as it always was.
    func inject(_ fault: SimulatorFault) {
        let request: Bool
        switch fault {
        case .subscribeError, .internalErrorThenAck: request = true
        default: request = false
        }
        if self.eventLoop.inEventLoop {
            self.apply(fault)
        } else if request && MultiThreadedEventLoopGroup.currentEventLoop == nil {
            try? self.eventLoop.submit { [self] in self.apply(fault) }.wait()
        } else {
            self.eventLoop.execute { [self] in self.apply(fault) }
        }
    }

    private func apply(_ fault: SimulatorFault) {
        guard let context = self.context else { return }
        self.state.withLockedValue { $0.counters.faults[fault.description, default: 0] += 1 }
        switch fault {
        case .drop:
            context.close(promise: nil)
        case .stall:
            self.stalled = true
        case .close(let code):
            self.closeWith(code, context: context)
        case .internalError:
            self.send(SimulatorEngine.error(nil, .internalError, "Injected fault.", isoTimestamp(self.simNow)), context: context)
        case .malformedFrame:
            self.send(#"{"type":"data","channel":"market@crypto_latest_price","data":{"cid":1,"p":"#, context: context)
        case .oversizedFrame(let n):
            self.send(#"{"type":"data","pad":""# + String(repeating: "x", count: max(0, n - 30)) + #""}"#, context: context)
        case .duplicatePush:
            if let last = self.lastDedupable ?? self.lastData {
                self.send(last, context: context)
                let plain = self.lastDedupable == nil ? SimulatorLedger.stamp(last) : nil
                self.state.withLockedValue { s in
                    s.repeats += 1
                    if let plain { s.plainRepeats[plain, default: 0] += 1 }
                }
            }
        case .pongDelay(let d):
            self.pongDelay = d
        case .nullPrice, .holderWithoutTS, .mistypedField:
            self.emitAltered(fault, context: context)
        case .arrayParamsEcho(let pushes):
            self.arrayEchoesLeft = pushes.map { max(0, $0) } ?? .max
        case .subscribeError(let code):
            self.subscribeErrorCode = code
        case .internalErrorThenAck(let times):
            self.internalErrors = times > 0 ? (times, nil) : nil
        case .pingInterval:
            break  // the server's (SimulatorServer.inject), never a connection's
        }
    }

    // MARK: Request faults

    /// The error frame a pending request fault answers `request` with, instead of the engine's answer; `nil` when
    /// no fault applies (the request is not a subscribe, or not the one the fault waits for).
    private func requestFaultAnswer(_ request: [UInt8]) -> String? {
        guard self.subscribeErrorCode != nil || self.internalErrors != nil,
            let value = try? JSONValue(parsing: request), value.kind == .object, value["method"]?.string == "subscribe"
        else { return nil }
        let id = value["id"]?.int
        let channel = value["channel"]?.string ?? ""
        let timestamp = isoTimestamp(self.simNow)
        if let code = self.subscribeErrorCode {
            self.subscribeErrorCode = nil
            return SimulatorFault.errorFrame(id: id, code: code, detail: "Injected fault: subscribe to '\(channel)' refused.", timestamp: timestamp)
        }
        guard var owed = self.internalErrors else { return nil }
        // What the subscribe asks for, read as the engine reads it; nil for a request it would refuse.
        var targets: Set<Subscription>?
        if let c = Channel(rawValue: channel), let p = value["params"], case .success(let params) = SimulatorEngine.params(p, channel: c) {
            targets = (try? params.subscriptions(for: c)).map(Set.init)
        }
        if owed.targets == nil {
            owed.targets = targets ?? []
        } else if targets != owed.targets {
            return nil  // another subscribe: answered as usual
        }
        owed.left -= 1
        self.internalErrors = owed.left > 0 && !(owed.targets ?? []).isEmpty ? owed : nil
        return SimulatorFault.errorFrame(id: id, code: 5001, detail: "Injected fault: retry the subscribe.", timestamp: timestamp)
    }

    /// Remembers the ids of the subscribe request that made the price subscriptions `fresh`, for the array echo.
    private func recordRequestIDs(_ request: [UInt8], fresh: [Subscription]) {
        guard !fresh.isEmpty, let value = try? JSONValue(parsing: request), let ids = value["params"]?["crypto_ids"] else { return }
        let list = (ids.kind == .array ? ids.elements : [ids]).compactMap(\.int)
        for s in fresh { self.requestIDs[s] = list }
    }

    /// One push of the connection's first subscription that the payload fault applies to, altered
    /// (``SimulatorFault/alter(_:_:)``) and sent like any push (counted, and entered in the ledger when kept).
    private func emitAltered(_ fault: SimulatorFault, context: ChannelHandlerContext) {
        let subscriptions = self.engine.subscriptions
        let target: Subscription?
        switch fault {
        case .nullPrice: target = subscriptions.first { $0.channel == .cryptoLatestPrice }
        case .holderWithoutTS: target = subscriptions.first { $0.channel == .holdersMetrics }
        default:
            target = subscriptions.first { $0.channel == .cryptoLatestPrice }
                ?? subscriptions.first { $0.channel == .transaction }
        }
        guard let s = target else { return }
        // A swap with no peer leg: one frame (a trade of the pool, told to this connection only: the fault is
        // its own). Retried a few times for a payload that lacks the member altered (some members are drawn).
        self.hub.catchUp()
        for _ in 0..<8 {
            let text = self.hub.market.renderNow(s, peers: [], now: self.simNow)[0].text
            if let altered = SimulatorFault.alter(text, fault) {
                self.emit([(s, altered)], context: context)
                return
            }
        }
    }

    private func send(_ text: String, context: ChannelHandlerContext, flush: Bool = true) {
        let buffer = context.channel.allocator.buffer(string: text)
        let frame = self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: buffer))
        if flush { context.writeAndFlush(frame, promise: nil) } else { context.write(frame, promise: nil) }
        self.state.withLockedValue { $0.counters.framesSent += 1 }
    }

    /// A close frame, then TCP once the client echoes it (or after 2 s), as RFC 6455 asks.
    private func closeWith(_ code: UInt16, context: ChannelHandlerContext) {
        self.tick?.cancel()
        var data = context.channel.allocator.buffer(capacity: 2)
        data.writeInteger(code)
        context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }
}

// MARK: - The market

/// The server's one market and its fan-out: every connection's subscriptions are registered here, and each
/// market event goes to every connection subscribed to its target, as the same frame.
///
/// Touched only on the server's event loop (the group has one thread, and every connection lives on it), which
/// is why it may be `@unchecked Sendable`.
final class MarketHub: @unchecked Sendable {
    let configuration: SimulatorConfiguration
    let state: NIOLockedValueBox<SimulatorServer.SharedState>
    let eventLoop: any EventLoop
    let clock: SimulatedClock
    var market: MarketModel
    private var subscribers: [Subscription: [ConnectionHandler]] = [:]
    private var buffer: [MarketModel.Push] = []
    private var tick: RepeatedTask?
    /// The capture served instead of the market (``SimulatorConfiguration/replay``), and the subscriptions held
    /// as a routing index (rebuilt when they change), to find the one a recorded push was sent for.
    let replay: CaptureReplay?
    private var routes = SubscriptionIndex(dedupeWindow: 0)
    private var routesChanged = false

    init(configuration: SimulatorConfiguration, state: NIOLockedValueBox<SimulatorServer.SharedState>, eventLoop: any EventLoop,
         replay: CaptureReplay? = nil) {
        self.configuration = configuration
        self.state = state
        self.eventLoop = eventLoop
        self.replay = replay
        self.clock = SimulatedClock(speed: configuration.speed, startEpochMS: ConnectionHandler.epochMS(), startUptimeNS: ConnectionHandler.uptimeNS())
        self.market = MarketModel(seed: configuration.seed)
    }

    /// The simulated clock now, epoch ms: the market's, or the capture's when replaying.
    func now() -> Int64 {
        if let replay = self.replay { return replay.captureTime(wallNS: ConnectionHandler.uptimeNS()) / 1_000_000 }
        return self.clock.epochMS(uptimeNS: ConnectionHandler.uptimeNS())
    }

    /// Starts the cadence (not in load mode, where each connection pushes at its rate). A replay is served every
    /// 5 ms (every 1 ms at `.max`): a recorded frame goes out at most that late.
    func start() {
        guard self.configuration.rate == nil else { return }
        var period = TimeAmount.milliseconds(Int64(max(2, 20 / max(self.configuration.speed, 1))))
        if let replay = self.replay { period = .milliseconds(replay.configuration.pace == .max ? 1 : 5) }
        self.tick = self.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { [weak self] _ in
            self?.catchUp()
        }
    }

    func stop() { self.tick?.cancel() }

    func subscribe(_ s: Subscription, _ h: ConnectionHandler) {
        if let replay = self.replay {
            replay.start(wallNS: ConnectionHandler.uptimeNS())  // the capture's clock starts at the first subscription
            self.routesChanged = true
        } else {
            self.market.handleSubscribe(s, now: self.now())
        }
        self.subscribers[s, default: []].append(h)
    }

    func unsubscribe(_ s: Subscription, _ h: ConnectionHandler) {
        guard var list = self.subscribers[s], let i = list.firstIndex(where: { $0 === h }) else { return }
        list.remove(at: i)
        self.subscribers[s] = list.isEmpty ? nil : list
        if self.replay != nil {
            self.routesChanged = true
        } else {
            self.market.handleUnsubscribe(s, now: self.now())
        }
    }

    /// Removes every subscription of a closed connection.
    func remove(_ h: ConnectionHandler) {
        for s in h.registered { self.unsubscribe(s, h) }
    }

    /// Advances the market to now and delivers what it made.
    func catchUp() {
        guard self.configuration.rate == nil else { return }
        if let replay = self.replay { return self.serve(replay) }
        self.market.advance(to: self.now())
        self.market.pollPushes(into: &self.buffer)
        defer { self.buffer.removeAll(keepingCapacity: true) }
        if self.state.withLockedValue({ $0.paused }) { return }
        var j = 0
        while j < self.buffer.count {
            var k = j + 1
            while k < self.buffer.count && self.buffer[k].event == self.buffer[j].event { k += 1 }
            if k == j + 1 {
                let p = self.buffer[j]
                for h in self.subscribers[p.subscription] ?? [] { h.deliver([(p.subscription, p.text)]) }
            } else {
                // The legs of one event: each connection gets those it holds, together (one ledger event).
                var handlers: [ConnectionHandler] = []
                for p in self.buffer[j..<k] {
                    for h in self.subscribers[p.subscription] ?? [] where !handlers.contains(where: { $0 === h }) { handlers.append(h) }
                }
                for h in handlers {
                    let legs = self.buffer[j..<k].filter { p in self.subscribers[p.subscription]?.contains { $0 === h } ?? false }
                    h.deliver(legs.map { ($0.subscription, $0.text) })
                }
            }
            j = k
        }
    }

    /// Sends what of the capture is due: each recorded push, as recorded, to the connections subscribed to the
    /// subscription it was sent for; recorded outages to every live connection. At `.max`, at most 4096 records
    /// per tick, and none while a subscribed connection's socket is full.
    private func serve(_ replay: CaptureReplay) {
        if self.state.withLockedValue({ $0.paused }) { return }
        if self.routesChanged {
            self.routes = SubscriptionIndex(self.subscribers.keys, dedupeWindow: 0)
            self.routesChanged = false
        }
        let fast = replay.configuration.pace == .max
        if fast && self.subscribers.values.contains(where: { $0.contains { !$0.writable } }) { return }
        let wall = ConnectionHandler.uptimeNS()
        var budget = fast ? 4096 : Int.max
        var served = 0
        var unsubscribed = 0
        while budget > 0, let step = replay.next(wallNS: wall) {
            budget -= 1
            switch step {
            case .data(let frame, let bytes):
                guard let s = self.routes.sentFor(frame.pointee, bytes: bytes), let handlers = self.subscribers[s] else {
                    unsubscribed += 1
                    continue
                }
                let text = String(decoding: bytes, as: UTF8.self)
                for h in handlers { h.deliver([(s, text)]) }
                served += 1
                if fast && served % 64 == 0 && handlers.contains(where: { !$0.writable }) { budget = 0 }
            case .fault(let fault):
                for h in self.state.withLockedValue({ Array($0.live.values) }) { h.inject(fault) }
            }
        }
        replay.count(served: served, unsubscribed: unsubscribed)
        let progress = replay.progress
        self.state.withLockedValue { $0.replay = progress }
    }
}
