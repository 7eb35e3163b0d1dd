// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// libFuzzer entry point: one input = a message limit and a split (its first two bytes), then any bytes as the
// stream a server sends after the upgrade. The parser must never trap nor read outside the bytes it is given
// (AddressSanitizer checks that), and the stream fed in one piece, in the input's split, and one byte at a time
// must give the same events and the same error. Every text message and close reason must be valid UTF-8 (checked
// against the standard library), every message within the limit, every control payload at most 125 bytes, every
// close code one that may be sent, and the reassembly buffer never larger than the limit.

import FuzzDriver
import StreamKit

/// The limits tried: degenerate, at the control frame bound, at the 16-bit length bound, and the client's default.
let limits = [0, 1, 125, 126, 1000, 65535, 65536, 1 << 20]

/// An event (or the error ending the stream) with its bytes copied out.
struct Recorded: Equatable {
    var kind: UInt8
    var code: UInt16
    var bytes: [UInt8]
}

/// Feeds `stream` in pieces ending at `cuts` (then the rest) and records every event up to the first error,
/// checking each event's invariants.
func parse(_ stream: UnsafeRawBufferPointer, cuts: [Int], limit: Int) -> [Recorded] {
    var parser = WebSocketParser(maxMessageSize: limit)
    var out: [Recorded] = []
    var start = 0
    for end in cuts + [stream.count] where end >= start {
        var input = UnsafeRawBufferPointer(rebasing: stream[start..<end])
        start = end
        do throws(WebSocketProtocolError) {
            while let event = try parser.next(&input) {
                out.append(check(event, limit: limit))
            }
            precondition(input.isEmpty, "nil returned with bytes left")
        } catch let failure {
            precondition([1002, 1007, 1009].contains(failure.closeCode), "close code \(failure.closeCode)")
            // The error is sticky.
            var again = UnsafeRawBufferPointer(rebasing: stream[0..<min(1, stream.count)])
            do throws(WebSocketProtocolError) {
                _ = try parser.next(&again)
                preconditionFailure("an error was not thrown again")
            } catch {
                precondition(error == failure, "a different error thrown again")
            }
            out.append(Recorded(kind: 255, code: failure.closeCode, bytes: Array("\(failure)".utf8)))
            break
        }
        precondition(parser.reassemblyCapacity <= max(limit, 0), "reassembly buffer beyond the limit")
    }
    return out
}

func check(_ event: WebSocketEvent, limit: Int) -> Recorded {
    switch event {
    case .text(let bytes):
        precondition(bytes.count <= limit, "text beyond the limit")
        precondition(String(validating: bytes, as: UTF8.self) != nil, "text that is not UTF-8")
        return Recorded(kind: 1, code: 0, bytes: Array(bytes))
    case .binary(let bytes):
        precondition(bytes.count <= limit, "binary beyond the limit")
        return Recorded(kind: 2, code: 0, bytes: Array(bytes))
    case .ping(let bytes):
        precondition(bytes.count <= 125, "ping beyond 125 bytes")
        return Recorded(kind: 9, code: 0, bytes: Array(bytes))
    case .pong(let bytes):
        precondition(bytes.count <= 125, "pong beyond 125 bytes")
        return Recorded(kind: 10, code: 0, bytes: Array(bytes))
    case .close(let code, let reason):
        precondition(reason.count <= 123, "close reason beyond 123 bytes")
        precondition(code != nil || reason.isEmpty, "a reason without a code")
        if let code { precondition(WebSocketParser.isSendable(closeCode: code), "close code \(code)") }
        precondition(String(validating: reason, as: UTF8.self) != nil, "close reason that is not UTF-8")
        return Recorded(kind: 8, code: code ?? 1005, bytes: Array(reason))
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocket(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let limit = limits[Int(data[0]) % limits.count]
    // The split: pieces of 1 to 16 bytes, or up to 4096, from a generator seeded by the second byte.
    var state = UInt64(data[1]) &* 0x9E37_79B9_7F4A_7C15 | 1
    func random() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    let stream = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
    var cuts: [Int] = []
    var at = 0
    while at < stream.count {
        at += 1 + Int(random() % 4 == 0 ? random() % 4096 : random() % 16)
        cuts.append(min(at, stream.count))
    }
    let whole = parse(stream, cuts: [], limit: limit)
    let split = parse(stream, cuts: cuts, limit: limit)
    precondition(split == whole, "the split changed the events")
    let bytewise = parse(stream, cuts: Array(0..<stream.count), limit: limit)
    precondition(bytewise == whole, "one byte at a time changed the events")
    return 0
}

// SwiftPM links an executable's entry point as `FuzzWebSocket_main`; hand it to libFuzzer's driver.
@_cdecl("FuzzWebSocket_main")
public func fuzzWebSocketMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzWebSocket)
}
