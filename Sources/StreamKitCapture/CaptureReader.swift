// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

public import StreamKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of a capture, as ``CaptureReader/next()`` returns it.
public enum CaptureRecord {
    /// A file's header (first line of every file written since 0.3).
    case header(CaptureHeader, path: String)
    /// A frame as received: local receive time (ns since the Unix epoch), connection, and the frame's bytes,
    /// valid until the next call of ``CaptureReader/next()``.
    case frame(time: Int64, connection: Int, bytes: UnsafeRawBufferPointer)
    /// A lifecycle event (connected, closed, reconnecting, gap, ...).
    case event(CaptureEvent)
    /// The file ends in the middle of a line or of a compressed block (a crash, a copy still in progress, a disk
    /// that filled up): everything before `offset` (bytes of NDJSON) was read. Reading goes on with the next file.
    case truncated(path: String, offset: Int, detail: String)
    /// A line that is not a capture line (skipped).
    case invalid(path: String, line: Int, detail: String)
}

/// Reads captures: plain NDJSON or zstd (told by content, not by name), one or more files (or glob patterns) in
/// the order of their headers' start times, line by line without a DOM for the frame lines. Old captures (no
/// header, `FILE.1` names) read as before.
///
/// Not thread-safe: one reader per thread.
public final class CaptureReader {
    /// The files, in the order they are read.
    public let paths: [String]
    /// Counts so far.
    public private(set) var stats = Stats()
    private var index = -1
    private var input: CaptureInput?
    /// The current frame, unescaped (grown to the longest line + 16).
    private var frame: UnsafeMutablePointer<UInt8>
    private var frameCapacity = 64 << 10
    private var lineNumber = 0

    public struct Stats: Sendable, Hashable {
        public var files = 0
        public var lines = 0
        public var frames = 0
        public var events = 0
        public var invalidLines = 0
        public var truncatedFiles = 0
        /// Bytes of NDJSON read (after decompression) and of the files.
        public var lineBytes = 0
        public var fileBytes = 0
    }

    /// Opens `patterns` (paths, or glob patterns such as `prices-*.ndjson.zst`), ordered by each file's header
    /// start time (a file without a header: its first line's time; then by name). Throws when a pattern matches
    /// nothing or a file cannot be read.
    public init(_ patterns: [String]) throws(CaptureError) {
        guard !patterns.isEmpty else { throw .invalidArgument("no capture files given") }
        var files: [String] = []
        for p in patterns {
            let matched = try Self.glob(p)
            guard !matched.isEmpty else { throw .io("\(p): no such file") }
            files.append(contentsOf: matched)
        }
        var seen = Set<String>()
        files = files.filter { seen.insert($0).inserted }
        var keyed: [(start: Int64, order: Int, path: String)] = []
        for (i, f) in files.enumerated() {
            keyed.append((try CaptureInput.startTime(of: f) ?? .max, i, f))
        }
        keyed.sort { ($0.start, $0.order) < ($1.start, $1.order) }
        self.paths = keyed.map(\.path)
        self.frame = .allocate(capacity: self.frameCapacity)  // last: an init that throws must not leak it
    }

    deinit { self.frame.deallocate() }

    private func reserveFrame(_ n: Int) {
        guard n > self.frameCapacity else { return }
        self.frame.deallocate()
        self.frameCapacity = Swift.max(n, 2 * self.frameCapacity)
        self.frame = .allocate(capacity: self.frameCapacity)
    }

    /// The next record; nil at the end of the last file. The frame bytes of a `.frame` are valid until the next
    /// call. Never throws for bad content (that is a `.truncated` or `.invalid` record); throws only when a file
    /// that could be read at `init` no longer can.
    public func next() throws(CaptureError) -> CaptureRecord? {
        while true {
            if self.input == nil {
                self.index += 1
                guard self.index < self.paths.count else { return nil }
                self.input = try CaptureInput(path: self.paths[self.index])
                self.lineNumber = 0
                self.stats.files += 1
            }
            guard let input = self.input else { return nil }
            switch input.nextLine() {
            case .line(let line):
                self.lineNumber += 1
                self.stats.lines += 1
                self.stats.lineBytes += line.count + 1
                if let record = self.parse(line, path: input.path) { return record }
            case .end(let truncation):
                self.stats.fileBytes += input.fileBytes
                self.input = nil
                if let (offset, detail) = truncation {
                    self.stats.truncatedFiles += 1
                    return .truncated(path: input.path, offset: offset, detail: detail)
                }
            }
        }
    }

