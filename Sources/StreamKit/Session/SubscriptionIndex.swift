// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

/// A session's routing and deduplication for frames that did not come through a session: a capture read back,
/// frames from another transport. Given the subscriptions, it attributes a decoded data push the way a
/// ``Session`` does (its params echo; for swaps and liquidity events also every subscribed token or pool its
/// payload names) and tells the later leg of a swap or liquidity event from the first (`tx` + `lgid`/`iix`), so
/// a reader delivers what the live client delivered.
///
/// A push whose echo names no known subscription (a capture without a header, say) is attributed to the
/// subscription the echo itself describes, as `sk_decode` reports it.
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
        var matches = SubscriptionMatches()
        guard let channel = frame.channel else { return (matches, false) }
        let echoed = frame.params ?? ParamsEcho()
        if echoed.targetCount <= 1 {
            if let s = self.lookup(channel, echoed, bytes) ?? Self.described(channel, echoed, bytes) { matches.append(s) }
        } else {
            var params = echoed
            if channel == .cryptoLatestPrice, let cid = frame.cryptoLatestPrice?.cid {
                params.cryptoID = cid
                if let s = self.lookup(channel, params, bytes) { matches.append(s) }
            } else {
                for address in Session.payloadAddresses(frame, channel: channel) {
                    guard let address else { continue }
                    params.address = address
                    if let s = self.lookup(channel, params, bytes) {
                        matches.append(s)
                        break
                    }
                }
            }
        }
        guard channel == .transaction || channel == .liquidityEvent else { return (matches, false) }
        if var params = frame.params {
            if let pid = channel == .transaction ? frame.transaction?.pid : frame.liquidityEvent?.pid { params.platformID = pid }
            params.interval = nil
            params.cryptoID = nil
            for address in Session.payloadAddresses(frame, channel: channel) {
                guard let address else { continue }
                params.address = address
                if let s = self.lookup(channel, params, bytes) { matches.append(s) }
            }
        }
        if self.dedupeEnabled, let key = Session.dedupeKey(frame, bytes: bytes), !self.dedupe.insert(key) {
            return (matches, true)
        }
        return (matches, false)
    }

    private func lookup(_ channel: Channel, _ params: ParamsEcho, _ bytes: UnsafeRawBufferPointer) -> Subscription? {
        guard let candidates = self.byRoute[Session.route(channel: channel, params: params, bytes: bytes)] else { return nil }
        return candidates.first { Session.matches($0, params: params, bytes: bytes) }
    }

    /// The subscription a scalar params echo describes.
    private static func described(_ channel: Channel, _ params: ParamsEcho, _ bytes: UnsafeRawBufferPointer) -> Subscription? {
        let interval = params.interval.map { $0.string(in: bytes) }
        if let id = params.cryptoID { return Subscription(uncheckedChannel: channel, target: .crypto(id: id), interval: interval) }
        guard let address = params.address else { return nil }
        return Subscription(uncheckedChannel: channel, target: .address(platformID: params.platformID ?? 0, address: address.string(in: bytes)),
                            interval: interval)
    }
}
