// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0
//
// Generated from scripts/tables_schema.py by scripts/gen_channels.py: edit the schema, not this.

/// The library version, as `STREAMKIT_VERSION*` in the C header and `streamkit.__version__` in Python.
public enum StreamKitVersion {
    public static let major = 0
    public static let minor = 4
    public static let patch = 0
    /// `major * 1_000_000 + minor * 1_000 + patch`, as sqlite's version number.
    public static let number = 4000
    /// `"major.minor.patch"`.
    public static let string = "0.4.0"
    /// ``string`` in static storage, for C (`sk_version`).
    public static let staticString: StaticString = "0.4.0"
}

/// The status table shared by every face: `sk_status` in C, the exception classes in Python
/// (`StreamKitError.status`), ``rawValue`` in Swift (`StreamClientError.status`). Numbers are only ever appended.
public enum StreamKitStatus: Int32, Sendable, CaseIterable, CustomStringConvertible {
    /// Success.
    case ok = 0
    /// NULL/invalid/freed handle, NULL out-pointer, or a call in the wrong state.
    case misuse = 1
    /// An argument is out of range (see the errmsg).
    case invalidArgument = 2
    /// The API key is empty or has a byte not allowed in an HTTP header.
    case invalidKey = 3
    /// The URL is not ws://host[:port]/path or wss://...
    case invalidURL = 4
    /// TLS could not be set up (CA file unreadable, ...).
    case tls = 5
    /// The subscriptions would not fit the allowed connections; nothing was sent.
    case capacity = 6
    /// The server refused a subscription (the errmsg has its error code and detail).
    case subscriptionFailed = 7
    /// Nothing arrived, or no acknowledgement, within the timeout.
    case timeout = 8
    /// The client has stopped (sk_client_stop, or a fatal close): nothing more will come.
    case stopped = 9
    /// The service refused the key or plan (close 4100/4101/4102, AUTH error).
    case fatal = 10
    /// A bug in StreamKit: please report it with the errmsg.
    case internalError = 11
    /// sk_decode: not a valid frame (the errmsg has the reason and the byte offset).
    case invalidFrame = 12
    /// A file could not be read, or compressed data is corrupt or needs a missing libzstd.so.1 (the errmsg has the path and the reason).
    case io = 13

    /// The short text of `sk_status_string` ("misuse", ...).
    public var description: String { String(describing: self.text) }

    /// ``description`` in static storage, for C.
    public var text: StaticString {
        switch self {
        case .ok: "ok"
        case .misuse: "misuse"
        case .invalidArgument: "invalid argument"
        case .invalidKey: "invalid API key"
        case .invalidURL: "invalid URL"
        case .tls: "TLS setup failed"
        case .capacity: "over capacity"
        case .subscriptionFailed: "subscription failed"
        case .timeout: "timeout"
        case .stopped: "stopped"
        case .fatal: "fatal: key or plan refused"
        case .internalError: "internal error"
        case .invalidFrame: "invalid frame"
        case .io: "i/o error"
        }
    }
}

/// The simulator's fault kinds by name (`sk_fault` in C, `Simulator.inject` in Python, `--fault` on the command
/// line); `SimulatorFault.kinds` builds each kind from its name.
public enum FaultNumbers {
    public static let byName: [String: Int32] = [
        "drop": 1,
        "stall": 2,
        "close": 3,
        "error_5001": 4,
        "malformed": 5,
        "oversized": 6,
        "duplicate": 7,
        "pong_delay": 8,
        "null_price": 9,
        "holder_without_ts": 10,
        "mistyped": 11,
        "array_echo": 12,
        "subscribe_error": 13,
        "error_5001_then_ack": 14,
        "ping_interval": 15,
    ]
}

/// The reasons' numbers and names, the same in every face: `sk_disconnect_reason` in C (`SK_REASON_*`; 0,
/// `SK_REASON_NONE`, is no reason), `DISCONNECT_REASONS` in Python. Numbers are only ever appended.
extension DisconnectReason {
    /// The reason's `SK_REASON_*` number (never 0).
    public var number: Int32 {
        switch self {
        case .closedByServer: 1
        case .transportError: 2
        case .pongTimeout: 3
        case .silent: 4
        case .connectTimeout: 5
        case .protocolError: 6
        case .stopped: 7
        case .refused: 8
        }
    }

    /// The reason's name (`"closed_by_server"`, ...), as Python's `DISCONNECT_REASONS` has it.
    public var name: String {
        switch self {
        case .closedByServer: "closed_by_server"
        case .transportError: "transport_error"
        case .pongTimeout: "pong_timeout"
        case .silent: "silent"
        case .connectTimeout: "connect_timeout"
        case .protocolError: "protocol_error"
        case .stopped: "stopped"
        case .refused: "refused"
        }
    }
}

