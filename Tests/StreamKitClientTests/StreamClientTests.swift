// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import StreamKit
import StreamKitClient
import Testing

// MARK: - A scripted loopback server

/// A minimal stream server over real loopback sockets, scripted per test: welcome, acks, price pushes, and the
/// faults under test. (The full protocol-faithful simulator is a separate component; this one only has to be
/// obviously correct.)
final class ScriptedServer: @unchecked Sendable {
    struct Script: Sendable {
        /// Close with this code right after the upgrade (auth failures).
        var closeOnConnect: UInt16?
        /// On the first connection only: drop the TCP connection after pushing this many data frames.
        var dropFirstConnectionAfter: Int?
        /// Data frames pushed per subscribed id after each subscribe.
        var pushes = 3
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private(set) var port = 0
    private let lock = NSLock()
    private var _connections = 0
    private var _subscribes: [String] = []
    private var _apiKeys: [String] = []
    let script: Script

    var connections: Int { self.lock.withLock { self._connections } }
    var subscribes: [String] { self.lock.withLock { self._subscribes } }
    var apiKeys: [String] { self.lock.withLock { self._apiKeys } }

    init(script: Script) throws {
        self.script = script
        let server = self
        let channel = try ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let upgrader = NIOWebSocketServerUpgrader(
                    shouldUpgrade: { channel, head in
                        server.lock.withLock {
                            server._connections += 1
                            server._apiKeys.append(head.headers.first(name: "X-CMC_PRO_API_KEY") ?? "")
                        }
                        return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                    },
                    upgradePipelineHandler: { channel, _ in
                        let number = server.connections
                        return channel.pipeline.addHandler(ServerHandler(server: server, connectionNumber: number))
                    }
                )
                return channel.pipeline.configureHTTPServerPipeline(
                    withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
                )
            }
            .bind(host: "127.0.0.1", port: 0)
            .wait()
        self.port = channel.localAddress?.port ?? 0
    }

    func record(subscribe text: String) { self.lock.withLock { self._subscribes.append(text) } }

    func shutdown() { try? self.group.syncShutdownGracefully() }

    final class ServerHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame
        let server: ScriptedServer
        let connectionNumber: Int
        var pushed = 0

        init(server: ScriptedServer, connectionNumber: Int) {
            self.server = server
            self.connectionNumber = connectionNumber
        }

