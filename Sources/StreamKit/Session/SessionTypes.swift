// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// MARK: - Time

/// A point on the caller's monotonic clock, in nanoseconds. The session never reads a clock: every input carries
/// `now`, so tests drive it with virtual time and the C ABI passes `CLOCK_MONOTONIC`.
public struct Instant: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Nanoseconds since an arbitrary origin.
    public var nanoseconds: Int64

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// `seconds` after the origin (for tests and examples).
    public static func seconds(_ seconds: Double) -> Instant { Instant(nanoseconds: Int64(seconds * 1e9)) }

    @inlinable public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// This instant moved by `d`.
    @inlinable public func advanced(by d: Duration) -> Instant {
        Instant(nanoseconds: self.nanoseconds &+ d.nanoseconds)
    }

    /// The time from `earlier` to this instant.
    @inlinable public func duration(since earlier: Instant) -> Duration {
        .nanoseconds(self.nanoseconds &- earlier.nanoseconds)
    }

    public var description: String { "\(Double(self.nanoseconds) / 1e9)s" }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    @inlinable public var nanoseconds: Int64 {
        let (s, a) = self.components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return s < 0 ? .min : .max }
        return ns &+ a / 1_000_000_000
    }
}

// MARK: - Configuration

/// How a session keeps its connection alive, reconnects, and watches its subscriptions. Every field has a default
/// chosen from the reference, from ``StreamKitDefaults`` (the one table of defaults: scripts/tables_schema.py),
/// whose entries say why.
public struct SessionConfiguration: Sendable, Hashable {
    /// Application `ping` interval until the server's `welcome` says otherwise. The reference: "typically 10s".
    public var defaultPingInterval: Duration = StreamKitDefaults.pingInterval
    /// How long a `pong` may take before the connection is declared dead. A live server answers in milliseconds;
    /// 5 s tolerates a slow network without trusting a stalled socket for long.
    public var pongTimeout: Duration = StreamKitDefaults.pongTimeout
    /// Silence (no frame of any kind) after which the connection is declared dead, whatever the pings say. The
    /// timeout in force is the larger of this and three ping intervals (the welcome's `ping_interval_ms`, which
    /// may be up to 300 s): a healthy connection has a pong at least every interval, so three intervals of
    /// nothing is dead, while a fixed 30 s would kill a quiet, healthy connection whose interval is 30 s or more.
    /// 30 s: three of the reference's "typically 10s" intervals.
    public var livenessTimeout: Duration = StreamKitDefaults.livenessTimeout
    /// How long a request may wait for its `ack` or `error`.
    public var requestTimeout: Duration = StreamKitDefaults.requestTimeout
    /// How long connecting may take before it counts as failed (the transport enforces it; the session times it too).
    public var connectTimeout: Duration = StreamKitDefaults.connectTimeout
    /// How long a connection the session closed may take to be reported closed before the session stops waiting
    /// and goes on (reconnects, fails or stops) as if it had been; a late report is ignored.
    public var closeTimeout: Duration = StreamKitDefaults.closeTimeout
    /// First reconnect delay bound. Full jitter: the actual delay is uniform in [0, bound].
    public var backoffInitial: Duration = StreamKitDefaults.backoffInitial
    /// Largest reconnect delay bound. The reference's client evidence backs off "up to 60 s".
    public var backoffCap: Duration = StreamKitDefaults.backoffCap
    /// The wait after close 4004 (too many connections for the key) and after an HTTP 429 refusal of the upgrade:
    /// long, so other connections can end first and a rate limit can pass.
    public var connectionLimitDelay: Duration = StreamKitDefaults.connectionLimitDelay
    /// A connection counts as healthy, and resets the backoff, once it has been open this long and has proved
    /// itself alive: a pong, an ack or data since it opened (so a connection whose subscriptions are all quiet
    /// resets it too). A server that accepts and closes at once therefore never resets the backoff.
    public var healthyAfter: Duration = StreamKitDefaults.healthyAfter
    /// Consecutive HTTP 401 or 403 refusals of the upgrade after which the session fails for good (the key is
    /// refused below the WebSocket protocol, where no close code says so). 3: one refusal can be a proxy's or a
    /// deploy's hiccup; three in a row, over growing backoff delays, is the key.
    public var refusalsBeforeFatal: Int = StreamKitDefaults.refusalsBeforeFatal
    /// Retries of a subscribe that a retryable server error answered (5001 and unknown codes), per subscription,
    /// before it is reported failed with the code and detail. Delays double from ``backoffInitial`` (with jitter),
    /// capped at ``backoffCap``. 4: 1 + 2 + 4 + 8 s rides out a transient fault without retrying for ever.
    public var requestRetries: Int = StreamKitDefaults.requestRetries
    /// Quiet time after which a `market@crypto_latest_price` subscription is stale: three of the documented ~15 s
    /// pushes (top-500 ids push every ~5 s, so this is generous for them). Each further quiet period doubles
    /// (45 s, 90 s, 180 s ...) up to ``staleCap``; see ``staleResubscribes``.
    public var priceStaleAfter: Duration? = StreamKitDefaults.priceStaleAfter
    /// How many times a stale subscription is re-subscribed (each one is billed as a subscription) before the
    /// session keeps it as it is and only reports `stale` at ``staleCap``. 3: a lost subscription on the server
    /// side comes back at the first; an id the server acks but never pushes (unknown, delisted) then costs three
    /// re-subscriptions in all, not one every 45 s for ever.
    public var staleResubscribes: Int = StreamKitDefaults.staleResubscribes
    /// The longest quiet period between two `stale` reports of one subscription. 6 min: eight times the price
    /// channel's 45 s, so a dead id is still reported a few times an hour.
    public var staleCap: Duration = StreamKitDefaults.staleCap
    /// Quiet time after which an on-chain subscription is stale. Off by default: on-chain channels push per event,
    /// and a quiet token is normal.
    public var onChainStaleAfter: Duration? = nil
    /// Subscriptions per connection, until an `ack`'s `sub_limit` says otherwise. Documented: 100.
    public var subscriptionLimit: Int = StreamKitDefaults.subscriptionsPerConnection
    /// Swaps and liquidity events remembered for deduplication (by `tx` + `lgid`/`iix`). Both legs of one swap
    /// arrive within milliseconds; 4096 recent events is ample and bounded. 0 turns deduplication off (a
    /// ``SessionPool`` deduplicates across its connections instead).
    public var dedupeWindow: Int = StreamKitDefaults.sessionDedupeWindow
    /// Most targets sent in one subscribe request (at least 1 is used).
    public var maxTargetsPerRequest: Int = StreamKitDefaults.maxTargetsPerRequest

