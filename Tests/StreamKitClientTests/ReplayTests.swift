// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import StreamKit
import StreamKitCapture
import StreamKitClient
import StreamKitSimulator
import Testing

/// `streamkit sim --replay`: a capture served back over the protocol. Part of ``CaptureTests`` (same process, same
/// memory lock): recorded from the simulator, served, recorded again through the client.
extension CaptureTests {
    /// What the simulator's market is recorded with: three price ids and one token's swaps and 1m candles.
    static let recorded: [Subscription] = [
        .cryptoLatestPrice(1), .cryptoLatestPrice(1027), .cryptoLatestPrice(74),
        try! Subscription(channel: .transaction, target: .address(platformID: 14, address: "0x00000000000000000000000000000000000000aa")),
        try! Subscription(channel: .kline, target: .address(platformID: 14, address: "0x00000000000000000000000000000000000000aa"), interval: "1m"),
    ]

    /// Records what `subs` deliver from `url` into `path` through a client (as `streamkit record` does) until
    /// `done` holds; `during` runs once the first data arrived.
    static func record(_ url: String, key: String, _ subs: [Subscription], into path: String,
                       during: (@Sendable () async throws -> Void)? = nil,
                       until done: @escaping @Sendable (_ data: Int, _ reconnects: [DisconnectReason]) -> Bool) async throws -> CaptureWriter.Summary {
        let writer = try CaptureWriter(options: .init(path: path), url: url, subscriptions: subs)
        var config = StreamClientConfiguration(url: url, apiKey: key)
        config.pool.session.backoffInitial = .milliseconds(50)
        let client = try StreamClient(configuration: config, messagesInEvents: false)
        let data = Counter()
        let reasons = NIOLockedList<DisconnectReason>()
        client.onSessionEvent { event, connection, now in
            writer.write(event, connection: connection, now: now)
            if case .reconnecting(_, _, let reason) = event { reasons.append(reason) }
        }
        client.onRawFrame { bytes, connection in writer.write(frame: bytes, connection: connection) }
        client.onMessage { _ in data.increment() }
        client.start()
        try await client.subscribe(subs)
        #expect(try await Self.wait { data.value > 0 }, "no data from \(url)")
        try await during?()
        #expect(try await Self.wait(.seconds(60)) { done(data.value, reasons.all) }, "recording from \(url): \(data.value) messages, reconnects \(reasons.all)")
        await client.stop()
        return try writer.close()
    }

    /// The data frames of a capture, as text in file order; with `only`, those sent for one of its subscriptions
    /// (what a server with the capture's subscribers would have sent them).
    static func dataFrames(_ path: String, only: [Subscription]? = nil) throws -> [String] {
        let reader = try CaptureReader([path])
        let decoder = FrameDecoder()
        let index = only.map { SubscriptionIndex($0, dedupeWindow: 0) }
        var frame = DecodedFrame()
        var out: [String] = []
        while let record = try reader.next() {
            guard case .frame(_, _, let bytes) = record, (try? decoder.decode(bytes, into: &frame)) != nil, frame.kind == .data else { continue }
            if let index, index.sentFor(frame, bytes: bytes) == nil { continue }
            out.append(String(decoding: bytes, as: UTF8.self))
        }
        return out
    }

    @Test func aRecordedMinuteServedBackIsTheRecordedFramesForTheSubscribedTargetsOnly() async throws {
        try await ProcessMemoryLock.run { try await Self.aRecordedMinuteServedBackBody() }
    }

    static func aRecordedMinuteServedBackBody() async throws {
        defer { Self.trim() }
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }

