// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// `streamkit record` and `streamkit replay`: captures through StreamKitCapture.

import ArgumentParser
import Foundation
import StreamKit
import StreamKitCapture
import StreamKitClient
import StreamKitSimulator

// MARK: - record

struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Capture every frame of a subscription, with its receive time and the connection's story, to NDJSON (zstd with .zst).",
        discussion: """
            The first line of each file is a header: {"capture":"streamkit","format":1,"version",...,"start",\
            "host","url" (never the key),"part","subscriptions":[...]}. Then, in the order they happened, frame \
            lines {"t":RECEIVE_TIME_NS,"c":CONNECTION,"f":"FRAME"} (the frame's text exactly as received: acks, \
            pongs, errors and frames that fail to decode included) and lifecycle lines {"t":NS,"c":CONNECTION,\
            "e":KIND,...}: connecting, connected, welcome, subscribed, closed (code, text), reconnecting (attempt, \
            delay_ms), restored, gap (sub, from, to), stale, server_error, fatal, stopped.

            A path ending in .zst is written with zstd (libzstd.so.1, loaded at run time; --level), readable by \
            `zstd -dc`. Everything is flushed at least every second: a crash loses at most the last second, and \
            a cut file reads up to the cut. --rotate 1h (or 10m, 30s, 1d) starts a new file at each UTC multiple \
            of the period, named with its start (prices-2026-12-03T10.ndjson.zst); --rotate-mb at a size \
            (prices.1.ndjson.zst, prices.2...). Every file starts with the header; no rotated file replaces \
            another. Replay with `streamkit replay`, or read with the C (sk_capture_open) and Python \
            (streamkit.Capture) readers.

            Examples:
              streamkit record market@crypto_latest_price --ids 1,1027 --out prices.ndjson.zst --rotate 1h
              streamkit record onchain@transaction --platform 14 --address 0x8ac7... --out swaps.ndjson --rotate-mb 256
            """
    )

    @OptionGroup var selection: Selection

    @Option(help: "The capture file (.ndjson, or .ndjson.zst for zstd).")
    var out: String

    @Option(help: "zstd level, 1 (fastest) to 19 (smallest); 3 by default (zstd's own default).")
    var level = 3

    @Option(help: "Start a new file at each UTC multiple of this period: 30s, 10m, 1h, 1d.")
    var rotate: String?

    @Option(help: "Start a new file when this many MiB were written (fractions allowed).")
    var rotateMb: Double?

    @Option(help: "Exit after this many data messages.")
    var count: Int?

    @Option(help: "Exit after this many seconds.")
    var duration: Double?

    /// `30s`, `10m`, `1h`, `1d` in seconds.
    static func period(_ text: String) throws -> Int64 {
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let unit = text.last.flatMap({ units[$0] }), let n = Int64(text.dropLast()), n > 0 else {
            throw ValidationError("--rotate takes a period such as 30s, 10m, 1h or 1d, not '\(text)'")
        }
        return n * unit
    }

    func run() async throws {
        let subscriptions = try self.selection.subscriptions()
        if let r = self.rotateMb, !(r > 0) { throw ValidationError("--rotate-mb must be positive") }
        var options = CaptureWriter.Options(path: self.out, level: self.level)
        options.rotateBytes = self.rotateMb.map { Swift.max(1, Int($0 * 1_048_576)) }
        options.rotateSeconds = try self.rotate.map(Self.period)
        let (url, key, simulator) = try await self.selection.endpoint(command: "record")
        defer { simulator?.stop() }
        let writer: CaptureWriter
        do {
            writer = try CaptureWriter(options: options, url: url, subscriptions: subscriptions)
        } catch {
            throw ValidationError("\(error)")
        }
        let client = try StreamClient(configuration: StreamClientConfiguration(url: url, apiKey: key), messagesInEvents: false)
        // Both on the client's event loop, in the order they happen.
        client.onSessionEvent { event, connection, now in writer.write(event, connection: connection, now: now) }
        client.onRawFrame { bytes, connection in writer.write(frame: bytes, connection: connection) }
        let counter = DataCounter()
        client.onMessage { _ in counter.increment() }
        client.start()
        try await client.subscribe(subscriptions)
        let finish = Finish(duration: self.duration)
        let watchdog = finish.watch(client)
        let limit = self.count
        let countWatch = Task {
            while !Task.isCancelled {
                if let limit, counter.value >= limit { break }
                if writer.failure != nil { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            await client.stop()
        }
        var fatal: String?
        for await event in client.events {
            if case .session(.fatal(let reason), _) = event { fatal = "\(reason)" }
        }
        watchdog.cancel()
        countWatch.cancel()
        let summary: CaptureWriter.Summary
        do {
            summary = try writer.close()
        } catch {
            stderr("streamkit record: \(error)")
            throw ExitCode(1)
        }
        let ratio = summary.fileBytes > 0 ? String(format: " (%.1fx smaller)", Double(summary.lineBytes) / Double(summary.fileBytes)) : ""
        stderr("streamkit record: \(summary.frames) frames (\(counter.value) data), \(summary.events) events, "
            + "\(summary.lineBytes) bytes of NDJSON in \(summary.fileBytes) bytes\(summary.lineBytes != summary.fileBytes ? ratio : ""), "
            + "\(summary.files.count) file(s)")
        if let fatal {
            stderr("streamkit record: stopped: \(fatal)")
            throw ExitCode(1)
        }
    }
}

final class DataCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { self.lock.withLock { self.n += 1 } }
    var value: Int { self.lock.withLock { self.n } }
}

