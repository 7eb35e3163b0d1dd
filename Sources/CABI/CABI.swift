// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// The C ABI declared in include/streamkit.h (and, for the Python binding's pickles, include/streamkit_python.h),
// exported with @_cdecl. The headers are the contract: every function here has its declaration in one of them
// (scripts/check_exports.sh fails the build when they drift apart).
//
// Handles are retained Swift objects passed as opaque pointers. Every entry point looks the pointer up in a
// registry of live handles first, so NULL, a freed or a made-up handle returns SK_MISUSE instead of crashing.

public import CStreamKit
import NIOConcurrencyHelpers
import NIOSSL
import StreamKit
import StreamKitClient

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Handles

/// Live handles. A handle is valid from its creation until its free; lookups return a strong reference, so a
/// handle freed on another thread mid-call stays alive until that call returns.
final class HandleRegistry: @unchecked Sendable {
    static let shared = HandleRegistry()
    private let lock = NIOLock()
    private var live: Set<UnsafeMutableRawPointer> = []

    func register(_ object: AnyObject) -> OpaquePointer {
        let p = Unmanaged.passRetained(object).toOpaque()
        self.lock.withLock { _ = self.live.insert(p) }
        return OpaquePointer(p)
    }

    func lookup<T: AnyObject>(_ handle: OpaquePointer?, as: T.Type) -> T? {
        guard let handle else { return nil }
        let p = UnsafeMutableRawPointer(handle)
        return self.lock.withLock {
            guard self.live.contains(p) else { return nil }
            return Self.object(p, as: T.self)
        }
    }

    /// The live object at `p` when it is exactly a `T` (handle classes are final). Comparing the type is a load;
    /// `as?` would be a dynamic cast on every call, sk_decode's included.
    private static func object<T: AnyObject>(_ p: UnsafeMutableRawPointer, as: T.Type) -> T? {
        let object = Unmanaged<AnyObject>.fromOpaque(p).takeUnretainedValue()
        guard ObjectIdentifier(type(of: object)) == ObjectIdentifier(T.self) else { return nil }
        return unsafeDowncast(object, to: T.self)
    }

    /// Removes the handle; the caller releases it (once) when done.
    func unregister<T: AnyObject>(_ handle: OpaquePointer?, as: T.Type) -> T? {
        guard let handle else { return nil }
        let p = UnsafeMutableRawPointer(handle)
        return self.lock.withLock {
            guard self.live.contains(p), let object = Self.object(p, as: T.self) else { return nil }
            self.live.remove(p)
            return object
        }
    }

    static func release(_ object: AnyObject) {
        Unmanaged.passUnretained(object).release()
    }
}

/// The last error messages of a handle, as C strings. A few are kept so a pointer handed out stays valid while
/// another thread records a newer one.
final class ErrorMessages: @unchecked Sendable {
    private let lock = NIOLock()
    private var ring: [UnsafeMutablePointer<CChar>?] = Array(repeating: nil, count: 8)
    private var next = 0
    private var latest: UnsafePointer<CChar>?

    func set(_ message: String) {
        let copy = strdup(message)
        self.lock.withLock {
            free(self.ring[self.next])
            self.ring[self.next] = copy
            self.next = (self.next + 1) % self.ring.count
            self.latest = copy.map { UnsafePointer($0) }
        }
    }

    var current: UnsafePointer<CChar>? { self.lock.withLock { self.latest } }

    deinit {
        for p in self.ring { free(p) }
    }
}

let noError: StaticString = ""
let invalidHandle: StaticString = "invalid handle: NULL, freed, or not a StreamKit handle"

func staticCString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}

// MARK: - Configuration

final class CConfig: @unchecked Sendable {
    // Guarded by `lock` (setters may race with sk_client_new on another thread).
    let lock = NIOLock()
    var url = StreamKitDefaults.url
    var apiKey = ""
    var maxConnections = StreamKitDefaults.maxConnections
    var perConnection = StreamKitDefaults.subscriptionsPerConnection
    var capacity = StreamKitDefaults.queueCapacity
    var overflow: OverflowPolicy = .byDefault
    var verify = true
    var caFile: String?
    var seed: UInt64?
    var perMessage = StreamKitDefaults.creditsPerMessage
    var perSubscription = StreamKitDefaults.creditsPerSubscription
    let errors = ErrorMessages()

