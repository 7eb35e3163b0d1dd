// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// A session's routing and deduplication for frames that did not come through a session: a capture read back,
/// frames from another transport. Given the subscriptions, it attributes a decoded data push the way a
/// ``Session`` does (its params echo; for swaps and liquidity events also every subscribed token or pool its
/// payload names) and tells the later leg of a swap or liquidity event from the first (`tx` + `lgid`/`iix`), so
/// a reader delivers what the live client delivered.
///
/// A push whose echo names no known subscription (a capture without a header, say) matches nothing: read its
/// params echo (``DecodedFrame/params``) instead, as `sk_decode` reports it. Nothing is allocated per push.
public struct SubscriptionIndex: Sendable {
    private var byRoute: [UInt64: [Subscription]] = [:]
    private var dedupe: DedupeWindow
    private let dedupeEnabled: Bool

    /// - Parameter dedupeWindow: swaps and liquidity events remembered (the client's default, 4096); 0: none
    ///   dropped.
    public init(_ subscriptions: some Sequence<Subscription> = [], dedupeWindow: Int = 4096) {
        self.dedupe = DedupeWindow(capacity: max(dedupeWindow, 1))
        self.dedupeEnabled = dedupeWindow > 0
        for s in subscriptions { self.insert(s) }
    }

    /// Adds a subscription (a no-op when it is there).
    public mutating func insert(_ s: Subscription) {
        let route = Session.route(of: s)
        if self.byRoute[route]?.contains(s) != true { self.byRoute[route, default: []].append(s) }
    }

    /// The subscriptions a decoded data push belongs to, and whether it is the repeat of a swap or liquidity event
    /// already seen (the other token's leg: the client delivers it once).
    public mutating func attribute(_ frame: DecodedFrame, bytes: UnsafeRawBufferPointer) -> (matches: SubscriptionMatches, duplicate: Bool) {
        var matches = SubscriptionMatches(self.sentFor(frame, bytes: bytes))
        guard let channel = frame.channel else { return (matches, false) }
        guard channel == .transaction || channel == .liquidityEvent else { return (matches, false) }
        if var params = frame.params {
            if let pid = channel == .transaction ? frame.transaction?.pid : frame.liquidityEvent?.pid { params.platformID = pid }
            params.interval = nil
            params.cryptoID = nil
            let a = Self.addresses(frame, channel)
            func consider(_ address: TextSlice?) {
                guard let address else { return }
                params.address = address
                if let s = self.lookup(channel, params, bytes) { matches.append(s) }
            }
            consider(a.0)
            consider(a.1)
            consider(a.2)
        }
        if self.dedupeEnabled, let key = Session.dedupeKey(frame, bytes: bytes), !self.dedupe.insert(key) {
            return (matches, true)
        }
        return (matches, false)
    }

    /// The one subscription a data push was sent for, as the server that sent it knows it: the one its params echo
    /// names (an echo naming several, as an array, is told apart by the payload's id or addresses, most specific
    /// first). Unlike ``attribute(_:bytes:)``, a swap's leg is not matched to the other token's subscription: this
    /// is the question a server asks (`streamkit sim --replay`), not a client's. `nil` when the index holds none.
    public func sentFor(_ frame: DecodedFrame, bytes: UnsafeRawBufferPointer) -> Subscription? {
        guard let channel = frame.channel else { return nil }
        let echoed = frame.params ?? ParamsEcho()
        if echoed.targetCount <= 1 { return self.lookup(channel, echoed, bytes) }
        var params = echoed
        if channel == .cryptoLatestPrice {
            guard let cid = frame.cryptoLatestPrice?.cid else { return nil }
            params.cryptoID = cid
            return self.lookup(channel, params, bytes)
        }
        let a = Self.addresses(frame, channel)
        for address in [a.0, a.1, a.2] {
            guard let address else { continue }
            params.address = address
            if let s = self.lookup(channel, params, bytes) { return s }
        }
        return nil
    }

    /// The addresses of an on-chain payload a subscription may name, most specific first (`Session`'s order),
    /// without an array per message.
    private static func addresses(_ frame: DecodedFrame, _ channel: Channel) -> (TextSlice?, TextSlice?, TextSlice?) {
        switch channel {
        case .transaction: (frame.transaction?.t0a, frame.transaction?.t1a, frame.transaction?.pa)
        case .liquidityEvent: (frame.liquidityEvent?.t0a, frame.liquidityEvent?.t1a, nil)
        case .tokenAggEvent: (frame.tokenAggEvent?.a, nil, nil)
        case .tokenMetric: (frame.tokenMetric?.a, nil, nil)
        case .poolMetric: (frame.poolMetric?.pa, nil, nil)
        case .holdersMetrics: (frame.holdersMetrics?.a, nil, nil)
        case .holderWalletUpdate: (frame.holderWalletUpdate?.wa, nil, nil)
        default: (nil, nil, nil)
        }
    }

    private func lookup(_ channel: Channel, _ params: ParamsEcho, _ bytes: UnsafeRawBufferPointer) -> Subscription? {
        guard let candidates = self.byRoute[Session.route(channel: channel, params: params, bytes: bytes)] else { return nil }
        return candidates.first { Session.matches($0, params: params, bytes: bytes) }
    }
}
