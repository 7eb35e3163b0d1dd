// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// The Swift consumers of the live benchmark (Benchmarks/live.py runs them against one `streamkit sim` process,
// beside the C, Python and Node consumers): each connects, subscribes, consumes, and prints one JSON line with
// what it measured on itself (process CPU time over a window of messages after a warm-up, allocations per
// message, peak RSS, latencies).

import ArgumentParser
import Foundation
import MallocInterposerSwift
import NIOConcurrencyHelpers
import StreamKit
import StreamKitClient

#if canImport(Glibc)
import Glibc
#endif

@main
struct LiveBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamkit-livebench",
        abstract: "Swift consumers for the live benchmark (run by Benchmarks/live.py).",
        subcommands: [Consume.self, Scale.self, Latency.self]
    )
}

struct Endpoint: ParsableArguments {
    @Option(help: "Stream URL (a `streamkit sim`).")
    var url: String

    @Option(help: "API key.")
    var key = "bench"

    /// A client whose subscriptions block (nothing dropped); with `callback`, no owned copies in `events`.
    func client(callback: Bool) throws -> StreamClient {
        var config = StreamClientConfiguration(url: self.url, apiKey: self.key)
        config.delivery = DeliveryConfiguration(capacityPerSubscription: 4096, overflow: .block)
        return try StreamClient(configuration: config, messagesInEvents: !callback)
    }

    /// Starts `client`, subscribes to two prices (1 and 1027) and hands every quote to `take` (on the event loop
    /// from `onMessage` with `callback`, else from `client.events`) until it returns true.
    func drive(_ client: StreamClient, callback: Bool, _ take: @escaping @Sendable (CryptoLatestPrice) -> Bool) async throws {
        let done = NIOLockedValueBox(false)
        if callback {
            client.onMessage { view in
                if let q = view.frame.cryptoLatestPrice, take(q) { done.withLockedValue { $0 = true } }
            }
        }
        client.start()
        try await client.subscribe([.cryptoLatestPrice(1), .cryptoLatestPrice(1027)], overflow: .block)
        if callback {
            while !done.withLockedValue({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
        } else {
            for await event in client.events {
                guard case .message(let m, _) = event, case .data(let d) = m.frame, case .cryptoLatestPrice(let q) = d.payload
                else { continue }
                if take(q) { break }
            }
        }
    }
}

/// CPU seconds (user + system, every thread) of this process.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Peak RSS of this process, bytes: VmHWM (getrusage's ru_maxrss keeps the parent's peak across exec).
func peakRSS() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kb = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kb * 1024
}

func monotonicNS() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func emit(_ fields: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    fflush(nil)
}

/// Counts messages through a window: warm-up, then a timed window, then a window with malloc counted.
final class Window: @unchecked Sendable {
    let warmup: Int
    let timed: Int
    let counted: Int
    private var n = 0
    var sum = 0.0
    var cpu0 = 0.0, wall0 = 0.0, cpu1 = 0.0, wall1 = 0.0
    var mallocs = 0

    init(warmup: Int, timed: Int, counted: Int) {
        self.warmup = warmup
        self.timed = timed
        self.counted = counted
    }

    /// Called once per message (on one thread at a time); true when the run is over.
    func tick(_ price: Double) -> Bool {
        self.sum += price
        self.n += 1
        switch self.n {
        case self.warmup:
            self.cpu0 = cpuSeconds()
            self.wall0 = Double(monotonicNS()) / 1e9
        case self.warmup + self.timed:
            self.cpu1 = cpuSeconds()
            self.wall1 = Double(monotonicNS()) / 1e9
            MallocInterposerSwift.initialize()
            MallocInterposerSwift.hook()
        case self.warmup + self.timed + self.counted:
            MallocInterposerSwift.unhook()
            self.mallocs = Int(MallocInterposerSwift.getStatistics().mallocCount)
            return true
        default:
            break
        }
        return false
    }

    func report(_ mode: String) {
        emit([
            "consumer": mode, "messages": self.timed, "cpu_s": self.cpu1 - self.cpu0, "wall_s": self.wall1 - self.wall0,
            "allocs_per_msg": Double(self.mallocs) / Double(self.counted), "checksum": self.sum,
        ])
    }
}

struct Consume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Consume two price subscriptions as fast as the simulator pushes; report CPU per message.")

    @OptionGroup var endpoint: Endpoint

    @Option(help: "async (for await over client.events) or callback (onMessage, zero-copy).")
    var mode = "async"

    @Option(help: "Messages in the timed window (after a warm-up of a tenth of it).")
    var messages = 200_000

