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

// MARK: - A hostile but legal server

/// A loopback server that sends what the reference allows but a strict client would choke on, scripted per test
/// by one closure per request. Hand-written on purpose: the simulator shares StreamKit's own validation code, so a
/// departure in that code would pass against it.
final class LegalServer: @unchecked Sendable {
    struct Script: @unchecked Sendable {
        /// The welcome frame sent after the upgrade.
        var welcome = #"{"type":"welcome","ping_interval_ms":10000}"#
        /// An HTTP status refusing the upgrade of connection `n` (1-based), or nil to upgrade it.
        var refuse: (Int) -> HTTPResponseStatus? = { _ in nil }
        /// Closes connection `n` with this code this long after the upgrade, or nil.
        var closeAfter: (Int) -> (Duration, UInt16)? = { _ in nil }
        /// Answers one request (its JSON, its id, the connection number, how many of this method came before on
        /// any connection): the frames to send.
        var answer: (JSONValue, Int, Int, Int) -> [String] = { request, id, _, _ in
            [#"{"type":"ack","id":\#(id),"code":0,"msg":"ok"}"#]
        }
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private(set) var port = 0
    private let lock = NSLock()
    private var _attempts = 0
    private var _upgraded = 0
    private var _methods: [String: Int] = [:]
    let script: Script

    /// Upgrade requests received (refused ones included), connections upgraded, requests by method.
    var attempts: Int { self.lock.withLock { self._attempts } }
    var upgraded: Int { self.lock.withLock { self._upgraded } }
    func count(_ method: String) -> Int { self.lock.withLock { self._methods[method] ?? 0 } }

    init(_ script: Script) throws {
        self.script = script
        let server = self
        let channel = try ServerBootstrap(group: self.group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                // Decided per connection as it is accepted: a refused one gets a plain HTTP pipeline that answers
                // the upgrade request with the scripted status; the others the WebSocket upgrade.
                let n = server.lock.withLock { server._attempts += 1; return server._attempts }
                if let status = server.script.refuse(n) {
                    return channel.pipeline.configureHTTPServerPipeline().flatMap {
                        channel.pipeline.addHandler(Refuser(status: status))
                    }
                }
                let upgrader = NIOWebSocketServerUpgrader(
                    shouldUpgrade: { channel, _ in
                        server.lock.withLock { server._upgraded += 1 }
                        return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
                    },
                    upgradePipelineHandler: { channel, _ in
                        channel.pipeline.addHandler(Handler(server: server, connection: n))
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

    func shutdown() { try? self.group.syncShutdownGracefully() }

    var url: String { "ws://127.0.0.1:\(self.port)/v1" }

    func counted(_ method: String) -> Int {
        self.lock.withLock {
            defer { self._methods[method, default: 0] += 1 }
            return self._methods[method] ?? 0
        }
    }

    /// Answers the upgrade request of a refused connection with the scripted status, then closes.
    final class Refuser: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let status: HTTPResponseStatus
        init(status: HTTPResponseStatus) { self.status = status }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = self.unwrapInboundIn(data) else { return }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: "0")
            headers.add(name: "Connection", value: "close")
            context.write(self.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: self.status, headers: headers))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        }
    }

    final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame
        let server: LegalServer
        let connection: Int

        init(server: LegalServer, connection: Int) {
            self.server = server
            self.connection = connection
        }

        func handlerAdded(context: ChannelHandlerContext) {
            self.send(context, self.server.script.welcome)
            if let (after, code) = self.server.script.closeAfter(self.connection) {
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: .nanoseconds(after.nanoseconds)) {
                    let context = loopBound.value
                    var data = context.channel.allocator.buffer(capacity: 2)
                    data.writeInteger(code)
                    context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: nil)
                }
            }
        }

        func send(_ context: ChannelHandlerContext, _ text: String) {
            let buffer = context.channel.allocator.buffer(string: text)
            context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .text, data: buffer)), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = self.unwrapInboundIn(data)
            switch frame.opcode {
            case .text:
                guard let request = try? JSONValue(parsing: Array(String(buffer: frame.unmaskedData).utf8)) else { return }
                let id = Int(request["id"]?.int ?? 0)
                let method = request["method"]?.string ?? ""
                let before = self.server.counted(method)
                if method == "ping" {
                    self.send(context, #"{"type":"pong","id":\#(id),"code":0,"ts":1}"#)
                    return
                }
                for text in self.server.script.answer(request, id, self.connection, before) { self.send(context, text) }
            case .connectionClose:
                context.close(promise: nil)
            default:
                break
            }
        }
    }
}

func pricePush(_ cid: Int64, echo: String? = nil, p: String = "1.5") -> String {
    #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":\#(echo ?? String(cid))},"data":{"cid":\#(cid),"p":\#(p)},"ts":1778663880111}"#
}

