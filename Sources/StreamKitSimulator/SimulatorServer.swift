// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
public import NIOPosix
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
    /// Push the last data frame again.
    case duplicatePush
    /// Answer pings this much later.
    case pongDelay(Duration)

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
        }
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

    struct SharedState {
        var counters = SimulatorCounters()
        var perKey: [String: Int] = [:]
        var live: [ObjectIdentifier: ConnectionHandler] = [:]
        var connectionNumber = 0
    }

    private init(url: String, port: Int, channel: any NIOCore.Channel, state: NIOLockedValueBox<SharedState>, group: MultiThreadedEventLoopGroup) {
        self.url = url
        self.port = port
        self.channel = channel
        self.state = state
        self.group = group
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
        let state = NIOLockedValueBox(SharedState())
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
                        let handler = ConnectionHandler(configuration: configuration, state: state, key: key.withLockedValue { $0 } ?? "")
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
        return SimulatorServer(url: "\(scheme)://\(host):\(actualPort)/v1", port: actualPort, channel: bound, state: state, group: group)
    }

    /// Stops listening and closes every connection.
    public func stop() {
        let live = self.state.withLockedValue { Array($0.live.values) }
        for handler in live { handler.inject(.drop) }
        try? self.channel.close().wait()
        try? self.group.syncShutdownGracefully()
    }

    /// What the simulator has done so far.
    public var counters: SimulatorCounters { self.state.withLockedValue { $0.counters } }

    /// Connections currently open.
    public var liveConnections: Int { self.state.withLockedValue { $0.live.count } }

    /// Injects `fault` into every live connection (or the `index`-th opened, counting from 1).
    public func inject(_ fault: SimulatorFault, connection index: Int? = nil) {
        let targets = self.state.withLockedValue { s in
            s.live.values.filter { index == nil || $0.number == index }
        }
        for handler in targets { handler.inject(fault) }
    }
}

// MARK: - One connection

final class ConnectionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    let configuration: SimulatorConfiguration
    let state: NIOLockedValueBox<SimulatorServer.SharedState>
    let key: String
    private(set) var number = 0
    private var context: ChannelHandlerContext?
    private var engine: SimulatorEngine
    private var model: MarketModel
    private var nextPush: [Subscription: Int64] = [:]
    private var tick: RepeatedTask?
    private var stalled = false
    private var pongDelay: Duration = .zero
    private var lastData: String?
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

    init(configuration: SimulatorConfiguration, state: NIOLockedValueBox<SimulatorServer.SharedState>, key: String) {
        self.configuration = configuration
        self.state = state
        self.key = key
        self.engine = SimulatorEngine(configuration: configuration, now: Self.now())
        self.model = MarketModel(seed: configuration.seed)
    }

    static func now() -> Instant { Instant(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds)) }
    static func epochMS() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let refusal: UInt16? = self.state.withLockedValue { s in
            s.counters.connections += 1
            s.connectionNumber += 1
            self.number = s.connectionNumber
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
        let period = self.configuration.rate != nil ? TimeAmount.milliseconds(1) : TimeAmount.milliseconds(Int64(max(2, 20 / max(self.configuration.speed, 1))))
        self.tick = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { [weak self] _ in
            self?.onTick()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.tick?.cancel()
        self.context = nil
        self.state.withLockedValue { s in
            s.live[ObjectIdentifier(self)] = nil
            if self.counted { s.perKey[self.key, default: 1] -= 1 }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.tick?.cancel()
        self.state.withLockedValue { s in
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
            let before = Set(self.engine.subscriptions)
            let outputs = self.engine.handle(bytes, now: Self.now(), epochMS: Self.epochMS())
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
            // New subscriptions push soon, then at their cadence.
            let now = Self.epochMS()
            for s in self.engine.subscriptions where !before.contains(s) {
                self.nextPush[s] = now + Int64(200 / max(self.configuration.speed, 1))
            }
            for s in before where !self.engine.subscriptions.contains(s) { self.nextPush[s] = nil }
        case .binary:
            // Binary frames are not part of the protocol: answered as an invalid request.
            self.send(SimulatorEngine.error(nil, .invalidRequestFormat, "Binary frames are not accepted.", isoTimestamp(Self.epochMS())), context: context)
        case .ping:
            self.lastActivity = Self.epochMS()
            context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: frame.unmaskedData)))
                .whenComplete { _ in context.close(promise: nil) }
        default:
            break
        }
    }

    private func onTick() {
        guard let context = self.context, !self.stalled else { return }
        let now = Self.epochMS()
        // Idle: neither requests nor data for too long.
        if Double(now - self.lastActivity) / 1000 >= Double(self.configuration.idleTimeout.nanoseconds) / 1e9 / max(self.configuration.speed, 1) {
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
        let subscriptions = self.engine.subscriptions
        for s in subscriptions {
            guard let due = self.nextPush[s], now >= due else { continue }
            for (leg, text) in self.model.pushes(s, peers: subscriptions, epochMS: now) {
                self.send(text, context: context)
                self.lastData = text
                self.state.withLockedValue { $0.counters.dataSent[leg, default: 0] += 1 }
            }
            let seconds = self.model.interval(s, epochMS: now) / max(self.configuration.speed, 1e-3)
            self.nextPush[s] = now + max(1, Int64(seconds * 1000))
            self.lastActivity = now
        }
    }

    // MARK: Load mode

    /// One push of the next subscription in the round-robin.
    private func pushNext(_ context: ChannelHandlerContext, flush: Bool) {
        let subscriptions = self.engine.subscriptions
        let s = subscriptions[self.roundRobin % subscriptions.count]
        self.roundRobin &+= 1
        for (leg, text) in self.model.pushes(s, peers: subscriptions, epochMS: Self.epochMS()) {
            self.send(text, context: context, flush: flush)
            self.lastData = text
            self.state.withLockedValue { $0.counters.dataSent[leg, default: 0] += 1 }
        }
        self.lastActivity = Self.epochMS()
    }

    /// One push at full speed. Rendering a push (random walks, number formatting) costs more than a client needs
    /// to read it, so each subscription's first 256 pushes are rendered and then replayed in turn. Swaps and
    /// liquidity events are always rendered fresh: replaying them would only measure deduplication.
    private func pushRendered(_ context: ChannelHandlerContext) {
        let subscriptions = self.engine.subscriptions
        let s = subscriptions[self.roundRobin % subscriptions.count]
        if s.channel == .transaction || s.channel == .liquidityEvent { return self.pushNext(context, flush: false) }
        self.roundRobin &+= 1
        var entry = self.rendered.removeValue(forKey: s) ?? ([], 0)
        let buffer: ByteBuffer
        if entry.frames.count < 256 {
            let text = self.model.push(s, epochMS: Self.epochMS())
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

    /// Carries out a fault (from any thread).
    func inject(_ fault: SimulatorFault) {
        guard let loop = self.context?.eventLoop else { return }
        loop.execute { [self] in
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
                self.send(SimulatorEngine.error(nil, .internalError, "Injected fault.", isoTimestamp(Self.epochMS())), context: context)
            case .malformedFrame:
                self.send(#"{"type":"data","channel":"market@crypto_latest_price","data":{"cid":1,"p":"#, context: context)
            case .oversizedFrame(let n):
                self.send(#"{"type":"data","pad":""# + String(repeating: "x", count: max(0, n - 30)) + #""}"#, context: context)
            case .duplicatePush:
                if let last = self.lastData { self.send(last, context: context) }
            case .pongDelay(let d):
                self.pongDelay = d
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
