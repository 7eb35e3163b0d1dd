// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// The bytes of one frame, as received: what ``Message/bytes`` holds.
///
/// A client stores the frames it queues back to back in blocks of 64 KiB, one allocation per block rather than
/// one per message (and none freed on another thread per message); a `FrameBytes` is a view of its frame in its
/// block, and keeps the block alive. A frame given as an array (``Message/init(bytes:frame:)``,
/// ``FrameDecoder/decode(_:)-([UInt8])``) is kept as that array, not copied.
///
/// A kept message keeps its whole block: to keep a few messages out of many for a long time, keep copies
/// (`Array(message.bytes)`).
public struct FrameBytes: RandomAccessCollection, Sendable {
    @usableFromInline enum Storage: Sendable {
        case array([UInt8])
        case block(ByteBlock, offset: Int)
    }

    @usableFromInline let storage: Storage
    /// The frame's length in bytes.
    public let count: Int

    /// The bytes of an array (retained, not copied).
    public init(_ bytes: [UInt8]) {
        self.storage = .array(bytes)
        self.count = bytes.count
    }

    @usableFromInline init(block: ByteBlock, offset: Int, count: Int) {
        self.storage = .block(block, offset: offset)
        self.count = count
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { self.count }

    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < self.count, "FrameBytes: index out of range")
        return self.withUnsafeBytes { $0[position] }
    }

    /// Calls `body` with the frame's bytes, valid during the call.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self.storage {
        case .array(let a):
            return try a.withUnsafeBytes(body)
        case .block(let b, let offset):
            return try b.withBytes(offset: offset, count: self.count, body)
        }
    }

    public func withContiguousStorageIfAvailable<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        try self.withUnsafeBytes { raw in try body(raw.bindMemory(to: UInt8.self)) }
    }
}

extension FrameBytes: Equatable {
    public static func == (a: FrameBytes, b: FrameBytes) -> Bool {
        a.count == b.count && a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.elementsEqual(y) } }
    }
}

/// One block of frames, written once, front to back, by one ``ByteBlockWriter`` and read only after: a region is
/// handed out (as a ``FrameBytes``) once its bytes are written and never written again, so readers on other
/// threads need no lock beyond the one that handed them the view.
public final class ByteBlock: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutableRawPointer

    init(capacity: Int) {
        self.base = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, capacity), alignment: 16)
    }

    deinit { self.base.deallocate() }

    @inlinable
    func withBytes<R>(offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: self.base + offset, count: count))
    }
}

/// Stores frames back to back in ``ByteBlock``s: the producer's side of ``FrameBytes`` (one writer per thread).
package struct ByteBlockWriter {
    /// The size of a block: a few hundred typical frames. A frame larger than a quarter of it gets a block of its
    /// own, so a block never wastes more than a quarter.
    package static let blockSize = 64 << 10
    private var block: ByteBlock?
    private var used = 0

    package init() {}

    /// A copy of `bytes`, after the previous one in the current block (or in a new one).
    package mutating func store(_ bytes: UnsafeRawBufferPointer) -> FrameBytes {
        let n = bytes.count
        if n > Self.blockSize / 4 {
            let own = ByteBlock(capacity: n)
            if let src = bytes.baseAddress, n > 0 { own.base.copyMemory(from: src, byteCount: n) }
            return FrameBytes(block: own, offset: 0, count: n)
        }
        if self.block == nil || self.used + n > Self.blockSize {
            self.block = ByteBlock(capacity: Self.blockSize)
            self.used = 0
        }
        let block = self.block!
        if let src = bytes.baseAddress, n > 0 { (block.base + self.used).copyMemory(from: src, byteCount: n) }
        defer { self.used += n }
        return FrameBytes(block: block, offset: self.used, count: n)
    }
}
