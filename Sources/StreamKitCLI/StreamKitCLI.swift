// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser
import Dispatch
import Foundation
import NIOSSL
import StreamKit
import StreamKitCapture
import StreamKitClient
import StreamKitSimulator
import StreamKitSoak

@main
struct StreamKitCLI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "streamkit",
        abstract: "Watch, record, replay, decode and simulate the CoinMarketCap Pro WebSocket stream; soak-test the client.",
        discussion: """
            Exit codes: 0 success; 1 runtime failure (connection refused for good, bad input file); 64 usage error.
            Errors are printed as one line on stderr.
            """,
        subcommands: [Watch.self, Record.self, Replay.self, Decode.self, Sim.self, Soak.self]
    )
}

// MARK: - What to subscribe to, and where

/// The options `watch` and `record` share: a channel, its targets, and the endpoint.
struct Selection: ParsableArguments {
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

    func subscriptions() throws -> [Subscription] {
        guard let channel = Channel(rawValue: self.channel) else {
            throw ValidationError("unknown channel '\(self.channel)'; one of: \(Channel.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var params = SubscriptionParams(platformID: self.platform, addresses: self.address + self.pool + self.wallet, interval: self.interval)
        params.cryptoIDs = (self.ids ?? "").split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
        do {
            return try params.subscriptions(for: channel)
        } catch {
            throw ValidationError(error.detail)
        }
    }

    /// The endpoint and key: `--url`, else the real service with CMC_API_KEY, else an embedded simulator.
    func endpoint(command: String) async throws -> (url: String, key: String, simulator: SimulatorServer?) {
        if let given = self.url {
            return (given, ProcessInfo.processInfo.environment["CMC_API_KEY"] ?? "streamkit-demo", nil)
        }
        if let env = ProcessInfo.processInfo.environment["CMC_API_KEY"], !env.isEmpty {
            return (StreamKitDefaults.url, env, nil)
        }
        var config = SimulatorConfiguration(keys: ["streamkit-demo": .active])
        config.speed = 2
        let sim = try await SimulatorServer.start(configuration: config)
        stderr("streamkit \(command): CMC_API_KEY is not set: using the embedded simulator at \(sim.url) (simulated data)")
        return (sim.url, "streamkit-demo", sim)
    }
}

func stderr(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Stops a command on Ctrl-C, after a duration, or when told.
final class Finish: @unchecked Sendable {
    let signal = StopSignal()
    private let deadline: ContinuousClock.Instant?
    init(duration: Double?) {
        self.deadline = duration.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        self.signal.install()
    }
    var due: Bool { self.signal.requested || (self.deadline.map { ContinuousClock.now >= $0 } ?? false) }

    /// Stops `client` once due.
    func watch(_ client: StreamClient) -> Task<Void, any Error> {
        Task {
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(100))
                if self.due {
                    await client.stop()
                    return
                }
            }
        }
    }
}

// MARK: - watch

struct Watch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show live data of one channel.",
        discussion: """
            With CMC_API_KEY unset and no --url, starts the embedded simulator and says so on stderr, so this works \
            on any machine. In a terminal: a table updated in place (target, price or latest value, 24 h change, \
            age; connection state, messages per second, reconnects). Piped, or with --json: one JSON line per \
            message (the format of `decode`). Ctrl-C exits with a summary on stderr.

            Examples:
              streamkit watch market@crypto_latest_price --ids 1,1027
              streamkit watch onchain@kline --platform 14 --address 0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d --interval 1m
              CMC_API_KEY=... streamkit watch onchain@transaction --platform 16 --address <mint> --json
            """
    )

    @OptionGroup var selection: Selection

    @Flag(help: "Write JSON lines even in a terminal.")
    var json = false

    @Option(help: "Exit after this many messages.")
    var count: Int?

    @Option(help: "Exit after this many seconds.")
    var duration: Double?

    func run() async throws {
        let subscriptions = try self.selection.subscriptions()
        let (url, key, simulator) = try await self.selection.endpoint(command: "watch")
        defer { simulator?.stop() }

        let client = try StreamClient(configuration: StreamClientConfiguration(url: url, apiKey: key))
        let jsonLines = self.json || isatty(STDOUT_FILENO) == 0
        client.start()
        try await client.subscribe(subscriptions, overflow: jsonLines ? .block : .conflate)
        let finish = Finish(duration: self.duration)
        let watchdog = finish.watch(client)
        var table = LiveTable(url: url)
        var messages = 0
        var reconnects = 0
        let start = ContinuousClock.now
        for await event in client.events {
            switch event {
            case .message(let message, _):
                messages += 1
                if jsonLines {
                    print(String(decoding: NormalizedJSON.render(message), as: UTF8.self))
                } else {
                    table.update(message)
                    table.drawIfDue(messages: messages, reconnects: reconnects)
                }
                if let count = self.count, messages >= count {
                    await client.stop()
                }
            case .session(let e, let connection):
                table.state = Self.state(e) ?? table.state
                switch e {
                case .reconnecting(let attempt, let delay, let reason):
                    reconnects += 1
                    if jsonLines { stderr("streamkit: connection \(connection): \(reason); reconnecting (attempt \(attempt)) in \(delay)") }
                case .fatal(let reason):
                    stderr("streamkit: stopped: \(reason)")
                    watchdog.cancel()
                    throw ExitCode(1)
                case .gap(let s, let from, let to, _):
                    if jsonLines { stderr("streamkit: gap in \(s): \(to.duration(since: from)) without data") }
                case .stale(let s, _):
                    if jsonLines { stderr("streamkit: \(s) went quiet; re-subscribing") }
                case .connecting, .connected, .welcome, .subscribed, .unsubscribed, .subscriptionFailed, .restored,
                    .serverError, .stopped:
                    break
                }
                if !jsonLines { table.drawIfDue(messages: messages, reconnects: reconnects) }
            case .dropped(let s, let n):
                stderr("streamkit: \(s): \(n) messages dropped (output too slow)")
            }
        }
        watchdog.cancel()
        if !jsonLines { table.draw(messages: messages, reconnects: reconnects) }
        let elapsed = ContinuousClock.now - start
        let seconds = elapsed.seconds
        stderr(String(format: "streamkit: %d messages in %.1f s, %d reconnects", messages, seconds, reconnects))
    }

    static func state(_ e: SessionEvent) -> String? {
        switch e {
        case .connecting: "connecting"
        case .connected, .welcome, .subscribed, .restored: "connected"
        case .reconnecting: "reconnecting"
        case .fatal: "failed"
        case .stopped: "stopped"
        case .unsubscribed, .subscriptionFailed, .stale, .gap, .serverError: nil
        }
    }
}