    func run() async throws {
        let callback = self.mode == "callback"
        let client = try self.endpoint.client(callback: callback)
        let window = Window(warmup: self.messages / 10, timed: self.messages, counted: 20_000)
        // What a consumer reads: the id, the price and its 24 h change.
        try await self.endpoint.drive(client, callback: callback) { q in window.tick((q.price ?? 0) + Double(q.cid) + (q.p24h ?? 0)) }
        window.report(callback ? "Swift callback (onMessage)" : "Swift AsyncSequence (client.events)")
        await client.stop()
    }
}

struct Scale: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Subscribe to many price ids (100 per connection); report peak RSS and allocations per message.")

    @OptionGroup var endpoint: Endpoint

    @Option(help: "Subscriptions (crypto ids 1...N).")
    var subscriptions = 1000

    @Option(help: "Seconds of steady state measured (after 3 s of warm-up).")
    var seconds = 10.0

    func run() async throws {
        var config = StreamClientConfiguration(url: self.endpoint.url, apiKey: self.endpoint.key)
        config.delivery = DeliveryConfiguration(capacityPerSubscription: 64, overflow: .dropOldest)
        let client = try StreamClient(configuration: config)
        let rssBefore = peakRSS()
        client.start()
        let ids = (1...Int64(self.subscriptions)).map { Subscription.cryptoLatestPrice($0) }
        let started = monotonicNS()
        try await client.subscribe(ids)
        let subscribedIn = Double(monotonicNS() - started) / 1e9
        let counter = NIOLockedValueBox(0)
        let consumer = Task {
            var sum = 0.0
            for await event in client.events {
                if case .message(let m, _) = event, case .data(let d) = m.frame, case .cryptoLatestPrice(let q) = d.payload {
                    sum += q.price ?? 0
                    counter.withLockedValue { $0 += 1 }
                }
            }
            return sum
        }
        try await Task.sleep(for: .seconds(3))
        let n0 = counter.withLockedValue { $0 }
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        try await Task.sleep(for: .nanoseconds(Int64(self.seconds * 1e9)))
        MallocInterposerSwift.unhook()
        let n1 = counter.withLockedValue { $0 }
        let mallocs = Int(MallocInterposerSwift.getStatistics().mallocCount)
        let metrics = await client.metrics()
        await client.stop()
        _ = await consumer.value
        emit([
            "subscriptions": self.subscriptions, "connections": metrics.openConnections, "subscribed_s": subscribedIn,
            "messages": n1 - n0, "msgs_per_s": Double(n1 - n0) / self.seconds,
            "allocs_per_msg": Double(mallocs) / Double(max(1, n1 - n0)), "peak_rss": peakRSS(),
            "rss_before_start": rssBefore,
        ])
    }
}

struct Latency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Frame arrival (the raw-frame hook, as NIO hands the frame over) to consumer, per message.")

    @OptionGroup var endpoint: Endpoint

    @Option(help: "async or callback.")
    var mode = "async"

    @Option(help: "Messages measured (after 2000 of warm-up).")
    var messages = 50_000

    func run() async throws {
        let callback = self.mode == "callback"
        let client = try self.endpoint.client(callback: callback)
        let total = self.messages + 2000
        let recorder = Recorder(capacity: total)
        let isData = Array(#"{"type":"data""#.utf8)
        client.onRawFrame { bytes, _ in
            guard bytes.count > isData.count, zip(bytes.prefix(isData.count), isData).allSatisfy({ $0 == $1 }) else { return }
            recorder.arrive(monotonicNS())
        }
        try await self.endpoint.drive(client, callback: callback) { _ in recorder.deliver(monotonicNS()) }
        await client.stop()
        var sorted = Array(recorder.latencies.dropFirst(2000))
        sorted.sort()
        func pct(_ p: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1000 }
        emit([
            "consumer": callback ? "Swift callback (onMessage)" : "Swift AsyncSequence (client.events)",
            "messages": self.messages, "p50_us": pct(0.5), "p99_us": pct(0.99), "p999_us": pct(0.999),
            "max_us": Double(sorted.last ?? 0) / 1000,
        ])
    }
}

/// Arrival times of data frames in order, and each delivery's latency against the arrival of the same frame (the
/// n-th delivery is the n-th data frame: one subscription set, delivered in order, nothing dropped).
final class Recorder: @unchecked Sendable {
    private let lock = NIOLock()
    private var arrivals: [Int64]
    private(set) var latencies: [Int64]
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        self.arrivals = []
        self.latencies = []
        self.arrivals.reserveCapacity(capacity + 4096)
        self.latencies.reserveCapacity(capacity)
    }

    func arrive(_ t: Int64) {
        self.lock.withLock { if self.arrivals.count < self.capacity + 4096 { self.arrivals.append(t) } }
    }

    /// True once `capacity` deliveries were recorded.
    func deliver(_ t: Int64) -> Bool {
        self.lock.withLock {
            let i = self.latencies.count
            if i < self.capacity, i < self.arrivals.count { self.latencies.append(t - self.arrivals[i]) }
            return self.latencies.count >= self.capacity
        }
    }
}