        func handlerAdded(context: ChannelHandlerContext) {
            if let code = self.server.script.closeOnConnect {
                // As RFC 6455 has it: send the close frame, close TCP once the client echoes it (or after 2 s),
                // so no unread data turns the close into a reset that could destroy the close frame.
                var data = context.channel.allocator.buffer(capacity: 2)
                data.writeInteger(code)
                context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
                let channel = context.channel
                context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
                return
            }
            self.send(context, #"{"type":"welcome","ping_interval_ms":10000}"#)
        }

        func send(_ context: ChannelHandlerContext, _ text: String) {
            let buffer = context.channel.allocator.buffer(string: text)
            context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            switch frame.opcode {
            case .text:
                let text = String(buffer: frame.unmaskedData)
                guard let request = try? JSONValue(parsing: Array(text.utf8)) else { return }
                let id = request["id"]?.int ?? 0
                switch request["method"]?.string {
                case "ping":
                    self.send(context, #"{"type":"pong","id":\#(id),"code":0,"ts":1}"#)
                case "subscribe":
                    self.server.record(subscribe: text)
                    let ids = request["params"]?["crypto_ids"]?.elements.compactMap(\.int) ?? []
                    self.send(context, #"{"type":"ack","id":\#(id),"code":0,"msg":"ok","channel":"market@crypto_latest_price","sub_count":\#(ids.count),"sub_limit":100}"#)
                    for n in 0..<self.server.script.pushes {
                        for cid in ids {
                            if self.connectionNumber == 1, let limit = self.server.script.dropFirstConnectionAfter, self.pushed >= limit {
                                context.close(promise: nil)  // abrupt: no close frame
                                return
                            }
                            self.send(context, #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":\#(cid)},"data":{"cid":\#(cid),"p":\#(Double(cid) + Double(n) / 8)},"ts":1778663880111}"#)
                            self.pushed += 1
                        }
                    }
                default:
                    self.send(context, #"{"type":"ack","id":\#(id),"code":0,"msg":"ok"}"#)
                }
            case .connectionClose:
                context.close(promise: nil)
            default:
                break
            }
        }
    }
}

// MARK: - Tests

@Suite(.serialized) struct StreamClientTests {
    static func configuration(_ server: ScriptedServer, key: String = "test-key") -> StreamClientConfiguration {
        var c = StreamClientConfiguration(url: "ws://127.0.0.1:\(server.port)/v1", apiKey: key)
        c.pool.session.backoffInitial = .milliseconds(50)
        c.seed = 1
        return c
    }

    /// Collects events until `predicate` holds or `timeout` passes; returns what arrived either way. The deadline
    /// is generous (30 s): it only bounds a failing run, a passing one returns as soon as the predicate holds.
    static func collect(
        _ client: StreamClient,
        timeout: Duration = .seconds(30),
        until predicate: @escaping @Sendable ([StreamEvent]) -> Bool
    ) async -> [StreamEvent] {
        let box = EventBox()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await e in client.events {
                    if predicate(box.append(e)) { return }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return box.events
    }

    static func prices(_ events: [StreamEvent]) -> [(Int64, Double)] {
        events.compactMap { e in
            guard case .message(let m, _) = e, case .data(let d) = m.frame, case .cryptoLatestPrice(let q) = d.payload else {
                return nil
            }
            return (q.cid, q.price ?? .nan)
        }
    }

    @Test func subscribesAndReceivesOverRealSockets() async throws {
        let server = try ScriptedServer(script: .init())
        defer { server.shutdown() }
        let client = try StreamClient(configuration: Self.configuration(server))
        let callbacks = Counter()
        client.onMessage { view in
            if view.frame.cryptoLatestPrice != nil { callbacks.increment() }
        }
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1), .cryptoLatestPrice(1027)])
        let events = await Self.collect(client) { Self.prices($0).count >= 6 }
        let prices = Self.prices(events)
        #expect(prices.count == 6)
        #expect(Set(prices.map(\.0)) == [1, 1027])
        #expect(prices.contains { $0 == (1027, 1027.25) })
        #expect(server.apiKeys.first == "test-key" && Set(server.apiKeys) == ["test-key"])
        // The callback saw every price the events did, no more, no fewer: counted once the client has stopped and
        // everything queued was taken (a reconnect under load makes the server send its prices again, so the
        // count itself is not fixed).
        await client.stop()
        var rest: [StreamEvent] = []
        for await e in client.events { rest.append(e) }
        #expect(callbacks.value == prices.count + Self.prices(rest).count)
    }

    @Test func invalidKeyIsFatalWithoutReconnecting() async throws {
        let server = try ScriptedServer(script: .init(closeOnConnect: 4100))
        defer { server.shutdown() }
        let client = try StreamClient(configuration: Self.configuration(server, key: "bad-key"))
        client.start()
        let subscribed = Task { try await client.subscribe([.cryptoLatestPrice(1)]) }
        let events = await Self.collect(client) { $0.contains { if case .session(.fatal, _) = $0 { true } else { false } } }
        #expect(events.contains { if case .session(.fatal(.closedByServer(4100, _)), _) = $0 { true } else { false } })
        await #expect(throws: StreamClientError.self) { try await subscribed.value }
        try await Task.sleep(for: .milliseconds(500))
        #expect(server.connections == 1)
    }

    @Test func dropMidStreamReconnectsResubscribesWithGaps() async throws {
        let server = try ScriptedServer(script: .init(dropFirstConnectionAfter: 2, pushes: 2))
        defer { server.shutdown() }
        let client = try StreamClient(configuration: Self.configuration(server))
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1), .cryptoLatestPrice(1027)])
        let events = await Self.collect(client) { events in
            events.contains { if case .session(.restored, _) = $0 { true } else { false } } && Self.prices(events).count >= 6
        }
        #expect(server.connections == 2)
        #expect(server.subscribes.count == 2)
        let gaps = events.compactMap { e -> Subscription? in
            if case .session(.gap(let s, _, _, _), _) = e { s } else { nil }
        }
        #expect(Set(gaps) == [.cryptoLatestPrice(1), .cryptoLatestPrice(1027)])
        #expect(events.contains { if case .session(.reconnecting(1, _, _), _) = $0 { true } else { false } })
        // Every gap marker comes before the data that follows the interruption.
        let firstGap = events.firstIndex { if case .session(.gap, _) = $0 { true } else { false } }!
        let reconnect = events.firstIndex { if case .session(.reconnecting, _) = $0 { true } else { false } }!
        let dataAfterReconnect = events[reconnect...].firstIndex { if case .message = $0 { true } else { false } }!
        #expect(firstGap < dataAfterReconnect)
        await client.stop()
    }

    @Test func keyAndURLAreValidatedWithoutLeakingTheKey() {
        let secret = "abc\r\nX-Injected: 1"
        #expect(throws: StreamClientError.invalidAPIKey) {
            try StreamClient(configuration: StreamClientConfiguration(url: "ws://127.0.0.1:1/v1", apiKey: secret))
        }
        #expect(!StreamClientError.invalidAPIKey.description.contains("abc"))
        #expect(!StreamClientConfiguration(apiKey: "supersecret").description.contains("supersecret"))
        #expect(throws: StreamClientError.self) {
            try StreamClient(configuration: StreamClientConfiguration(url: "http://x/v1", apiKey: "k"))
        }
    }
}

final class EventBox: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [StreamEvent] = []
    func append(_ e: StreamEvent) -> [StreamEvent] { self.lock.withLock { self.list.append(e); return self.list } }
    var events: [StreamEvent] { self.lock.withLock { self.list } }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { self.lock.withLock { self.n += 1 } }
    var value: Int { self.lock.withLock { self.n } }
}