/// The terminal view of `watch`: one row per target, redrawn in place at most five times a second.
struct LiveTable {
    struct Row {
        var label: String
        var value: String
        var change: String
        var at: ContinuousClock.Instant
    }

    let url: String
    var state = "connecting"
    private var rows: [String: Row] = [:]
    private var order: [String] = []
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var lastCount = 0
    private var lastRateAt = ContinuousClock.now
    private var rate = 0.0

    init(url: String) { self.url = url }

    mutating func update(_ m: Message) {
        guard case .data(let d) = m.frame else { return }
        var target = d.params.cryptoID.map { Self.symbol($0) } ?? (m.string(d.params.address).map { String($0.prefix(10)) + "…" } ?? "?")
        if let interval = m.string(d.params.interval) { target += " " + interval }
        let (value, change) = Self.summary(m, d)
        if self.rows[target] == nil { self.order.append(target) }
        self.rows[target] = Row(label: target, value: value, change: change, at: .now)
    }

    mutating func drawIfDue(messages: Int, reconnects: Int) {
        guard ContinuousClock.now - self.lastDraw >= .milliseconds(200) else { return }
        self.draw(messages: messages, reconnects: reconnects)
    }

    mutating func draw(messages: Int, reconnects: Int) {
        let now = ContinuousClock.now
        let window = now - self.lastRateAt
        if window >= .seconds(1) {
            let secs = window.seconds
            self.rate = Double(messages - self.lastCount) / secs
            self.lastCount = messages
            self.lastRateAt = now
        }
        self.lastDraw = now
        var out = "\u{1B}[H\u{1B}[2J"
        out += "streamkit watch  \(self.url)\n"
        out += String(format: "state %@   %.1f msgs/s   %d messages   %d reconnects\n\n", self.state, self.rate, messages, reconnects)
        out += Self.pad("TARGET", 18) + Self.pad("VALUE", 44) + Self.pad("24H", 10) + "AGE\n"
        for key in self.order {
            guard let r = self.rows[key] else { continue }
            let age = now - r.at
            let ageText = String(format: "%.1fs", age.seconds)
            out += Self.pad(r.label, 18) + Self.pad(r.value, 44) + Self.pad(r.change, 10) + ageText + "\n"
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? String(s.prefix(n - 1)) + " " : s + String(repeating: " ", count: n - s.count)
    }

    static func symbol(_ id: Int64) -> String {
        switch id {
        case 1: "BTC (1)"
        case 1027: "ETH (1027)"
        case 825: "USDT (825)"
        case 1839: "BNB (1839)"
        case 5426: "SOL (5426)"
        default: "id \(id)"
        }
    }

    static func summary(_ m: Message, _ d: DataFrame) -> (String, String) {
        switch d.payload {
        case .cryptoLatestPrice(let q):
            return (q.price.map { String(format: "$%.8g", $0) } ?? "$-", q.p24h.map { String(format: "%+.2f%%", $0) } ?? "-")
        case .tokenAggEvent(let t):
            return (String(format: "$%.6g  liq $%.4g", t.ap ?? .nan, t.lu ?? .nan), "-")
        case .transaction(let t):
            return ("\(t.side.map { "\($0)" } ?? "?") $\(String(format: "%.2f", t.vu ?? .nan))  tx \(m.string(t.tx)?.prefix(12) ?? "")", "-")
        case .kline(let k):
            return (String(format: "O %.5g H %.5g L %.5g C %.5g", k.o ?? .nan, k.h ?? .nan, k.l ?? .nan, k.c ?? .nan), "-")
        default:
            let text = String(decoding: NormalizedJSON.render(m), as: UTF8.self)
            return (String(text.suffix(43)), "-")
        }
    }
}

extension Watch {
    /// One line of plain output for a data message.
    static func line(_ m: Message) -> String {
        let time = String(format: "%.3f", Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 100_000))
        guard case .data(let d) = m.frame else { return "\(time)  \(m.frame)" }
        var target = d.params.cryptoID.map { "id \($0)" } ?? (m.string(d.params.address) ?? "")
        if let interval = m.string(d.params.interval) { target += " @\(interval)" }
        let (value, change) = LiveTable.summary(m, d)
        return "\(time)  \(d.channelName.count > 0 ? m.string(d.channelName) : "?") \(target)  \(value)  \(change)"
    }
}

