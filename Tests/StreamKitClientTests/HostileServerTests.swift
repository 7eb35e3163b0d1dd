// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import StreamKit
import StreamKitClient
import Testing

// MARK: - A hostile server

/// A server that misbehaves on purpose, below the protocol: it never answers the upgrade, answers it with
/// garbage, or upgrades and then writes raw bytes no well-behaved server would (giant or endless frames, deep
/// nesting, garbage frames). It counts what it managed to write, so a test can show the client stopped reading.
final class HostileServer: Sendable {
    enum Behaviour: Sendable {
        /// Accept TCP, read the upgrade request, never answer.
        case neverAnswersTheUpgrade
        /// Upgrade, then say nothing at all (no welcome, no acks, no pongs).
        case silentAfterUpgrade
        /// Answer the upgrade request with random bytes.
        case garbageInsteadOfHTTP
        /// Upgrade, then a text frame whose header announces 2^40 bytes, then bytes for as long as the client reads.
        case giantFrame
        /// Upgrade, then a text frame without FIN opening an endless JSON string, and continuation frames forever.
        case endlessString
        /// Upgrade, welcome, a data frame nested 100 000 levels deep, then a valid price push.
        case deepNesting
        /// Upgrade, then random bytes as the WebSocket stream.
        case garbageFrames
        /// Upgrade, then these bytes as the WebSocket stream.
        case raw([UInt8])
    }

    let port: Int
    let written: NIOLockedValueBox<Int>
    /// The frames the client sent after the upgrade: "close CODE", "pong HEX", "text ...".
    let received: NIOLockedValueBox<[String]>
    private let group: MultiThreadedEventLoopGroup