    private func parse(_ line: UnsafeRawBufferPointer, path: String) -> CaptureRecord? {
        if line.isEmpty { return nil }
        self.reserveFrame(line.count + 16)
        if let (t, c, n) = CaptureLine.parseFrame(line, into: self.frame) {
            self.stats.frames += 1
            return .frame(time: t, connection: c, bytes: UnsafeRawBufferPointer(start: self.frame, count: n))
        }
        guard let json = try? JSONValue(parsing: Array(line)), json.kind == .object else {
            self.stats.invalidLines += 1
            return .invalid(path: path, line: self.lineNumber, detail: "not JSON")
        }
        if let event = CaptureEvent(json) {
            self.stats.events += 1
            return .event(event)
        }
        if let header = CaptureHeader(json) { return .header(header, path: path) }
        if let t = json["t"]?.int, let f = json["f"]?.string {
            var f = f
            let n = f.withUTF8 { text in
                self.reserveFrame(text.count + 16)
                self.frame.update(from: text.baseAddress!, count: text.count)
                return text.count
            }
            self.stats.frames += 1
            return .frame(time: t, connection: json["c"]?.int.map { Int(clamping: $0) } ?? 0,
                          bytes: UnsafeRawBufferPointer(start: self.frame, count: n))
        }
        self.stats.invalidLines += 1
        return .invalid(path: path, line: self.lineNumber, detail: "not a capture line (no \"f\", \"e\" or \"capture\" key)")
    }

    /// The files a pattern names: itself when it exists, else its glob matches, sorted by name.
    static func glob(_ pattern: String) throws(CaptureError) -> [String] {
        if access(pattern, F_OK) == 0 { return [pattern] }
        guard pattern.contains(where: { "*?[".contains($0) }) else { return [] }
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}

/// One file's lines, decompressed if it is zstd, from a reused buffer.
final class CaptureInput {
    let path: String
    private let fd: Int32
    private let decompressor: ZstdDecompressor?
    /// Raw file bytes (compressed files only).
    private var raw: UnsafeMutableRawPointer
    private var rawStart = 0
    private var rawEnd = 0
    private static let rawCapacity = 128 << 10
    /// NDJSON bytes.
    private var buffer: UnsafeMutableRawPointer
    private var capacity = 256 << 10
    private var start = 0
    private var end = 0
    private var scanned = 0
    private var eof = false
    private var consumedBefore = 0
    private(set) var fileBytes = 0
    private var error: String?
    /// A line longer than this is not a capture line: the file is corrupt from there on.
    static let maxLine = 256 << 20

    enum Next {
        case line(UnsafeRawBufferPointer)
        case end(truncation: (offset: Int, detail: String)?)
    }