    init() {
        if let key = getenv("CMC_API_KEY") { self.apiKey = String(cString: key) }
    }

    func configuration() -> StreamClientConfiguration {
        self.lock.withLock {
            var c = StreamClientConfiguration(url: self.url, apiKey: self.apiKey)
            c.pool.maxConnections = self.maxConnections
            c.pool.session.subscriptionLimit = self.perConnection
            c.delivery = DeliveryConfiguration(capacityPerSubscription: self.capacity, overflow: self.overflow)
            if !self.verify || self.caFile != nil {
                var tls = TLSConfiguration.makeClientConfiguration()
                if !self.verify { tls.certificateVerification = .none }
                if let ca = self.caFile { tls.trustRoots = .file(ca) }
                c.tls = tls
            }
            if let seed = self.seed { c.seed = seed }
            c.creditsPerMessage = self.perMessage
            c.creditsPerSubscription = self.perSubscription
            return c
        }
    }
}

func overflowPolicy(_ raw: sk_overflow) -> OverflowPolicy?? {
    switch raw {
    case SK_OVERFLOW_DEFAULT: return .some(nil)
    case SK_OVERFLOW_BLOCK: return .block
    case SK_OVERFLOW_DROP_OLDEST: return .dropOldest
    case SK_OVERFLOW_CONFLATE: return .conflate
    default: return nil
    }
}

@_cdecl("sk_version_number")
public func skVersionNumber() -> Int32 { Int32(StreamKitVersion.number) }

@_cdecl("sk_config_new")
public func skConfigNew(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> sk_status {
    guard let out else { return SK_MISUSE }
    out.pointee = HandleRegistry.shared.register(CConfig())
    return SK_OK
}

@_cdecl("sk_config_free")
public func skConfigFree(_ handle: OpaquePointer?) {
    if let c = HandleRegistry.shared.unregister(handle, as: CConfig.self) { HandleRegistry.release(c) }
}

@_cdecl("sk_config_errmsg")
public func skConfigErrmsg(_ handle: OpaquePointer?) -> UnsafePointer<CChar> {
    guard let c = HandleRegistry.shared.lookup(handle, as: CConfig.self) else { return staticCString(invalidHandle) }
    return c.errors.current ?? staticCString(noError)
}

/// Runs a setter: SK_MISUSE for a bad handle, SK_INVALID_ARGUMENT (with the message) when `body` refuses.
func setting(_ handle: OpaquePointer?, _ body: (CConfig) -> String?) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CConfig.self) else { return SK_MISUSE }
    if let problem = c.lock.withLock({ body(c) }) {
        c.errors.set(problem)
        return SK_INVALID_ARGUMENT
    }
    return SK_OK
}

@_cdecl("sk_config_set_url")
public func skConfigSetURL(_ handle: OpaquePointer?, _ url: UnsafePointer<CChar>?) -> sk_status {
    guard let url else { return setting(handle) { _ in "sk_config_set_url: url is NULL" } }
    return setting(handle) { $0.url = String(cString: url); return nil }
}

@_cdecl("sk_config_set_api_key")
public func skConfigSetAPIKey(_ handle: OpaquePointer?, _ key: UnsafePointer<CChar>?) -> sk_status {
    guard let key else { return setting(handle) { _ in "sk_config_set_api_key: api_key is NULL" } }
    return setting(handle) { $0.apiKey = String(cString: key); return nil }
}

/// Runs a setter of a count that must lie in `range` (`what` names it in the error message).
func setting(_ handle: OpaquePointer?, _ n: Int32, in range: ClosedRange<Int32>, _ what: String, _ set: (CConfig, Int) -> Void) -> sk_status {
    setting(handle) { c in
        guard range.contains(n) else { return "\(what) must be \(range.lowerBound)...\(range.upperBound), got \(n)" }
        set(c, Int(n))
        return nil
    }
}

@_cdecl("sk_config_set_max_connections")
public func skConfigSetMaxConnections(_ handle: OpaquePointer?, _ n: Int32) -> sk_status {
    setting(handle, n, in: 1...1000, "max connections") { $0.maxConnections = $1 }
}