// MARK: - Tests

/// Every fault the reference allows hurts only what it touches: over real sockets, against ``LegalServer``.
@Suite(.serialized) struct ToleranceServerTests {
    static func client(_ server: LegalServer, _ adjust: (inout StreamClientConfiguration) -> Void = { _ in }) throws -> StreamClient {
        var c = StreamClientConfiguration(url: server.url, apiKey: "legal-test-key")
        c.pool.session.backoffInitial = .milliseconds(50)
        c.seed = 1
        adjust(&c)
        return try StreamClient(configuration: c)
    }

    static func count(_ events: [StreamEvent], _ match: (StreamEvent) -> Bool) -> Int { events.filter(match).count }
    static func isReconnect(_ e: StreamEvent) -> Bool { if case .session(.reconnecting, _) = e { true } else { false } }

    /// 2: a 1006 answering one on-chain subscribe fails that subscription only; prices keep flowing on the same
    /// connection.
    @Test func planErrorForOneSubscribeLeavesTheRestFlowing() async throws {
        let server = try LegalServer(.init(answer: { request, id, _, _ in
            if request["channel"]?.string == "onchain@transaction" {
                return [#"{"type":"error","id":\#(id),"status":{"error_code":1006,"category":"AUTH","error_message":"Your plan does not support this endpoint."}}"#]
            }
            let ack = #"{"type":"ack","id":\#(id),"code":0,"msg":"ok"}"#
            return request["method"]?.string == "subscribe" ? [ack] + (0..<5).map { _ in pricePush(1) } : [ack]
        }))
        defer { server.shutdown() }
        let client = try Self.client(server)
        client.start()
        let swaps = try Subscription(channel: .transaction, target: .address(platformID: 14, address: "0x1111111111111111111111111111111111111111"))
        await #expect(throws: StreamClientError.self) { try await client.subscribe([swaps]) }
        try await client.subscribe([.cryptoLatestPrice(1)])
        let events = await StreamClientTests.collect(client) { StreamClientTests.prices($0).count >= 5 }
        #expect(StreamClientTests.prices(events).count >= 5)
        #expect(server.upgraded == 1)
        #expect(Self.count(events, Self.isReconnect) == 0)
        await client.stop()
    }

    /// 2: a 5001 answering a subscribe is retried with backoff on the same connection, then acked: data flows and
    /// the subscription never failed.
    @Test func serverErrorThenAckIsRetried() async throws {
        let server = try LegalServer(.init(answer: { request, id, _, before in
            guard request["method"]?.string == "subscribe" else { return [#"{"type":"ack","id":\#(id),"code":0,"msg":"ok"}"#] }
            if before == 0 { return [#"{"type":"error","id":\#(id),"status":{"error_code":5001,"category":"SERVER","error_message":"Internal server error."}}"#] }
            return [#"{"type":"ack","id":\#(id),"code":0,"msg":"ok"}"#] + (0..<3).map { _ in pricePush(1) }
        }))
        defer { server.shutdown() }
        let client = try Self.client(server)
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1)])
        let events = await StreamClientTests.collect(client) { StreamClientTests.prices($0).count >= 3 }
        #expect(StreamClientTests.prices(events).count >= 3)
        #expect(server.count("subscribe") == 2 && server.upgraded == 1)
        #expect(!events.contains { if case .session(.subscriptionFailed, _) = $0 { true } else { false } })
        await client.stop()
    }

    /// 3: a long ping interval and no data: the connection lives on its pongs (liveness is three intervals, not
    /// the configured 0.5 s floor). Waits four intervals: a kill would have come after half a second.
    @Test func longPingIntervalWithoutDataIsNotSilent() async throws {
        let server = try LegalServer(.init(welcome: #"{"type":"welcome","ping_interval_ms":1000}"#))
        defer { server.shutdown() }
        let client = try Self.client(server) { $0.pool.session.livenessTimeout = .milliseconds(500) }
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1)])
        let events = await StreamClientTests.collect(client, timeout: .seconds(4)) { $0.contains(where: Self.isReconnect) }
        #expect(Self.count(events, Self.isReconnect) == 0, "\(events)")
        #expect(server.upgraded == 1 && server.count("ping") >= 2)
        await client.stop()
    }

    /// 4: acked but never pushed: stale reports with growing periods, and exactly `staleResubscribes`
    /// re-subscriptions, then none.
    @Test func staleIdCostsABoundedNumberOfResubscriptions() async throws {
        let server = try LegalServer(.init())
        defer { server.shutdown() }
        let client = try Self.client(server) {
            $0.pool.session.priceStaleAfter = .milliseconds(300)
            $0.pool.session.staleCap = .milliseconds(1200)
            $0.pool.session.staleResubscribes = 2
        }
        client.start()
        try await client.subscribe([.cryptoLatestPrice(424_242)])
        let events = await StreamClientTests.collect(client) { events in
            events.filter { if case .session(.stale, _) = $0 { true } else { false } }.count >= 5
        }
        #expect(events.filter { if case .session(.stale, _) = $0 { true } else { false } }.count >= 5)
        #expect(server.count("subscribe") == 1 + 2, "subscribes: \(server.count("subscribe"))")
        #expect(server.upgraded == 1)
        await client.stop()
    }

    /// 6: an array echo is attributed by the payload's own `cid`.
    @Test func arrayEchoIsAttributedByThePayload() async throws {
        let server = try LegalServer(.init(answer: { request, id, _, _ in
            let ack = #"{"type":"ack","id":\#(id),"code":0,"msg":"ok","params":{"crypto_ids":[1,1027]}}"#
            guard request["method"]?.string == "subscribe" else { return [ack] }
            return [ack, pricePush(1027, echo: "[1,1027]"), pricePush(1, echo: "[1,1027]"), pricePush(1027, echo: "[1,1027]")]
        }))
        defer { server.shutdown() }
        let client = try Self.client(server)
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1), .cryptoLatestPrice(1027)])
        let events = await StreamClientTests.collect(client) { StreamClientTests.prices($0).count >= 3 }
        let attributed = events.compactMap { e -> (Int64, Subscription?)? in
            guard case .message(let m, let s) = e, case .data(let d) = m.frame, case .cryptoLatestPrice(let q) = d.payload else { return nil }
            return (q.cid, s)
        }
        #expect(attributed.count == 3)
        for (cid, s) in attributed { #expect(s == .cryptoLatestPrice(cid)) }
        await client.stop()
    }