    public init() {}
}

// MARK: - Actions and events

/// What the transport must do for the session.
public enum SessionAction: Sendable, Hashable {
    /// Open the WebSocket connection (TLS, upgrade with the API key header).
    case connect
    /// Send this text frame.
    case send([UInt8])
    /// Close the connection with this code and stop reading from it; report ``Session/handleClosed(code:reason:now:)``
    /// when it is gone (at once, without waiting for a dead peer).
    case close(code: UInt16)
}

/// Why a connection ended.
///
/// New cases may be added in a minor version: a `switch` over it should have an `@unknown default`.
#if hasAttribute(nonexhaustive)
@nonexhaustive
#endif
public enum DisconnectReason: Sendable, Hashable, CustomStringConvertible {
    /// The server closed with this code (and reason text).
    case closedByServer(code: UInt16, reason: String)
    /// The transport failed (connect refused, TLS, reset, ...).
    case transportError(String)
    /// No `pong` within ``SessionConfiguration/pongTimeout``.
    case pongTimeout
    /// No frame at all within ``SessionConfiguration/livenessTimeout``: the connection went silent.
    case silent
    /// Connecting took longer than ``SessionConfiguration/connectTimeout``.
    case connectTimeout
    /// The server sent a frame the client could not decode (the connection is recycled).
    case protocolError(String)
    /// The user stopped the session.
    case stopped
    /// The server answered the WebSocket upgrade with this HTTP status instead of 101 (401/403: the key refused,
    /// fatal after ``SessionConfiguration/refusalsBeforeFatal`` in a row; 429: rate limited, retried after
    /// ``SessionConfiguration/connectionLimitDelay``; others retried with backoff).
    case refused(httpStatus: Int)

    public var description: String {
        switch self {
        case .refused(let status): "the server refused the WebSocket upgrade: HTTP \(status)"
        case .closedByServer(let code, let reason):
            "closed by server: \(CloseCode(rawValue: code))\(reason.isEmpty ? "" : " \(reason)")"
        case .transportError(let e): "transport error: \(e)"
        case .pongTimeout: "no pong in time"
        case .silent: "connection silent"
        case .connectTimeout: "connect timeout"
        case .protocolError(let e): "protocol error: \(e)"
        case .stopped: "stopped"
        }
    }
}

/// Why a subscription is not (or no longer) active.
///
/// New cases may be added in a minor version: a `switch` over it should have an `@unknown default`.
#if hasAttribute(nonexhaustive)
@nonexhaustive
#endif
public enum SubscriptionFailure: Sendable, Hashable, CustomStringConvertible {
    /// The server refused it: its error code, message and detail.
    case rejected(code: StreamErrorCode?, message: String, detail: String)
    /// No `ack` within ``SessionConfiguration/requestTimeout``.
    case timeout
    /// The connection's subscription limit is reached.
    case capacity(limit: Int)

    public var description: String {
        switch self {
        case .rejected(let code, let message, let detail):
            "rejected (\(code.map { String($0.rawValue) } ?? "?")): \(message)\(detail.isEmpty ? "" : " \(detail)")"
        case .timeout: "no ack in time"
        case .capacity(let limit): "subscription limit \(limit) reached"
        }
    }
}

/// Why the session refused a call.
///
/// New cases may be added in a minor version: a `switch` over it should have an `@unknown default`.
#if hasAttribute(nonexhaustive)
@nonexhaustive
#endif
public enum SessionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The subscriptions would exceed the connection's subscription limit; nothing was added.
    case capacity(limit: Int)
    /// The session has stopped or failed.
    case notRunning

    public var description: String {
        switch self {
        case .capacity(let limit): "subscription limit \(limit) reached on this connection"
        case .notRunning: "the session has stopped"
        }
    }
}

