// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// MARK: - Subscription

/// One subscription as the server counts it: a channel, one target (a crypto id, or a platform and one
/// address), and an interval where the channel takes one.
///
/// The server expands a subscribe with `crypto_ids: [1, 1027]` into two subscriptions and echoes each in its data
/// pushes with a scalar id, so StreamKit keeps subscriptions one target at a time. Addresses are normalised the
/// way the server compares them: EVM addresses (`0x` and 40 hex digits) case-insensitively, so they are stored
/// lowercased; every other address (Solana, Tron) exactly as given. [INF: the reference does not define
/// "normalized params"; this is the reading it suggests.]
public struct Subscription: Sendable, Hashable, CustomStringConvertible {
    /// The channel.
    public let channel: Channel
    /// What is watched.
    public let target: Target
    /// The interval, for `onchain@kline` and `onchain@unique_trader`; otherwise `nil`.
    public let interval: String?

    /// What a subscription watches.
    public enum Target: Sendable, Hashable, CustomStringConvertible {
        /// A CMC cryptocurrency id (`market@crypto_latest_price`).
        case crypto(id: Int64)
        /// A token, pool or wallet address on a DEX platform (`platform_id`, e.g. 14 = BSC, 16 = Solana).
        case address(platformID: Int64, address: String)

        public var description: String {
            switch self {
            case .crypto(let id): "\(id)"
            case .address(let platform, let address): "\(platform):\(address)"
            }
        }
    }

    /// `==` without copying the targets: the derived `==` copies both enums (retaining an address's storage),
    /// which shows on paths that compare a subscription per message (the delivery queue's).
    @inlinable
    package func same(as other: Subscription) -> Bool {
        guard self.channel == other.channel else { return false }
        switch self.target {
        case .crypto(let a):
            guard case .crypto(let b) = other.target, a == b else { return false }
        case .address(let p, let a):
            guard case .address(let q, let b) = other.target, p == q, a == b else { return false }
        }
        switch (self.interval, other.interval) {
        case (nil, nil): return true
        case (let a?, let b?): return a == b
        default: return false
        }
    }

    /// Creates a subscription to a CMC cryptocurrency id's latest price.
    public static func cryptoLatestPrice(_ id: Int64) -> Subscription {
        Subscription(uncheckedChannel: .cryptoLatestPrice, target: .crypto(id: id), interval: nil)
    }

    /// Creates and validates a subscription.
    ///
    /// - Throws: ``RequestError`` with the code the server would answer (2401 missing param, 2402 invalid
    ///   param) when the target or interval does not fit the channel.
    public init(channel: Channel, target: Target, interval: String? = nil) throws(RequestError) {
        switch (channel.targetParam, target) {
        case (.cryptoIDs, .crypto):
            break
        case (.cryptoIDs, .address):
            throw RequestError(.invalidParam, "Channel '\(channel)' takes 'crypto_ids', not an address.")
        case (_, .crypto):
            throw RequestError(.invalidParam, "Channel '\(channel)' takes '\(channel.targetParam.rawValue)'.")
        case (_, .address(_, let address)):
            try Subscription.validateAddress(address, param: channel.targetParam)
        }
        if let allowed = channel.allowedIntervals {
            guard let interval else {
                throw RequestError(.missingParam, "Param 'interval' is required for channel '\(channel)'.")
            }
            guard allowed.contains(interval) else {
                throw RequestError(
                    .invalidParam,
                    "Param 'interval' must be one of \(allowed.joined(separator: ", ")) for channel '\(channel)'."
                )
            }
        } else if interval != nil {
            throw RequestError(.invalidParam, "Channel '\(channel)' takes no 'interval'.")
        }
        self.init(uncheckedChannel: channel, target: target, interval: interval)
    }

    init(uncheckedChannel channel: Channel, target: Target, interval: String?) {
        self.channel = channel
        switch target {
        case .crypto: self.target = target
        case .address(let platform, let address):
            self.target = .address(platformID: platform, address: Subscription.normalizedAddress(address))
        }
        self.interval = interval
    }

    public var description: String {
        if let interval { return "\(self.channel)[\(self.target)@\(interval)]" }
        return "\(self.channel)[\(self.target)]"
    }

    /// The address as the server compares it: EVM addresses lowercased, others unchanged.
    public static func normalizedAddress(_ address: String) -> String {
        isEVMAddress(address) ? address.lowercased() : address
    }

    /// True for `0x` followed by exactly 40 hexadecimal digits.
    public static func isEVMAddress(_ address: String) -> Bool {
        let u = address.utf8
        guard u.count == 42, u.first == UInt8(ascii: "0"), u.dropFirst().first.map({ $0 | 0x20 }) == 0x78 else {
            return false
        }
        return u.dropFirst(2).allSatisfy { hexValue($0) != nil }
    }

