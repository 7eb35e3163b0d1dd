// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0
//
// Decode benchmark: one generated corpus of all ten channels, decoded into typed payloads by StreamKit and by
// Foundation's JSONDecoder in the same run, every field folded into a checksum that must agree.
//
//     swift run -c release streamkit-bench            # or: scripts/bench.sh

import ArgumentParser
import Foundation
import CStreamKit
import MallocInterposerSwift
import StreamKit
import StreamKitCapture
import StreamKitTestSupport

@main
struct StreamKitBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamkit-bench",
        abstract: "Decode throughput and allocations: StreamKit against Foundation's JSONDecoder, same corpus, same run.",
        discussion: """
            Generates a seeded corpus of realistic frames for all ten channels (~500 B average, full-precision \
            numbers, some nulls and absent fields), then decodes it repeatedly with each decoder into typed \
            payloads, reading every field. Reports the median, min and max time per message over the rounds, \
            throughput, and heap allocations per message (counted by malloc-interposer over one whole pass). \
            Every decoder's checksum over every field must match, or the run fails.
            """
    )

    @Option(help: "Frames in the corpus.")
    var frames = 20_000

    @Option(help: "Timed passes over the corpus per decoder (the median is reported).")
    var rounds = 9

    @Option(help: "Timed passes for JSONDecoder, which is ~30x slower.")
    var foundationRounds = 3

    @Option(help: "Corpus seed.")
    var seed: UInt64 = 42

    @Option(help: "Frames of the corpus written as a capture for the replay rows.")
    var captureFrames = 100_000

    @Flag(help: "Measure only the replay rows (for profiling).")
    var replayOnly = false

    @Flag(help: "Also time StreamKit per channel (2000 frames each).")
    var perChannel = false

    @Option(help: "With --per-channel: only this channel.")
    var channel: String?

    @Flag(help: "Measure only StreamKit (for profiling).")
    var onlyStreamKit = false

    @Option(help: "Seconds of each load-mode rate measurement in the simulator section.")
    var simulatorSeconds = 2.0

    @Flag(help: "Measure only the simulator section (the market model's cost per push, the load mode's rate).")
    var onlySimulator = false

    @Flag(help: "Leave the simulator section out.")
    var skipSimulator = false

    @Option(help: "The C library (libStreamKitABI.so) to time sk_decode in this same loop, on this same corpus, as a C program calls it (loaded with dlopen).")
    var abiLibrary: String?

    @Option(help: "Also write the table to this Markdown file.")
    var output: String?

    @Option(help: "Write the corpus and StreamKit's checksum of it to this file and exit, for the peer decoders (Benchmarks/peers): 'SKCORPUS', the checksum (u64), the frame count (u32), then each frame as its length (u32) and bytes, little-endian.")
    var writeCorpus: String?

    mutating func run() throws {
        if self.onlySimulator {
            print(try SimulatorBench.section(seconds: self.simulatorSeconds))
            return
        }
        var corpus = Corpus(seed: self.seed)
        let frames = corpus.frames(self.frames)
        let store = FrameStore(frames)
        let datas = store.datas()
        let bytes = store.bytes
        print("corpus: \(frames.count) frames, \(bytes) bytes, \(bytes / frames.count) B/frame average, seed \(self.seed)")
        if let path = self.writeCorpus {
            let decoder = FrameDecoder()
            var decoded = DecodedFrame()
            var h: UInt64 = 0
            var out = Array("SKCORPUS".utf8)
            func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
            for f in frames {
                try f.withUnsafeBytes { raw in
                    try decoder.decode(raw, into: &decoded)
                    h &+= checksum(decoded)
                }
            }
            put(h)
            put(UInt32(frames.count))
            for f in frames {
                put(UInt32(f.count))
                out += f
            }
            guard FileManager.default.createFile(atPath: path, contents: Data(out)) else {
                throw ValidationError("cannot write \(path)")
            }
            print("wrote \(path): checksum \(String(h, radix: 16))")
            return
        }

        if self.replayOnly {  // for profiling the capture reader
            let replay = try CaptureBench.rows(frames: Array(frames.prefix(self.captureFrames)), rounds: self.rounds)
            print(Row.table(replay.rows, baseline: replay.rows[0].median, machine: ""))
            return
        }
        var results: [Row] = []

        // Floor: touch every byte once.
        results.append(
            Row.measure("read every byte (floor)", frames: frames.count, bytes: bytes, rounds: self.rounds) {
                var h: UInt64 = 0
                for raw in store { for b in raw { h = h &+ UInt64(b) } }
                return h
            }
        )

        // StreamKit: decode every frame into its typed payload, in place, and read every field.
        let decoder = FrameDecoder()
        // Each pass decodes into its own `DecodedFrame`, a local as in user code (not a variable the closure captures).
        results.append(
            Row.measure("StreamKit, in place (DecodedFrame)", frames: frames.count, bytes: bytes, rounds: self.rounds) {
                var h: UInt64 = 0
                var decoded = DecodedFrame()
                for raw in store {
                    do {
                        try decoder.decode(raw, into: &decoded)
                        h &+= checksum(decoded)
                    } catch {}
                }
                return h
            }
        )
        // StreamKit: decoding alone (no field read), to show what reading every field costs above.
        results.append(
            Row.measure("StreamKit, in place, decode only", frames: frames.count, bytes: bytes, rounds: self.rounds) {
                var h: UInt64 = 0
                var decoded = DecodedFrame()
                for raw in store {
                    do {
                        try decoder.decode(raw, into: &decoded)
                        h &+= UInt64(decoded.payloadRegion?.count ?? 0)
                    } catch {}
                }
                return h
            }
        )
        // StreamKit through the C ABI, in this same harness: sk_decode fills an sk_message (envelope, payload struct,
        // views), and every word a C consumer reads is read, as the in-place row above reads every field: the
        // envelope and the channel's member of the payload union (the rest of the union is the room of larger
        // channels, which neither row reads).
        if let path = self.abiLibrary {
            let abi = try CDecodeABI(path)
            let dataStart = MemoryLayout<sk_message>.offset(of: \sk_message.data)!
            let dataEnd = dataStart + MemoryLayout<sk_payload>.size
            results.append(
                Row.measure("StreamKit via the C ABI (sk_decode)", frames: frames.count, bytes: bytes, rounds: self.rounds) {
                    var h: UInt64 = 0
                    var m = sk_message()
                    for raw in store {
                        guard abi.decode(raw, &m) else { continue }
                        let member = cPayloadMemberSize(m.channel)
                        h &+= withUnsafeBytes(of: &m) { bytes in
                            let words = bytes.bindMemory(to: UInt64.self)
                            var sum: UInt64 = 0
                            for i in 0..<((dataStart + member) / 8) { sum &+= words[i] }
                            for i in (dataEnd / 8)..<words.count { sum &+= words[i] }
                            return sum
                        }
                    }
                    return h
                }
            )
        }
        // StreamKit: the convenience API returning the `ServerFrame` enum.
        results.append(
            Row.measure("StreamKit, ServerFrame enum", frames: frames.count, bytes: bytes, rounds: self.rounds) {
                var h: UInt64 = 0
                for raw in store {
                    guard let frame = try? decoder.decode(raw) else { continue }
                    h &+= checksum(frame)
                }
                return h
            }
        )

        var perChannel: [Row] = []
        if self.perChannel || self.output != nil {
            for (channel, _) in Corpus.channels where self.channel == nil || self.channel == channel {
                var c = Corpus(seed: self.seed)
                let group = FrameStore((0..<2000).map { _ in c.frame(channel: channel) })
                perChannel.append(
                    Row.measure(channel, frames: group.count, bytes: group.bytes, rounds: self.rounds) {
                        var h: UInt64 = 0
                        var decoded = DecodedFrame()
                        for raw in group {
                            do {
                                try decoder.decode(raw, into: &decoded)
                                h &+= checksum(decoded)
                            } catch {}
                        }
                        return h
                    }
                )
            }
        }

        if self.onlyStreamKit {
            print(Row.table(results, baseline: results[1].median, machine: machineDescription()))
            if !perChannel.isEmpty { print(Row.table(perChannel, baseline: results[1].median, machine: "")) }
            return
        }

        // Foundation: JSONDecoder into idiomatic Codable structs, reading every field.
        let json = JSONDecoder()
        results.append(
            Row.measure("Foundation JSONDecoder", frames: frames.count, bytes: bytes, rounds: self.foundationRounds) {
                var h: UInt64 = 0
                for d in datas {
                    guard let dto = try? json.decode(DataFrameDTO.self, from: d) else { continue }
                    h &+= checksum(dto)
                }
                return h
            }
        )
        withExtendedLifetime(store) {}  // `datas` borrow its bytes

        // Replay: the same corpus as a capture (plain and zstd), read back through CaptureMessages.
        let replay = try CaptureBench.rows(frames: Array(frames.prefix(self.captureFrames)), rounds: self.rounds)
        let replayTable = Row.table(replay.rows, baseline: results[2].median, machine: "")
        print(replayTable)
        print(replay.note)

        let reference = results[1].checksum
        let table = Row.table(results, baseline: results[1].median, machine: machineDescription())
        print(table)
        if !perChannel.isEmpty {
            print(Row.table(perChannel, baseline: results[1].median, machine: ""))
        }
        let simulator = self.skipSimulator ? "" : try SimulatorBench.section(seconds: self.simulatorSeconds)
        print(simulator)
        if let output = self.output {
            let document = """
                # Benchmarks

                Written by `make bench`: this first table by `streamkit-bench --per-channel --output \(output)`, the \
                peers' by `Benchmarks/peers` (C++ and Python, on the corpus `streamkit-bench --write-corpus` writes), \
                the live, replay, scale and latency tables by `Benchmarks/live.py`; rerun it to refresh. This machine is shared and noisy: compare the ratios measured side by side \
                in one run, not absolute times across runs.

                ## Decode: frame bytes to typed payload

                Corpus: \(frames.count) generated frames of all ten channels (seed \(self.seed), \
                \(bytes / frames.count) B average; full-precision numbers as the official examples carry, 15-17 \
                significant digits; some nulls and absent fields), laid out back to back in one buffer as a socket's \
                receive buffer or a recording holds them. Every decoder decodes every frame into typed \
                payloads and reads every field; an order-independent checksum over all fields must be identical \
                for all of them (it is: `\(String(reference, radix: 16))`), so none does less work and all \
                agree on every value, doubles bit for bit. Times are the median (min, max) of \(self.rounds) \
                passes (\(self.foundationRounds) for JSONDecoder) after a warm-up; allocations are counted by \
                malloc-interposer over one whole pass.

                - *read every byte*: a byte-sum loop over the same frames, the floor for any decoder.
                - *StreamKit, in place*: `FrameDecoder.decode(_:into:)` into a reused `DecodedFrame` (the hot path).
                - *StreamKit via the C ABI (sk_decode)*: `sk_decode` from the C library (`dlopen`ed, called as a C \
                program calls it) in this same loop on this same corpus, every word a C consumer reads of the filled \
                `sk_message` read (the envelope and the channel's member of the payload union); its ratio to *in place* is the C face's decode cost (goal: within 1.10x).
                - *StreamKit, ServerFrame enum*: `FrameDecoder.decode(_:) -> ServerFrame`, the convenience API.
                - *Foundation JSONDecoder*: idiomatic `Decodable` structs with optionals (`StreamKitTestSupport`).
                \(table)
                ### StreamKit per channel (in place, 2000 frames each)
                \(Row.table(perChannel, baseline: results[1].median, machine: ""))
                ## Replay: reading a capture

                The corpus's first \(replay.frames) frames written as a capture by `CaptureWriter` (as `streamkit \
                record` writes them: one JSON line per frame, the frame escaped inside), plain and zstd, then read \
                back by `CaptureMessages` (what `streamkit replay --stats` and the C and Python readers run): read, \
                decompress, split lines, unescape, decode in place, attribute and deduplicate. The last column is \
                against *StreamKit, in place, decode only* above. \(replay.note)
                \(replayTable)
                \(simulator)
                """
            try document.write(toFile: output, atomically: true, encoding: .utf8)
        }
        for row in results.dropFirst(2) where row.checksum != reference && !row.name.hasSuffix("decode only") {
            throw ValidationError(
                "checksums differ: StreamKit \(reference), \(row.name) \(row.checksum): the decoders disagree"
            )
        }
        print("checksums agree: \(String(reference, radix: 16))")
    }
}