@_cdecl("sk_config_set_subscriptions_per_connection")
public func skConfigSetSubscriptionsPerConnection(_ handle: OpaquePointer?, _ n: Int32) -> sk_status {
    setting(handle, n, in: 1...10_000, "subscriptions per connection") { $0.perConnection = $1 }
}

@_cdecl("sk_config_set_queue_capacity")
public func skConfigSetQueueCapacity(_ handle: OpaquePointer?, _ n: Int32) -> sk_status {
    setting(handle, n, in: 1...1_048_576, "queue capacity") { $0.capacity = $1 }
}

@_cdecl("sk_config_set_overflow")
public func skConfigSetOverflow(_ handle: OpaquePointer?, _ policy: sk_overflow) -> sk_status {
    setting(handle) { c in
        guard let p = overflowPolicy(policy) else { return "unknown overflow policy \(policy.rawValue)" }
        c.overflow = p ?? .dropOldest
        return nil
    }
}

@_cdecl("sk_config_set_tls_verify")
public func skConfigSetTLSVerify(_ handle: OpaquePointer?, _ verify: Int32) -> sk_status {
    setting(handle) { c in
        c.verify = verify != 0
        return nil
    }
}

@_cdecl("sk_config_set_ca_file")
public func skConfigSetCAFile(_ handle: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> sk_status {
    setting(handle) { c in
        c.caFile = path.map { String(cString: $0) }
        return nil
    }
}

@_cdecl("sk_config_set_seed")
public func skConfigSetSeed(_ handle: OpaquePointer?, _ seed: UInt64) -> sk_status {
    setting(handle) { c in
        c.seed = seed
        return nil
    }
}

@_cdecl("sk_config_set_credit_prices")
public func skConfigSetCreditPrices(_ handle: OpaquePointer?, _ perMessage: Double, _ perSubscription: Double) -> sk_status {
    setting(handle) { c in
        guard perMessage.isFinite, perSubscription.isFinite, perMessage >= 0, perSubscription >= 0 else {
            return "credit prices must be finite and not negative"
        }
        c.perMessage = perMessage
        c.perSubscription = perSubscription
        return nil
    }
}

// MARK: - Subscriptions

/// A message for the caller, as an error (for `Result`).
struct ABIError: Error {
    let message: String
}

/// A C subscription as a Swift one; the error message when it is not valid.
func subscription(_ s: sk_subscription) -> Result<Subscription, ABIError> {
    guard let channel = Channel(cChannel: s.channel) else { return .failure(ABIError(message: "unknown channel \(s.channel.rawValue)")) }
    let interval = s.interval.map { String(cString: $0) }
    let target: Subscription.Target
    if channel == .cryptoLatestPrice {
        guard s.crypto_id > 0 else { return .failure(ABIError(message: "\(channel): crypto_id must be positive")) }
        target = .crypto(id: s.crypto_id)
    } else {
        guard let address = s.address, address.pointee != 0 else { return .failure(ABIError(message: "\(channel): address is required")) }
        target = .address(platformID: s.platform_id, address: String(cString: address))
    }
    do {
        return .success(try Subscription(channel: channel, target: target, interval: interval))
    } catch {
        return .failure(ABIError(message: "\(channel): \(error)"))
    }
}

func subscriptions(_ p: UnsafePointer<sk_subscription>?, _ count: Int) -> Result<[Subscription], ABIError> {
    guard count > 0 else { return .success([]) }
    guard let p else { return .failure(ABIError(message: "subscriptions is NULL with a count of \(count)")) }
    var out: [Subscription] = []
    out.reserveCapacity(count)
    for i in 0..<count {
        switch subscription(p[i]) {
        case .success(let s): out.append(s)
        case .failure(let why): return .failure(ABIError(message: "subscription \(i): \(why.message)"))
        }
    }
    return .success(out)
}

// MARK: - Client

@_cdecl("sk_client_new")
public func skClientNew(_ config: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(config, as: CConfig.self) else {
        out?.pointee = nil
        return SK_MISUSE
    }
    guard let out else {
        c.errors.set("sk_client_new: out is NULL")
        return SK_MISUSE
    }
    out.pointee = nil
    do throws(StreamClientError) {
        let client = try StreamClient(configuration: c.configuration())
        out.pointee = HandleRegistry.shared.register(CClient(client: client))
        return SK_OK
    } catch {
        c.errors.set("\(error)")
        return sk_status(rawValue: UInt32(error.status))
    }
}

@_cdecl("sk_client_errmsg")
public func skClientErrmsg(_ handle: OpaquePointer?) -> UnsafePointer<CChar> {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return staticCString(invalidHandle) }
    return c.errors.current ?? staticCString(noError)
}

