// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

public import NIOSSL
public import StreamKit

/// Everything a ``StreamClient`` needs, with a documented default for every field.
///
/// The API key is never printed: ``description`` redacts it, and no error or log line contains it.
public struct StreamClientConfiguration: Sendable, CustomStringConvertible {
    /// The stream endpoint. Default: the real service, `wss://pro-stream.coinmarketcap.com/v1`. Use `ws://` for
    /// a local simulator.
    public var url: String
    /// The API key, sent in the `X-CMC_PRO_API_KEY` header of the upgrade request.
    public var apiKey: String
    /// TLS for `wss://`. `nil` (the default) verifies the server's certificate against the system's trust roots
    /// and its host name; pass a configuration with your own trust roots for a test server, and set
    /// `certificateVerification = .none` only if you mean it.
    public var tls: TLSConfiguration?
    /// Largest message accepted from the server. Real frames are a few KiB; 1 MiB leaves room for any batch
    /// while bounding memory (WebSocket libraries often default to 16 KiB, which real frames can exceed).
    public var maxFrameSize: Int
    /// Connections, timeouts, backoff, limits; see ``SessionPool/Configuration``.
    public var pool: SessionPool.Configuration
    /// Seeds backoff jitter (defaults to a random seed, so a fleet of clients does not reconnect in step).
    public var seed: UInt64
    /// Bounded buffering between the connections and the consumer; the default overflow policy.
    public var delivery: DeliveryConfiguration
    /// Credit price of one data message, for the credit meter in ``StreamClient/metrics()``. Default 0.025 (the
    /// provider's marketing page and guide).
    public var creditsPerMessage: Double
    /// Credit price of one subscription. Default 0.1 (the provider's overview: "0.1 credit per subscription";
    /// whether a re-subscription after a reconnect is billed again is not documented: the meter counts it).
    public var creditsPerSubscription: Double

    /// - Parameters:
    ///   - url: Default `wss://pro-stream.coinmarketcap.com/v1`.
    ///   - apiKey: Your key. Validated when the client is created.
    public init(url: String = StreamKitDefaults.url, apiKey: String) {
        self.url = url
        self.apiKey = apiKey
        self.tls = nil
        self.maxFrameSize = StreamKitDefaults.maxFrameSize
        self.pool = SessionPool.Configuration()
        self.seed = UInt64.random(in: 0...UInt64.max)
        self.delivery = DeliveryConfiguration()
        self.creditsPerMessage = StreamKitDefaults.creditsPerMessage
        self.creditsPerSubscription = StreamKitDefaults.creditsPerSubscription
    }

    public var description: String {
        "StreamClientConfiguration(url: \(Self.redactedURL(self.url)), apiKey: <redacted \(self.apiKey.utf8.count) bytes>, maxFrameSize: \(self.maxFrameSize))"
    }

    /// The URL with its query removed: a key passed as `?CMC_PRO_API_KEY=...` must not reach a log line.
    static func redactedURL(_ url: String) -> String {
        guard let q = url.firstIndex(of: "?") else { return url }
        return url[..<q] + "?<redacted>"
    }

    // MARK: - Validation

    struct Endpoint: Sendable, Hashable {
        let secure: Bool
        let host: String
        let port: Int
        let path: String
    }

    /// Parses the URL and checks the key.
    func validated() throws(StreamClientError) -> Endpoint {
        let key = self.apiKey.utf8
        guard !key.isEmpty, key.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else { throw .invalidAPIKey }
        let url = self.url
        let secure: Bool
        let rest: Substring
        if url.hasPrefix("wss://") {
            secure = true
            rest = url.dropFirst(6)
        } else if url.hasPrefix("ws://") {
            secure = false
            rest = url.dropFirst(5)
        } else {
            throw .invalidURL(url)
        }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.isEmpty { path = "/" }
        if path.hasPrefix("?") { path = "/" + path }
        let host: Substring
        var port = secure ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalidURL(url) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { throw .invalidURL(url) }
                port = p
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                throw .invalidURL(url)
            }
            port = p
        } else {
            host = authority
        }
        guard !host.isEmpty, path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .invalidURL(url) }
        return Endpoint(secure: secure, host: String(host), port: port, path: path)
    }
}

/// Why a ``StreamClient`` refused to start or a call failed. Never contains the API key.
public struct StreamClientError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Sendable, Hashable {
        case invalidAPIKey
        case invalidURL(String)
        case capacity(Int)
        case notRunning
        case subscriptionFailed(String)
        case tls(String)
    }

    private let kind: Kind

    /// The key is empty or contains a byte that cannot go in an HTTP header (CR, LF, space, control, non-ASCII).
    public static var invalidAPIKey: Self { Self(kind: .invalidAPIKey) }
    /// The URL is not `ws://` or `wss://` with a host.
    public static func invalidURL(_ url: String) -> Self { Self(kind: .invalidURL(StreamClientConfiguration.redactedURL(url))) }
    /// The subscriptions would not fit in the allowed connections (nothing was sent).
    public static func capacity(_ limit: Int) -> Self { Self(kind: .capacity(limit)) }
    /// The client has stopped.
    public static var notRunning: Self { Self(kind: .notRunning) }
    /// A subscription was refused or timed out.
    public static func subscriptionFailed(_ why: String) -> Self { Self(kind: .subscriptionFailed(why)) }
    /// TLS could not be set up.
    public static func tls(_ why: String) -> Self { Self(kind: .tls(why)) }

    /// The error's code in the status table shared with the C ABI (`sk_status` in `include/streamkit.h`).
    public var status: Int32 {
        let status: StreamKitStatus
        switch self.kind {
        case .invalidAPIKey: status = .invalidKey
        case .invalidURL: status = .invalidURL
        case .tls: status = .tls
        case .capacity: status = .capacity
        case .subscriptionFailed: status = .subscriptionFailed
        case .notRunning: status = .stopped
        }
        return status.rawValue
    }

    public var description: String {
        switch self.kind {
        case .invalidAPIKey: "invalid API key: empty, or contains a byte not allowed in an HTTP header"
        case .invalidURL(let u): "invalid stream URL '\(u)': expected ws://host[:port]/path or wss://..."
        case .capacity(let n): "subscriptions exceed the allowed total of \(n); nothing was sent"
        case .notRunning: "the client has stopped"
        case .subscriptionFailed(let why): "subscription failed: \(why)"
        case .tls(let why): "TLS setup failed: \(why)"
        }
    }
}
