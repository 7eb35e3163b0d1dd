// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import StreamKit

// MARK: - Theory of operation
//
// The transport interprets the pool's actions and feeds it what happens on the wire; it makes no protocol
// decision of its own. Everything runs on one event loop: the `Driver` owns the `SessionPool`, one channel per
// connection index, and one scheduled timer set to the pool's `pollTimeout()`. After every input it drains the
// pool's events (delivered first, so gap markers precede data), then its actions (connect, send, close).
// NIO carries the bytes (sockets, TLS, the HTTP upgrade, outbound frames); the receive side of the WebSocket
// protocol is the core's `WebSocketParser`. Text messages whole in one read are decoded in place from NIO's buffer
// into one reused `DecodedFrame`: nothing is copied or allocated between the socket and the message callback.

/// What the driver tells its owner, on the event loop.
protocol DriverDelegate: AnyObject {
    /// A session event of `connection`.
    func driver(event: SessionEvent, connection: Int)
    /// A data push to deliver, received at `now`; `frame` and `bytes` are valid only during the call.
    func driver(message frame: UnsafePointer<DecodedFrame>, bytes: UnsafeRawBufferPointer, subscription: Subscription?, subscriptions: SubscriptionMatches, connection: Int, now: Instant)
    /// Every text frame as received, after the session events it caused and before its delivery (for
    /// recording); valid only during the call.
    func driver(raw bytes: UnsafeRawBufferPointer, connection: Int)
    /// A socket read's frames have all been delivered: wake the consumer once for all of them.
    func driverReadComplete()
}

/// Runs a `SessionPool` over NIO WebSocket connections. Confined to `eventLoop`: call every method on it.
final class Driver {
    let eventLoop: any EventLoop
    let endpoint: StreamClientConfiguration.Endpoint
    private let apiKey: String
    private let maxFrameSize: Int
    private let sslContext: NIOSSLContext?
    private(set) var pool: SessionPool
    private var channels: [Int: any NIOCore.Channel] = [:]
    private var generation: [Int: Int] = [:]
    private var frame = DecodedFrame()
    private var timer: Scheduled<Void>?
    private var timerDeadline: Instant?
    private(set) var readingPaused = false
    weak var delegate: (any DriverDelegate)?

    init(
        eventLoop: any EventLoop,
        endpoint: StreamClientConfiguration.Endpoint,
        configuration: StreamClientConfiguration
    ) throws(StreamClientError) {
        self.eventLoop = eventLoop
        self.endpoint = endpoint
        self.apiKey = configuration.apiKey
        self.maxFrameSize = configuration.maxFrameSize
        self.pool = SessionPool(configuration: configuration.pool, seed: configuration.seed)
        if endpoint.secure {
            do {
                self.sslContext = try NIOSSLContext(configuration: configuration.tls ?? .makeClientConfiguration())
            } catch {
                throw .tls("\(error)")
            }
        } else {
            self.sslContext = nil
        }
    }

    static func now() -> Instant { Instant(nanoseconds: Int64(NIODeadline.now().uptimeNanoseconds)) }

    // MARK: Inputs from the owner

    func start() {
        self.pool.start(now: Self.now())
        self.pump()
    }

    func stop() {
        self.pool.stop(now: Self.now())
        self.pump()
    }

    func subscribe(_ subscriptions: [Subscription]) throws(SessionError) {
        try self.pool.subscribe(subscriptions, now: Self.now())
        self.pump()
    }

    func unsubscribe(_ subscriptions: [Subscription]) {
        self.pool.unsubscribe(subscriptions, now: Self.now())
        self.pump()
    }

    func unsubscribeAll() {
        self.pool.unsubscribeAll(now: Self.now())
        self.pump()
    }

