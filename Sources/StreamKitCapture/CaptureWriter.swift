// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

public import StreamKit
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The real-time clock, ns since the Unix epoch.
public enum CaptureClock {
    public static func realtimeNS() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// Writes a capture: a header line first in every file, then frame and lifecycle lines in the order they are
/// written, optionally zstd-compressed (a path ending in `.zst`), rotated by size and by time.
///
/// Durability: everything written is flushed to the file (a zstd block boundary, then `fflush`) at least every
/// ``Options/flushInterval`` (1 s), by a timer, so a crash of the process loses at most the last second; a file
/// cut that way reads up to the cut (the reader says so). Nothing is `fsync`ed: a power loss can lose what the
/// kernel had not written yet.
///
/// Thread-safe: every method takes one lock (the client calls it from its event loop, the timer from its own
/// queue). A write error (disk full) stops the writer: ``failure`` says why and later writes are ignored.
public final class CaptureWriter: @unchecked Sendable {
    public struct Options: Sendable {
        /// The capture's path: the first file's name, and the pattern of the rotated ones (see ``CaptureNaming``).
        /// Ends in `.zst` for zstd.
        public var path: String
        /// zstd level (1...19). Default 3, zstd's own: ~5-8x smaller than the NDJSON at hundreds of MB/s.
        public var level: Int = 3
        /// Start a new file once this many bytes (of the file, compressed or not) were written. Default: never.
        public var rotateBytes: Int?
        /// Start a new file at each multiple of this period since the Unix epoch (UTC). Default: never.
        public var rotateSeconds: Int64?
        /// At most this long between flushes. Default 1 s: the most a crash loses.
        public var flushInterval: Duration = .seconds(1)

        public init(path: String, level: Int = 3, rotateBytes: Int? = nil, rotateSeconds: Int64? = nil) {
            self.path = path
            self.level = level
            self.rotateBytes = rotateBytes
            self.rotateSeconds = rotateSeconds
        }
    }

    /// What was written.
    public struct Summary: Sendable, Hashable {
        public var frames = 0
        public var events = 0
        /// Bytes of NDJSON (before compression).
        public var lineBytes = 0
        /// Bytes of the files (after compression).
        public var fileBytes = 0
        /// Every file, in order.
        public var files: [String] = []
    }

    private let lock = NSLockLite()
    private let options: Options
    private let naming: CaptureNaming
    private let compressed: Bool
    private let clock: @Sendable () -> Int64
    private var url: String
    private var subscriptions: [Subscription]
    private var file: UnsafeMutablePointer<FILE>?
    private var compressor: ZstdCompressor?
    private var fileWritten = 0
    private var periodStart: Int64 = 0
    private var sizeIndex = 0
    private var line: [UInt8] = []
    private var summary = Summary()
    private var timer: (any DispatchSourceTimer)?
    private var closed = false
    /// Why writing stopped (a write error); nil while all is well.
    public private(set) var failure: CaptureError?

    /// Opens the first file and writes its header. Throws for an unwritable path, a missing libzstd (`.zst`), or
    /// an option out of range.
    public init(options: Options, url: String, subscriptions: [Subscription],
                clock: @escaping @Sendable () -> Int64 = CaptureClock.realtimeNS) throws(CaptureError) {
        guard (1...22).contains(options.level) else { throw .invalidArgument("the zstd level must be 1...22, not \(options.level)") }
        if let r = options.rotateBytes, r <= 0 { throw .invalidArgument("the rotation size must be positive") }
        if let r = options.rotateSeconds, r <= 0 { throw .invalidArgument("the rotation period must be positive") }
        self.options = options
        self.naming = CaptureNaming(path: options.path)
        self.compressed = self.naming.compressed
        if self.naming.gzip { throw .invalidArgument("\(options.path): gzip captures are not written; use .zst (zstd)") }
        if self.compressed { _ = try Zstd.get() }
        self.clock = clock
        self.url = url
        self.subscriptions = subscriptions
        let now = clock()
        if let e = self.lock.withLockCatching({ () throws(CaptureError) in try self.open(now: now, rotated: false) }) { throw e }
        self.startTimer()
    }

    deinit {
        self.timer?.cancel()
        if let f = self.file { fclose(f) }
    }

    /// The subscriptions the next file's header lists (the current ones, as the recording changes them).
    public func setSubscriptions(_ subscriptions: [Subscription]) {
        self.lock.withLock { self.subscriptions = subscriptions }
    }

    /// Writes a frame line, stamped with `time` (ns since the Unix epoch; default: the clock's time now).
    public func write(frame bytes: UnsafeRawBufferPointer, connection: Int, time: Int64? = nil) {
        let t = time ?? self.clock()
        self.lock.withLock {
            guard self.ready(now: t) else { return }
            self.line.removeAll(keepingCapacity: true)
            CaptureLine.appendFrame(bytes, time: t, connection: connection, to: &self.line)
            self.summary.frames += 1
            self.emit()
        }
    }

