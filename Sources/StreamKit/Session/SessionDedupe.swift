// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// Deduplication of swaps and liquidity events (both token legs of one event): the key, and a bounded window.

extension Session {
    /// `tx` + `lgid`/`iix` for swaps and liquidity events; when both indexes are missing (seen on real frames),
    /// the payload's own bytes (identical on both legs).
    static func dedupeKey(_ frame: DecodedFrame, bytes: UnsafeRawBufferPointer) -> UInt64? {
        var h = FNV1a()
        switch frame.channel {
        case .transaction:
            guard let p = frame.transaction else { return nil }
            h.add(1)
            if let tx = p.tx, let index = p.dedupeIndex {
                h.add(bytes: bytes, tx)
                h.add(UInt64(bitPattern: index))
                return h.value
            }
        case .liquidityEvent:
            guard let p = frame.liquidityEvent else { return nil }
            h.add(2)
            if let tx = p.tx, let index = p.dedupeIndex {
                h.add(bytes: bytes, tx)
                h.add(UInt64(bitPattern: index))
                return h.value
            }
        default:
            return nil
        }
        guard let region = frame.payloadRegion else { return nil }
        h.add(bytes: bytes, TextSlice(offset: region.offset, count: region.count, hasEscapes: false))
        return h.value
    }
}

/// The most recent `capacity` keys, for deduplication, in bounded memory.
struct DedupeWindow: Sendable {
    private var ring: [UInt64]
    private var next = 0
    private var filled = 0
    private var members: Set<UInt64>

    init(capacity: Int) {
        let n = max(capacity, 1)
        self.ring = Array(repeating: 0, count: n)
        self.members = Set(minimumCapacity: n * 2)
    }

    /// Inserts `key`; false when it was already among the most recent keys.
    mutating func insert(_ key: UInt64) -> Bool {
        guard !self.members.contains(key) else { return false }
        if self.filled == self.ring.count {
            self.members.remove(self.ring[self.next])
        } else {
            self.filled += 1
        }
        self.ring[self.next] = key
        self.members.insert(key)
        self.next = (self.next + 1) % self.ring.count
        return true
    }
}