@_cdecl("sk_client_set_callback")
public func skClientSetCallback(_ handle: OpaquePointer?, _ fn: sk_message_fn?, _ user: UnsafeMutableRawPointer?) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return SK_MISUSE }
    return c.setCallback(fn, user)
}

@_cdecl("sk_client_start")
public func skClientStart(_ handle: OpaquePointer?) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return SK_MISUSE }
    return c.start()
}

@_cdecl("sk_client_subscribe")
public func skClientSubscribe(
    _ handle: OpaquePointer?, _ subs: UnsafePointer<sk_subscription>?, _ count: Int, _ policy: sk_overflow, _ timeoutMS: Int32
) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return SK_MISUSE }
    guard let overflow = overflowPolicy(policy) else {
        return c.fail(SK_INVALID_ARGUMENT, "sk_client_subscribe: unknown overflow policy \(policy.rawValue)")
    }
    let list: [Subscription]
    switch subscriptions(subs, count) {
    case .success(let l): list = l
    case .failure(let why): return c.fail(SK_INVALID_ARGUMENT, "sk_client_subscribe: \(why.message)")
    }
    let client = c.client
    if c.isInCallback {
        // The callback runs on the event loop the acks arrive on: send, and let them come as events.
        do throws(StreamClientError) {
            try client.subscribeOnLoop(list, overflow: overflow)
            return SK_OK
        } catch {
            return c.fail(sk_status(rawValue: UInt32(error.status)), "\(error)")
        }
    }
    let result = Waiter<Result<Void, StreamClientError>>.run(timeoutMS: timeoutMS) {
        do throws(StreamClientError) {
            try await client.subscribe(list, overflow: overflow)
            return .success(())
        } catch {
            return .failure(error)
        }
    }
    switch result {
    case nil: return c.fail(SK_TIMEOUT, "sk_client_subscribe: not acknowledged within \(timeoutMS) ms (still pending)")
    case .success?: return SK_OK
    case .failure(let e)?: return c.fail(sk_status(rawValue: UInt32(e.status)), "\(e)")
    }
}

@_cdecl("sk_client_unsubscribe")
public func skClientUnsubscribe(_ handle: OpaquePointer?, _ subs: UnsafePointer<sk_subscription>?, _ count: Int) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return SK_MISUSE }
    switch subscriptions(subs, count) {
    case .success(let list):
        c.client.unsubscribe(list)
        return SK_OK
    case .failure(let why):
        return c.fail(SK_INVALID_ARGUMENT, "sk_client_unsubscribe: \(why.message)")
    }
}

@_cdecl("sk_client_unsubscribe_all")
public func skClientUnsubscribeAll(_ handle: OpaquePointer?) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return SK_MISUSE }
    c.client.unsubscribeAll()
    return SK_OK
}

@_cdecl("sk_client_poll")
public func skClientPoll(
    _ handle: OpaquePointer?, _ out: UnsafeMutablePointer<sk_message>?, _ max: Int, _ count: UnsafeMutablePointer<Int>?,
    _ timeoutMS: Int32
) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return SK_MISUSE }
    guard let count else { return c.fail(SK_MISUSE, "sk_client_poll: count is NULL") }
    count.pointee = 0
    guard let out, max > 0 else { return c.fail(SK_MISUSE, "sk_client_poll: out is NULL or max is 0") }
    return c.poll(out, max: max, count: count, timeoutMS: timeoutMS)
}