/// Every default of the configuration (`SessionConfiguration`, `SessionPool.Configuration`,
/// `StreamClientConfiguration`, `DeliveryConfiguration`, the C `sk_config_new`, Python's `Client`), with the
/// reason for each.
public enum StreamKitDefaults {
    /// The real service (the provider's overview page).
    public static let url = "wss://pro-stream.coinmarketcap.com/v1"
    /// The documented limit of concurrent connections per API key.
    public static let maxConnections = 10
    /// The documented sub_limit (the server's ack may lower it).
    public static let subscriptionsPerConnection = 100
    /// Messages of one subscription waiting for the consumer before its overflow policy applies: seconds of the busiest
    /// channel, in bounded memory.
    public static let queueCapacity = 4096
    /// The overflow policy: drop the subscription's oldest waiting message (and say so in order), so a slow consumer
    /// neither stops the sockets nor grows without bound.
    public static let overflow = "drop_oldest"
    /// Largest frame accepted: real frames are a few KiB; 1 MiB leaves room for any batch while bounding memory
    /// (WebSocket libraries often default to 16 KiB, which real frames can exceed).
    public static let maxFrameSize = 1048576
    /// Credit price of one data message (the provider's marketing page and guide).
    public static let creditsPerMessage: Double = 0.025
    /// Credit price of one subscription (the overview: "0.1 credit per subscription"; whether a re-subscription after a
    /// reconnect is billed again is not documented: the meter counts it).
    public static let creditsPerSubscription: Double = 0.1
    /// Swaps and liquidity events a client remembers across its connections to drop the second leg: both legs arrive
    /// within milliseconds, so 8192 recent events is ample and bounded.
    public static let poolDedupeWindow = 8192
    /// Application ping interval until the welcome says otherwise: the reference's "typically 10s".
    public static let pingInterval: Duration = .seconds(10)
    /// How long a pong may take before the connection is declared dead: a live server answers in milliseconds; 5 s
    /// tolerates a slow network without trusting a stalled socket for long.
    public static let pongTimeout: Duration = .seconds(5)
    /// Silence (no frame of any kind) after which a connection is dead, whatever the pings say, or three ping intervals
    /// when longer: three of the reference's "typically 10s" intervals.
    public static let livenessTimeout: Duration = .seconds(30)
    /// How long a request may wait for its ack or error.
    public static let requestTimeout: Duration = .seconds(10)
    /// How long connecting (TCP, TLS, upgrade) may take before it counts as failed.
    public static let connectTimeout: Duration = .seconds(15)
    /// How long a connection the session closed may take to be reported closed before the session goes on.
    public static let closeTimeout: Duration = .seconds(5)
    /// First reconnect delay bound (full jitter: the delay is uniform in [0, bound]).
    public static let backoffInitial: Duration = .seconds(1)
    /// Largest reconnect delay bound: the reference's client evidence backs off "up to 60 s".
    public static let backoffCap: Duration = .seconds(60)
    /// The wait after close 4004 (too many connections) or an HTTP 429 refusal: long, so other connections can end
    /// first and a rate limit can pass.
    public static let connectionLimitDelay: Duration = .seconds(60)
    /// A connection resets the backoff once open this long and proved alive (a pong, an ack or data): a server that
    /// accepts and closes at once never resets it.
    public static let healthyAfter: Duration = .seconds(30)
    /// Consecutive HTTP 401/403 refusals of the upgrade before the session fails for good: one can be a proxy's or a
    /// deploy's hiccup; three in a row, over growing delays, is the key.
    public static let refusalsBeforeFatal = 3
    /// Retries of a subscribe a retryable error answered (5001, unknown codes), before it is reported failed: 1 + 2 + 4
    /// + 8 s rides out a transient fault without retrying for ever.
    public static let requestRetries = 4
    /// Quiet time after which a price subscription is stale: three of the documented ~15 s pushes.
    public static let priceStaleAfter: Duration = .seconds(45)
    /// Re-subscriptions of a stale subscription (each billed) before it is only reported: a lost subscription comes
    /// back at the first; an id acked but never pushed costs three, not one every 45 s for ever.
    public static let staleResubscribes = 3
    /// The longest quiet period between two stale reports: eight times the price channel's 45 s, so a dead id is still
    /// reported a few times an hour.
    public static let staleCap: Duration = .seconds(360)
    /// Swaps and liquidity events one session remembers (a pool deduplicates across its sessions instead).
    public static let sessionDedupeWindow = 4096
    /// Most targets sent in one subscribe request.
    public static let maxTargetsPerRequest = 50
    /// Messages the Python binding takes from the library per call (one native call per batch, with the GIL released
    /// while it waits).
    public static let batch = 512
}