    /// Stops (or resumes) reading from every connection: backpressure for a consumer with the `block` overflow
    /// policy. The sessions suspend their keep-alive and liveness timers meanwhile.
    func setReading(paused: Bool) {
        guard paused != self.readingPaused else { return }
        self.readingPaused = paused
        for channel in self.channels.values {
            channel.setOption(ChannelOptions.autoRead, value: !paused).whenSuccess {
                if !paused { channel.read() }
            }
        }
        self.pool.handleReading(paused: paused, now: Self.now())
        self.pump()
    }

    // MARK: Inputs from channels

    func channelConnected(_ connection: Int, generation: Int, channel: any NIOCore.Channel) {
        guard self.generation[connection] == generation else {
            channel.close(promise: nil)
            return
        }
        self.channels[connection] = channel
        if self.readingPaused { channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in } }
        self.pool.handleConnected(connection: connection, now: Self.now())
        self.pump()
    }

    func channelFailed(_ connection: Int, generation: Int, reason: String, httpStatus: Int? = nil) {
        guard self.generation[connection] == generation else { return }
        self.channels[connection] = nil
        self.pool.handleConnectFailed(connection: connection, reason: reason, httpStatus: httpStatus, now: Self.now())
        self.pump()
    }

    func channelClosed(_ connection: Int, generation: Int, code: UInt16?, reason: String) {
        guard self.generation[connection] == generation else { return }
        self.channels[connection] = nil
        self.pool.handleClosed(connection: connection, code: code, reason: reason, now: Self.now())
        self.pump()
    }

    func channelText(_ connection: Int, generation: Int, _ bytes: UnsafeRawBufferPointer) {
        guard self.generation[connection] == generation else { return }
        let delegate = self.delegate  // one weak load per frame
        let now = Self.now()
        let result = self.pool.handleText(connection: connection, bytes, now: now, into: &self.frame)
        self.drainEvents()
        // After the events the frame caused (a gap marker precedes the data it concerns), before its delivery.
        delegate?.driver(raw: bytes, connection: connection)
        if case .data(let subscription) = result, let delegate {
            withUnsafePointer(to: &self.frame) {
                delegate.driver(message: $0, bytes: bytes, subscription: subscription, subscriptions: self.pool.lastMatches, connection: connection, now: now)
            }
        }
        self.drainActions()
        // A data frame only moves deadlines later (liveness, staleness), and firing early is harmless: re-arming
        // after every frame would recompute every session's deadlines per message. `readComplete` re-arms once
        // per socket read instead.
        if case .data = result, self.timerDeadline != nil { return }
        self.armTimer()
    }

    /// The end of one socket read (after its frames went through `channelText`).
    func readComplete() {
        self.armTimer()
        self.delegate?.driverReadComplete()
    }

    // MARK: Outputs

    private func pump() {
        self.drainEvents()
        self.drainActions()
        self.armTimer()
    }

    private func drainEvents() {
        while let (connection, event) = self.pool.pollEvent() {
            self.delegate?.driver(event: event, connection: connection)
        }
    }

    private func drainActions() {
        while let (connection, action) = self.pool.pollAction() {
            switch action {
            case .connect:
                self.connect(connection)
            case .send(let bytes):
                guard let channel = self.channels[connection] else { continue }
                var buffer = channel.allocator.buffer(capacity: bytes.count)
                buffer.writeBytes(bytes)
                channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: buffer), promise: nil)
            case .close(let code):
                // Say goodbye, but never wait for a peer that may be dead: close the socket at once.
                guard let channel = self.channels[connection] else {
                    // Still connecting: the connect completion will find the generation changed.
                    self.generation[connection, default: 0] += 1
                    self.pool.handleClosed(connection: connection, code: nil, reason: "closed while connecting", now: Self.now())
                    continue
                }
                var data = channel.allocator.buffer(capacity: 2)
                data.writeInteger(code)
                channel.writeAndFlush(
                    WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data),
                    promise: nil
                )
                channel.close(promise: nil)
            }
        }
    }

    private func armTimer() {
        let next = self.pool.pollTimeout()
        guard next != self.timerDeadline else { return }
        // Most reads only push a deadline later (liveness counts from the last frame): keep the earlier timer and
        // let it fire early, when `handleTimeout` finds nothing due and this re-arms for the real deadline. That
        // saves scheduling (and allocating) a timer per read.
        if let next, let current = self.timerDeadline, self.timer != nil, next > current { return }
        self.timer?.cancel()
        self.timerDeadline = next
        guard let next else {
            self.timer = nil
            return
        }
        let delay = TimeAmount.nanoseconds(max(0, next.nanoseconds - Self.now().nanoseconds))
        self.timer = self.eventLoop.assumeIsolated().scheduleTask(in: delay) { [weak self] in
            guard let self else { return }
            self.timerDeadline = nil
            self.pool.handleTimeout(now: Self.now())
            self.pump()
        }
    }

    // MARK: Connecting

    private func connect(_ connection: Int) {
        let generation = self.generation[connection, default: 0] + 1
        self.generation[connection] = generation
        let endpoint = self.endpoint
        let sslContext = self.sslContext
        let maxFrameSize = self.maxFrameSize
        let driver = UnsafeTransfer(self)
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: endpoint.port == (endpoint.secure ? 443 : 80) ? endpoint.host : "\(endpoint.host):\(endpoint.port)")
        headers.add(name: "X-CMC_PRO_API_KEY", value: self.apiKey)
        headers.add(name: "User-Agent", value: "StreamKit/\(StreamKitVersion.string)")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: endpoint.path, headers: headers)
        let timeout = TimeAmount.nanoseconds(self.pool.configuration.session.connectTimeout.nanoseconds)

        let future = ClientBootstrap(group: self.eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        let serverName = endpoint.host.isIPAddress ? nil : endpoint.host
                        let tls = try NIOSSLClientHandler(context: sslContext, serverHostname: serverName)
                        try channel.pipeline.syncOperations.addHandler(tls)
                    }
                    // One watcher reports the channel's end exactly once, with the close code if one arrived (even
                    // when the server closes before the upgrade has completed, as auth failures do).
                    let state = UnsafeTransfer(ConnectionState())
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionWatcher(driver: driver, connection: connection, generation: generation, state: state)
                    )
                    let stream = UnsafeTransfer(
                        WebSocketStreamHandler(
                            driver: driver, connection: connection, generation: generation, state: state,
                            maxMessageSize: maxFrameSize
                        )
                    )
                    // NIO validates the upgrade (Sec-WebSocket-Accept) and keeps encoding outbound frames; the
                    // receive side is ours. `WebSocketStreamHandler` goes in front of the frame decoder the upgrader
                    // added, before any byte has passed (the bytes behind the 101 are held until this closure has
                    // returned), and forwards none: NIO's decoder never sees a byte, and is removed (its removal
                    // completes on the next loop tick). Our protocol errors close with their own code, so NIO's
                    // error handler (for its decoder's errors) is not added.
                    let upgrader = NIOTypedWebSocketClientUpgrader<UpgradeOutcome>(
                        maxFrameSize: maxFrameSize,
                        enableAutomaticErrorHandling: false,
                        upgradePipelineHandler: { channel, _ in
                            channel.eventLoop.makeCompletedFuture {
                                let pipeline = channel.pipeline.syncOperations
                                let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
                                try pipeline.addHandler(stream.value, position: .before(decoder))
                                pipeline.removeHandler(decoder, promise: nil)
                                return .upgraded
                            }
                        }
                    )
                    let upgrade = NIOTypedHTTPClientUpgradeConfiguration<UpgradeOutcome>(
                        upgradeRequestHead: head,
                        upgraders: [upgrader],
                        notUpgradingCompletionHandler: { channel in
                            channel.eventLoop.makeSucceededFuture(.refused)
                        }
                    )
                    var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(upgradeConfiguration: upgrade)
                    // Frames the server sends right behind its 101 (a welcome, or a 4100 close) arrive in the same
                    // read: hand them to the WebSocket parser instead of dropping them (NIO's default).
                    pipeline.leftOverBytesStrategy = .forwardBytes
                    let negotiation = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: pipeline
                    )
                    negotiation.whenComplete { result in
                        defer {
                            state.value.settled = true
                            state.value.reportIfDone(driver.value, connection: connection, generation: generation)
                        }
                        switch result {
                        case .success(.upgraded):
                            // Only now are the HTTP handlers gone, so frames written from here reach the socket.
                            guard channel.isActive else { return }  // it closed during the upgrade: the watcher reports it
                            state.value.connected = true
                            driver.value.channelConnected(connection, generation: generation, channel: channel)
                        case .success(.refused):
                            let status = state.value.httpStatus.map { ": HTTP \($0)" } ?? ""
                            state.value.failure = "the server refused the WebSocket upgrade\(status)"
                            channel.close(promise: nil)
                        case .failure(let error):
                            state.value.failure = state.value.failure ?? "upgrade failed: \(error)"
                            channel.close(promise: nil)
                        }
                    }
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
        future.whenComplete { result in
            let driver = driver.value
            switch result {
            case .success(let channel):
                if driver.generation[connection] == generation {
                    driver.channels[connection] = channel
                } else {
                    channel.close(promise: nil)
                }
            case .failure(let error):
                driver.channelFailed(connection, generation: generation, reason: "\(error)")
            }
        }
    }
}