/// What happened, in order. Poll with ``Session/pollEvent()`` after every input, before delivering the frame that
/// input returned, so gap markers precede the data they concern.
///
/// New cases may be added in a minor version: a `switch` over it should have an `@unknown default`.
#if hasAttribute(nonexhaustive)
@nonexhaustive
#endif
public enum SessionEvent: Sendable, Hashable {
    /// Connecting; `attempt` is 0 for the first connection after start or after a healthy period.
    case connecting(attempt: Int)
    /// The transport is up.
    case connected
    /// The server's welcome, with the ping interval now in force.
    case welcome(pingInterval: Duration)
    /// The server acknowledged the subscription (`duplicate` when it already had it).
    case subscribed(Subscription, duplicate: Bool)
    /// The subscription was removed.
    case unsubscribed(Subscription)
    /// The subscription failed; it is not retried until subscribed again.
    case subscriptionFailed(Subscription, SubscriptionFailure)
    /// No data for the subscription since `since`. The first ``SessionConfiguration/staleResubscribes`` times in a
    /// quiet spell it is re-subscribed on its own; after that it stays subscribed as it is and this is reported
    /// again after each (doubling, capped) quiet period, until data arrives.
    case stale(Subscription, since: Instant)
    /// The connection ended and will be retried after `delay` (the `attempt`-th retry).
    case reconnecting(attempt: Int, delay: Duration, reason: DisconnectReason)
    /// After a reconnect, every subscription that was active is active again.
    case restored
    /// The subscription's data was interrupted from `from` to `to`: anything the server pushed in between was
    /// not received. Delivered before the subscription's first data after the interruption.
    case gap(Subscription, from: Instant, to: Instant, reason: DisconnectReason)
    /// An `error` frame not tied to a request of this session.
    case serverError(code: StreamErrorCode?, message: String, detail: String)
    /// The session stopped for good: the key is invalid or disabled, the plan lacks WebSocket, or an AUTH error.
    case fatal(DisconnectReason)
    /// The session stopped because the user asked.
    case stopped
}

/// What ``Session/handleText(_:now:into:)`` found in a frame.
public enum InboundResult: Sendable, Hashable {
    /// A data push for the subscription at this index of ``Session/subscriptions`` (`nil` when it matches no
    /// subscription of the session, e.g. one just unsubscribed): deliver `frame`.
    case data(subscription: Subscription?)
    /// A swap or liquidity event already delivered (the other token leg): do not deliver.
    case duplicate
    /// A control frame (welcome, ack, error, pong); its effects are in the events and actions.
    case control
    /// A frame that could not be decoded. The connection is kept; a run of them recycles it.
    case invalid(DecodeError)
}

/// Counters a session keeps; all monotonic.
public struct SessionCounters: Sendable, Hashable {
    /// Data frames received (duplicates included).
    public var dataFrames: Int = 0
    /// Duplicate swaps and liquidity events suppressed.
    public var duplicatesSuppressed: Int = 0
    /// Frames that could not be decoded.
    public var invalidFrames: Int = 0
    /// Connections closed and retried.
    public var reconnects: Int = 0
    /// Stale subscriptions detected.
    public var staleSubscriptions: Int = 0
}

// MARK: - Matches

/// Every subscription one push belongs to, in a fixed inline capacity (no allocation per message): usually one; a
/// swap or liquidity event between two subscribed tokens (or a token and its subscribed pool) matches two or
/// three. With deduplication on, the first leg to arrive carries all of them and the later legs are dropped as
/// duplicates; with it off, each leg carries its own subscription only. The first element is the subscription
/// the push's params echo named (``MessageView/subscription``), when there is one.
public struct SubscriptionMatches: Sendable, Hashable, RandomAccessCollection, CustomStringConvertible {
    /// Most subscriptions one push can match: `t0a`, `t1a` and `pa` of a swap.
    public static let capacity = 3
    private var first: Subscription?
    private var second: Subscription?
    private var third: Subscription?
    public private(set) var count = 0

    public init() {}

    /// One subscription, or none for `nil`.
    public init(_ s: Subscription?) { if let s { self.append(s) } }

    public var startIndex: Int { 0 }
    public var endIndex: Int { self.count }

    public subscript(i: Int) -> Subscription {
        precondition(i >= 0 && i < self.count, "SubscriptionMatches index out of range")
        switch i {
        case 0: return self.first!
        case 1: return self.second!
        default: return self.third!
        }
    }

    /// Adds `s` unless it is already there or the capacity is reached.
    public mutating func append(_ s: Subscription) {
        guard self.count < Self.capacity, !self.contains(s) else { return }
        switch self.count {
        case 0: self.first = s
        case 1: self.second = s
        default: self.third = s
        }
        self.count += 1
    }

    public var description: String { "[" + self.map(\.description).joined(separator: ", ") + "]" }
}
