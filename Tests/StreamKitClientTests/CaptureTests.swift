// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Foundation
import StreamKit
import StreamKitCapture
import StreamKitClient
import StreamKitSimulator
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Captures: recorded from the simulator through faults and read back, compressed or not; rotation; cut files; the
/// line format itself.
///
/// The tests that allocate megabytes hold ``ProcessMemoryLock`` (the suite's soak bounds the whole process's RSS
/// growth) and hand the memory they freed back to the system when they end (`malloc_trim`: glibc keeps freed
/// pages of other threads' arenas resident otherwise).
@Suite(.serialized) struct CaptureTests {
    init() {}

    static func trim() {
        #if canImport(Glibc)
        // malloc.h is not in the Glibc module: look the function up.
        typealias Trim = @convention(c) (Int) -> Int32
        if let f = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") { _ = unsafeBitCast(f, to: Trim.self)(0) }
        #endif
    }

    static func directory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streamkit-capture-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Polls `condition` until it holds; false after `timeout` (which only bounds a failing run).
    static func wait(_ timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    /// Every item of a capture, as one comparable line each.
    static func story(_ paths: [String]) throws -> [String] {
        let m = try CaptureMessages(paths)
        var out: [String] = []
        while let item = try m.next() {
            switch item {
            case .message(let t, let c, let frame, _, let subs):
                out.append("data t=\(t) c=\(c) cid=\(frame.pointee.cryptoLatestPrice?.cid ?? -1) ts=\(frame.pointee.ts ?? -1) subs=\(Array(subs))")
            case .event(let e):
                out.append("\(e.kind) c=\(e.connection) code=\(e.code ?? -1) sub=\(e.subscription.map { "\($0)" } ?? "-") t=\(e.time)")
            case .header(let h, _):
                out.append("header \(h.subscriptions.count) \(h.url) part=\(h.part)")
            case .truncated(_, let offset, let detail):
                out.append("truncated \(offset) \(detail)")
            }
        }
        return out
    }

    @Test func recordingThroughFaultsReplaysTheStoryCompressedOrNot() async throws {
        try await ProcessMemoryLock.run { try await Self.recordingThroughFaultsReplaysTheStoryCompressedOrNotBody() }
    }

    static func recordingThroughFaultsReplaysTheStoryCompressedOrNotBody() async throws {
        defer { Self.trim() }
        let key = "capture-secret-7f3a9c"
        var sc = SimulatorConfiguration(keys: [key: .active])
        sc.speed = 10
        let sim = try await SimulatorServer.start(configuration: sc)
        defer { sim.stop() }
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let subs: [Subscription] = [.cryptoLatestPrice(1), .cryptoLatestPrice(1027)]
        // The URL as a careless user might give it, with the key in its query: it must not reach the file.
        let url = sim.url + "?CMC_PRO_API_KEY=\(key)"
        // One recording written twice: every line gets the same time in both (the header's start from this clock).
        let opened = CaptureClock.realtimeNS()
        let plain = try CaptureWriter(options: .init(path: dir + "/r.ndjson"), url: url, subscriptions: subs, clock: { opened })
        let zstd = try CaptureWriter(options: .init(path: dir + "/r.ndjson.zst"), url: url, subscriptions: subs, clock: { opened })
        var config = StreamClientConfiguration(url: sim.url, apiKey: key)
        config.pool.session.backoffInitial = .milliseconds(50)
        let client = try StreamClient(configuration: config, messagesInEvents: false)
        let reconnects = Counter()
        let data = Counter()
        client.onSessionEvent { event, connection, now in
            let t = CaptureClock.realtimeNS()
            plain.write(event, connection: connection, now: now, time: t)
            zstd.write(event, connection: connection, now: now, time: t)
            if case .reconnecting = event { reconnects.increment() }
        }
        client.onRawFrame { bytes, connection in
            let t = CaptureClock.realtimeNS()
            plain.write(frame: bytes, connection: connection, time: t)
            zstd.write(frame: bytes, connection: connection, time: t)
        }
        client.onMessage { _ in data.increment() }
        client.start()
        try await client.subscribe(subs)
        #expect(try await Self.wait { data.value >= 4 })
        sim.inject(.drop)
        #expect(try await Self.wait { reconnects.value >= 1 })
        let afterDrop = data.value
        #expect(try await Self.wait { data.value >= afterDrop + 4 })
        sim.inject(.close(code: 1011))
        #expect(try await Self.wait { reconnects.value >= 2 })
        let afterClose = data.value
        #expect(try await Self.wait { data.value >= afterClose + 4 })
        await client.stop()
        let a = try plain.close()
        let b = try zstd.close()
        #expect(a.frames == b.frames && a.events == b.events && a.lineBytes == b.lineBytes)
        #expect(b.fileBytes < b.lineBytes)

        // The same recording, compressed or not, reads identically.
        let story = try Self.story([dir + "/r.ndjson"])
        #expect(story == (try Self.story([dir + "/r.ndjson.zst"])))
        #expect(story.first == "header 2 \(sim.url) part=0")
        #expect(story.filter { $0.hasPrefix("data") }.count == data.value)

        // The outages are where they happened: a close (1006 for the drop, then 1011), a reconnect, and a gap
        // marker for each subscription before its first data after the outage.
        for code in [1006, 1011] {
            guard let closed = story.firstIndex(where: { $0.hasPrefix("closed") && $0.contains("code=\(code) ") }) else {
                Issue.record("no closed line with code \(code):\n\(story.joined(separator: "\n"))")
                continue
            }
            #expect(story[closed + 1].hasPrefix("reconnecting"))
            for s in subs {
                let gap = story[closed...].firstIndex { $0.hasPrefix("gap") && $0.contains("sub=\(s)") }
                let next = story[closed...].firstIndex { $0.hasPrefix("data") && $0.contains("subs=[\(s)]") }
                #expect(gap != nil && next != nil && gap! < next!, "gap of \(s) after close \(code)")
            }
        }

        // `zstd -dc` of the capture is the uncompressed capture, byte for byte.
        let zstdTool = ["/usr/bin/zstd", "/usr/local/bin/zstd", "/bin/zstd"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let zstdTool else {
            Issue.record("the zstd command is missing: `make deps` installs it")
            return
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: zstdTool)
        p.arguments = ["-dc", dir + "/r.ndjson.zst"]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let decompressed = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let original = try Data(contentsOf: URL(fileURLWithPath: dir + "/r.ndjson"))
        #expect(p.terminationStatus == 0)
        #expect(decompressed == original)

        // The key is nowhere in either file, the header included.
        for bytes in [original, decompressed, try Data(contentsOf: URL(fileURLWithPath: dir + "/r.ndjson.zst"))] {
            #expect(bytes.range(of: Data(key.utf8)) == nil)
        }
    }

    final class FakeClock: @unchecked Sendable {
        private let lock = NSLock()
        private var t: Int64
        init(_ t: Int64) { self.t = t }
        var now: Int64 { self.lock.withLock { self.t } }
        func set(_ v: Int64) { self.lock.withLock { self.t = v } }
    }

    static let frame = Array(#"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":97000.5},"ts":1796000000000}"#.utf8)

    @Test func timeRotationStartsEachPeriodInAFileOfItsOwnWithTheHeader() async throws {
        try await ProcessMemoryLock.run { try Self.timeRotationStartsEachPeriodInAFileOfItsOwnWithTheHeaderBody() }
    }

    static func timeRotationStartsEachPeriodInAFileOfItsOwnWithTheHeaderBody() throws {
        defer { Self.trim() }
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 2026-12-03T10:15:29.5Z, then across four 1 s periods.
        let start: Int64 = 1_796_292_929_500_000_000
        let clock = FakeClock(start)
        var options = CaptureWriter.Options(path: dir + "/prices.ndjson.zst")
        options.rotateSeconds = 1
        let w = try CaptureWriter(options: options, url: "ws://127.0.0.1:1/v1", subscriptions: [.cryptoLatestPrice(1)],
                                  clock: { clock.now })
        for dt in [0, 200, 600, 1700, 2100, 2900] as [Int64] {
            clock.set(start + dt * 1_000_000)
            Self.frame.withUnsafeBytes { w.write(frame: $0, connection: 0) }
        }
        let summary = try w.close()
        #expect(summary.files.map { ($0 as NSString).lastPathComponent } == [
            "prices-2026-12-03T10-15-29.ndjson.zst", "prices-2026-12-03T10-15-30.ndjson.zst", "prices-2026-12-03T10-15-31.ndjson.zst",
            "prices-2026-12-03T10-15-32.ndjson.zst",
        ])
        var frames = 0
        for (i, path) in summary.files.enumerated() {
            let r = try CaptureReader([path])
            guard case .header(let h, _)? = try r.next() else {
                Issue.record("\(path) does not start with the header")
                continue
            }
            #expect(h.part == i)
            #expect(h.subscriptions == [.cryptoLatestPrice(1)])
            while case .frame? = try r.next() { frames += 1 }
        }
        #expect(frames == 6)
        // The four files read as one capture, in time order, whatever order they are given in.
        let all = try CaptureReader(summary.files.reversed())
        #expect(all.paths == summary.files)
        // A rotated name never replaces a file: the same period again gets the next index.
        let again = try CaptureWriter(options: options, url: "ws://127.0.0.1:1/v1", subscriptions: [], clock: { clock.now })
        #expect(try again.close().files.map { ($0 as NSString).lastPathComponent } == ["prices-2026-12-03T10-15-32.1.ndjson.zst"])
        #expect(CaptureNaming.stamp(start, period: 3_600_000_000_000) == "2026-12-03T10")
        #expect(CaptureNaming.stamp(start, period: 600_000_000_000) == "2026-12-03T10-15")
        #expect(CaptureNaming.stamp(start, period: 86_400_000_000_000) == "2026-12-03")
    }

    @Test func sizeRotationNumbersTheFilesBeforeTheExtension() async throws {
        try await ProcessMemoryLock.run { try Self.sizeRotationNumbersTheFilesBeforeTheExtensionBody() }
    }

    static func sizeRotationNumbersTheFilesBeforeTheExtensionBody() throws {
        defer { Self.trim() }
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = CaptureWriter.Options(path: dir + "/swaps.ndjson")
        options.rotateBytes = 600
        let w = try CaptureWriter(options: options, url: "ws://h/v1", subscriptions: [])
        for _ in 0..<8 { Self.frame.withUnsafeBytes { w.write(frame: $0, connection: 0) } }
        let files = try w.close().files.map { ($0 as NSString).lastPathComponent }
        #expect(files.count >= 3)
        #expect(files.first == "swaps.ndjson")
        #expect(files.dropFirst().enumerated().allSatisfy { $0.element == "swaps.\($0.offset + 1).ndjson" })
    }

    @Test func aCutFileReadsUpToTheCutAndSaysSo() async throws {
        try await ProcessMemoryLock.run { try Self.aCutFileReadsUpToTheCutAndSaysSoBody() }
    }

    static func aCutFileReadsUpToTheCutAndSaysSoBody() throws {
        defer { Self.trim() }
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["c.ndjson", "c.ndjson.zst"] {
            let path = dir + "/" + name
            let w = try CaptureWriter(options: .init(path: path), url: "ws://h/v1", subscriptions: [])
            var corpus = [UInt8]()
            for i in 0..<2000 {
                corpus = Array(#"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":\#(i)},"data":{"cid":\#(i),"p":\#(i).25,"n":"x\#(i * 7919 % 1000)"},"ts":\#(1796000000000 + i)}"#.utf8)
                corpus.withUnsafeBytes { w.write(frame: $0, connection: 0) }
            }
            try w.close()
            let whole = try Data(contentsOf: URL(fileURLWithPath: path))
            let cut = dir + "/cut-" + name
            try whole.prefix(whole.count * 3 / 5).write(to: URL(fileURLWithPath: cut))
            let r = try CaptureReader([cut])
            var frames = 0
            var last: CaptureRecord?
            var cids: [Int64] = []
            while let record = try r.next() {
                if case .frame(_, _, let bytes) = record {
                    frames += 1
                    var f = DecodedFrame()
                    try FrameDecoder().decode(bytes, into: &f)
                    cids.append(f.cryptoLatestPrice?.cid ?? -1)
                }
                last = record
            }
            #expect(frames > 100 && frames < 2000, "\(name): \(frames) frames before the cut")
            #expect(cids == (0..<Int64(frames)).map { $0 }, "\(name): the frames before the cut, in order")
            guard case .truncated(let p, let offset, let detail)? = last else {
                Issue.record("\(name): the cut is not reported")
                continue
            }
            #expect(p == cut && offset > 0 && detail.contains("cut mid-"))
            #expect(r.stats.truncatedFiles == 1)
        }
    }

    @Test func frameLinesRoundTripEveryByteTheWriterEscapes() throws {
        var text = Array(#"{"type":"data","n":"q\"b\\s/\#u{1}\#u{1f}\t\n\r é 😀 ✓"}"#.utf8)
        text.append(contentsOf: [0xFF, 0x00, 0x7F])  // not even UTF-8: recorded and read back as the bytes they were
        var line: [UInt8] = []
        text.withUnsafeBytes { CaptureLine.appendFrame($0, time: -5, connection: 3, to: &line) }
        #expect(line.last == 0x0A)
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: line.count + 16)
        defer { out.deallocate() }
        let parsed = line.dropLast().withUnsafeBytes { CaptureLine.parseFrame($0, into: out) }
        #expect(parsed?.time == -5 && parsed?.connection == 3)
        #expect(parsed.map { Array(UnsafeBufferPointer(start: out, count: $0.count)) } == text)
        // Escapes a writer of another tool may use (\u with a surrogate pair, \/) read as JSON says.
        let other = Array(#"{"t":1,"c":0,"f":"\ud83d\ude00\/\u00e9"}"#.utf8)
        let p2 = other.withUnsafeBytes { CaptureLine.parseFrame($0, into: out) }
        #expect(p2.map { String(decoding: UnsafeBufferPointer(start: out, count: $0.count), as: UTF8.self) } == "😀/é")
        // Not the writer's exact shape: nil (the reader falls back to a JSON parse).
        #expect(Array(#"{"t": 1,"c":0,"f":"x"}"#.utf8).withUnsafeBytes { CaptureLine.parseFrame($0, into: out) } == nil)
        #expect(CaptureHeader.redacted("wss://user:secret@host:443/v1?CMC_PRO_API_KEY=abc#x") == "wss://host:443/v1")
    }
}