    /// Writes a lifecycle line.
    public func write(_ event: CaptureEvent) {
        self.lock.withLock {
            guard self.ready(now: event.time) else { return }
            self.line.removeAll(keepingCapacity: true)
            event.append(to: &self.line)
            self.summary.events += 1
            self.emit()
        }
    }

    /// Writes a session event as the lifecycle lines it stands for (``CaptureEvent/from(_:connection:time:wall:)``);
    /// `now` is the monotonic instant it happened at, on the clock its instants use; `time` the same instant in ns
    /// since the Unix epoch (default: the clock's time now).
    public func write(_ event: SessionEvent, connection: Int, now: Instant, time: Int64? = nil) {
        let t = time ?? self.clock()
        let wall = { (i: Instant) -> Int64 in t &- (now.nanoseconds &- i.nanoseconds) }
        for e in CaptureEvent.from(event, connection: connection, time: t, wall: wall) { self.write(e) }
    }

    /// Flushes everything written so far to the file (what the timer does every second).
    public func flush() {
        self.lock.withLock {
            guard !self.closed else { return }
            _ = self.ready(now: self.clock())
            self.flushLocked()
        }
    }

    /// Closes the current file (ending its zstd frame) and stops the timer. Returns what was written; throws the
    /// write error that stopped the writer, if any.
    @discardableResult
    public func close() throws(CaptureError) -> Summary {
        self.timer?.cancel()
        let result: (Summary, CaptureError?) = self.lock.withLock {
            if !self.closed {
                self.closed = true
                self.closeFile()
            }
            return (self.summary, self.failure)
        }
        if let e = result.1 { throw e }
        return result.0
    }

    // MARK: Locked

    /// Rotates when the period or the size says so; false once the writer stopped.
    private func ready(now: Int64) -> Bool {
        guard !self.closed, self.failure == nil else { return false }
        if let p = self.options.rotateSeconds, now >= self.periodStart &+ p * 1_000_000_000 {
            self.rotate(now: now)
        } else if let limit = self.options.rotateBytes, self.fileWritten >= limit {
            self.rotate(now: now)
        }
        return self.failure == nil
    }

    private func rotate(now: Int64) {
        self.closeFile()
        do throws(CaptureError) { try self.open(now: now, rotated: true) } catch { self.failure = error }
    }

    private func open(now: Int64, rotated: Bool) throws(CaptureError) {
        let period = self.options.rotateSeconds.map { $0 * 1_000_000_000 }
        let start = period.map { now - ((now % $0) + $0) % $0 } ?? now
        let samePeriod = period == nil || start == self.periodStart
        if rotated && samePeriod { self.sizeIndex += 1 } else { self.sizeIndex = 0 }
        self.periodStart = start
        // The first file of a plain recording keeps its name (and replaces an old file, as before); every other
        // name is never reused: the index goes up until a free one.
        var path = self.naming.name(periodStart: period.map { _ in start }, periodNS: period, index: self.sizeIndex)
        if rotated || period != nil {
            while access(path, F_OK) == 0 {
                self.sizeIndex += 1
                path = self.naming.name(periodStart: period.map { _ in start }, periodNS: period, index: self.sizeIndex)
            }
        }
        guard let f = fopen(path, "w") else {
            throw .io("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        self.file = f
        self.fileWritten = 0
        self.summary.files.append(path)
        if self.compressed { self.compressor = try ZstdCompressor(level: self.options.level) }
        var header = CaptureHeader(url: self.url, subscriptions: self.subscriptions, start: now)
        header.part = self.summary.files.count - 1
        self.line = header.line()
        self.emit()
        self.flushLocked()
    }

    private func emit() {
        guard let file = self.file else { return }
        self.summary.lineBytes += self.line.count
        if let z = self.compressor {
            let failed: CaptureError? = self.line.withUnsafeBytes { raw in
                do throws(CaptureError) { try z.compress(raw) } catch { return error }
                return nil
            }
            if let failed {
                self.failure = failed
                return
            }
            // zstd buffers internally; write what it produced (a block at a time) as it comes.
            if z.output.count >= 64 << 10 { self.drain(z, file) }
        } else {
            self.put(self.line, file)
        }
    }

    private func drain(_ z: ZstdCompressor, _ file: UnsafeMutablePointer<FILE>) {
        self.put(z.output, file)
        z.output.removeAll(keepingCapacity: true)
    }

    private func put(_ bytes: [UInt8], _ file: UnsafeMutablePointer<FILE>) {
        guard !bytes.isEmpty else { return }
        let n = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        self.fileWritten += n
        self.summary.fileBytes += n
        if n != bytes.count {
            self.failure = .io("writing \(self.summary.files.last ?? "?") failed: \(String(cString: strerror(errno)))")
        }
    }

    private func flushLocked() {
        guard let file = self.file, self.failure == nil else { return }
        if let z = self.compressor {
            do throws(CaptureError) { try z.flush() } catch {
                self.failure = error
                return
            }
            self.drain(z, file)
        }
        if fflush(file) != 0 {
            self.failure = .io("writing \(self.summary.files.last ?? "?") failed: \(String(cString: strerror(errno)))")
        }
    }

    private func closeFile() {
        guard let file = self.file else { return }
        if let z = self.compressor, self.failure == nil {
            do throws(CaptureError) {
                try z.end()
                self.drain(z, file)
            } catch {
                self.failure = error
            }
        }
        if fclose(file) != 0, self.failure == nil {
            self.failure = .io("closing \(self.summary.files.last ?? "?") failed: \(String(cString: strerror(errno)))")
        }
        self.file = nil
        self.compressor = nil
    }

    private func startTimer() {
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "streamkit.capture.flush"))
        let ns = max(1_000_000, Int(self.options.flushInterval.nanoseconds))
        timer.schedule(deadline: .now() + .nanoseconds(ns), repeating: .nanoseconds(ns), leeway: .milliseconds(10))
        timer.setEventHandler { [weak self] in self?.flush() }
        self.timer = timer
        timer.resume()
    }
}

/// How a capture's files are named, from the path given (`prices.ndjson.zst`): the stem (`prices`) and the
/// extension (`.ndjson.zst`: a known capture suffix, else the last `.xxx`).
///
/// - no rotation: the path itself;
/// - by size: the path, then `prices.1.ndjson.zst`, `prices.2.ndjson.zst`, ... (the index before the extension,
///   so the compression suffix stays last and `prices*.ndjson.zst` finds them all; before 0.3 it was
///   `prices.ndjson.1`, which every reader still reads, by content, not by name);
/// - by time: `prices-2026-12-03T10.ndjson.zst`: the UTC start of the period, to the precision the period needs
///   (a day: `2026-12-03`; hours: `T10`; minutes: `T10-15`; seconds: `T10-15-30`), with `.1`, `.2` ... added
///   when the size rotates within a period or the name exists already. A rotated name never replaces a file.
public struct CaptureNaming: Sendable {
    public let stem: String
    public let ext: String