// MARK: - replay

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Play a capture (from `streamkit record`) back through the client's decoder, as `watch` would have shown it.",
        discussion: """
            Data messages are printed like `watch` (JSON lines when piped or with --json), attributed and \
            deduplicated as the live client delivered them; the lifecycle events (closed, reconnecting, gap, stale, \
            ...) appear where they happened, as their capture lines. With --all, every frame (acks, pongs, errors, \
            invalid frames too) as `decode` prints it. By default the capture's timing is kept; --speed 10 plays \
            it ten times faster, --max as fast as possible, and --stats decodes everything without printing and \
            reports the messages per channel and the throughput.

            Files are plain or zstd (told by content), given as paths or glob patterns, and played in the order of \
            their headers' start times. A file cut mid-line (a crash) is read up to the cut and reported on stderr.

            Examples:
              streamkit replay prices.ndjson.zst --speed 20
              streamkit replay 'swaps-*.ndjson.zst' --max --json > decoded.ndjson
              streamkit replay 'prices-2026-12-*.ndjson.zst' --stats
            """
    )

    @Argument(help: "Capture files or glob patterns.")
    var files: [String]

    @Option(help: "Play this many times faster than recorded.")
    var speed: Double?

    @Flag(help: "As fast as possible; report the throughput.")
    var max = false

    @Flag(name: [.customLong("stats"), .customLong("count-only")], help: "Decode everything, print nothing but the counts per channel and the throughput.")
    var stats = false

    @Flag(help: "Write JSON lines even in a terminal.")
    var json = false

    @Flag(help: "Print every frame (acks, pongs, errors, invalid frames too), as `decode` does.")
    var all = false

    func validate() throws {
        if self.max && self.speed != nil { throw ValidationError("--speed and --max exclude each other") }
        if self.stats && (self.speed != nil || self.all) { throw ValidationError("--stats excludes --speed and --all") }
        if let s = self.speed, !(s > 0) { throw ValidationError("--speed must be positive") }
    }

    func run() async throws {
        let messages: CaptureMessages
        do {
            messages = try CaptureMessages(self.files)
        } catch {
            throw ValidationError("\(error)")
        }
        let paced = !(self.max || self.stats)
        let jsonLines = self.json || isatty(STDOUT_FILENO) == 0
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        var firstT: Int64?
        let cpuStart = clock()
        let started = ContinuousClock.now
        let stop = StopSignal()
        stop.install()
        var truncated = 0
        var printed = 0
        func pace(_ t: Int64) async throws {
            guard paced else { return }
            let first = firstT ?? t
            firstT = first
            let due = started + .nanoseconds(Int64(Double(t - first) / (self.speed ?? 1)))
            if due > ContinuousClock.now {
                if !out.isEmpty { self.write(&out) }
                try await Task.sleep(until: due)
            }
        }
        if self.all {
            // Every record as it is in the file.
            let reader = messages.reader
            while !stop.requested, let record = try reader.next() {
                switch record {
                case .frame(let t, _, let bytes):
                    try await pace(t)
                    out.append(contentsOf: NormalizedJSON.render(Array(bytes)).utf8)
                case .event(let e):
                    try await pace(e.time)
                    out.append(contentsOf: e.line().dropLast())
                case .header(let h, let path):
                    self.describe(h, path: path)
                    continue
                case .truncated(let path, let offset, let detail):
                    truncated += 1
                    stderr("streamkit replay: \(path): \(detail) (read up to byte \(offset) of its NDJSON)")
                    continue
                case .invalid(let path, let line, let detail):
                    stderr("streamkit replay: \(path):\(line): \(detail); skipped")
                    continue
                }
                out.append(UInt8(ascii: "\n"))
                printed += 1
                if out.count >= 1 << 16 { self.write(&out) }
            }
        } else {
            while !stop.requested, let item = try messages.next() {
                switch item {
                case .message(let t, let c, let frame, let bytes, let subscriptions):
                    if self.stats { continue }
                    try await pace(t)
                    if jsonLines {
                        out.append(contentsOf: NormalizedJSON.render(frame.pointee, bytes: Array(bytes)))
                    } else {
                        var message = Message(bytes: Array(bytes), frame: frame.pointee.frame)
                        message.subscriptions = subscriptions
                        out.append(contentsOf: Watch.line(message).utf8)
                    }
                    _ = c
                case .event(let e):
                    if self.stats { continue }
                    try await pace(e.time)
                    out.append(contentsOf: jsonLines ? Array(e.line().dropLast()) : Array(Self.plain(e).utf8))
                case .header(let h, let path):
                    if !self.stats { self.describe(h, path: path) }
                    continue
                case .truncated(let path, let offset, let detail):
                    truncated += 1
                    stderr("streamkit replay: \(path): \(detail) (read up to byte \(offset) of its NDJSON)")
                    continue
                }
                out.append(UInt8(ascii: "\n"))
                printed += 1
                if out.count >= 1 << 16 { self.write(&out) }
            }
        }
        self.write(&out)
        let secs = Swift.max(1e-9, (ContinuousClock.now - started).seconds)
        let cpu = Swift.max(1e-9, Double(clock() - cpuStart) / Double(CLOCKS_PER_SEC))
        let r = messages.reader.stats
        let s = messages.stats
        var summary = "streamkit replay: \(r.files) file(s), \(r.frames) frames: \(s.total) data, \(s.duplicates) duplicate legs, "
            + "\(s.controlFrames) control, \(s.invalidFrames) invalid; \(r.events) events; \(r.invalidLines) lines skipped"
        if truncated > 0 { summary += "; \(truncated) file(s) cut short" }
        if self.max || self.stats {
            let compressed = r.fileBytes < r.lineBytes
            summary += String(format: "; %.0f frames/s (%.0f per CPU-second), %.1f MB/s of NDJSON", Double(r.frames) / secs,
                              Double(r.frames) / cpu, Double(r.lineBytes) / secs / 1e6)
            if compressed { summary += String(format: ", compressed %.1fx", Double(r.lineBytes) / Double(Swift.max(1, r.fileBytes))) }
            summary += self.stats ? " (decode only)" : " (decode and output)"
        }
        stderr(summary)
        if self.stats {
            for (i, n) in s.messages.enumerated() where n > 0 {
                let name = i < Channel.allCases.count ? Channel.allCases[i].rawValue : "(unknown channel)"
                print("\(name)\t\(n)")
            }
        }
        _ = printed
    }

    private func write(_ out: inout [UInt8]) {
        FileHandle.standardOutput.write(Data(out))
        out.removeAll(keepingCapacity: true)
    }

    private func describe(_ h: CaptureHeader, path: String) {
        let start = Date(timeIntervalSince1970: Double(h.start) / 1e9)
        stderr("streamkit replay: \(path): recorded by StreamKit \(h.version) on \(h.host.isEmpty ? "?" : h.host) from \(h.url), "
            + "\(h.subscriptions.count) subscription(s), from \(start)" + (h.part > 0 ? ", part \(h.part)" : ""))
    }

    /// One plain line for an event.
    static func plain(_ e: CaptureEvent) -> String {
        let time = String(format: "%.3f", (Double(e.time) / 1e9).truncatingRemainder(dividingBy: 100_000))
        var s = "\(time)  ! \(e.kind) c\(e.connection)"
        if let sub = e.subscription { s += " \(sub)" }
        if let from = e.from, let to = e.to { s += String(format: " %.1f s", Double(to - from) / 1e9) }
        if let d = e.delayMS { s += " in \(d) ms" }
        if let code = e.code, e.kind == .closed { s += " code \(code)" }
        if let text = e.text { s += " (\(text))" }
        return s
    }
}
