// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

public import StreamKit
public import StreamKitCapture

// MARK: - Theory of operation
//
// `streamkit sim --replay FILE...` serves a capture instead of the market: the recorded data frames, byte for byte
// (recorded `ts` and all), each to the connections subscribed to the subscription its params echo names, as the
// service sent it. Everything else is live: the welcome, acks, errors, pongs, the idle close, fault injection.
//
// `CaptureReplay` is the pure part: it reads the capture lazily (one record ahead, nothing held but the current
// line, so a day's capture is served in constant memory) and says what is due at a wall-clock instant it is given.
// The server's market hub drives it from its tick and does the fan-out.
//
// Time: the capture's clock starts when the server gets its first subscription, so a client that connects and
// subscribes sees the capture from its beginning (after `startDelay`, so its other subscribe requests land
// first). From then on a frame recorded `d` ns after the capture's first
// frame is due `d / speed` ns later (`.recorded`), or at once (`.max`, as fast as the subscribers' sockets take
// it). The acks' timestamps follow the capture's clock.

/// How ``SimulatorServer`` serves a capture (``SimulatorConfiguration/replay``).
public struct ReplayConfiguration: Sendable, Hashable {
    /// How fast.
    public enum Pace: Sendable, Hashable {
        /// Each frame as long after the one before as it was recorded, divided by ``SimulatorConfiguration/speed``.
        case recorded
        /// As fast as the subscribed connections' sockets take the frames (a slow reader slows the replay).
        case max
    }

    /// Capture files or glob patterns (the `record` format, plain or zstd), read in the order of their headers'
    /// start times.
    public var paths: [String]
    /// Default `.recorded`: a capture is a recorded day, to be lived through again.
    public var pace: Pace = .recorded
    /// Start again from the beginning at the end. Default off: at the end the pushes stop and the server goes on
    /// answering requests and pings. A loop sends the recorded `ts` (and swaps' `tx`) again: a client's
    /// deduplication drops a repeated swap or liquidity event that is still in its window.
    public var loop = false
    /// Reproduce the outages the capture recorded: a `closed` line closes every live connection with its code
    /// (1006 and codes a server cannot send, such as 1005 or an HTTP status, as a drop without a close frame), a
    /// `server_error` line with code 5001 sends the 5001 error frame. Default off: a capture's outages are often
    /// the recording client's own.
    public var faults = false
    /// Wall time from the server's first subscription to the capture's first frame. Default 0.5 s: a client
    /// sends one subscribe request per channel, and the ones after the first must land before the capture starts
    /// or a fast replay has served their first frames to nobody.
    public var startDelay: Duration = .milliseconds(500)

    public init(paths: [String], pace: Pace = .recorded, loop: Bool = false, faults: Bool = false, startDelay: Duration = .milliseconds(500)) {
        self.paths = paths
        self.pace = pace
        self.loop = loop
        self.faults = faults
        self.startDelay = startDelay
    }
}

/// How far a replay has got (``SimulatorServer/replayProgress``).
public struct ReplayProgress: Sendable, Hashable {
    /// Data frames read from the capture (every pass of a loop).
    public var dataFrames = 0
    /// Data frames sent to at least one connection.
    public var served = 0
    /// Data frames no connection was subscribed to (skipped).
    public var unsubscribed = 0
    /// Control frames (welcome, acks, pongs, errors) and lines that are not data frames: the server answers live.
    public var controlFrames = 0
    /// Recorded frames that did not decode (skipped).
    public var invalidFrames = 0
    /// Recorded outages reproduced (``ReplayConfiguration/faults``).
    public var faults = 0
    /// Files that ended mid-line or mid-block (served up to the cut).
    public var truncatedFiles = 0
    /// Passes completed (``ReplayConfiguration/loop``).
    public var loops = 0
    /// The capture's clock now, ns since the Unix epoch (its first frame's time before the first subscription).
    public var captureTimeNS: Int64 = 0
    /// The end was reached without a loop, or reading failed.
    public var finished = false
    /// Why reading stopped early (a file that became unreadable), if it did.
    public var error: String?
}

/// A capture served back, as a sequence of what is due at a given instant. Sans-I/O: the wall clock comes in as
/// a parameter; the files are read through ``CaptureReader``.
public final class CaptureReplay {
    /// What is due.
    public enum Step {
        /// A data push as recorded: the frame decoded in place and its bytes (both valid until the next call).
        case data(frame: UnsafePointer<DecodedFrame>, bytes: UnsafeRawBufferPointer)
        /// A recorded outage to reproduce (``ReplayConfiguration/faults`` only).
        case fault(SimulatorFault)
    }

    public let configuration: ReplayConfiguration
    /// The rate of ``ReplayConfiguration/Pace/recorded``.
    public let speed: Double
    public private(set) var progress = ReplayProgress()
    private var reader: CaptureReader
    private let decoder = FrameDecoder()
    /// Allocated once the files are open (an init that throws before then has nothing to free).
    private let frame: UnsafeMutablePointer<DecodedFrame>
    /// The record read but not yet due (its bytes are the reader's, valid until it reads again).
    private var pending: CaptureRecord?
    /// `pending` was returned (or skipped): read the next record before looking again.
    private var taken = false
    /// Capture time of the pass's first frame or event, and the wall instant it was (re)started at (nil before).
    private var origin: Int64?
    private var wallStart: Int64?