enum UpgradeOutcome: Sendable {
    case upgraded, refused
}

// MARK: - Handlers

/// What one connection's handlers learned, for the single report of its end.
final class ConnectionState {
    var connected = false
    var closeCode: UInt16?
    var closeReason = ""
    var failure: String?
    /// The channel has gone inactive.
    var inactive = false
    /// The status of the server's HTTP answer to the upgrade (read off its status line), when one arrived.
    var httpStatus: Int?
    /// The upgrade negotiation has settled (bytes the server sent behind its 101 have been processed by then).
    var settled = false
    private var reported = false

    /// Reports the connection's end once both the channel has closed and the negotiation has settled, so a close
    /// frame that arrived with the 101 is never overtaken by the end of the stream.
    func reportIfDone(_ driver: Driver, connection: Int, generation: Int) {
        guard self.inactive, self.settled, !self.reported else { return }
        self.reported = true
        if let code = self.closeCode {
            driver.channelClosed(connection, generation: generation, code: code, reason: self.closeReason)
        } else if self.connected {
            driver.channelClosed(connection, generation: generation, code: nil, reason: self.failure ?? "connection lost")
        } else {
            driver.channelFailed(
                connection, generation: generation, reason: self.failure ?? "connection closed during the handshake",
                httpStatus: self.httpStatus.flatMap { $0 == 101 ? nil : $0 }
            )
        }
    }
}