        // 1. A simulated minute (6 s of wall time at speed 10) with a close 1011 and a drop in it.
        var sc = SimulatorConfiguration(keys: ["k": .active])
        sc.speed = 10
        let market = try await SimulatorServer.start(configuration: sc)
        let original = dir + "/minute.ndjson.zst"
        let start = market.simulatedTimeMS
        _ = try await Self.record(market.url, key: "k", Self.recorded, into: original, during: {
            try await Task.sleep(for: .seconds(1))
            market.inject(.close(code: 1011))
            try await Task.sleep(for: .seconds(1))
            market.inject(.drop)
        }) { _, reconnects in reconnects.count >= 2 && market.simulatedTimeMS - start >= 60_000 }
        market.stop()
        let all = try Self.dataFrames(original)
        let prices: [Subscription] = [.cryptoLatestPrice(1), .cryptoLatestPrice(74)]
        let swaps = [Self.recorded[3]]
        let expectedPrices = try Self.dataFrames(original, only: prices)
        let expectedSwaps = try Self.dataFrames(original, only: swaps)
        #expect(expectedPrices.count >= 10 && expectedSwaps.count >= 3 && all.count > expectedPrices.count + expectedSwaps.count,
                "the recording is too thin to test with: \(all.count) frames, \(expectedPrices.count) prices, \(expectedSwaps.count) swaps")

        // 2. Served as fast as the client reads, to a client subscribed to two of the three ids: exactly their
        // recorded frames, in order, byte for byte (the recorded `ts` included).
        var rc = SimulatorConfiguration(keys: ["r": .active])
        rc.replay = ReplayConfiguration(paths: [original], pace: .max)
        let fast = try await SimulatorServer.start(configuration: rc)
        let again = dir + "/again.ndjson"
        _ = try await Self.record(fast.url, key: "r", prices, into: again) { data, _ in
            fast.replayProgress?.finished == true && data >= expectedPrices.count
        }
        let progress = try #require(fast.replayProgress)
        fast.stop()
        #expect(try Self.dataFrames(again) == expectedPrices)
        #expect(progress.dataFrames == all.count && progress.served == expectedPrices.count && progress.error == nil, "\(progress)")
        #expect(progress.unsubscribed == all.count - expectedPrices.count)

        // 3. At the recorded pace (twice as fast), the swaps: the recorded ones, and the replay takes at least the
        // recorded span over two.
        rc = SimulatorConfiguration(keys: ["r": .active])
        rc.speed = 2
        rc.replay = ReplayConfiguration(paths: [original])
        let paced = try await SimulatorServer.start(configuration: rc)
        let swapsAgain = dir + "/swaps.ndjson"
        let began = ContinuousClock.now
        _ = try await Self.record(paced.url, key: "r", swaps, into: swapsAgain) { data, _ in
            paced.replayProgress?.finished == true && data >= expectedSwaps.count
        }
        let took = ContinuousClock.now - began
        paced.stop()
        #expect(try Self.dataFrames(swapsAgain) == expectedSwaps)
        let span = try Self.span(original)
        #expect(took >= .nanoseconds(span / 2), "served \(span / 1_000_000) ms of capture in \(took) at speed 2")

        // 4. With the recorded outages: the close 1011 reaches the client as the recording had it.
        rc = SimulatorConfiguration(keys: ["r": .active])
        rc.speed = 2
        rc.replay = ReplayConfiguration(paths: [original], faults: true)
        let faulty = try await SimulatorServer.start(configuration: rc)
        _ = try await Self.record(faulty.url, key: "r", prices, into: dir + "/faults.ndjson") { _, reconnects in
            faulty.replayProgress?.finished == true && reconnects.contains { if case .closedByServer(1011, _) = $0 { true } else { false } }
        }
        #expect(faulty.replayProgress?.faults == (try Self.closes(original)))
        faulty.stop()
    }

    /// The `closed` lines of a capture.
    static func closes(_ path: String) throws -> Int {
        let reader = try CaptureReader([path])
        var n = 0
        while let record = try reader.next() {
            if case .event(let e) = record, e.kind == .closed { n += 1 }
        }
        return n
    }

    /// Time from a capture's first frame to its last, ns.
    static func span(_ path: String) throws -> Int64 {
        let reader = try CaptureReader([path])
        var first: Int64?
        var last: Int64 = 0
        while let record = try reader.next() {
            if case .frame(let t, _, _) = record {
                first = first ?? t
                last = t
            }
        }
        return last - (first ?? last)
    }

    /// The pure replay: what is due when, events as faults, loops, and a capture that cannot be read.
    @Test func theReplayServesEachRecordWhenItIsDueAndLoops() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/c.ndjson"
        let t0: Int64 = 1_700_000_000_000_000_000
        let w = try CaptureWriter(options: .init(path: path), url: "ws://h/v1", subscriptions: [.cryptoLatestPrice(1)], clock: { t0 })
        func frame(_ text: String, at ms: Int64) {
            Array(text.utf8).withUnsafeBytes { w.write(frame: $0, connection: 1, time: t0 + ms * 1_000_000) }
        }
        w.write(CaptureEvent(time: t0, kind: .connected, connection: 1))
        frame(#"{"type":"welcome","ping_interval_ms":10000}"#, at: 0)
        frame(#"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":1.5},"ts":1}"#, at: 10)
        w.write(CaptureEvent(time: t0 + 500_000_000, kind: .closed, connection: 1, code: 1012, text: "closed by server 1012"))
        frame(#"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":2.5},"ts":2}"#, at: 1010)
        frame(#"{"type":"data","channel":"#, at: 1020)
        _ = try w.close()

        var config = ReplayConfiguration(paths: [path], loop: true, faults: true, startDelay: .zero)
        let replay = try CaptureReplay(config, speed: 2)
        #expect(replay.next(wallNS: 0) == nil)  // not started: nothing is due
        replay.start(wallNS: 1_000)
        func due(_ wallMS: Int64) -> [String] {
            var out: [String] = []
            while let step = replay.next(wallNS: 1_000 + wallMS * 1_000_000) {
                switch step {
                case .data(let f, _): out.append("p=\(f.pointee.cryptoLatestPrice?.p ?? -1)")
                case .fault(let fault): out.append("\(fault)")
                }
            }
            return out
        }
        // The capture's clock runs from its first line (an event, then the welcome: a control frame, not served),
        // twice as fast.
        #expect(due(0) == [])
        #expect(due(5) == ["p=1.5"])
        #expect(due(249) == [])
        #expect(due(250) == ["close 1012"])
        #expect(due(505) == ["p=2.5"])
        #expect(due(510) == [])  // the cut frame (counted invalid), then the end: the loop starts again
        #expect(replay.progress.invalidFrames == 1 && replay.progress.controlFrames == 2 && replay.progress.loops == 1)
        #expect(due(514) == [])
        #expect(due(515) == ["p=1.5"])  // the second pass runs from the wall instant the first ended
        #expect(replay.progress.dataFrames == 3 && !replay.progress.finished)

        // Without a loop, the end is the end; without faults, the close is not reproduced.
        config.loop = false
        config.faults = false
        let once = try CaptureReplay(config, speed: 1)
        once.start(wallNS: 0)
        var steps = 0
        while once.next(wallNS: 10_000_000_000) != nil { steps += 1 }
        #expect(steps == 2 && once.progress.finished && once.progress.error == nil)
        #expect(once.next(wallNS: .max) == nil)

        // A file that is not there fails the start, with its name.
        #expect(throws: CaptureError.self) { try CaptureReplay(ReplayConfiguration(paths: [dir + "/missing.ndjson"])) }
        // One that is zstd by its magic but corrupt after it is served up to the damage (nothing, here), and says so.
        try Data([0x28, 0xB5, 0x2F, 0xFD] + Array(repeating: 0xA5, count: 64)).write(to: URL(fileURLWithPath: dir + "/bad.ndjson.zst"))
        let bad = try CaptureReplay(ReplayConfiguration(paths: [dir + "/bad.ndjson.zst"], startDelay: .zero))
        bad.start(wallNS: 0)
        #expect(bad.next(wallNS: 1) == nil)
        #expect(bad.progress.finished && bad.progress.dataFrames == 0 && (bad.progress.truncatedFiles == 1 || bad.progress.error != nil), "\(bad.progress)")
        #expect(CaptureReplay.fault(reproducing: CaptureEvent(time: 0, kind: .closed, connection: 1, code: 1006)) == .drop)
        #expect(CaptureReplay.fault(reproducing: CaptureEvent(time: 0, kind: .closed, connection: 1, code: 401)) == .drop)
        #expect(CaptureReplay.fault(reproducing: CaptureEvent(time: 0, kind: .serverError, connection: 1, code: 5001)) == .internalError)
        #expect(CaptureReplay.fault(reproducing: CaptureEvent(time: 0, kind: .gap, connection: 1)) == nil)
    }
}

/// A list several threads append to.
final class NIOLockedList<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func append(_ item: T) { self.lock.withLock { self.items.append(item) } }
    var all: [T] { self.lock.withLock { self.items } }
}