    /// 7: 401 refusals surface with their status and end the client after `refusalsBeforeFatal`; 429 is retried.
    @Test func httpRefusalsSurfaceAndEndTheClient() async throws {
        let server = try LegalServer(.init(refuse: { _ in .unauthorized }))
        defer { server.shutdown() }
        let client = try Self.client(server)
        client.start()
        let subscribing = Task { try? await client.subscribe([.cryptoLatestPrice(1)]) }
        let events = await StreamClientTests.collect(client) { $0.contains { if case .session(.fatal, _) = $0 { true } else { false } } }
        #expect(events.contains { if case .session(.fatal(.refused(httpStatus: 401)), _) = $0 { true } else { false } }, "\(events)")
        #expect(events.contains { if case .session(.reconnecting(_, _, .refused(httpStatus: 401)), _) = $0 { true } else { false } })
        #expect(server.attempts == SessionConfiguration().refusalsBeforeFatal && server.upgraded == 0)
        subscribing.cancel()
        await client.stop()

        let limited = try LegalServer(.init(refuse: { n in n == 1 ? .tooManyRequests : nil }))
        defer { limited.shutdown() }
        let again = try Self.client(limited) { $0.pool.session.connectionLimitDelay = .milliseconds(200) }
        again.start()
        let subscribing2 = Task { try? await again.subscribe([.cryptoLatestPrice(1)]) }
        let events2 = await StreamClientTests.collect(again) { $0.contains { if case .session(.connected, _) = $0 { true } else { false } } }
        #expect(events2.contains { if case .session(.reconnecting(_, let delay, .refused(httpStatus: 429)), _) = $0 { delay >= .milliseconds(200) } else { false } })
        #expect(limited.upgraded == 1)
        subscribing2.cancel()
        await again.stop()
    }

