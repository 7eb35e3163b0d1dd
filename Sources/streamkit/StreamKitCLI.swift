// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import Dispatch
import Foundation
import NIOSSL
import StreamKit
import StreamKitClient
import StreamKitSimulator

@main
struct StreamKitCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamkit",
        abstract: "Watch, decode and simulate the CoinMarketCap Pro WebSocket stream.",
        discussion: """
            Exit codes: 0 success; 1 runtime failure (connection refused for good, bad input file); 64 usage error.
            Errors are printed as one line on stderr.
            """,
        subcommands: [Watch.self, Decode.self, Sim.self]
    )
}

// MARK: - watch

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show live data of one channel.",
        discussion: """
            With CMC_API_KEY unset and no --url, starts the embedded simulator and says so on stderr, so this works \
            on any machine. Piped, or with --json, writes one JSON line per message (the format of `decode`).

            Examples:
              streamkit watch market@crypto_latest_price --ids 1,1027
              streamkit watch onchain@kline --platform 14 --address 0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d --interval 1m
              CMC_API_KEY=... streamkit watch onchain@transaction --platform 16 --address <mint> --json
            """
    )

    @Argument(help: "The channel, e.g. market@crypto_latest_price or onchain@transaction.")
    var channel: String

    @Option(help: "CMC crypto ids, comma-separated (market@crypto_latest_price).")
    var ids: String?

    @Option(help: "Platform id of the address (14 = BSC, 16 = Solana).")
    var platform: Int64?

    @Option(parsing: .upToNextOption, help: "Token addresses.")
    var address: [String] = []

    @Option(parsing: .upToNextOption, help: "Pool addresses (onchain@pool_metric).")
    var pool: [String] = []

    @Option(parsing: .upToNextOption, help: "Wallet addresses (onchain@holder_wallet_update).")
    var wallet: [String] = []

    @Option(help: "Interval (onchain@kline, onchain@unique_trader), e.g. 1m.")
    var interval: String?

    @Option(help: "Stream URL. Default: the real service when CMC_API_KEY is set, else the embedded simulator.")
    var url: String?

    @Flag(help: "Write JSON lines even in a terminal.")
    var json = false

    @Option(help: "Exit after this many messages.")
    var count: Int?

    @Option(help: "Exit after this many seconds.")
    var duration: Double?

    func run() async throws {
        guard let channel = Channel(rawValue: self.channel) else {
            throw ValidationError("unknown channel '\(self.channel)'; one of: \(Channel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var params = SubscriptionParams(platformID: self.platform, addresses: self.address + self.pool + self.wallet, interval: self.interval)
        params.cryptoIDs = (self.ids ?? "").split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        let subscriptions: [Subscription]
        do {
            subscriptions = try params.subscriptions(for: channel)
        } catch {
            throw ValidationError(error.detail)
        }

        var simulator: SimulatorServer?
        let key: String
        let url: String
        if let given = self.url {
            url = given
            key = ProcessInfo.processInfo.environment["CMC_API_KEY"] ?? "streamkit-demo"
        } else if let env = ProcessInfo.processInfo.environment["CMC_API_KEY"], !env.isEmpty {
            url = "wss://pro-stream.coinmarketcap.com/v1"
            key = env
        } else {
            var config = SimulatorConfiguration(keys: ["streamkit-demo": .active])
            config.speed = 2
            let sim = try await SimulatorServer.start(configuration: config)
            simulator = sim
            url = sim.url
            key = "streamkit-demo"
            FileHandle.standardError.write(Data("streamkit: CMC_API_KEY is not set: using the embedded simulator at \(sim.url) (simulated data)\n".utf8))
        }
        defer { simulator?.stop() }

        let client = try StreamClient(configuration: StreamClientConfiguration(url: url, apiKey: key))
        let jsonLines = self.json || isatty(STDOUT_FILENO) == 0
        client.start()
        try await client.subscribe(subscriptions)
        let stop = StopSignal()
        stop.install()
        let deadline = self.duration.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        var messages = 0
        var reconnects = 0
        var started = false
        let start = ContinuousClock.now
        let watchdog = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(100))
                if stop.requested || (deadline.map { ContinuousClock.now >= $0 } ?? false) {
                    await client.stop()
                    return
                }
            }
        }
        for await event in client.events {
            switch event {
            case .message(let message, _):
                messages += 1
                if jsonLines {
                    print(String(decoding: NormalizedJSON.render(DecodedFrameBox.decode(message.bytes), bytes: message.bytes), as: UTF8.self))
                } else {
                    if !started {
                        print("time      channel / target                                    value")
                        started = true
                    }
                    print(Self.line(message))
                }
                if let count = self.count, messages >= count {
                    await client.stop()
                }
            case .session(let e, let connection):
                switch e {
                case .reconnecting(let attempt, let delay, let reason):
                    reconnects += 1
                    FileHandle.standardError.write(Data("streamkit: connection \(connection): \(reason); reconnecting (attempt \(attempt)) in \(delay)\n".utf8))
                case .fatal(let reason):
                    FileHandle.standardError.write(Data("streamkit: stopped: \(reason)\n".utf8))
                    watchdog.cancel()
                    throw ExitCode(1)
                case .gap(let s, let from, let to, _):
                    FileHandle.standardError.write(Data("streamkit: gap in \(s): \(to.duration(since: from)) without data\n".utf8))
                case .stale(let s, _):
                    FileHandle.standardError.write(Data("streamkit: \(s) went quiet; re-subscribing\n".utf8))
                default:
                    break
                }
            case .dropped(let s, let n):
                FileHandle.standardError.write(Data("streamkit: \(s): \(n) messages dropped (output too slow)\n".utf8))
            }
        }
        watchdog.cancel()
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        FileHandle.standardError.write(Data(String(format: "streamkit: %d messages in %.1f s, %d reconnects\n", messages, seconds, reconnects).utf8))
    }

    static func line(_ m: Message) -> String {
        let time = String(format: "%.3f", Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 100_000))
        guard case .data(let d) = m.frame else { return "\(time)  \(m.frame)" }
        var target = d.params.cryptoID.map { "id \($0)" } ?? (m.string(d.params.address) ?? "")
        if let interval = m.string(d.params.interval) { target += " @\(interval)" }
        let value: String
        switch d.payload {
        case .cryptoLatestPrice(let q): value = String(format: "$%.6g  24h %+.2f%%", q.price, q.p24h ?? .nan)
        case .tokenAggEvent(let t): value = String(format: "$%.6g  liquidity $%.4g", t.ap ?? .nan, t.lu ?? .nan)
        case .transaction(let t): value = "\(t.side.map { "\($0)" } ?? "?") $\(String(format: "%.2f", t.vu ?? .nan))  tx \(m.string(t.tx)?.prefix(12) ?? "")"
        case .kline(let k): value = String(format: "O %.6g H %.6g L %.6g C %.6g", k.o ?? .nan, k.h ?? .nan, k.l ?? .nan, k.c ?? .nan)
        default: value = String(decoding: NormalizedJSON.render(DecodedFrameBox.decode(m.bytes), bytes: m.bytes), as: UTF8.self)
        }
        return "\(time)  \(d.channelName.count > 0 ? m.string(d.channelName) : "?") \(target)  \(value)"
    }
}

