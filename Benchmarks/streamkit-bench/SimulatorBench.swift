// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0
//
// The simulator's section of the benchmark: what the market model costs per push (in virtual time, no socket),
// and the load mode's rate through the real server to a StreamKit client over loopback.

import Foundation
import MallocInterposerSwift
import StreamKit
import StreamKitClient
import StreamKitSimulator

enum SimulatorBench {
    static let token = "0x00000000000000000000000000000000000000aa"

    /// One subscription of every channel (prices of five ids), on BSC.
    static func subscriptions() -> [Subscription] {
        func on(_ c: StreamKit.Channel, _ a: String = token, interval: String? = nil) -> Subscription {
            try! Subscription(channel: c, target: .address(platformID: 14, address: a), interval: interval)
        }
        return [1, 1027, 5426, 74, 52].map { Subscription.cryptoLatestPrice($0) } + [
            on(.transaction), on(.transaction, MarketModel.quoteAddress(ofToken: token, platform: 14)), on(.tokenAggEvent),
            on(.liquidityEvent), on(.kline, interval: "1s"), on(.uniqueTrader, interval: "1s"), on(.tokenMetric),
            on(.poolMetric, "0x00000000000000000000000000000000000000cc"), on(.holdersMetrics),
            on(.holderWalletUpdate, "0x00000000000000000000000000000000000000dd"),
        ]
    }

    struct Cost {
        let name: String
        let pushes: Int
        let nsPerPush: Double
        let allocsPerPush: Double
    }

    static func measure(_ name: String, _ pass: () -> Int) -> Cost {
        _ = pass()  // warm-up
        let start = ContinuousClock.now
        let n = pass()
        let elapsed = ContinuousClock.now - start
        MallocInterposerSwift.initialize()
        MallocInterposerSwift.hook()
        let m = pass()
        MallocInterposerSwift.unhook()
        let mallocs = MallocInterposerSwift.getStatistics().mallocCount
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        return Cost(name: name, pushes: n, nsPerPush: ns / Double(max(1, n)), allocsPerPush: Double(mallocs) / Double(max(1, m)))
    }

    /// The cadence mode: every subscription above, `hours` simulated hours in 20 ms steps (the server's tick at
    /// speed 1); the time includes the trades nobody is told of (the pools trade whatever is subscribed).
    static func cadence(hours: Int) -> Cost {
        measure("cadence mode: advance + poll, \(hours) simulated h, every channel") {
            var market = MarketModel(seed: 42)
            let t0: Int64 = 1_780_000_000_000
            for s in subscriptions() { market.handleSubscribe(s, now: t0) }
            var buffer: [MarketModel.Push] = []
            var n = 0
            var t = t0
            while t < t0 + Int64(hours) * 3_600_000 {
                t += 20
                market.advance(to: t)
                market.pollPushes(into: &buffer)
                n += buffer.count
                buffer.removeAll(keepingCapacity: true)
            }
            return n
        }
    }

    /// The load mode's render (`renderNow`) of one channel, `count` times.
    static func render(_ s: Subscription, count: Int) -> Cost {
        // The pool's warm-up (its first hours of trades) happens here, outside the timed passes.
        var market = MarketModel(seed: 42)
        var t: Int64 = 1_780_000_000_000
        market.handleSubscribe(s, now: t)
        return measure("load mode render: \(s)") {
            var n = 0
            for _ in 0..<count {
                t += 10
                n += market.renderNow(s, peers: [], now: t).count
            }
            return n
        }
    }

    /// The load mode at full speed (`rate: .infinity`) through the server to a `StreamClient`: data frames per
    /// second delivered over `seconds`.
    static func loadRate(_ subscriptions: [Subscription], seconds: Double) throws -> Double {
        try blocking {
            var c = SimulatorConfiguration(keys: ["bench": .active])
            c.rate = .infinity
            let sim = try await SimulatorServer.start(configuration: c)
            defer { sim.stop() }
            let client = try StreamClient(configuration: StreamClientConfiguration(url: sim.url, apiKey: "bench"))
            client.start()
            try await client.subscribe(subscriptions)
            let counted = Counter()
            let reader = Task {
                for await e in client.events {
                    if case .message = e { counted.add() }
                }
            }
            try await Task.sleep(for: .milliseconds(300))  // warm-up
            let before = counted.value
            let start = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
            let n = counted.value - before
            let elapsed = ContinuousClock.now - start
            await client.stop()
            reader.cancel()
            return Double(n) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        }
    }

    /// The Markdown section.
    static func section(seconds: Double) throws -> String {
        var rows = [cadence(hours: 6)]
        for s in subscriptions() where s.channel != .cryptoLatestPrice || s == .cryptoLatestPrice(1) {
            rows.append(render(s, count: 5000))
        }
        let prices = try loadRate([1, 1027, 5426, 74, 52].map { Subscription.cryptoLatestPrice($0) }, seconds: seconds)
        let swaps = try loadRate(Array(subscriptions()[5...6]), seconds: seconds)
        var out = """

            ## Simulator: the market model and the load mode

            The market model's cost per push, in virtual time (no socket; `MarketModel` alone), then the load mode \
            (`rate: .infinity`) through the NIO server to a `StreamClient` over loopback, \(fmt(seconds, 0)) s each. \
            Price pushes in the load mode are rendered 256 times per subscription and then replayed; swaps are \
            rendered fresh every time (a new trade of the pool each).

            | what | pushes | ns/push | allocs/push |
            |---|---:|---:|---:|

            """
        for r in rows { out += "| \(r.name) | \(r.pushes) | \(fmt(r.nsPerPush, 0)) | \(fmt(r.allocsPerPush, 1)) |\n" }
        out += """

            | load mode | data frames/s delivered |
            |---|---:|
            | 5 price subscriptions (replayed renders) | \(fmt(prices, 0)) |
            | a token's swaps, both legs (rendered fresh) | \(fmt(swaps, 0)) |

            """
        return out
    }
}

/// Runs `body` to completion from synchronous code.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.set(.success(try await body())) } catch { box.set(.failure(error)) }
        done.signal()
    }
    done.wait()
    return try box.get().get()
}

/// A result handed from a task to the thread waiting for it (under a lock).
final class ResultBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<T, any Error>?
    func set(_ r: Result<T, any Error>) { self.lock.withLock { self.result = r } }
    func get() -> Result<T, any Error> { self.lock.withLock { self.result! } }
}

/// A count shared between the reader task and the timer (under a lock).
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { self.lock.withLock { self.n += 1 } }
    var value: Int { self.lock.withLock { self.n } }
}