// MARK: - Corpus layout

/// The corpus as frames sit in memory in use: back to back in one buffer, as a socket's receive buffer or a
/// recording holds them (and as `Benchmarks/peers` lays out the same corpus), not scattered in one heap block each.
final class FrameStore: RandomAccessCollection {
    let storage: UnsafeMutableRawBufferPointer
    let spans: [(offset: Int, count: Int)]
    var bytes: Int { self.storage.count }
    var startIndex: Int { 0 }
    var endIndex: Int { self.spans.count }

    init(_ frames: [[UInt8]]) {
        self.storage = .allocate(byteCount: Swift.max(1, frames.reduce(0) { $0 + $1.count }), alignment: 64)
        var spans: [(offset: Int, count: Int)] = []
        var at = 0
        for f in frames {
            UnsafeMutableRawBufferPointer(rebasing: self.storage[at..<(at + f.count)]).copyBytes(from: f)
            spans.append((at, f.count))
            at += f.count
        }
        self.spans = spans
    }

    deinit { self.storage.deallocate() }

    /// The bytes of frame `i`.
    @inline(__always)
    subscript(i: Int) -> UnsafeRawBufferPointer {
        let s = self.spans[i]
        return UnsafeRawBufferPointer(start: self.storage.baseAddress! + s.offset, count: s.count)
    }