/// Decodes bytes into a fresh `DecodedFrame` (for the JSON renderer).
enum DecodedFrameBox {
    static func decode(_ bytes: [UInt8]) -> DecodedFrame {
        var f = DecodedFrame()
        _ = bytes.withUnsafeBytes { try? FrameDecoder().decode($0, into: &f) }
        return f
    }
}

// MARK: - decode

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode frames (one per line on stdin) into JSON lines, as StreamKit understands them.",
        discussion: """
            Each output line is {"type","channel","params","ts","data"} for a data frame, with every field of the \
            typed payload under its wire key (numbers printed to parse back to the same double, nulls kept, absent \
            fields omitted, unknown keys kept as sent); the normalised envelope for ack, pong, error (error_code as \
            an integer) and welcome; {"type":"invalid","reason":...} for a line that is not a valid frame. The count \
            of invalid lines goes to stderr at the end.

            Example:
              streamkit decode < capture.ndjson > decoded.ndjson
            """
    )

    func run() throws {
        var invalid = 0
        var total = 0
        while let line = Swift.readLine(strippingNewline: true) {
            if line.isEmpty { continue }
            total += 1
            let out = NormalizedJSON.render(Array(line.utf8))
            if out.hasPrefix(#"{"type":"invalid""#) { invalid += 1 }
            print(out)
        }
        FileHandle.standardError.write(Data("streamkit decode: \(total) frames, \(invalid) invalid\n".utf8))
    }
}

// MARK: - sim

struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the stream simulator: a protocol-faithful server with scripted faults.",
        discussion: """
            Serves ws://HOST:PORT/v1 (wss:// with --tls-cert and --tls-key) and prints that URL as the first line \
            on stdout. Auth, errors, acks, pings, idle close and data for all ten channels behave as the reference \
            describes; see the README's Simulator section for what it departs from. Ctrl-C stops it and prints what \
            it sent.

            Examples:
              streamkit sim --port 8765 --api-key test
              streamkit sim --port 0 --api-key a --api-key b --speed 10 --fault drop@5
              streamkit sim --port 0 --rate max          # load: as fast as each client reads
            """
    )

    @Option(help: "Interface to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port; 0 picks a free one (printed).")
    var port = 8765

    @Option(help: "An accepted API key (repeatable). Default: test.")
    var apiKey: [String] = []

    @Option(help: "A key that is closed with 4101 (disabled).")
    var disabledKey: [String] = []

    @Option(help: "A key whose plan lacks WebSocket (closed with 4102).")
    var noWebsocketKey: [String] = []

    @Option(help: "Seed of the market data.")
    var seed: UInt64 = 42

    @Option(help: "Cadence multiplier: 10 pushes ten times faster.")
    var speed: Double = 1

    @Option(help: "Load mode: data frames per second per connection over its subscriptions, or 'max' (as fast as the client reads), instead of the channels' cadences.")
    var rate: String?

    @Option(help: "Subscriptions per connection.")
    var subLimit = 100

    @Option(help: "Connections per key.")
    var connectionsPerKey = 10

    @Option(help: "PEM certificate chain, to serve wss://.")
    var tlsCert: String?

    @Option(help: "PEM private key, to serve wss://.")
    var tlsKey: String?

    @Option(help: "A fault at a time: KIND@SECONDS, KIND one of drop, stall, 5001, malformed, duplicate, close:CODE, oversized:BYTES, pong-delay:MS (repeatable).")
    var fault: [String] = []

    func run() async throws {
        var config = SimulatorConfiguration(keys: [:])
        for k in self.apiKey.isEmpty ? ["test"] : self.apiKey { config.keys[k] = .active }
        for k in self.disabledKey { config.keys[k] = .disabled }
        for k in self.noWebsocketKey { config.keys[k] = .noWebSocketPlan }
        config.seed = self.seed
        config.speed = self.speed
        if let rate = self.rate {
            guard rate == "max" || (Double(rate).map { $0 > 0 } ?? false) else {
                throw ValidationError("--rate takes a positive number or 'max'")
            }
            config.rate = rate == "max" ? .infinity : Double(rate)
        }
        config.subscriptionLimit = self.subLimit
        config.connectionsPerKey = self.connectionsPerKey
        var tls: TLSConfiguration?
        if let cert = self.tlsCert, let key = self.tlsKey {
            let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
            tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .file(key))
        } else if self.tlsCert != nil || self.tlsKey != nil {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        let faults = try self.fault.map(Self.parseFault)
        let sim = try await SimulatorServer.start(configuration: config, host: self.host, port: self.port, tls: tls)
        print(sim.url)
        fflush(nil)  // flush stdout so scripts reading the URL see it now
        FileHandle.standardError.write(Data("streamkit sim: serving \(sim.url) for \(config.keys.count) key(s); Ctrl-C stops\n".utf8))
        let stop = StopSignal()
        stop.install()
        let start = ContinuousClock.now
        var pending = faults.sorted { $0.at < $1.at }
        while !stop.requested {
            try await Task.sleep(for: .milliseconds(50))
            let elapsed = ContinuousClock.now - start
            while let next = pending.first, elapsed >= .milliseconds(Int64(next.at * 1000)) {
                pending.removeFirst()
                sim.inject(next.fault)
                FileHandle.standardError.write(Data("streamkit sim: injected \(next.fault)\n".utf8))
            }
        }
        let c = sim.counters
        sim.stop()
        FileHandle.standardError.write(Data("streamkit sim: \(c.connections) connections, \(c.requests) requests, \(c.framesSent) frames sent (\(c.dataSent.values.reduce(0, +)) data), faults \(c.faults)\n".utf8))
    }

    static func parseFault(_ text: String) throws -> (fault: SimulatorFault, at: Double) {
        let parts = text.split(separator: "@")
        guard parts.count == 2, let at = Double(parts[1]) else { throw ValidationError("fault '\(text)': expected KIND@SECONDS") }
        let kind = parts[0]
        let fault: SimulatorFault
        switch kind {
        case "drop": fault = .drop
        case "stall": fault = .stall
        case "5001": fault = .internalError
        case "malformed": fault = .malformedFrame
        case "duplicate": fault = .duplicatePush
        default:
            if kind.hasPrefix("close:"), let code = UInt16(kind.dropFirst(6)) {
                fault = .close(code: code)
            } else if kind.hasPrefix("oversized:"), let n = Int(kind.dropFirst(10)), n > 0 {
                fault = .oversizedFrame(bytes: n)
            } else if kind.hasPrefix("pong-delay:"), let ms = Int64(kind.dropFirst(11)), ms >= 0 {
                fault = .pongDelay(.milliseconds(ms))
            } else {
                throw ValidationError("fault '\(text)': unknown kind '\(kind)'")
            }
        }
        return (fault, at)
    }
}

// MARK: - Signals

/// Turns SIGINT and SIGTERM into a flag the commands poll, so they stop cleanly.
final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    private var sources: [any DispatchSourceSignal] = []

    var requested: Bool { self.lock.withLock { self.flag } }

    func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.lock.withLock { self?.flag = true } }
            source.resume()
            self.sources.append(source)
        }
    }
}
