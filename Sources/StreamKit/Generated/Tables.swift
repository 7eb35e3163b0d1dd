// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0
//
// Generated from scripts/tables_schema.py by scripts/gen_channels.py: edit the schema, not this.

/// The library version, as `STREAMKIT_VERSION*` in the C header and `streamkit.__version__` in Python.
public enum StreamKitVersion {
    public static let major = 0
    public static let minor = 3
    public static let patch = 0
    /// `major * 1_000_000 + minor * 1_000 + patch`, as sqlite's version number.
    public static let number = 3000
    /// `"major.minor.patch"`.
    public static let string = "0.3.0"
    /// ``string`` in static storage, for C (`sk_version`).
    public static let staticString: StaticString = "0.3.0"
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