extension Duration {
    /// The duration in seconds, as a `Double` (for rates and display).
    var seconds: Double { Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18 }
}

// MARK: - decode

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode frames (one per line on stdin, or the frames of capture files) into JSON lines, as StreamKit understands them.",
        discussion: """
            Each output line is {"type","channel","params","ts","data"} for a data frame, with every field of the \
            typed payload under its wire key (numbers printed to parse back to the same double, nulls kept, absent \
            fields omitted, unknown keys kept as sent); the normalised envelope for ack, pong, error (error_code as \
            an integer) and welcome; {"type":"invalid","reason":...} for a line that is not a valid frame. The count \
            of invalid lines goes to stderr at the end.

            A stdin line that is a capture line ({"t":...,"f":"FRAME"}) is decoded as its frame. Given FILES \
            (captures: plain or zstd, paths or globs), every frame of them is decoded in order, and their \
            lifecycle lines are printed as they are.

            Examples:
              streamkit decode < frames.txt > decoded.ndjson
              streamkit decode 'prices-*.ndjson.zst' > decoded.ndjson
            """
    )

    @Argument(help: "Capture files or glob patterns (default: frames on stdin).")
    var files: [String] = []

    func run() throws {
        var invalid = 0
        var total = 0
        func emit(_ frame: [UInt8]) {
            total += 1
            let out = NormalizedJSON.render(frame)
            if out.hasPrefix(#"{"type":"invalid""#) { invalid += 1 }
            print(out)
        }
        if !self.files.isEmpty {
            let reader: CaptureReader
            do { reader = try CaptureReader(self.files) } catch { throw ValidationError("\(error)") }
            while let record = try reader.next() {
                switch record {
                case .frame(_, _, let bytes): emit(Array(bytes))
                case .event(let e): print(String(decoding: e.line().dropLast(), as: UTF8.self))
                case .truncated(let path, let offset, let detail):
                    stderr("streamkit decode: \(path): \(detail) (read up to byte \(offset) of its NDJSON)")
                case .invalid(let path, let line, let detail): stderr("streamkit decode: \(path):\(line): \(detail); skipped")
                case .header: break
                }
            }
        } else {
            var scratch: [UInt8] = []
            while let line = Swift.readLine(strippingNewline: true) {
                if line.isEmpty { continue }
                var bytes = Array(line.utf8)
                scratch.removeAll(keepingCapacity: true)
                scratch.append(contentsOf: repeatElement(0, count: bytes.count + 16))
                let frame = bytes.withUnsafeBytes { raw in
                    scratch.withUnsafeMutableBufferPointer { CaptureLine.parseFrame(raw, into: $0.baseAddress!) }
                }
                if let frame { bytes = Array(scratch[0..<frame.count]) }
                emit(bytes)
            }
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
              streamkit sim --replay 'prices-*.ndjson.zst' --speed 60 --loop

            With --replay, the data frames of a capture (the `record` format, plain or zstd; files or glob \
            patterns, read in the order of their headers) are served instead of the market, byte for byte with \
            their recorded ts, each to the clients subscribed to what its params echo names; everything else \
            (welcome, acks, errors, pongs, idle close, --fault) is live. The capture's clock starts 0.5 s after the first \
            subscription and runs --speed times as fast as it was recorded (--max: as fast as the clients read). \
            At the end the pushes stop (--loop: start again); the server goes on answering until Ctrl-C.
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

    @Option(help: "Clock rate: at 10 the simulated clock (every ts, ot and window, the announced ping interval, the idle close) runs ten times faster than the wall clock.")
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

    @Option(parsing: .upToNextOption, help: "Serve these capture files or glob patterns instead of the market (see above).")
    var replay: [String] = []

    @Flag(help: "With --replay: as fast as the subscribed clients read, instead of the recorded pace.")
    var max = false

    @Flag(help: "With --replay: start again from the beginning at the end.")
    var loop = false

    @Flag(help: "With --replay: close every connection where the capture recorded a close (with its code; a drop for 1006), and send 5001 where it recorded one.")
    var replayFaults = false

    @Option(help: "A fault at a time: KIND@SECONDS, KIND one of \(SimulatorFault.kinds.map(\.commandLine).joined(separator: ", ")) (N: see the README; repeatable).")
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
        if self.replay.isEmpty {
            guard !self.max, !self.loop, !self.replayFaults else { throw ValidationError("--max, --loop and --replay-faults go with --replay") }
        } else {
            guard self.rate == nil else { throw ValidationError("--rate (load mode) does not go with --replay: use --max or --speed") }
            config.replay = ReplayConfiguration(paths: self.replay, pace: self.max ? .max : .recorded, loop: self.loop, faults: self.replayFaults)
        }
        var tls: TLSConfiguration?
        if let cert = self.tlsCert, let key = self.tlsKey {
            let chain = try NIOSSLCertificate.fromPEMFile(cert).map { NIOSSLCertificateSource.certificate($0) }
            tls = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain,
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            )
        } else if self.tlsCert != nil || self.tlsKey != nil {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        let faults = try self.fault.map(Self.parseFault)
        let sim: SimulatorServer
        do {
            sim = try await SimulatorServer.start(configuration: config, host: self.host, port: self.port, tls: tls)
        } catch let error as CaptureError {
            throw ValidationError("--replay: \(error)")
        }
        print(sim.url)
        fflush(nil)  // flush stdout so scripts reading the URL see it now
        FileHandle.standardError.write(Data("streamkit sim: serving \(sim.url) for \(config.keys.count) key(s); Ctrl-C stops\n".utf8))
        let stop = StopSignal()
        stop.install()
        let start = ContinuousClock.now
        var pending = faults.sorted { $0.at < $1.at }
        var replayEnded = false
        while !stop.requested {
            try await Task.sleep(for: .milliseconds(50))
            if !replayEnded, let p = sim.replayProgress, p.finished {
                replayEnded = true
                let why = p.error.map { "reading stopped: \($0)" } ?? "end of the capture"
                FileHandle.standardError.write(Data("streamkit sim: replay finished (\(why)): \(p.served) of \(p.dataFrames) data frames served, \(p.unsubscribed) to no subscriber\(p.truncatedFiles > 0 ? ", \(p.truncatedFiles) file(s) cut short" : ""); still answering, Ctrl-C stops\n".utf8))
            }
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
        // KIND or KIND:N, named as in SimulatorFault.kinds (the table C and Python share).
        let kindAndArgument = parts[0].split(separator: ":", maxSplits: 1)
        guard let kind = SimulatorFault.kind(named: kindAndArgument[0]) else {
            throw ValidationError("fault '\(text)': unknown kind '\(kindAndArgument[0])'")
        }
        let argument = kindAndArgument.count == 2 ? Int64(kindAndArgument[1]) : 0
        guard kindAndArgument.count == 2 || kind.argument?.hasPrefix("optional") ?? true, let argument,
            let fault = kind.fault(argument)
        else {
            throw ValidationError("fault '\(text)': \(kind.commandLine) takes \(kind.argument ?? "no argument")")
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

// MARK: - soak

struct Soak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Soak-test the client against the simulator under faults; print what was sent versus delivered.",
        discussion: """
            Runs a client (every channel, several connections) against the embedded simulator for --duration \
            seconds while injecting faults from a seeded schedule: abrupt drops, silent stalls, every documented \
            close code (the fatal 4100/4101/4102 on a probe client of their own), 5001 errors, malformed and \
            oversized frames, duplicate pushes, slow pongs, a server that accepts and then closes. Then it compares \
            every push the simulator sent with what the consumer received and prints one summary table. The run \
            ends by rounds as well as time: faults go on past --duration until every kind has been injected \
            --rounds times (capped at ten times --duration, which fails the run). Exit code \
            0 when every message was delivered exactly once outside the gaps the client reported, every \
            subscription delivers at the end, every reconnect delay is within the backoff policy, and RSS stayed \
            within the bound; 1 otherwise.

            Examples:
              streamkit soak --duration 600 --seed 7      # the 10-minute soak
              streamkit soak --duration 30 --fault-every 0.5
              streamkit soak --duration 30 --rounds 2     # every fault kind at least twice
            """
    )

    @Option(help: "Seconds of faults, at least: the run goes on until --rounds full rounds of the fault deck are in.")
    var duration: Double = 60

    @Option(help: "Full rounds of the fault deck (every kind once a round) to inject, however long it takes (capped at 10 x --duration; the run fails at the cap).")
    var rounds = 1

    @Option(help: "Seed of the fault schedule and the market.")
    var seed: UInt64 = 1

    @Option(help: "Mean seconds between faults.")
    var faultEvery: Double = 2

    @Option(help: "Data frames per second per connection.")
    var rate: Double = 200

    @Option(help: "Connections (20 subscriptions each, every channel).")
    var connections = 3

    @Option(help: "Largest RSS growth accepted after warm-up, MiB.")
    var rssBound: Double = 16

    func validate() throws {
        guard self.duration > 0, self.faultEvery > 0, self.rate > 0, (1...10).contains(self.connections), self.rounds >= 1 else {
            throw ValidationError("--duration, --fault-every and --rate must be positive; --connections 1 to 10; --rounds at least 1")
        }
    }

    func run() async throws {
        var c = SoakConfiguration()
        c.duration = .nanoseconds(Int64(self.duration * 1e9))
        c.seed = self.seed
        c.minimumRounds = self.rounds
        c.meanFaultInterval = .nanoseconds(Int64(self.faultEvery * 1e9))
        c.rate = self.rate
        c.connections = self.connections
        c.rssBoundMiB = self.rssBound
        c.progress = { line in FileHandle.standardError.write(Data("soak: \(line)\n".utf8)) }
        let report = try await StreamKitSoak.Soak.run(c)
        print(report)
        if !report.passed { throw ExitCode(1) }
    }
}