    static let knownExtensions = [".ndjson.zst", ".jsonl.zst", ".json.zst", ".ndjson.zstd", ".ndjson.gz", ".jsonl.gz",
                                  ".ndjson", ".jsonl", ".json", ".zst", ".zstd", ".gz"]

    public init(path: String) {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        let name = path[slash...]
        if let known = Self.knownExtensions.first(where: { name.hasSuffix($0) && name.count > $0.count }) {
            self.stem = String(path.dropLast(known.count))
            self.ext = known
        } else if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            self.stem = String(path[..<dot])
            self.ext = String(path[dot...])
        } else {
            self.stem = path
            self.ext = ""
        }
    }

    public var compressed: Bool { self.ext.hasSuffix(".zst") || self.ext.hasSuffix(".zstd") }
    var gzip: Bool { self.ext.hasSuffix(".gz") }

    /// The file name for a period (nil: no time rotation) and index (0: the first).
    public func name(periodStart: Int64?, periodNS: Int64?, index: Int) -> String {
        var s = self.stem
        if let start = periodStart, let period = periodNS { s += "-" + Self.stamp(start, period: period) }
        if index > 0 { s += ".\(index)" }
        return s + self.ext
    }

    /// The UTC start of a period as a file name carries it.
    public static func stamp(_ ns: Int64, period: Int64) -> String {
        var t = time_t(ns / 1_000_000_000)
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let day = "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))"
        let seconds = period / 1_000_000_000
        if seconds % 86_400 == 0 { return day }
        if seconds % 3600 == 0 { return day + "T" + two(tm.tm_hour) }
        if seconds % 60 == 0 { return day + "T" + two(tm.tm_hour) + "-" + two(tm.tm_min) }
        return day + "T" + two(tm.tm_hour) + "-" + two(tm.tm_min) + "-" + two(tm.tm_sec)
    }
}

/// A mutex without Foundation (pthread), for the writer and reader.
final class NSLockLite: @unchecked Sendable {
    private let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    init() { pthread_mutex_init(self.m, nil) }
    deinit {
        pthread_mutex_destroy(self.m)
        self.m.deallocate()
    }
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(self.m)
        defer { pthread_mutex_unlock(self.m) }
        return try body()
    }
    func withLockCatching(_ body: () throws(CaptureError) -> Void) -> CaptureError? {
        pthread_mutex_lock(self.m)
        defer { pthread_mutex_unlock(self.m) }
        do throws(CaptureError) { try body() } catch { return error }
        return nil
    }
}