    init(path: String) throws(CaptureError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io("cannot read \(path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.raw = UnsafeMutableRawPointer.allocate(byteCount: Self.rawCapacity, alignment: 16)
        self.buffer = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
        // zstd by its magic number; anything else is read as NDJSON.
        let n = read(fd, self.raw, Self.rawCapacity)
        if n > 0 { self.fileBytes += n }
        self.rawEnd = max(0, n)
        if self.rawEnd >= 4, zip(Zstd.magic, UnsafeRawBufferPointer(start: self.raw, count: 4)).allSatisfy({ $0 == $1 }) {
            do throws(CaptureError) {
                self.decompressor = try ZstdDecompressor()
            } catch {
                close(fd)
                self.raw.deallocate()
                self.buffer.deallocate()
                throw .compression("\(path) is zstd-compressed: \(error)")
            }
        } else {
            self.decompressor = nil
            self.buffer.copyMemory(from: self.raw, byteCount: self.rawEnd)
            self.end = self.rawEnd
            self.rawEnd = 0
        }
        if n < 0 { self.error = String(cString: strerror(errno)) }
        if n <= 0 { self.eof = true }
    }

    deinit {
        close(self.fd)
        self.raw.deallocate()
        self.buffer.deallocate()
    }

    /// The start time of a capture file: its header's, or its first line's `t`; nil when it has neither.
    static func startTime(of path: String) throws(CaptureError) -> Int64? {
        let input = try CaptureInput(path: path)
        guard case .line(let line) = input.nextLine(), let json = try? JSONValue(parsing: Array(line)) else { return nil }
        return CaptureHeader(json)?.start ?? json["t"]?.int
    }

    func nextLine() -> Next {
        while true {
            let available = self.end - self.scanned
            if available > 0, let nl = memchr(self.buffer + self.scanned, 0x0A, available) {
                let at = self.buffer.distance(to: nl)
                let line = UnsafeRawBufferPointer(start: self.buffer + self.start, count: at - self.start)
                self.start = at + 1
                self.scanned = self.start
                return .line(line)
            }
            self.scanned = self.end
            if self.eof && !self.refillable {
                return .end(truncation: self.finish())
            }
            if self.end - self.start > Self.maxLine {
                self.eof = true
                self.error = "a line longer than \(Self.maxLine >> 20) MiB: not a capture from here on"
                self.start = self.end
                return .end(truncation: (self.consumedBefore + self.start, self.error!))
            }
            self.fill()
        }
    }

    /// Compressed input left to decompress even after the file's end.
    private var refillable: Bool { self.decompressor != nil && self.rawStart < self.rawEnd && self.error == nil }

    private func finish() -> (offset: Int, detail: String)? {
        let offset = self.consumedBefore + self.start
        if let e = self.error { return (offset, e) }
        if self.end > self.start {
            return (offset, "cut mid-line: the last \(self.end - self.start) bytes are not a complete line")
        }
        if let d = self.decompressor, d.pending != 0 {
            return (offset, "cut mid-frame: the zstd frame does not end (the writer did not close it)")
        }
        return nil
    }

    /// Moves the unread part to the front (growing the buffer for a long line) and reads more.
    private func fill() {
        if self.start > 0 {
            let keep = self.end - self.start
            if keep > 0 { self.buffer.copyMemory(from: self.buffer + self.start, byteCount: keep) }
            self.consumedBefore += self.start
            self.scanned -= self.start
            self.end = keep
            self.start = 0
        }
        if self.capacity - self.end < 64 << 10 {
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: self.capacity * 2, alignment: 16)
            bigger.copyMemory(from: self.buffer, byteCount: self.end)
            self.buffer.deallocate()
            self.buffer = bigger
            self.capacity *= 2
        }
        guard let d = self.decompressor else {
            let n = read(self.fd, self.buffer + self.end, self.capacity - self.end)
            if n > 0 {
                self.end += n
                self.fileBytes += n
            } else {
                if n < 0 { self.error = "reading failed: \(String(cString: strerror(errno)))" }
                self.eof = true
            }
            return
        }
        if self.rawStart == self.rawEnd && !self.eof {
            let n = read(self.fd, self.raw, Self.rawCapacity)
            self.rawStart = 0
            self.rawEnd = max(0, n)
            if n > 0 { self.fileBytes += n }
            if n < 0 { self.error = "reading failed: \(String(cString: strerror(errno)))" }
            if n <= 0 { self.eof = true }
        }
        var consumed = self.rawStart
        var written = self.end
        do throws(CaptureError) {
            try d.decompress(UnsafeRawBufferPointer(start: self.raw, count: self.rawEnd), consumed: &consumed,
                             into: UnsafeMutableRawBufferPointer(start: self.buffer, count: self.capacity), written: &written)
        } catch {
            self.error = "\(error)"
            self.eof = true
            self.rawStart = self.rawEnd
        }
        if consumed == self.rawStart && written == self.end && self.eof { consumed = self.rawEnd }  // no progress left
        self.rawStart = consumed
        self.end = written
    }
}