    /// Each frame as a `Data` over the same bytes (no copy), for JSONDecoder.
    func datas() -> [Data] {
        self.spans.map {
            Data(bytesNoCopy: self.storage.baseAddress! + $0.offset, count: $0.count, deallocator: .none)
        }
    }
}

// MARK: - Checksums

/// Every field of a StreamKit frame, folded the way ``DataFrameDTO/checksum`` folds Foundation's (typed getters,
/// generated in `Generated/PayloadChecksums.swift` as the mirrors' checksums are).
@inline(__always)
func checksum(_ frame: ServerFrame) -> UInt64 {
    guard case .data(let d) = frame else { return 0 }
    let h = envelopeChecksum(
        ts: d.ts,
        platform: d.params.platformID,
        crypto: d.params.cryptoID,
        address: d.params.address?.count,
        interval: d.params.interval?.count
    )
    switch d.payload {
    case .cryptoLatestPrice(let p): return h &+ checksum(p)
    case .tokenAggEvent(let p): return h &+ checksum(p)
    case .transaction(let p): return h &+ checksum(p)
    case .liquidityEvent(let p): return h &+ checksum(p)
    case .kline(let p): return h &+ checksum(p)
    case .tokenMetric(let p): return h &+ checksum(p)
    case .poolMetric(let p): return h &+ checksum(p)
    case .uniqueTrader(let p): return h &+ checksum(p)
    case .holdersMetrics(let p): return h &+ checksum(p)
    case .holderWalletUpdate(let p): return h &+ checksum(p)
    case .unknown: return h
    }
}