/// Reports the end of one connection to the driver, exactly once, whatever stage it ended in.
final class ConnectionWatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let driver: UnsafeTransfer<Driver>
    private let connection: Int
    private let generation: Int
    private let state: UnsafeTransfer<ConnectionState>

    init(driver: UnsafeTransfer<Driver>, connection: Int, generation: Int, state: UnsafeTransfer<ConnectionState>) {
        self.driver = driver
        self.connection = connection
        self.generation = generation
        self.state = state
    }

    /// Reads the status of the server's HTTP answer off its status line (`HTTP/1.1 401 Unauthorized`) before the
    /// upgrade, so a refusal surfaces with its status; every byte goes on unchanged.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let state = self.state.value
        if !state.connected, state.httpStatus == nil {
            let buffer = self.unwrapInboundIn(data)
            if let line = buffer.getBytes(at: buffer.readerIndex, length: min(buffer.readableBytes, 12)), line.count == 12,
                line.starts(with: Array("HTTP/1.".utf8)), line[8] == UInt8(ascii: " ")
            {
                let digits = line[9..<12]
                if digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                    state.httpStatus = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                }
            }
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.state.value.failure = self.state.value.failure ?? "\(error)"
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.state.value.inactive = true
        self.state.value.reportIfDone(self.driver.value, connection: self.connection, generation: self.generation)
        context.fireChannelInactive()
    }
}

