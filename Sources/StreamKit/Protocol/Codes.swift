// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// MARK: - Error codes

/// An `error_code` from an `error` frame's `status` object, with what the reference says about it.
///
/// The server may send codes this table does not know; they keep their number and report
/// ``Category-swift.enum/unknown``. The wire sends the code as a string (`"2401"`) in the official example and as
/// a number in some client code; the decoder accepts both.
public struct StreamErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int
    @inlinable public init(rawValue: Int) { self.rawValue = rawValue }

    /// The reference's categories.
    public enum Category: String, Sendable, Hashable {
        case auth = "AUTH"
        case `protocol` = "PROTOCOL"
        case server = "SERVER"
        case unknown = "UNKNOWN"
    }

    /// What a client should do about an error.
    public enum Disposition: Sendable, Hashable {
        /// The key, plan or credits are the problem: retrying cannot help. Stop and tell the user.
        case fatal
        /// The request was wrong (bad params, unknown channel, limit reached): fix the request; the
        /// connection itself is fine.
        case rejectRequest
        /// A transient server problem: retry with backoff.
        case retry
    }

    /// 1001: This API Key is invalid.
    public static let apiKeyInvalid = Self(rawValue: 1001)
    /// 1002: API key missing.
    public static let apiKeyMissing = Self(rawValue: 1002)
    /// 1003: Your API Key must be activated.
    public static let apiKeyNotActivated = Self(rawValue: 1003)
    /// 1004: Your API Key subscription plan has expired.
    public static let planExpired = Self(rawValue: 1004)
    /// 1006: Your plan does not support this endpoint.
    public static let planNotSupported = Self(rawValue: 1006)
    /// 1007: This API Key has been disabled. Please contact support.
    public static let apiKeyDisabled = Self(rawValue: 1007)
    /// 1010: Monthly credit limit exceeded.
    public static let creditLimitExceeded = Self(rawValue: 1010)
    /// 2201: Invalid request format.
    public static let invalidRequestFormat = Self(rawValue: 2201)
    /// 2202: Unknown method.
    public static let unknownMethod = Self(rawValue: 2202)
    /// 2203: Message length is not right.
    public static let messageLength = Self(rawValue: 2203)
    /// 2204: Missing required field.
    public static let missingField = Self(rawValue: 2204)
    /// 2301: Channel does not exist.
    public static let unknownChannel = Self(rawValue: 2301)
    /// 2302: Channel not available on your plan.
    public static let channelNotOnPlan = Self(rawValue: 2302)
    /// 2303: Subscription limit reached.
    public static let subscriptionLimit = Self(rawValue: 2303)
    /// 2304: Connection limit reached.
    public static let connectionLimit = Self(rawValue: 2304)
    /// 2401: Missing required param for channel.
    public static let missingParam = Self(rawValue: 2401)
    /// 2402: Invalid param for channel.
    public static let invalidParam = Self(rawValue: 2402)
    /// 5001: Internal server error.
    public static let internalError = Self(rawValue: 5001)

    /// Every code in the reference's table, in table order.
    public static let documented: [StreamErrorCode] = [
        .apiKeyInvalid, .apiKeyMissing, .apiKeyNotActivated, .planExpired, .planNotSupported, .apiKeyDisabled,
        .creditLimitExceeded, .invalidRequestFormat, .unknownMethod, .messageLength, .missingField,
        .unknownChannel, .channelNotOnPlan, .subscriptionLimit, .connectionLimit, .missingParam, .invalidParam,
        .internalError,
    ]

    /// The category the reference gives the code (from its thousands digit for unknown codes).
    public var category: Category {
        switch self.rawValue {
        case 1000..<2000: .auth
        case 2000..<3000: .protocol
        case 5000..<6000: .server
        default: .unknown
        }
    }

    /// The reference's `error_message` for the code, or `nil` for a code it does not list.
    public var documentedMessage: String? {
        switch self.rawValue {
        case 1001: "This API Key is invalid."
        case 1002: "API key missing."
        case 1003: "Your API Key must be activated."
        case 1004: "Your API Key subscription plan has expired."
        case 1006: "Your plan does not support this endpoint."
        case 1007: "This API Key has been disabled. Please contact support."
        case 1010: "Monthly credit limit exceeded."
        case 2201: "Invalid request format."
        case 2202: "Unknown method."
        case 2203: "Message length is not right."
        case 2204: "Missing required field."
        case 2301: "Channel does not exist."
        case 2302: "Channel not available on your plan."
        case 2303: "Subscription limit reached."
        case 2304: "Connection limit reached."
        case 2401: "Missing required param for channel."
        case 2402: "Invalid param for channel."
        case 5001: "Internal server error."
        default: nil
        }
    }

    /// What a client should do. The codes about the key itself are fatal, with or without a request `id`: 1001
    /// (invalid), 1002 (missing), 1003 (not activated), 1004 (plan expired), 1007 (disabled), 1010 (credits
    /// exhausted); the key or the account must change first. Every other `AUTH` code (1006, "plan does not support
    /// this endpoint", and codes the reference does not list) is about what was asked for: it rejects the request
    /// it answers (the connection stays up) and is fatal only when it answers no request (a session cannot tell
    /// then what it refuses; the reference maps 1006 to close 4102). `PROTOCOL` codes reject their request (2304,
    /// connection limit: open fewer connections). `SERVER` and unknown codes retry with backoff.
    public var disposition: Disposition {
        switch self.rawValue {
        case 1001, 1002, 1003, 1004, 1007, 1010: return .fatal
        default: break
        }
        switch self.category {
        case .auth, .protocol: return .rejectRequest
        case .server, .unknown: return .retry
        }
    }

    /// True for an `AUTH` code that is not about the key itself (see ``disposition``): fatal only when it answers
    /// no request.
    public var isFatalWithoutRequest: Bool { self.category == .auth }

    public var description: String {
        if let message = self.documentedMessage { return "\(self.rawValue) (\(message))" }
        return "\(self.rawValue)"
    }
}

