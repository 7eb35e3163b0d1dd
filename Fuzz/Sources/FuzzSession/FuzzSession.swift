// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// libFuzzer entry point: one input = a script for a `Session`, run with virtual time. Each step is a command byte
// and, for frames, a length-prefixed payload: server frames (any bytes), closes with any code, connect failures,
// timeouts, subscribes, unsubscribes, pauses, stops, in any order. The engine must never trap, its deadlines
// must never be in the past after `handleTimeout`, and its queues must stay bounded.

import FuzzDriver
import StreamKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSession(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = UnsafeBufferPointer(start: data, count: size)[...]
    var config = SessionConfiguration()
    config.subscriptionLimit = 8
    var session = Session(configuration: config, seed: 1)
    var now = Instant(nanoseconds: 1_000_000_000)
    var frame = DecodedFrame()
    let targets: [Subscription] = [.cryptoLatestPrice(1), .cryptoLatestPrice(1027),
                                   (try? Subscription(channel: .transaction,
                                                      target: .address(platformID: 14, address: "0x8ac76a51cc950d9822d68b83fe1ad97b32cd580d")))!]
    func next() -> UInt8? { input.popFirst() }
    func drain() {
        var n = 0
        while session.pollEvent() != nil { n += 1 }
        while session.pollAction() != nil { n += 1 }
        precondition(n < 100_000, "unbounded output")
    }
    while let command = next() {
        switch command % 10 {
        case 0:
            session.start(now: now)
        case 1:
            session.handleConnected(now: now)
        case 2:
            let len = Int(next() ?? 0) | Int(next() ?? 0) << 8
            let chunk = Array(input.prefix(len))
            input = input.dropFirst(len)
            _ = chunk.withUnsafeBytes { session.handleText($0, now: now, into: &frame) }
        case 3:
            let code = UInt16(next() ?? 0) << 8 | UInt16(next() ?? 0)
            session.handleClosed(code: code == 0 ? nil : code, reason: "fuzz", now: now)
        case 4:
            session.handleConnectFailed(reason: "fuzz", now: now)
        case 5:
            now = now.advanced(by: .milliseconds(Int64(next() ?? 0) * 100))
            session.handleTimeout(now: now)
            if let deadline = session.pollTimeout(), deadline < now {
                // Due now: one more call must consume it.
                session.handleTimeout(now: now)
            }
        case 6:
            let pick = Int(next() ?? 0)
            _ = try? session.subscribe([targets[pick % targets.count]], now: now)
        case 7:
            let pick = Int(next() ?? 0)
            session.unsubscribe([targets[pick % targets.count]], now: now)
        case 8:
            session.handleReading(paused: (next() ?? 0) & 1 == 1, now: now)
        default:
            if (next() ?? 0) == 0xFF { session.stop(now: now) } else { session.unsubscribeAll(now: now) }
        }
        drain()
    }
    return 0
}

// SwiftPM links an executable's entry point as `FuzzSession_main`; hand it to libFuzzer's driver.
@_cdecl("FuzzSession_main")
public func fuzzSessionMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSession)
}