/// The WebSocket end of one connection, over the raw bytes after the upgrade: a `WebSocketParser` turns them into
/// messages; text messages go to the driver (in place from NIO's buffer when whole in one read), pings are
/// answered, close codes recorded and echoed, and a protocol error closes with its code (RFC 6455 7.1.7).
final class WebSocketStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = WebSocketFrame

    private let driver: UnsafeTransfer<Driver>
    private let connection: Int
    private let generation: Int
    private let state: UnsafeTransfer<ConnectionState>
    /// Keeps a frame cut by the end of a read (and reassembles fragmented messages) itself: every byte of a read
    /// is consumed at once.
    private var parser: WebSocketParser
    /// The parser failed or a close frame came: the connection is closing, later bytes are not read.
    private var done = false

    init(
        driver: UnsafeTransfer<Driver>, connection: Int, generation: Int, state: UnsafeTransfer<ConnectionState>,
        maxMessageSize: Int
    ) {
        self.driver = driver
        self.connection = connection
        self.generation = generation
        self.state = state
        self.parser = WebSocketParser(maxMessageSize: maxMessageSize)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !self.done else { return }
        let buffer = self.unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
            var input = bytes
            while !self.done, !self.state.value.inactive {
                let event: WebSocketEvent?
                do throws(WebSocketProtocolError) {
                    event = try self.parser.next(&input)
                } catch {
                    self.fail(context: context, error)
                    return
                }
                guard let event else { return }
                self.handle(event, context: context)
            }
        }
    }

    private func handle(_ event: WebSocketEvent, context: ChannelHandlerContext) {
        switch event {
        case .text(let bytes):
            self.driver.value.channelText(self.connection, generation: self.generation, bytes)
        case .ping(let payload):
            let data = context.channel.allocator.buffer(bytes: payload)
            context.writeAndFlush(
                self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: data)),
                promise: nil
            )
        case .close(let code, let reason):
            self.done = true
            let state = self.state.value
            state.closeCode = code ?? 1005  // 1005: no status code present
            state.closeReason = String(decoding: reason, as: UTF8.self)
            // Complete the closing handshake (RFC 6455 5.5.1): echo the code, then close.
            self.writeClose(code, context: context).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .binary, .pong:
            break
        }
    }

    /// Fails the connection (RFC 6455 7.1.7): a close frame with the error's code, then the socket closed at once
    /// (no waiting for a server that breaks the protocol); the error is the reason reported.
    private func fail(context: ChannelHandlerContext, _ error: WebSocketProtocolError) {
        self.done = true
        self.state.value.failure = "\(error)"
        _ = self.writeClose(error.closeCode, context: context)
        context.close(promise: nil)
    }

    /// Writes a close frame with `code` (none when `nil`), masked as a client's must be.
    private func writeClose(_ code: UInt16?, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        var data = context.channel.allocator.buffer(capacity: 2)
        if let code { data.writeInteger(code) }
        return context.writeAndFlush(
            self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: data))
        )
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.driver.value.readComplete()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.state.value.failure = "\(error)"
        context.close(promise: nil)
    }
}

// MARK: - Helpers

/// Carries an event-loop-confined reference through NIO's `@Sendable` closures. Safe because every use happens on
/// the driver's event loop: channels are created on it and all their callbacks run on it.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension String {
    var isIPAddress: Bool {
        (try? SocketAddress(ipAddress: self, port: 0)) != nil
    }
}