    /// 8: connections that are healthy but quiet (acked, pongs, no data) reset the backoff: every reconnect after
    /// one is attempt 1 again.
    @Test func quietHealthyConnectionsResetTheBackoff() async throws {
        let server = try LegalServer(.init(
            welcome: #"{"type":"welcome","ping_interval_ms":1000}"#,
            closeAfter: { _ in (.milliseconds(1500), 1011) }
        ))
        defer { server.shutdown() }
        let client = try Self.client(server) { $0.pool.session.healthyAfter = .milliseconds(700) }
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1)])
        let events = await StreamClientTests.collect(client) { $0.filter(Self.isReconnect).count >= 3 }
        let attempts = events.compactMap { e -> Int? in if case .session(.reconnecting(let n, _, _), _) = e { n } else { nil } }
        #expect(attempts.count >= 3 && attempts.allSatisfy { $0 == 1 }, "\(attempts)")
        await client.stop()
    }

    /// 1: payloads the reference allows (null price, a holder variant without `ts`, an optional field of another
    /// JSON type, a data frame without `channel`) are delivered on the same connection; none counts as invalid.
    @Test func tolerablePayloadsAreDeliveredOnOneConnection() async throws {
        let holder = #"{"type":"data","channel":"onchain@holders_metrics","params":{"platform_id":14,"address":"0x1111111111111111111111111111111111111111"},"data":{"pid":14,"a":"0x1111111111111111111111111111111111111111","tp":"holder_count","hc":12}}"#
        let frames = [
            pricePush(1, p: "null"),
            #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":2.5,"vu":"12.5"},"ts":1778663880111}"#,
            #"{"type":"data","params":{"crypto_ids":1},"data":{"cid":1,"p":3.5},"ts":1778663880111}"#,
            pricePush(1, p: "4.5"),
        ]
        let server = try LegalServer(.init(answer: { request, id, _, _ in
            let ack = #"{"type":"ack","id":\#(id),"code":0,"msg":"ok"}"#
            guard request["method"]?.string == "subscribe" else { return [ack] }
            return request["channel"]?.string == "onchain@holders_metrics" ? [ack, holder] : [ack] + frames
        }))
        defer { server.shutdown() }
        let client = try Self.client(server)
        client.start()
        let holders = try Subscription(channel: .holdersMetrics, target: .address(platformID: 14, address: "0x1111111111111111111111111111111111111111"))
        try await client.subscribe([.cryptoLatestPrice(1), holders])
        let events = await StreamClientTests.collect(client) { events in
            events.filter { if case .message = $0 { true } else { false } }.count >= 5
        }
        var prices: [Double?] = []
        var holderKinds = 0
        for case .message(let m, let s) in events {
            guard case .data(let d) = m.frame else { continue }
            switch d.payload {
            case .cryptoLatestPrice(let q):
                prices.append(q.price)
                #expect(s == .cryptoLatestPrice(1))
                if q.price == 2.5 { #expect(q.vu == nil && q.isMistyped(.vu)) }
            case .holdersMetrics(let h):
                holderKinds += 1
                #expect(h.ts == nil && s == holders)
            default: break
            }
        }
        #expect(prices == [nil, 2.5, 3.5, 4.5], "\(prices)")
        #expect(holderKinds == 1)
        #expect(server.upgraded == 1)
        let metrics = await client.metrics()
        #expect(metrics.invalidFrames == 0)
        #expect(metrics.subscriptions[.cryptoLatestPrice(1)]?.degradedFields == 1)  // the "vu":"12.5"
        #expect(metrics.subscriptions[holders]?.degradedFields == 0)
        await client.stop()
    }

    /// 5: a swap between two subscribed tokens reaches both tokens' consumers: delivered once (the second leg is a
    /// duplicate), carrying both subscriptions.
    @Test func swapBetweenTwoSubscribedTokensCarriesBoth() async throws {
        let a = "0x1111111111111111111111111111111111111111"
        let b = "0x2222222222222222222222222222222222222222"
        func leg(_ echo: String) -> String {
            #"{"type":"data","channel":"onchain@transaction","params":{"platform_id":14,"address":"\#(echo)"},"data":{"pid":14,"tx":"0xfeed","lgid":3,"tp":"buy","t0a":"\#(a)","t1a":"\#(b)","vu":10.5},"ts":1778663880111}"#
        }
        let server = try LegalServer(.init(answer: { request, id, _, before in
            let ack = #"{"type":"ack","id":\#(id),"code":0,"msg":"ok"}"#
            guard request["method"]?.string == "subscribe" else { return [ack] }
            return before == 1 ? [ack, leg(a), leg(b)] : [ack]  // both legs once both tokens are subscribed
        }))
        defer { server.shutdown() }
        let client = try Self.client(server)
        client.start()
        let subA = try Subscription(channel: .transaction, target: .address(platformID: 14, address: a))
        let subB = try Subscription(channel: .transaction, target: .address(platformID: 14, address: b))
        try await client.subscribe([subA])
        try await client.subscribe([subB])
        // Until the first delivery, then a second more for a second one (the later leg was sent right behind it).
        var events = await StreamClientTests.collect(client) { $0.contains { if case .message = $0 { true } else { false } } }
        events += await StreamClientTests.collect(client, timeout: .seconds(1)) { _ in false }
        let swaps = events.compactMap { e -> (Message, Subscription?)? in if case .message(let m, let s) = e { (m, s) } else { nil } }
        #expect(swaps.count == 1, "\(swaps.count) deliveries")
        #expect(swaps.first?.1 == subA)
        #expect(swaps.first.map { Set($0.0.subscriptions) } == [subA, subB])
        #expect(await client.metrics().duplicatesSuppressed == 1)
        await client.stop()
    }
}