    init(_ behaviour: Behaviour) throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let written = NIOLockedValueBox(0)
        let received = NIOLockedValueBox<[String]>([])
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                switch behaviour {
                case .neverAnswersTheUpgrade:
                    return channel.eventLoop.makeSucceededVoidFuture()  // reads pile up unanswered
                case .garbageInsteadOfHTTP:
                    return channel.pipeline.addHandler(RawWriter(written: written, chunks: .random(bytes: 64 << 10)))
                default:
                    let upgrader = NIOWebSocketServerUpgrader(
                        maxFrameSize: 1 << 20,
                        automaticErrorHandling: false,
                        shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
                        upgradePipelineHandler: { channel, _ in
                            // From here on, raw bytes: the writer sits before the frame encoder (nearer the socket),
                            // so nothing re-frames what it writes.
                            channel.eventLoop.makeCompletedFuture {
                                let pipeline = channel.pipeline.syncOperations
                                let encoder = try pipeline.handler(type: WebSocketFrameEncoder.self)
                                try pipeline.addHandler(RawWriter(written: written, chunks: .after(behaviour)), position: .before(encoder))
                                try pipeline.addHandler(FrameRecorder(received: received))
                            }
                        }
                    )
                    return channel.pipeline.configureHTTPServerPipeline(withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                }
            }
        let channel = try bootstrap.bind(host: "127.0.0.1", port: 0).wait()
        self.port = channel.localAddress?.port ?? 0
        self.written = written
        self.received = received
        self.group = group
    }

    func shutdown() { try? self.group.syncShutdownGracefully() }

    /// A WebSocket frame header (server to client: unmasked).
    static func header(opcode: UInt8, fin: Bool, length: UInt64) -> [UInt8] {
        var h: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if length < 126 {
            h.append(UInt8(length))
        } else if length <= 0xFFFF {
            h += [126, UInt8(length >> 8), UInt8(length & 0xFF)]
        } else {
            h.append(127)
            for shift in stride(from: 56, through: 0, by: -8) { h.append(UInt8((length >> UInt64(shift)) & 0xFF)) }
        }
        return h
    }

    static func text(_ s: String, fin: Bool = true, opcode: UInt8 = 1) -> [UInt8] {
        self.header(opcode: opcode, fin: fin, length: UInt64(s.utf8.count)) + Array(s.utf8)
    }

    /// What a `RawWriter` writes: a prefix once, then (optionally) a chunk for as long as the socket takes it
    /// (at most 256 MiB, so a client that buffers everything fails the test instead of hanging it).
    struct Chunks: Sendable {
        var prefix: [UInt8]
        var repeated: [UInt8]?

        static func random(bytes: Int) -> Chunks {
            var rng = SplitMix64(seed: 99)
            return Chunks(prefix: [], repeated: (0..<bytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }

        static func after(_ behaviour: Behaviour) -> Chunks {
            let welcome = text(#"{"type":"welcome","ping_interval_ms":10000}"#)
            switch behaviour {
            case .giantFrame:
                return Chunks(prefix: welcome + header(opcode: 1, fin: true, length: 1 << 40), repeated: Array(repeating: 0x61, count: 64 << 10))
            case .endlessString:
                return Chunks(
                    prefix: welcome + text(#"{"type":"data","channel":"market@crypto_latest_price","data":{"s":""#, fin: false),
                    repeated: header(opcode: 0, fin: false, length: 64 << 10) + Array(repeating: 0x61, count: 64 << 10)
                )
            case .deepNesting:
                let deep = #"{"type":"data","channel":"market@crypto_latest_price","data":"# + String(repeating: "[", count: 100_000)
                let price = #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":2.5},"ts":1}"#
                return Chunks(prefix: welcome + text(deep) + text(price), repeated: nil)
            case .garbageFrames:
                return Chunks(prefix: welcome + random(bytes: 64 << 10).repeated!, repeated: nil)
            case .raw(let bytes):
                return Chunks(prefix: bytes, repeated: nil)
            case .neverAnswersTheUpgrade, .garbageInsteadOfHTTP, .silentAfterUpgrade:
                return Chunks(prefix: [], repeated: nil)
            }
        }
    }

    /// Writes down the frames the client sends (the server's decoder unmasks them).
    final class FrameRecorder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = WebSocketFrame
        let received: NIOLockedValueBox<[String]>

        init(received: NIOLockedValueBox<[String]>) { self.received = received }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = Self.unwrapInboundIn(data)
            var payload = frame.unmaskedData
            let line: String
            switch frame.opcode {
            case .connectionClose: line = "close \(payload.readInteger(as: UInt16.self).map(String.init) ?? "none")"
            case .pong: line = "pong " + payload.readableBytesView.map { String(format: "%02x", $0) }.joined()
            case .text: line = "text " + (payload.readString(length: payload.readableBytes) ?? "")
            default: line = "\(frame.opcode)"
            }
            self.received.withLockedValue { $0.append(line) }
        }
    }

    final class RawWriter: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = NIOAny
        let written: NIOLockedValueBox<Int>
        let chunks: Chunks
        var started = false

        init(written: NIOLockedValueBox<Int>, chunks: Chunks) {
            self.written = written
            self.chunks = chunks
        }

        /// Added by an upgrade: the HTTP handlers leave just after, so start writing a moment later.
        func handlerAdded(context: ChannelHandlerContext) {
            guard !self.chunks.prefix.isEmpty else { return }
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .milliseconds(50)) {
                let (writer, context) = loopBound.value
                if !writer.started { writer.start(context) }
            }
        }

        /// Without an upgrade (garbage for HTTP): once the request arrives.
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if !self.started { self.start(context) }
            context.fireChannelRead(data)  // to the frame decoder and the recorder, after an upgrade
        }

        private func start(_ context: ChannelHandlerContext) {
            self.started = true
            self.write(self.chunks.prefix, context)
            self.pump(context)
        }

        private func write(_ bytes: [UInt8], _ context: ChannelHandlerContext) {
            guard !bytes.isEmpty else { return }
            let n = bytes.count
            let f = context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: bytes)))
            f.whenSuccess { [written] in
                written.withLockedValue { $0 += n }
            }

        }

        private func pump(_ context: ChannelHandlerContext) {
            guard let chunk = self.chunks.repeated else { return }
            while context.channel.isActive, context.channel.isWritable, self.written.withLockedValue({ $0 }) < 256 << 20 {
                self.write(chunk, context)
            }
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if context.channel.isWritable { self.pump(context) }
        }
    }
}

// MARK: - Tests

