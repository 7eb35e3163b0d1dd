// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import NIOCore
import NIOEmbedded
import NIOWebSocket
import StreamKit
import Testing

/// `WebSocketParser` against what the transport used before it, NIO's frame decoder and aggregator: on random
/// valid streams split at random, both give the same messages and control frames; on messages beyond the limit,
/// both fail.
@Suite struct WebSocketParserDifferentialTests {
    struct Item: Equatable {
        var opcode: UInt8
        var bytes: [UInt8]
    }

    static func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let n = payload.count
        if n < 126 {
            out.append(UInt8(n))
        } else if n <= 0xFFFF {
            out += [126, UInt8(n >> 8), UInt8(n & 0xFF)]
        } else {
            out.append(127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(n) >> UInt64(shift)) & 0xFF)) }
        }
        return out + payload
    }

    /// NIO's receive side as the transport had it; nil when it failed.
    static func nio(_ stream: [UInt8], cuts: [Int], limit: Int) throws -> [Item]? {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: limit)))
        try channel.pipeline.syncOperations.addHandler(
            NIOWebSocketFrameAggregator(minNonFinalFragmentSize: 0, maxAccumulatedFrameCount: 1024, maxAccumulatedFrameSize: limit)
        )
        defer { _ = try? channel.finish() }
        var out: [Item] = []
        var start = 0
        for end in cuts + [stream.count] where end > start {
            do {
                try channel.writeInbound(ByteBuffer(bytes: stream[start..<end]))
            } catch {
                return nil
            }
            start = end
            while let frame = try channel.readInbound(as: WebSocketFrame.self) {
                out.append(Item(opcode: UInt8(webSocketOpcode: frame.opcode), bytes: Array(frame.unmaskedData.readableBytesView)))
            }
        }
        return out
    }

    /// The parser; nil when it failed.
    static func ours(_ stream: [UInt8], cuts: [Int], limit: Int) -> [Item]? {
        var parser = WebSocketParser(maxMessageSize: limit)
        var out: [Item] = []
        var start = 0
        for end in cuts + [stream.count] where end > start {
            let ok = stream[start..<end].withUnsafeBytes { bytes -> Bool in
                var input = bytes
                do throws(WebSocketProtocolError) {
                    while let event = try parser.next(&input) {
                        switch event {
                        case .text(let b): out.append(Item(opcode: 1, bytes: Array(b)))
                        case .binary(let b): out.append(Item(opcode: 2, bytes: Array(b)))
                        case .ping(let b): out.append(Item(opcode: 9, bytes: Array(b)))
                        case .pong(let b): out.append(Item(opcode: 10, bytes: Array(b)))
                        case .close(let code, let reason):
                            out.append(Item(opcode: 8, bytes: (code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []) + Array(reason)))
                        }
                    }
                    return true
                } catch {
                    return false
                }
            }
            guard ok else { return nil }
            start = end
        }
        return out
    }

    /// A random valid stream: texts (multi-byte UTF-8 included) and binaries, whole or fragmented with control
    /// frames between the fragments, of every length form; a close at the end, sometimes.
    static func randomStream(_ rng: inout SplitMix64, maxMessage: Int) -> (stream: [UInt8], items: [Item]) {
        let alphabet = Array("a{\"€κ𝄞 ".unicodeScalars).map { String($0) }
        var stream: [UInt8] = []
        var items: [Item] = []
        for _ in 0..<Int(rng.next() % 10 + 1) {
            let size = Int(rng.next() % 5 == 0 ? rng.next() % UInt64(maxMessage / 4 + 1) : rng.next() % 300)
            let isText = rng.next() % 3 != 0
            var bytes: [UInt8]
            if isText {
                bytes = []
                while bytes.count < size { bytes += Array(alphabet[Int(rng.next() % UInt64(alphabet.count))].utf8) }
            } else {
                bytes = (0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            }
            let pieces = Int(rng.next() % 4)
            var cuts = (0..<pieces).map { _ in Int(rng.next() % UInt64(bytes.count + 1)) }.sorted()
            cuts = [0] + cuts + [bytes.count]
            for k in 0..<cuts.count - 1 {
                let last = k == cuts.count - 2
                stream += frame(k == 0 ? (isText ? 1 : 2) : 0, Array(bytes[cuts[k]..<cuts[k + 1]]), fin: last)
                if !last, rng.next() % 2 == 0 {
                    let control: UInt8 = rng.next() % 2 == 0 ? 9 : 10
                    let payload = (0..<Int(rng.next() % 126)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    stream += frame(control, payload)
                    items.append(Item(opcode: control, bytes: payload))
                }
            }
            items.append(Item(opcode: isText ? 1 : 2, bytes: bytes))
        }
        if rng.next() % 2 == 0 {
            let close: [UInt8] = [0x03, 0xE8] + Array("bye".utf8)
            stream += frame(8, close)
            items.append(Item(opcode: 8, bytes: close))
        }
        return (stream, items)
    }

    static func randomCuts(_ rng: inout SplitMix64, _ count: Int) -> [Int] {
        var cuts: [Int] = []
        var at = 0
        while at < count {
            at += 1 + Int(rng.next() % 3 == 0 ? rng.next() % 5000 : rng.next() % 20)
            cuts.append(min(at, count))
        }
        return cuts
    }

    @Test func sameMessagesAsNIOOnValidStreams() throws {
        var rng = SplitMix64(seed: 1_0023)
        let limit = 1 << 17
        for round in 0..<300 {
            let (stream, items) = Self.randomStream(&rng, maxMessage: limit)
            let cuts = Self.randomCuts(&rng, stream.count)
            let theirs = try Self.nio(stream, cuts: cuts, limit: limit)
            let mine = Self.ours(stream, cuts: cuts, limit: limit)
            #expect(mine == items, "round \(round)")
            #expect(theirs == items, "round \(round): NIO")
            if mine != items || theirs != items { return }
        }
    }

    /// A message beyond the limit, whole or across fragments: both refuse it.
    @Test func bothRefuseMessagesBeyondTheLimit() throws {
        let limit = 1000
        let streams: [[UInt8]] = [
            Self.frame(1, [UInt8](repeating: 0x61, count: 1001)),
            Self.frame(2, [UInt8](repeating: 0, count: 600), fin: false) + Self.frame(0, [UInt8](repeating: 0, count: 600)),
            [0x81, 127, 0, 0, 1, 0, 0, 0, 0, 0],
        ]
        for stream in streams {
            #expect(try Self.nio(stream, cuts: [], limit: limit) == nil)
            #expect(Self.ours(stream, cuts: [], limit: limit) == nil)
        }
        // And accept one at the limit.
        let at = Self.frame(1, [UInt8](repeating: 0x61, count: 1000))
        #expect(try Self.nio(at, cuts: [], limit: limit)?.count == 1)
        #expect(Self.ours(at, cuts: [], limit: limit)?.count == 1)
    }
}
