// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// Routing of a `Session`'s data pushes to its subscriptions: the route hash, byte-wise confirmation, array
// echoes told apart by the payload, and the attribution of swap and liquidity legs.

extension Session {
    // MARK: - Internals: data

    mutating func handleData(_ frame: DecodedFrame, bytes: UnsafeRawBufferPointer, now: Instant) -> InboundResult {
        self.counters.dataFrames += 1
        // The connection was proven alive by `handleText`, in its one edit per frame.
        // Both token legs of one swap or liquidity event: deliver once.
        if self.configuration.dedupeWindow > 0, let key = Self.dedupeKey(frame, bytes: bytes), !self.dedupe.insert(key) {
            self.counters.duplicatesSuppressed += 1
            return .duplicate
        }
        guard let channel = frame.channel, let echoed = frame.params, let slot = self.slot(for: frame, channel: channel, echoed: echoed, bytes: bytes),
            let entry = self.table[slot]
        else {
            return .data(subscription: nil)
        }
        self.noteData(slot: slot, entry, now: now)
        self.table.update(slot) { $0.lastRoutedAt = now }
        return .data(subscription: entry.subscription)
    }

    /// Data arrived for the subscription in `slot`: its gap marker (if it was interrupted), its staleness.
    private mutating func noteData(slot: Int, _ entry: Entry, now: Instant) {
        if let from = entry.interruptedSince, entry.status == .active {
            self.events.append(.gap(entry.subscription, from: from, to: now, reason: entry.interruptionReason ?? .silent))
        }
        let gapped = entry.interruptedSince != nil && entry.status == .active
        self.table.update(slot) { e in
            if gapped { e.interruptedSince = nil }
            e.lastDataAt = now
            if e.staleCount > 0 {
                e.staleCount = 0
                e.lastStaleAt = nil
                e.quietSince = nil
            }
        }
    }

    /// Attributes a swap or liquidity event that arrived (on this connection or another) to each subscription of
    /// this session its payload names (`t0a`, `t1a`, and a swap's `pa`, on its platform), as data of that subscription (gap
    /// marker first, staleness reset), and adds them to `matches`. Not as the start of a later gap: that is the last
    /// push read for it on its own connection (`lastRoutedAt`). Allocates nothing.
    mutating func attribute(_ frame: DecodedFrame, bytes: UnsafeRawBufferPointer, now: Instant, to matches: inout SubscriptionMatches) {
        guard let channel = frame.channel, channel == .transaction || channel == .liquidityEvent,
            var params = frame.params
        else { return }
        let pid = channel == .transaction ? frame.transaction?.pid : frame.liquidityEvent?.pid
        if let pid { params.platformID = pid }
        params.interval = nil
        params.cryptoID = nil
        func consider(_ address: TextSlice?, _ session: inout Session) {
            guard let address else { return }
            params.address = address
            guard let slot = session.table.slot(route: Self.route(channel: channel, params: params, bytes: bytes)),
                let entry = session.table[slot], entry.status == .active,
                Self.matches(entry.subscription, params: params, bytes: bytes), !matches.contains(entry.subscription)
            else { return }
            matches.append(entry.subscription)
            session.noteData(slot: slot, entry, now: now)
        }
        if channel == .transaction {
            consider(frame.transaction?.t0a, &self)
            consider(frame.transaction?.t1a, &self)
            consider(frame.transaction?.pa, &self)
        } else {
            consider(frame.liquidityEvent?.t0a, &self)
            consider(frame.liquidityEvent?.t1a, &self)
        }
    }

    /// The subscription a push belongs to. A params echo naming one target routes it; one naming several (an
    /// array, `"crypto_ids":[1,1027]`) is ambiguous, so the payload's own id or address decides: `cid` for prices,
    /// `a`, `pa` or `wa` on-chain, and for swaps and liquidity events each of `t0a`, `t1a` (and a swap's `pa`) in
    /// turn. No
    /// match: unattributed (delivered with no subscription), never misattributed.
    private func slot(for frame: DecodedFrame, channel: Channel, echoed: ParamsEcho, bytes: UnsafeRawBufferPointer) -> Int? {
        func lookup(_ params: ParamsEcho) -> Int? {
            guard let slot = self.table.slot(route: Self.route(channel: channel, params: params, bytes: bytes)),
                let entry = self.table[slot], Self.matches(entry.subscription, params: params, bytes: bytes)
            else { return nil }
            return slot
        }
        guard echoed.targetCount > 1 else { return lookup(echoed) }
        var params = echoed
        if channel == .cryptoLatestPrice {
            guard let cid = frame.cryptoLatestPrice?.cid else { return nil }
            params.cryptoID = cid
            return lookup(params)
        }
        for address in Self.payloadAddresses(frame, channel: channel) {
            guard let address else { continue }
            params.address = address
            if let slot = lookup(params) { return slot }
        }
        return nil
    }