    /// Opens the capture (every file must exist and be readable now) and reads up to its first record.
    public init(_ configuration: ReplayConfiguration, speed: Double = 1) throws(CaptureError) {
        self.configuration = configuration
        self.speed = speed.isFinite && speed > 0 ? speed : 1
        self.reader = try CaptureReader(configuration.paths)
        self.frame = .allocate(capacity: 1)
        self.frame.initialize(to: DecodedFrame())
        try self.readAhead()
        self.progress.captureTimeNS = self.origin ?? 0
    }

    deinit {
        self.frame.deinitialize(count: 1)
        self.frame.deallocate()
    }

    /// Starts the capture's clock ``ReplayConfiguration/startDelay`` after `wallNS` (a monotonic instant, ns: the
    /// first subscription). Later calls do nothing.
    public func start(wallNS: Int64) {
        if self.wallStart == nil { self.wallStart = wallNS + self.configuration.startDelay.nanoseconds }
    }

    /// The capture's clock at `wallNS`, ns since the Unix epoch.
    public func captureTime(wallNS: Int64) -> Int64 {
        guard let origin = self.origin, let start = self.wallStart, self.configuration.pace == .recorded else {
            return self.progress.captureTimeNS
        }
        return origin + Int64(Double(max(0, wallNS - start)) * self.speed)
    }

    /// The next step due at `wallNS`, or nil when nothing is due yet (or ever: not started, or finished).
    public func next(wallNS: Int64) -> Step? {
        guard let start = self.wallStart, wallNS >= start else { return nil }
        while !self.progress.finished {
            if self.taken {
                self.taken = false
                do {
                    try self.readAhead()
                } catch {
                    self.progress.error = error.description
                    self.progress.finished = true
                    return nil
                }
            }
            guard let record = self.pending else {
                self.endOfPass(wallNS: wallNS)
                continue
            }
            let t: Int64?
            switch record {
            case .frame(let time, _, _): t = time
            case .event(let e): t = e.time
            default: t = nil
            }
            if let t {
                if self.configuration.pace == .recorded, t > self.captureTime(wallNS: wallNS) { return nil }
                self.progress.captureTimeNS = max(self.progress.captureTimeNS, t)
            }
            // The record is taken: the next is read at the next call (the step's bytes are the reader's until then).
            self.taken = true
            if let step = self.step(record) { return step }
        }
        return nil
    }

    /// What `record` asks of the server, if anything (counted either way).
    private func step(_ record: CaptureRecord) -> Step? {
        switch record {
        case .frame(_, _, let bytes):
            do {
                try self.decoder.decode(bytes, into: &self.frame.pointee)
            } catch {
                self.progress.invalidFrames += 1
                return nil
            }
            guard self.frame.pointee.kind == .data else {
                self.progress.controlFrames += 1
                return nil
            }
            self.progress.dataFrames += 1
            return .data(frame: UnsafePointer(self.frame), bytes: bytes)
        case .event(let e):
            guard self.configuration.faults, let fault = Self.fault(reproducing: e) else { return nil }
            self.progress.faults += 1
            return .fault(fault)
        case .truncated:
            self.progress.truncatedFiles += 1
            return nil
        case .header, .invalid:
            return nil
        }
    }

    /// Counts what the server did with the data steps: sent to a connection, or to none.
    public func count(served: Int, unsubscribed: Int) {
        self.progress.served += served
        self.progress.unsubscribed += unsubscribed
    }

    /// The fault that reproduces a recorded event on the server's side, if it is one a server causes.
    public static func fault(reproducing e: CaptureEvent) -> SimulatorFault? {
        switch e.kind {
        case .closed:
            guard let code = e.code, (1000...4999).contains(code), ![1004, 1005, 1006, 1015].contains(code) else {
                return .drop  // no close frame was received (or none a server can send): the TCP connection ended
            }
            return .close(code: UInt16(code))
        case .serverError where e.code == 5001:
            return .internalError
        default:
            return nil
        }
    }

    /// Reads the next record into `pending` (nil at the end of the capture); the first frame or event of a pass
    /// sets its origin.
    private func readAhead() throws(CaptureError) {
        self.pending = try self.reader.next()
        guard self.origin == nil else { return }
        switch self.pending {
        case .frame(let t, _, _)?: self.origin = t
        case .event(let e)?: self.origin = e.time
        default: break
        }
    }

    /// The end of the capture: start again (``ReplayConfiguration/loop``), or finish.
    private func endOfPass(wallNS: Int64) {
        guard self.configuration.loop, self.progress.dataFrames > 0 else {
            self.progress.finished = true
            return
        }
        do {
            self.progress.loops += 1
            self.reader = try CaptureReader(self.configuration.paths)
            self.origin = nil
            self.wallStart = wallNS
            try self.readAhead()
            if self.pending == nil { self.progress.finished = true }
        } catch {
            self.progress.error = error.description
            self.progress.finished = true
        }
    }
}
