// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// The C poll's message store: C messages filled on the event loop, as the callback fills them.

import CStreamKit
import NIOConcurrencyHelpers
import StreamKit
import StreamKitClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a polling client's data messages wait for `sk_client_poll`. Each push is filled on the event loop straight
/// from the frame decoded in place (the callback's fill: no owned Swift message is built), into a record of a chunk:
/// the C message, its frame's bytes in the chunk's frame area (back to back, in arrival order), its escaped text and
/// spilled subscription views in the chunk's arena. The delivery queue keeps each record's address as its token,
/// under the overflow policy; a poll copies the message of each token it takes into the caller's array, whose views
/// point into the chunk.
///
/// A chunk is reused once it is full and each of its records was either discarded by the policy or taken by a poll
/// that has ended (the next poll began, or the client was freed): the views a poll hands out stay valid until the
/// next poll, as the header says.
///
/// Threads: ``store(_:)`` and ``discard(_:)`` on the event loop; ``frameRun(_:)``, ``copy(_:into:)`` and
/// ``release(_:)`` on the polling thread; the chunks' bookkeeping under `lock`.
final class CPollStore: @unchecked Sendable {
    struct Record {
        var chunk: UnsafeMutablePointer<Chunk>
        var message: sk_message
    }

    /// A chunk, in memory of its own (no reference counting per message). The fields each thread writes lie in
    /// cache lines of their own: the event loop writes the counts per message, the polling thread the releases per
    /// poll, and sharing a line would move it between the cores each time.
    struct Chunk {
        let records: UnsafeMutablePointer<Record>
        let recordCapacity: Int
        let frames: UnsafeMutableRawPointer
        let frameCapacity: Int
        /// Escaped text and spilled subscription views (owned: released in ``free(_:)``).
        let arena: Unmanaged<Arena>
        private let pad0: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
        // The event loop's, while the chunk is the one being filled.
        var recordCount = 0
        var frameUsed = 0
        private let pad1: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
        // Guarded by the store's lock.
        var sealed = false
        var released = 0

        static func make(records: Int, frameBytes: Int) -> UnsafeMutablePointer<Chunk> {
            let c = UnsafeMutablePointer<Chunk>.allocate(capacity: 1)
            c.initialize(to: Chunk(
                records: .allocate(capacity: records), recordCapacity: records,
                // Padding after the last frame for word-at-a-time readers.
                frames: .allocate(byteCount: frameBytes + 16, alignment: 16), frameCapacity: frameBytes,
                arena: Unmanaged.passRetained(Arena())))
            return c
        }

        static func free(_ c: UnsafeMutablePointer<Chunk>) {
            c.pointee.records.deallocate()
            c.pointee.frames.deallocate()
            c.pointee.arena.release()
            c.deinitialize(count: 1)
            c.deallocate()
        }

        mutating func reset() {
            self.recordCount = 0
            self.frameUsed = 0
            self.sealed = false
            self.released = 0
            self.arena._withUnsafeGuaranteedRef { $0.reset() }
        }
    }

    /// Records per chunk and frame bytes per chunk: 256 records of a typical ~500-byte frame fill both about
    /// together (1.6 KB per record in all); a frame larger than a chunk's frame area gets a chunk of its own.
    static let recordsPerChunk = 256
    static let frameBytesPerChunk = 128 << 10
    /// Empty chunks kept for reuse (more are freed): enough for a poller a few chunks behind, without holding a
    /// burst's memory forever.
    static let spareChunks = 4

    private let lock = NIOLock()
    /// Every chunk that holds records not yet released (the one being filled among them). Guarded by `lock`.
    private var inUse: Set<UnsafeMutablePointer<Chunk>> = []
    /// Guarded by `lock`.
    private var spare: [UnsafeMutablePointer<Chunk>] = []
    /// The event loop's.
    private var current: UnsafeMutablePointer<Chunk>?
    private let views = SubscriptionViews()

    deinit {
        // The client is gone: no record is referenced any more.
        for c in self.inUse { Chunk.free(c) }
        for c in self.spare { Chunk.free(c) }
    }

    // MARK: Event loop