// MARK: - Close codes

/// A WebSocket close code the server may send, with the reconnect policy StreamKit applies to it.
///
/// Some auth and limit failures close the socket without any JSON body, so the close code is the only signal.
public struct CloseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// How a client should react to a close.
    public enum Policy: Sendable, Hashable {
        /// Reconnect with the usual backoff.
        case retry
        /// Reconnect, but only after a long wait: the key is at its connection limit.
        case retryAfterLongDelay
        /// Do not reconnect: the key is invalid, disabled, or its plan lacks WebSocket access.
        case fatal
    }

    /// 1000: normal close (client or server graceful disconnect).
    public static let normal = Self(rawValue: 1000)
    /// 1001: write idle timeout (the server closed an inactive connection).
    public static let writeIdleTimeout = Self(rawValue: 1001)
    /// 1011: send failure (the server could not push a message).
    public static let sendFailure = Self(rawValue: 1011)
    /// 1012: frame sink cancellation (internal stream error).
    public static let frameSinkCancellation = Self(rawValue: 1012)
    /// 1013: close topic signal (channel shutdown).
    public static let closeTopicSignal = Self(rawValue: 1013)
    /// 1014: unknown close reason (unexpected disconnection).
    public static let unknownReason = Self(rawValue: 1014)
    /// 4004: too many connections for the API key (error 2304).
    public static let connectionLimit = Self(rawValue: 4004)
    /// 4100: API key invalid (error 1001).
    public static let apiKeyInvalid = Self(rawValue: 4100)
    /// 4101: API key disabled (error 1007).
    public static let apiKeyDisabled = Self(rawValue: 4101)
    /// 4102: plan does not support WebSocket; Startup and above required (error 1006).
    public static let planNotSupported = Self(rawValue: 4102)

    /// Every close code in the reference's table, in table order.
    public static let documented: [CloseCode] = [
        .normal, .writeIdleTimeout, .sendFailure, .frameSinkCancellation, .closeTopicSignal, .unknownReason,
        .connectionLimit, .apiKeyInvalid, .apiKeyDisabled, .planNotSupported,
    ]

    /// The reference's reason text, or `nil` for a code it does not list.
    public var documentedReason: String? {
        switch self.rawValue {
        case 1000: "Normal close"
        case 1001: "Write idle timeout"
        case 1011: "Send failure"
        case 1012: "Frame sink cancellation"
        case 1013: "Close topic signal"
        case 1014: "Unknown close reason"
        case 4004: "Connection limit"
        case 4100: "API key invalid"
        case 4101: "API key disabled"
        case 4102: "Plan not support WS"
        default: nil
        }
    }

    /// The error code the reference maps this close code to.
    public var errorCode: StreamErrorCode? {
        switch self.rawValue {
        case 4004: .connectionLimit
        case 4100: .apiKeyInvalid
        case 4101: .apiKeyDisabled
        case 4102: .planNotSupported
        default: nil
        }
    }

    /// 4100, 4101 and 4102 are fatal (retrying with the same key cannot succeed); 4004 waits long before
    /// retrying; every other code, including unknown ones, retries with backoff.
    public var policy: Policy {
        switch self.rawValue {
        case 4100, 4101, 4102: .fatal
        case 4004: .retryAfterLongDelay
        default: .retry
        }
    }

    public var description: String {
        if let reason = self.documentedReason { return "\(self.rawValue) (\(reason))" }
        return "\(self.rawValue)"
    }
}