    /// The addresses of an on-chain payload a subscription may name, most specific first.
    private static func payloadAddresses(_ frame: DecodedFrame, channel: Channel) -> [TextSlice?] {
        switch channel {
        case .transaction: [frame.transaction?.t0a, frame.transaction?.t1a, frame.transaction?.pa]
        case .liquidityEvent: [frame.liquidityEvent?.t0a, frame.liquidityEvent?.t1a]
        case .tokenAggEvent: [frame.tokenAggEvent?.a]
        case .tokenMetric: [frame.tokenMetric?.a]
        case .poolMetric: [frame.poolMetric?.pa]
        case .holdersMetrics: [frame.holdersMetrics?.a]
        case .holderWalletUpdate: [frame.holderWalletUpdate?.wa]
        default: []
        }
    }

    /// The routing hash of a subscription: channel, target (EVM addresses lowercased) and interval.
    static func route(of s: Subscription) -> UInt64 {
        var h = FNV1a()
        h.add(s.channel.ordinal)
        switch s.target {
        case .crypto(let id):
            h.add(UInt64(bitPattern: id))
        case .address(let platform, let address):
            h.add(UInt64(bitPattern: platform))
            var a = Array(address.utf8)
            a.withUnsafeMutableBytes { raw in
                h.addAddress(UnsafeRawBufferPointer(raw), TextSlice(offset: 0, count: raw.count, hasEscapes: false))
            }
            a.removeAll()
        }
        if let interval = s.interval {
            var a = Array(interval.utf8)
            a.withUnsafeMutableBytes { raw in
                h.add(bytes: UnsafeRawBufferPointer(raw), TextSlice(offset: 0, count: raw.count, hasEscapes: false))
            }
            a.removeAll()
        }
        return h.value
    }

    /// The same hash from a push's params echo, without materialising anything.
    static func route(channel: Channel, params: ParamsEcho, bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h = FNV1a()
        h.add(channel.ordinal)
        if let id = params.cryptoID {
            h.add(UInt64(bitPattern: id))
        } else if let address = params.address {
            h.add(UInt64(bitPattern: params.platformID ?? 0))
            if address.hasEscapes {
                var a = Array(address.string(in: bytes).utf8)
                a.withUnsafeMutableBytes { raw in
                    h.addAddress(UnsafeRawBufferPointer(raw), TextSlice(offset: 0, count: raw.count, hasEscapes: false))
                }
            } else {
                h.addAddress(bytes, address)
            }
        }
        if let interval = params.interval { h.add(bytes: bytes, interval) }
        return h.value
    }

    /// Confirms a route hit byte by byte (hash collisions never misroute), without allocating.
    static func matches(_ s: Subscription, params: ParamsEcho, bytes: UnsafeRawBufferPointer) -> Bool {
        switch s.target {
        case .crypto(let id):
            guard params.cryptoID == id else { return false }
        case .address(let platform, let address):
            guard params.platformID == platform, let echoed = params.address else { return false }
            guard Self.equal(echoed, address, bytes: bytes, caseInsensitive: Subscription.isEVMAddress(address))
            else { return false }
        }
        switch (params.interval, s.interval) {
        case (nil, nil): return true
        case (let echoed?, let wanted?): return Self.equal(echoed, wanted, bytes: bytes, caseInsensitive: false)
        default: return false
        }
    }

    /// A slice against a string; `caseInsensitive` folds ASCII letters (EVM addresses).
    static func equal(_ slice: TextSlice, _ text: String, bytes: UnsafeRawBufferPointer, caseInsensitive: Bool) -> Bool {
        if slice.hasEscapes {
            let decoded = slice.string(in: bytes)
            return caseInsensitive ? decoded.lowercased() == text.lowercased() : decoded == text
        }
        guard slice.count == text.utf8.count else { return false }
        var i = slice.offset
        for b in text.utf8 {
            var a = bytes[i]
            var c = b
            if caseInsensitive {
                if a >= UInt8(ascii: "A") && a <= UInt8(ascii: "Z") { a |= 0x20 }
                if c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { c |= 0x20 }
            }
            guard a == c else { return false }
            i += 1
        }
        return true
    }
}

// MARK: - Helpers

/// 64-bit FNV-1a.
struct FNV1a {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ v: UInt64) {
        var x = v
        for _ in 0..<8 {
            self.value = (self.value ^ (x & 0xFF)) &* 0x0000_0100_0000_01B3
            x >>= 8
        }
    }

    mutating func add(bytes: UnsafeRawBufferPointer, _ s: TextSlice) {
        for i in s.range { self.value = (self.value ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01B3 }
        self.add(UInt64(s.count))
    }

    /// An address, lowercased when it is an EVM address (`0x` + 40 hex digits), as the server compares them.
    mutating func addAddress(_ bytes: UnsafeRawBufferPointer, _ s: TextSlice) {
        let r = s.range
        var evm = s.count == 42 && bytes[r.lowerBound] == UInt8(ascii: "0") && bytes[r.lowerBound + 1] | 0x20 == UInt8(ascii: "x")
        if evm {
            for i in (r.lowerBound + 2)..<r.upperBound where hexValue(bytes[i]) == nil {
                evm = false
                break
            }
        }
        for i in r {
            var b = bytes[i]
            if evm && b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") { b |= 0x20 }
            self.value = (self.value ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        self.add(UInt64(s.count))
    }
}