    /// Stores a data push; returns its token (the record's address).
    func store(_ view: MessageView) -> Int {
        let bytes = view.bytes
        let chunk = self.chunk(for: bytes.count)
        let frame = chunk.pointee.frames + chunk.pointee.frameUsed
        if let src = bytes.baseAddress, bytes.count > 0 { frame.copyMemory(from: src, byteCount: bytes.count) }
        chunk.pointee.frameUsed += bytes.count
        let record = chunk.pointee.records + chunk.pointee.recordCount
        chunk.pointee.recordCount += 1
        // A record's memory is plain C data and a pointer: written in place, never deinitialized.
        record.pointer(to: \.chunk)!.initialize(to: chunk)
        let m = record.pointer(to: \.message)!
        clearButPayload(&m.pointee)
        chunk.pointee.arena._withUnsafeGuaranteedRef { arena in
            fillFrame(&m.pointee, view.framePointer, arena, UnsafeRawBufferPointer(start: frame, count: bytes.count))
            m.pointee.connection = Int32(clamping: view.connection)
            guard let s = view.subscription else { return }
            m.pointee.subscription = self.views.view(s, spill: arena)
            let matches = view.subscriptions
            let n = matches.count > 1 ? min(matches.count, Int(SK_MAX_SUBSCRIPTIONS)) : 1
            m.pointee.subscription_count = Int32(n)
            m.pointee.subscriptions.0 = m.pointee.subscription
            guard n > 1 else { return }
            withUnsafeMutableBytes(of: &m.pointee.subscriptions) { raw in
                let out = raw.bindMemory(to: sk_subscription_view.self)
                for i in 1..<n { out[i] = self.views.view(matches[i], spill: arena) }
            }
        }
        return Int(bitPattern: record)
    }

    /// A record the overflow policy dropped or replaced: never taken.
    func discard(_ token: Int) {
        self.lock.withLock { self.releaseLocked(token) }
    }

    /// The chunk the next record goes into, with room for a frame of `count` bytes.
    private func chunk(for count: Int) -> UnsafeMutablePointer<Chunk> {
        if let c = self.current, c.pointee.recordCount < c.pointee.recordCapacity,
            c.pointee.frameUsed + count <= c.pointee.frameCapacity
        {
            return c
        }
        return self.lock.withLock {
            if let c = self.current {
                c.pointee.sealed = true
                self.recycleIfDoneLocked(c)
            }
            let c: UnsafeMutablePointer<Chunk>
            if count <= Self.frameBytesPerChunk, let reused = self.spare.popLast() {
                c = reused
            } else if count <= Self.frameBytesPerChunk {
                c = Chunk.make(records: Self.recordsPerChunk, frameBytes: Self.frameBytesPerChunk)
            } else {
                c = Chunk.make(records: 1, frameBytes: count)
            }
            self.inUse.insert(c)
            self.current = c
            return c
        }
    }

    // MARK: Polling thread

    /// Where the frame of the record `token` starts and ends (for the poll to keep a batch's frames back to back).
    func frameRun(_ token: Int) -> (start: UnsafePointer<CChar>?, end: UnsafePointer<CChar>?) {
        let raw = Self.record(token).pointee.message.raw
        return (raw.ptr, raw.ptr.map { $0 + raw.len })
    }

    /// Copies the message of `token` into `out`: the envelope and the channel's member of the payload (the union's
    /// other bytes are unspecified).
    func copy(_ token: Int, into out: UnsafeMutablePointer<sk_message>) {
        let m = UnsafeRawPointer(Self.record(token).pointer(to: \.message)!)
        let start = MemoryLayout<sk_message>.offset(of: \sk_message.data)!
        let end = start + MemoryLayout<sk_payload>.size
        let member = cPayloadMemberSize(m.assumingMemoryBound(to: sk_message.self).pointee.channel)
        let dst = UnsafeMutableRawPointer(out)
        dst.copyMemory(from: m, byteCount: start + member)
        (dst + end).copyMemory(from: m + end, byteCount: MemoryLayout<sk_message>.size - end)
    }

    /// The records of an ended poll: their chunks may be reused.
    func release(_ tokens: [Int]) {
        guard !tokens.isEmpty else { return }
        self.lock.withLock {
            for t in tokens { self.releaseLocked(t) }
        }
    }

    // MARK: Internals (lock held)

    private static func record(_ token: Int) -> UnsafeMutablePointer<Record> {
        UnsafeMutablePointer<Record>(bitPattern: token)!
    }

    private func releaseLocked(_ token: Int) {
        let chunk = Self.record(token).pointee.chunk
        chunk.pointee.released += 1
        self.recycleIfDoneLocked(chunk)
    }

    /// Once the chunk is full (sealed) and every record of it released (the count of records is final once sealed).
    private func recycleIfDoneLocked(_ chunk: UnsafeMutablePointer<Chunk>) {
        guard chunk.pointee.sealed, chunk.pointee.released == chunk.pointee.recordCount else { return }
        self.inUse.remove(chunk)
        guard chunk.pointee.recordCapacity == Self.recordsPerChunk, self.spare.count < Self.spareChunks else {
            return Chunk.free(chunk)
        }
        chunk.pointee.reset()
        self.spare.append(chunk)
    }
}