/// The same fold over an in-place decoded frame (payload read through its channel accessor).
@inline(__always)
func checksum(_ f: DecodedFrame) -> UInt64 {
    guard f.kind == .data, let channel = f.channel else { return 0 }
    let params = f.params ?? ParamsEcho()
    let h = envelopeChecksum(
        ts: f.ts,
        platform: params.platformID,
        crypto: params.cryptoID,
        address: params.address?.count,
        interval: params.interval?.count
    )
    switch channel {
    case .cryptoLatestPrice: return h &+ (f.cryptoLatestPrice.map(checksum) ?? 0)
    case .tokenAggEvent: return h &+ (f.tokenAggEvent.map(checksum) ?? 0)
    case .transaction: return h &+ (f.transaction.map(checksum) ?? 0)
    case .liquidityEvent: return h &+ (f.liquidityEvent.map(checksum) ?? 0)
    case .kline: return h &+ (f.kline.map(checksum) ?? 0)
    case .tokenMetric: return h &+ (f.tokenMetric.map(checksum) ?? 0)
    case .poolMetric: return h &+ (f.poolMetric.map(checksum) ?? 0)
    case .uniqueTrader: return h &+ (f.uniqueTrader.map(checksum) ?? 0)
    case .holdersMetrics: return h &+ (f.holdersMetrics.map(checksum) ?? 0)
    case .holderWalletUpdate: return h &+ (f.holderWalletUpdate.map(checksum) ?? 0)
    }
}