    static func validateAddress(_ address: String, param: TargetParam) throws(RequestError) {
        let u = address.utf8
        guard !u.isEmpty else { throw RequestError(.invalidParam, "Param '\(param.rawValue)' is empty.") }
        guard u.count <= 128, u.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) else {
            throw RequestError(.invalidParam, "Param '\(param.rawValue)' is not a valid address.")
        }
    }
}

// MARK: - SubscriptionParams

/// The `params` object of a subscribe or unsubscribe request.
///
/// One request may name many targets of one channel (`crypto_ids: [1, 1027]`, or several addresses on one
/// platform with one interval); ``subscriptions(for:)`` expands it into the ``Subscription``s the server counts.
public struct SubscriptionParams: Sendable, Hashable {
    /// `crypto_ids`, for `market@crypto_latest_price`.
    public var cryptoIDs: [Int64]
    /// `platform_id`, for on-chain channels.
    public var platformID: Int64?
    /// The channel's address list (`address`, `pool_address` or `wallet_address`).
    public var addresses: [String]
    /// `interval`, for `onchain@kline` and `onchain@unique_trader`.
    public var interval: String?

    public init(cryptoIDs: [Int64] = [], platformID: Int64? = nil, addresses: [String] = [], interval: String? = nil) {
        self.cryptoIDs = cryptoIDs
        self.platformID = platformID
        self.addresses = addresses
        self.interval = interval
    }

    /// Groups subscriptions of one channel, platform and interval back into one params object.
    ///
    /// - Returns: `nil` when the subscriptions do not share channel, platform and interval, or the list is empty.
    public init?(grouping subscriptions: some Collection<Subscription>) {
        guard let first = subscriptions.first else { return nil }
        self.init(interval: first.interval)
        for s in subscriptions {
            guard s.channel == first.channel, s.interval == first.interval else { return nil }
            switch s.target {
            case .crypto(let id):
                self.cryptoIDs.append(id)
            case .address(let platform, let address):
                guard self.platformID == nil || self.platformID == platform else { return nil }
                self.platformID = platform
                self.addresses.append(address)
            }
        }
    }

    /// Validates the params for `channel` and expands them into one subscription per target, in order,
    /// without duplicates.
    ///
    /// - Throws: ``RequestError`` with 2401 (missing param) or 2402 (invalid param), worded as the server's
    ///   `error_detail` is.
    public func subscriptions(for channel: Channel) throws(RequestError) -> [Subscription] {
        var result: [Subscription] = []
        var seen: Set<Subscription> = []
        func add(_ s: Subscription) {
            if seen.insert(s).inserted { result.append(s) }
        }
        let param = channel.targetParam.rawValue
        switch channel.targetParam {
        case .cryptoIDs:
            guard !self.cryptoIDs.isEmpty else {
                throw RequestError(.missingParam, "Param '\(param)' is required for channel '\(channel)'.")
            }
            guard self.platformID == nil, self.addresses.isEmpty else {
                throw RequestError(.invalidParam, "Channel '\(channel)' takes only 'crypto_ids'.")
            }
            for id in self.cryptoIDs {
                guard id > 0 else { throw RequestError(.invalidParam, "Param 'crypto_ids' has invalid id \(id).") }
                add(try Subscription(channel: channel, target: .crypto(id: id), interval: self.interval))
            }
        case .address, .poolAddress, .walletAddress:
            guard let platform = self.platformID else {
                throw RequestError(.missingParam, "Param 'platform_id' is required for channel '\(channel)'.")
            }
            guard platform > 0 else {
                throw RequestError(.invalidParam, "Param 'platform_id' has invalid value \(platform).")
            }
            guard !self.addresses.isEmpty else {
                throw RequestError(.missingParam, "Param '\(param)' is required for channel '\(channel)'.")
            }
            guard self.cryptoIDs.isEmpty else {
                throw RequestError(.invalidParam, "Channel '\(channel)' takes no 'crypto_ids'.")
            }
            for address in self.addresses {
                let target = Subscription.Target.address(platformID: platform, address: address)
                add(try Subscription(channel: channel, target: target, interval: self.interval))
            }
        }
        return result
    }
}

// MARK: - RequestError

/// A request StreamKit refuses to send, with the error code the server would have answered.
public struct RequestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server's code for this problem (2401, 2402, ...).
    public let code: StreamErrorCode
    /// Which param and why, in the server's `error_detail` wording.
    public let detail: String

    public init(_ code: StreamErrorCode, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(self.code.rawValue): \(self.detail)" }
}