@_cdecl("sk_client_poll_pickle")
public func skClientPollPickle(
    _ handle: OpaquePointer?, _ max: Int, _ timeoutMS: Int32, _ pickle: UnsafeMutablePointer<UnsafeRawPointer?>?,
    _ length: UnsafeMutablePointer<Int>?, _ count: UnsafeMutablePointer<Int>?
) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return SK_MISUSE }
    guard let pickle, let length, let count else {
        return c.fail(SK_MISUSE, "sk_client_poll_pickle: pickle, length or count is NULL")
    }
    pickle.pointee = nil
    length.pointee = 0
    count.pointee = 0
    guard max > 0, max <= 65536 else {
        return c.fail(SK_INVALID_ARGUMENT, "sk_client_poll_pickle: max must be 1 to 65536, not \(max)")
    }
    let (status, bytes) = c.pollPickle(max: max, timeoutMS: timeoutMS, count: count)
    pickle.pointee = bytes.baseAddress
    length.pointee = bytes.count
    return status
}

/// The client's metrics: computed in place from the callback (on the event loop), else asked of the loop.
func metrics(of c: CClient) -> StreamMetrics? {
    let client = c.client
    if c.isInCallback { return client.metricsOnLoop() }
    return Waiter<StreamMetrics>.run(timeoutMS: 10_000) { await client.metrics() }
}

@_cdecl("sk_client_metrics")
public func skClientMetrics(_ handle: OpaquePointer?, _ out: UnsafeMutablePointer<sk_metrics>?) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return SK_MISUSE }
    guard let out else { return c.fail(SK_MISUSE, "sk_client_metrics: out is NULL") }
    guard let m = metrics(of: c) else {
        return c.fail(SK_TIMEOUT, "sk_client_metrics: no answer from the event loop")
    }
    var r = sk_metrics()
    r.open_connections = Int64(m.openConnections)
    r.reconnects = Int64(m.reconnects)
    r.duplicates_suppressed = Int64(m.duplicatesSuppressed)
    r.invalid_frames = Int64(m.invalidFrames)
    r.billable_messages = Int64(m.billableMessages)
    r.billable_subscriptions = Int64(m.billableSubscriptions)
    r.credits = m.credits
    r.queued = Int64(m.queued)
    r.subscriptions = Int64(m.subscriptions.count)
    for s in m.subscriptions.values {
        r.messages += Int64(s.messages)
        r.dropped += Int64(s.dropped)
        r.coalesced += Int64(s.coalesced)
    }
    out.pointee = r
    return SK_OK
}

@_cdecl("sk_client_subscription_metrics")
public func skClientSubscriptionMetrics(
    _ handle: OpaquePointer?, _ sub: UnsafePointer<sk_subscription>?, _ out: UnsafeMutablePointer<sk_subscription_metrics>?
) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return SK_MISUSE }
    guard let sub, let out else { return c.fail(SK_MISUSE, "sk_client_subscription_metrics: NULL argument") }
    let s: Subscription
    switch subscription(sub.pointee) {
    case .success(let x): s = x
    case .failure(let why): return c.fail(SK_INVALID_ARGUMENT, "sk_client_subscription_metrics: \(why.message)")
    }
    guard let m = metrics(of: c) else {
        return c.fail(SK_TIMEOUT, "sk_client_subscription_metrics: no answer from the event loop")
    }
    guard let sm = m.subscriptions[s] else {
        return c.fail(SK_INVALID_ARGUMENT, "sk_client_subscription_metrics: \(s) was never subscribed")
    }
    var r = sk_subscription_metrics()
    r.messages = Int64(sm.messages)
    r.last_update_age_ms = sm.lastUpdateAge?.milliseconds ?? -1
    r.latency_count = Int64(sm.latency.count)
    r.latency_last = sm.latency.last
    r.latency_min = sm.latency.count > 0 ? sm.latency.min : 0
    r.latency_max = sm.latency.count > 0 ? sm.latency.max : 0
    r.latency_mean = sm.latency.mean ?? 0
    r.queued = Int64(sm.queued)
    r.dropped = Int64(sm.dropped)
    r.coalesced = Int64(sm.coalesced)
    r.degraded_fields = Int64(sm.degradedFields)
    out.pointee = r
    return SK_OK
}

@_cdecl("sk_client_stop")
public func skClientStop(_ handle: OpaquePointer?) -> sk_status {
    guard let c = HandleRegistry.shared.lookup(handle, as: CClient.self) else { return SK_MISUSE }
    return c.stop()
}

@_cdecl("sk_client_free")
public func skClientFree(_ handle: OpaquePointer?) {
    guard let c = HandleRegistry.shared.unregister(handle, as: CClient.self) else { return }  // NULL, freed, made up
    c.free()
}
