// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

public import StreamKit

/// A capture read back as the live client delivered it: data pushes decoded in place by the same decoder,
/// attributed to their subscriptions (the header's and every acknowledged one), the second leg of a swap or
/// liquidity event dropped as the client drops it, and the lifecycle events in order with the data. Control
/// frames (welcome, acks, pongs, errors: their effects are the events) and frames that fail to decode are counted,
/// not delivered, as live. The C and Python capture readers and `streamkit replay` read through it.
public final class CaptureMessages {
    public enum Item {
        /// A data push: receive time (ns since the Unix epoch), connection, the decoded frame and its bytes (both
        /// valid until the next call), and every subscription it belongs to.
        case message(time: Int64, connection: Int, frame: UnsafePointer<DecodedFrame>, bytes: UnsafeRawBufferPointer,
                     subscriptions: SubscriptionMatches)
        case event(CaptureEvent)
        /// A file's header (its subscriptions are attributed from here on).
        case header(CaptureHeader, path: String)
        /// A file ends mid-line or mid-block: see ``CaptureRecord/truncated(path:offset:detail:)``.
        case truncated(path: String, offset: Int, detail: String)
    }

    public struct Stats: Sendable, Hashable {
        /// Data pushes delivered, per channel (by `Channel.allCases` order; unknown channels in the last slot).
        public var messages = [Int](repeating: 0, count: Channel.allCases.count + 1)
        public var duplicates = 0
        public var controlFrames = 0
        public var invalidFrames = 0
        public var events = 0
        public var total: Int { self.messages.reduce(0, +) }
    }

    public let reader: CaptureReader
    public private(set) var stats = Stats()
    private let decoder = FrameDecoder()
    private let frame = UnsafeMutablePointer<DecodedFrame>.allocate(capacity: 1)
    private var index: SubscriptionIndex

    public init(_ reader: CaptureReader, dedupeWindow: Int = 4096) {
        self.reader = reader
        self.index = SubscriptionIndex(dedupeWindow: dedupeWindow)
        self.frame.initialize(to: DecodedFrame())
    }

    /// Opens files or glob patterns (see ``CaptureReader/init(_:)``).
    public convenience init(_ patterns: [String], dedupeWindow: Int = 4096) throws(CaptureError) {
        self.init(try CaptureReader(patterns), dedupeWindow: dedupeWindow)
    }

    deinit {
        self.frame.deinitialize(count: 1)
        self.frame.deallocate()
    }

    /// The next message or event; nil at the end. Invalid lines are skipped (``CaptureReader/stats``).
    public func next() throws(CaptureError) -> Item? {
        while let record = try self.reader.next() {
            switch record {
            case .frame(let t, let c, let bytes):
                do {
                    try self.decoder.decode(bytes, into: &self.frame.pointee)
                } catch {
                    self.stats.invalidFrames += 1
                    continue
                }
                guard self.frame.pointee.kind == .data else {
                    self.stats.controlFrames += 1
                    continue
                }
                let (matches, duplicate) = self.index.attribute(self.frame.pointee, bytes: bytes)
                if duplicate {
                    self.stats.duplicates += 1
                    continue
                }
                let slot = self.frame.pointee.channel.flatMap { Channel.allCases.firstIndex(of: $0) } ?? Channel.allCases.count
                self.stats.messages[slot] += 1
                return .message(time: t, connection: c, frame: UnsafePointer(self.frame), bytes: bytes, subscriptions: matches)
            case .event(let e):
                if e.kind == .subscribed, let s = e.subscription { self.index.insert(s) }
                self.stats.events += 1
                return .event(e)
            case .header(let h, let path):
                for s in h.subscriptions { self.index.insert(s) }
                return .header(h, path: path)
            case .truncated(let path, let offset, let detail):
                return .truncated(path: path, offset: offset, detail: detail)
            case .invalid:
                continue
            }
        }
        return nil
    }
}