/// The client against servers that misbehave below the protocol: each ends in a typed reason and a reconnect (or,
/// for a frame that only fails to decode, a counted invalid frame), with bounded memory, and `stop()` returns.
@Suite(.serialized) struct HostileServerTests {
    struct Outcome {
        var reasons: [DisconnectReason] = []
        var messages = 0
        var invalidFrames = 0
        var fatal = false
        /// What the server received from the client, when the run ended.
        var received: [String] = []
    }

    /// Runs a client against `behaviour` until `done` holds (or 30 s: a deadline for a failing run, a passing one
    /// returns at once), then stops it, which must return within 20 s (not hang; sanitized builds are slow).
    static func run(
        _ behaviour: HostileServer.Behaviour,
        connectTimeout: Duration = .seconds(5),
        until done: @escaping @Sendable (Outcome) -> Bool
    ) async throws -> (Outcome, written: Int) {
        let server = try HostileServer(behaviour)
        defer { server.shutdown() }
        var config = StreamClientConfiguration(url: "ws://127.0.0.1:\(server.port)/v1", apiKey: "hostile-test-key")
        // Long, except where the timeout is the point: under load a short one would win the race.
        config.pool.session.connectTimeout = connectTimeout
        config.pool.session.backoffInitial = .milliseconds(100)
        config.pool.session.livenessTimeout = .seconds(1)
        // Liveness in force is max(livenessTimeout, 3 pings): a short ping interval keeps it at the 1 s above.
        config.pool.session.defaultPingInterval = .milliseconds(300)
        let client = try StreamClient(configuration: config)
        client.start()
        let subscribing = Task { try? await client.subscribe([.cryptoLatestPrice(1)]) }
        let outcome = NIOLockedValueBox(Outcome())
        let watcher = Task {
            for await event in client.events {
                let now = outcome.withLockedValue { o -> Outcome in
                    switch event {
                    case .session(.reconnecting(_, _, let reason), _): o.reasons.append(reason)
                    case .session(.fatal, _): o.fatal = true
                    case .message: o.messages += 1
                    default: break
                    }
                    return o
                }
                if done(now) { return }
            }
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, !done(outcome.withLockedValue { $0 }) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let invalid = await client.metrics().invalidFrames
        // stop() must return promptly whatever the server does.
        let stopped = NIOLockedValueBox(false)
        let stopper = Task {
            await client.stop()
            stopped.withLockedValue { $0 = true }
        }
        let stopDeadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < stopDeadline, !stopped.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(stopped.withLockedValue { $0 }, "stop() hung against \(behaviour)")
        _ = await stopper.value
        watcher.cancel()
        subscribing.cancel()
        var result = outcome.withLockedValue { $0 }
        result.invalidFrames = invalid
        result.received = server.received.withLockedValue { $0 }
        return (result, server.written.withLockedValue { $0 })
    }

    @Test func serverThatNeverAnswersTheUpgradeTimesOut() async throws {
        let (o, _) = try await Self.run(.neverAnswersTheUpgrade, connectTimeout: .milliseconds(500)) { !$0.reasons.isEmpty }
        let reason = try #require(o.reasons.first)
        #expect(reason == .connectTimeout, "\(reason)")
        #expect(!o.fatal)
    }

    @Test func serverSilentAfterTheUpgradeIsFoundSilent() async throws {
        let (o, _) = try await Self.run(.silentAfterUpgrade) { !$0.reasons.isEmpty }
        let reason = try #require(o.reasons.first)
        #expect(reason == .silent, "\(reason)")
    }

    @Test func garbageForTheUpgradeIsATransportError() async throws {
        let (o, _) = try await Self.run(.garbageInsteadOfHTTP) { !$0.reasons.isEmpty }
        let reason = try #require(o.reasons.first)
        guard case .transportError = reason else {
            Issue.record("expected a transport error, got \(reason)")
            return
        }
        #expect(!o.fatal)
    }

    @Test func giantFrameIsRefusedWithoutReadingIt() async throws {
        let (o, written) = try await Self.run(.giantFrame) { !$0.reasons.isEmpty }
        let reason = try #require(o.reasons.first)
        #expect(reason != .connectTimeout, "\(reason)")
        // The frame announced a terabyte; the client closed after at most its socket buffers' worth.
        #expect(written < 32 << 20, "the server wrote \(written) bytes before the client let go")
    }

    @Test func endlessStringIsCutAtTheFrameLimit() async throws {
        let (o, written) = try await Self.run(.endlessString) { !$0.reasons.isEmpty }
        let reason = try #require(o.reasons.first)
        #expect(reason != .connectTimeout, "\(reason)")
        #expect(written > 1 << 20, "the server wrote only \(written) bytes")
        #expect(written < 32 << 20, "the server wrote \(written) bytes before the client let go")
    }

    @Test func deepNestingIsAnInvalidFrameAndTheStreamGoesOn() async throws {
        let (o, _) = try await Self.run(.deepNesting) { $0.messages >= 1 }
        #expect(o.messages == 1, "the valid push behind the hostile one")
        #expect(o.invalidFrames == 1)
        #expect(o.reasons.isEmpty, "\(o.reasons)")
    }

    @Test func garbageFramesAreAProtocolOrTransportError() async throws {
        let (o, _) = try await Self.run(.garbageFrames) { !$0.reasons.isEmpty }
        let reason = try #require(o.reasons.first)
        #expect(reason != .connectTimeout && reason != .stopped, "\(reason)")
        #expect(!o.fatal)
    }

    // MARK: - The receive side of the WebSocket protocol

    static let welcome = HostileServer.text(#"{"type":"welcome","ping_interval_ms":10000}"#)
    static let price = #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":2.5},"ts":1}"#

    /// A server that breaks RFC 6455 is sent a close frame with the RFC's code for what it did, and the connection
    /// ends in a transport error naming it.
    static let violations: [([UInt8], UInt16)] = [
        (HostileServer.header(opcode: 3, fin: true, length: 0), UInt16(1002)),  // reserved opcode
        ([0x81, 0x82, 1, 2, 3, 4, 0x61, 0x62], UInt16(1002)),  // masked
        (HostileServer.header(opcode: 0, fin: true, length: 1) + [0x61], 1002),  // continuation without a start
        (HostileServer.header(opcode: 1, fin: true, length: 3) + [0x61, 0xC0, 0x80], 1007),  // invalid UTF-8
        (HostileServer.header(opcode: 8, fin: true, length: 2) + [0x03, 0xED], 1002),  // close code 1005 on the wire
        (HostileServer.header(opcode: 1, fin: true, length: 2 << 20), 1009),  // beyond maxFrameSize (1 MiB)
    ]

    @Test(arguments: HostileServerTests.violations)
    func protocolErrorsCloseWithTheirCode(_ bad: [UInt8], _ code: UInt16) async throws {
        let (o, _) = try await Self.run(.raw(Self.welcome + bad)) { !$0.reasons.isEmpty }
        let reason = try #require(o.reasons.first)
        guard case .transportError(let text) = reason else {
            Issue.record("expected a transport error, got \(reason)")
            return
        }
        #expect(text.contains("WebSocket protocol error \(code)"), "\(text)")
        #expect(o.received.contains("close \(code)"), "\(o.received)")
    }

    /// Fragmented messages with pings between their fragments: each ping is answered with its payload, and the
    /// messages are delivered whole.
    @Test func fragmentsAndPingsBetweenThem() async throws {
        let welcome = Array(#"{"type":"welcome","ping_interval_ms":10000}"#.utf8)
        let price = Array(Self.price.utf8)
        var stream = HostileServer.header(opcode: 1, fin: false, length: 10) + welcome[..<10]
        stream += HostileServer.header(opcode: 9, fin: true, length: 3) + [1, 2, 3]
        stream += HostileServer.header(opcode: 0, fin: true, length: UInt64(welcome.count - 10)) + welcome[10...]
        stream += HostileServer.header(opcode: 1, fin: false, length: 5) + price[..<5]
        stream += HostileServer.header(opcode: 0, fin: false, length: 0)
        stream += HostileServer.header(opcode: 9, fin: true, length: 0)
        stream += HostileServer.header(opcode: 0, fin: true, length: UInt64(price.count - 5)) + price[5...]
        let (o, _) = try await Self.run(.raw(stream)) { $0.messages >= 1 }
        #expect(o.messages == 1)
        #expect(o.reasons.isEmpty, "\(o.reasons)")
        #expect(o.received.contains("pong 010203"), "\(o.received)")
        #expect(o.received.contains("pong "), "\(o.received)")
    }
}