func checksum(_ dto: DataFrameDTO) -> UInt64 {
    let address = dto.params.address ?? dto.params.pool_address ?? dto.params.wallet_address
    return envelopeChecksum(
        ts: dto.ts,
        platform: dto.params.platform_id,
        crypto: dto.params.crypto_ids,
        address: address?.utf8.count,
        interval: dto.params.interval?.utf8.count
    ) &+ dto.payload.checksum
}

@inline(__always)
func envelopeChecksum(ts: Int64?, platform: Int64?, crypto: Int64?, address: Int?, interval: Int?) -> UInt64 {
    Checksum.mix(100, ts) &+ Checksum.mix(101, platform) &+ Checksum.mix(102, crypto)
        &+ Checksum.mixLength(103, address) &+ Checksum.mixLength(104, interval)
}

// MARK: - Measurement

struct Row {
    let name: String
    let median: Double  // ns per message
    let min: Double
    let max: Double
    let bytes: Int
    let frames: Int
    let allocationsPerMessage: Double
    let checksum: UInt64

    /// Times `rounds` passes (after one warm-up pass), then counts allocations over one more pass.
    static func measure(_ name: String, frames: Int, bytes: Int, rounds: Int, _ pass: () -> UInt64) -> Row {
        let check = pass()  // warm-up
        var times: [Double] = []
        for _ in 0..<Swift.max(1, rounds) {
            let start = ContinuousClock.now
            let h = pass()
            let elapsed = ContinuousClock.now - start
            precondition(h == check, "\(name): checksum changed between passes")
            times.append(Double(elapsed.components.attoseconds) / 1e9 + Double(elapsed.components.seconds) * 1e9)
        }
        times.sort()
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        let h = pass()
        MallocInterposerSwift.unhook()
        let mallocs = MallocInterposerSwift.getStatistics().mallocCount
        precondition(h == check)
        let n = Double(frames)
        return Row(
            name: name,
            median: times[times.count / 2] / n,
            min: times[0] / n,
            max: times[times.count - 1] / n,
            bytes: bytes,
            frames: frames,
            allocationsPerMessage: Double(mallocs) / n,
            checksum: check
        )
    }

