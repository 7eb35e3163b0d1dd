// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Testing

@testable import StreamKit

@Suite struct FrameBytesTests {
    static func block(_ b: FrameBytes) -> ObjectIdentifier? {
        if case .block(let block, _) = b.storage { return ObjectIdentifier(block) }
        return nil
    }

    /// Frames of every size stored back to back read back as they were, across block boundaries; small ones share
    /// blocks, one over a quarter of a block gets its own, and the views outlive the writer.
    @Test func storedFramesReadBackAcrossBlocks() {
        var rng = SystemRandomNumberGenerator()
        var sizes = (0..<3000).map { _ in Int.random(in: 0...900, using: &rng) }
        sizes.insert(0, at: 0)
        sizes.insert(ByteBlockWriter.blockSize / 4 + 1, at: 1500)
        sizes.insert(ByteBlockWriter.blockSize / 4, at: 1600)
        let frames = sizes.enumerated().map { i, n in (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) } }
        var stored: [FrameBytes] = []
        do {
            var writer = ByteBlockWriter()
            for f in frames { stored.append(f.withUnsafeBytes { writer.store($0) }) }
        }
        for (f, b) in zip(frames, stored) {
            #expect(b.count == f.count)
            #expect(Array(b) == f)
            #expect(b == FrameBytes(f))
        }
        let blocks = Set(stored.compactMap(Self.block))
        let total = sizes.reduce(0, +)
        #expect(blocks.count >= total / ByteBlockWriter.blockSize + 1)
        #expect(blocks.count <= total / (ByteBlockWriter.blockSize * 3 / 4) + 3)
        let big = stored[1500]
        #expect(Self.block(big) != Self.block(stored[1499]) && Self.block(big) != Self.block(stored[1501]))
        #expect(Self.block(stored[2]) == Self.block(stored[3]))
    }

    @Test func anArrayIsKeptAsItIs() {
        let bytes: [UInt8] = Array(#"{"type":"pong"}"#.utf8)
        let b = FrameBytes(bytes)
        guard case .array(let kept) = b.storage else { Issue.record("not kept as an array"); return }
        #expect(kept == bytes && String(decoding: b, as: UTF8.self) == #"{"type":"pong"}"#)
    }
}