    static func table(_ rows: [Row], baseline: Double, machine: String) -> String {
        var out = "\n| decoder | ns/msg (median) | min | max | MB/s | allocs/msg | time vs StreamKit |\n"
        out += "|---|---:|---:|---:|---:|---:|---:|\n"
        for r in rows {
            let mbps = Double(r.bytes) / Double(r.frames) / r.median * 1e3
            out += "| \(r.name) | \(fmt(r.median, 1)) | \(fmt(r.min, 1)) | \(fmt(r.max, 1)) | \(fmt(mbps, 0)) | "
            out += "\(fmt(r.allocationsPerMessage, 2)) | \(fmt(r.median / baseline, 2))x |\n"
        }
        out += "\n\(machine)\n"
        return out
    }
}

func fmt(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

func machineDescription() -> String {
    let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    return "machine: \(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores; Swift release build"
}

// MARK: - Replay

/// Captures of the corpus, plain and zstd, read back through `CaptureMessages`.
enum CaptureBench {
    static func rows(frames: [[UInt8]], rounds: Int) throws -> (rows: [Row], note: String, frames: Int) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("streamkit-bench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rows: [Row] = []
        var sizes: [String: (lines: Int, file: Int)] = [:]
        for (name, file) in [("plain", "mixed.ndjson"), ("zstd", "mixed.ndjson.zst")] {
            let path = dir + "/" + file
            let t = Counter()
            let writer = try CaptureWriter(options: .init(path: path), url: "ws://127.0.0.1:8765/v1", subscriptions: [],
                                           clock: { t.next() })
            for f in frames { f.withUnsafeBytes { writer.write(frame: $0, connection: 0) } }
            let summary = try writer.close()
            sizes[name] = (summary.lineBytes, summary.fileBytes)
            rows.append(Row.measure("replay, \(name) capture (CaptureMessages)", frames: frames.count, bytes: summary.lineBytes, rounds: rounds) {
                var h: UInt64 = 0
                guard let m = try? CaptureMessages([path]) else { return 0 }
                while let item = try? m.next() {
                    if case .message(let t, _, let frame, _, _) = item { h &+= UInt64(bitPattern: t) &+ UInt64(frame.pointee.payloadRegion?.count ?? 0) }
                }
                return h
            })
        }
        let plain = sizes["plain"]!, zstd = sizes["zstd"]!
        let note = String(format: "Compression: %d bytes of NDJSON (%d B per frame) to %d with zstd level 3, %.1fx smaller.",
                          plain.lines, plain.lines / max(1, frames.count), zstd.file, Double(plain.lines) / Double(max(1, zstd.file)))
        let perSecond = rows.map { "\($0.name): \(Int(1e9 / $0.median)) frames/s" }.joined(separator: "; ")
        return (rows, note + " " + perSecond + ".", frames.count)
    }

    final class Counter: @unchecked Sendable {
        private var t: Int64 = 1_796_000_000_000_000_000
        func next() -> Int64 {
            t += 1_000_000
            return t
        }
    }
}

/// sk_decoder_new and sk_decode from the C library, looked up as a C program's loader would.
struct CDecodeABI {
    typealias New = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?) -> sk_status
    typealias Decode = @convention(c) (OpaquePointer?, UnsafePointer<CChar>?, Int, UnsafeMutablePointer<sk_message>?) -> sk_status
    let decoder: OpaquePointer?
    let decodeFn: Decode

    init(_ path: String) throws {
        guard let lib = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            throw ValidationError("cannot load \(path): \(String(cString: dlerror()))")
        }
        guard let new = dlsym(lib, "sk_decoder_new"), let decode = dlsym(lib, "sk_decode") else {
            throw ValidationError("\(path) lacks sk_decoder_new or sk_decode")
        }
        var d: OpaquePointer?
        guard unsafeBitCast(new, to: New.self)(&d) == SK_OK else { throw ValidationError("sk_decoder_new failed") }
        self.decoder = d
        self.decodeFn = unsafeBitCast(decode, to: Decode.self)
    }

    @inline(__always)
    func decode(_ raw: UnsafeRawBufferPointer, _ out: inout sk_message) -> Bool {
        self.decodeFn(self.decoder, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count, &out) == SK_OK
    }
}
