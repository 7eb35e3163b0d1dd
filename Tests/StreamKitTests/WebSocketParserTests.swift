// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

import Testing

@testable import StreamKit

/// The receive side of RFC 6455: every rule, the RFC's examples, and the same events however a stream is split.
@Suite struct WebSocketParserTests {
    // MARK: - Helpers

    /// An event with its bytes copied out, or the error that ended the stream.
    enum Recorded: Equatable, CustomStringConvertible {
        case text([UInt8]), binary([UInt8]), ping([UInt8]), pong([UInt8])
        case close(UInt16?, [UInt8])
        case error(WebSocketProtocolError)

        init(_ event: WebSocketEvent) {
            switch event {
            case .text(let b): self = .text(Array(b))
            case .binary(let b): self = .binary(Array(b))
            case .ping(let b): self = .ping(Array(b))
            case .pong(let b): self = .pong(Array(b))
            case .close(let code, let reason): self = .close(code, Array(reason))
            }
        }

        var description: String {
            switch self {
            case .text(let b): "text(\(String(decoding: b, as: UTF8.self).prefix(40)), \(b.count) bytes)"
            case .binary(let b): "binary(\(b.count) bytes)"
            case .ping(let b): "ping(\(b))"
            case .pong(let b): "pong(\(b))"
            case .close(let code, let reason): "close(\(code.map(String.init) ?? "nil"), \(String(decoding: reason, as: UTF8.self)))"
            case .error(let e): "\(e)"
            }
        }
    }

    /// How a frame header writes its length: the shortest form, or a longer one (allowed).
    enum LengthForm { case minimal, bits16, bits64 }

    /// A frame as a server sends it (unmasked unless `mask` is given).
    static func frame(
        _ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, rsv: UInt8 = 0, length: LengthForm = .minimal,
        mask: [UInt8]? = nil
    ) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | rsv << 4 | opcode]
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        let n = payload.count
        switch length {
        case .minimal where n < 126:
            out.append(maskBit | UInt8(n))
        case .bits16,
            .minimal where n <= 0xFFFF:
            out += [maskBit | 126, UInt8(n >> 8), UInt8(n & 0xFF)]
        default:
            out.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((UInt64(n) >> UInt64(shift)) & 0xFF)) }
        }
        if let mask {
            out += mask
            out += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        } else {
            out += payload
        }
        return out
    }

    static func text(_ s: String, fin: Bool = true, length: LengthForm = .minimal) -> [UInt8] {
        frame(1, Array(s.utf8), fin: fin, length: length)
    }

    static func close(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
        frame(8, [UInt8(code >> 8), UInt8(code & 0xFF)] + reason)
    }

    /// Feeds `stream` cut at `cuts` (offsets, ascending) and records every event up to the first error.
    static func parse(_ stream: [UInt8], cuts: [Int] = [], limit: Int = 1 << 20) -> [Recorded] {
        var parser = WebSocketParser(maxMessageSize: limit)
        return parse(stream, cuts: cuts, with: &parser)
    }

    static func parse(_ stream: [UInt8], cuts: [Int] = [], with parser: inout WebSocketParser) -> [Recorded] {
        var out: [Recorded] = []
        var start = 0
        for end in cuts + [stream.count] where end >= start {
            let failed = stream[start..<end].withUnsafeBytes { bytes -> Bool in
                var input = bytes
                do throws(WebSocketProtocolError) {
                    while let event = try parser.next(&input) { out.append(Recorded(event)) }
                    #expect(input.isEmpty, "nil returned with bytes left")
                } catch {
                    out.append(.error(error))
                    return true
                }
                return false
            }
            if failed { return out }
            start = end
        }
        return out
    }

    /// Every cut of `stream` into two, one byte at a time, and `rounds` random splits give `expected`.
    static func expectSameEverySplit(_ stream: [UInt8], _ expected: [Recorded], limit: Int = 1 << 20, rounds: Int = 50) {
        for cut in 0...stream.count {
            let got = parse(stream, cuts: [cut], limit: limit)
            #expect(got == expected, "cut at \(cut)")
            if got != expected { return }
        }
        #expect(parse(stream, cuts: Array(0..<stream.count), limit: limit) == expected, "one byte at a time")
        var rng = SplitMix64(seed: 23)
        for round in 0..<rounds {
            var cuts: [Int] = []
            var at = 0
            while at < stream.count {
                // Mostly short pieces (cutting headers), sometimes long ones.
                at += rng.next() % 4 == 0 ? Int(rng.next() % 2000) : Int(rng.next() % 12)
                cuts.append(min(at, stream.count))
            }
            let got = parse(stream, cuts: cuts, limit: limit)
            #expect(got == expected, "random split \(round): \(cuts)")
            if got != expected { return }
        }
    }

    static func error(_ kind: WebSocketProtocolError.Kind) -> Recorded { .error(WebSocketProtocolError(kind)) }

    // MARK: - RFC 6455 section 5.7

    @Test func rfcSingleFrameUnmaskedText() {
        #expect(Self.parse([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]) == [.text(Array("Hello".utf8))])
    }

    /// The RFC's masked "Hello" is a client's frame: from a server it is refused.
    @Test func rfcSingleFrameMaskedTextIsRefused() {
        let masked: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        #expect(Self.frame(1, Array("Hello".utf8), mask: [0x37, 0xFA, 0x21, 0x3D]) == masked)
        #expect(Self.parse(masked) == [Self.error(.maskedFrame)])
        #expect(WebSocketProtocolError(.maskedFrame).closeCode == 1002)
    }

    @Test func rfcFragmentedUnmaskedText() {
        let stream: [UInt8] = [0x01, 0x03, 0x48, 0x65, 0x6C, 0x80, 0x02, 0x6C, 0x6F]
        #expect(Self.parse(stream) == [.text(Array("Hello".utf8))])
        Self.expectSameEverySplit(stream, [.text(Array("Hello".utf8))])
    }

    @Test func rfcPingAndPong() {
        #expect(Self.parse([0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]) == [.ping(Array("Hello".utf8))])
        #expect(Self.parse([0x8A, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]) == [.pong(Array("Hello".utf8))])
        // The RFC's pong is masked (a client's answer): refused from a server.
        #expect(Self.parse([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]) == [Self.error(.maskedFrame)])
    }

    @Test func rfc256ByteBinaryIn16BitLength() {
        let payload = (0..<256).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let stream = Self.frame(2, payload)
        #expect(Array(stream.prefix(4)) == [0x82, 0x7E, 0x01, 0x00])
        #expect(Self.parse(stream) == [.binary(payload)])
        Self.expectSameEverySplit(stream, [.binary(payload)], rounds: 10)
    }

    @Test func rfc64KiBBinaryIn64BitLength() {
        let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let stream = Self.frame(2, payload)
        #expect(Array(stream.prefix(10)) == [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
        #expect(Self.parse(stream) == [.binary(payload)])
        #expect(Self.parse(stream, cuts: Array(0..<stream.count)) == [.binary(payload)])
        for cut in [1, 2, 5, 9, 10, 11, 1000, 65545] {
            #expect(Self.parse(stream, cuts: [cut]) == [.binary(payload)], "cut at \(cut)")
        }
    }

    // MARK: - Lengths

    /// Longer length forms than needed are allowed (RFC 6455 5.2 asks for the minimal one, but only of senders).
    @Test(arguments: [LengthForm.minimal, .bits16, .bits64])
    func nonMinimalLengths(_ form: LengthForm) {
        for n in [0, 1, 125, 126, 127, 300] {
            let s = String(repeating: "a", count: n)
            #expect(Self.parse(Self.text(s, length: form)) == [.text(Array(s.utf8))], "\(form) \(n)")
        }
    }

    @Test func sixtyFourBitLengthWithTheTopBitSetIsRefused() {
        let header: [UInt8] = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 5]
        #expect(Self.parse(header + [1, 2, 3, 4, 5]) == [Self.error(.invalidLength)])
        #expect(WebSocketProtocolError(.invalidLength).closeCode == 1002)
    }

    // MARK: - Size limit

    @Test func messageAtTheLimitPassesOneByteMoreIsRefusedFromTheHeader() {
        let limit = 1000
        let at = [UInt8](repeating: 0x61, count: limit)
        #expect(Self.parse(Self.frame(1, at), limit: limit) == [.text(at)])
        #expect(Self.parse(Self.frame(2, at), limit: limit) == [.binary(at)])
        // One more: refused from the header alone, before any payload byte came.
        let over = Self.frame(1, at + [0x61])
        let tooLarge = Self.error(.messageTooLarge(size: 1001, limit: limit))
        #expect(Self.parse(Array(over.prefix(4)), limit: limit) == [tooLarge])
        #expect(WebSocketProtocolError(.messageTooLarge(size: 1001, limit: limit)).closeCode == 1009)
    }

    @Test func theLimitCountsEveryFragment() {
        let limit = 1000
        let part = [UInt8](repeating: 0x61, count: 400)
        let exact = Self.frame(1, part, fin: false) + Self.frame(0, part, fin: false) + Self.frame(0, Array(part.prefix(200)))
        #expect(Self.parse(exact, limit: limit) == [.text(part + part + Array(part.prefix(200)))])
        // 400 + 400 + 201: the third fragment's header is refused, nothing of it buffered.
        let over = Self.frame(1, part, fin: false) + Self.frame(0, part, fin: false) + Array(Self.frame(0, part + [0x61]).prefix(4))
        #expect(Self.parse(over, limit: limit) == [Self.error(.messageTooLarge(size: 1201, limit: limit))])
        // Binary messages too.
        let binary = Self.frame(2, part, fin: false) + Self.frame(0, part, fin: false) + Self.frame(0, part)
        #expect(Self.parse(binary, limit: limit) == [Self.error(.messageTooLarge(size: 1200, limit: limit))])
    }

    /// A terabyte announced: refused from its 10 header bytes, nothing allocated.
    @Test func giantLengthIsRefusedWithoutBuffering() {
        var parser = WebSocketParser(maxMessageSize: 1 << 20)
        let header: [UInt8] = [0x81, 0x7F, 0, 0, 1, 0, 0, 0, 0, 0]
        #expect(Self.parse(header, with: &parser) == [Self.error(.messageTooLarge(size: 1 << 40, limit: 1 << 20))])
        #expect(parser.reassemblyCapacity == 0)
    }

    // MARK: - Frame rules

    @Test(arguments: [UInt8(1), 2, 4, 7])
    func reservedBitsAreRefused(_ rsv: UInt8) {
        #expect(Self.parse(Self.frame(1, Array("x".utf8), rsv: rsv)) == [Self.error(.reservedBits)])
        #expect(Self.parse(Self.frame(9, [], rsv: rsv)) == [Self.error(.reservedBits)])
    }

    @Test(arguments: [UInt8(3), 4, 5, 6, 7, 11, 12, 13, 14, 15])
    func reservedOpcodesAreRefused(_ opcode: UInt8) {
        #expect(Self.parse(Self.frame(opcode, [1, 2])) == [Self.error(.reservedOpcode(opcode))])
        #expect(WebSocketProtocolError(.reservedOpcode(opcode)).closeCode == 1002)
    }

    @Test func continuationWithoutAStartIsRefused() {
        #expect(Self.parse(Self.frame(0, Array("lo".utf8))) == [Self.error(.unexpectedContinuation)])
        #expect(Self.parse(Self.frame(0, Array("lo".utf8), fin: false)) == [Self.error(.unexpectedContinuation)])
        // After a finished message, too.
        #expect(Self.parse(Self.text("a") + Self.frame(0, [0x61])) == [.text([0x61]), Self.error(.unexpectedContinuation)])
    }

    @Test func newMessageWhileOneIsOpenIsRefused() {
        #expect(Self.parse(Self.text("Hel", fin: false) + Self.text("lo")) == [Self.error(.unfinishedMessage)])
        #expect(Self.parse(Self.text("Hel", fin: false) + Self.frame(2, [1])) == [Self.error(.unfinishedMessage)])
        #expect(Self.parse(Self.frame(2, [1], fin: false) + Self.text("x")) == [Self.error(.unfinishedMessage)])
    }

    @Test func controlFramesBetweenFragments() {
        let stream =
            Self.text("Hel", fin: false) + Self.frame(9, Array("p".utf8)) + Self.frame(0, Array("l".utf8), fin: false)
            + Self.frame(10, []) + Self.frame(0, Array("o".utf8)) + Self.text("next")
        let expected: [Recorded] = [.ping(Array("p".utf8)), .pong([]), .text(Array("Hello".utf8)), .text(Array("next".utf8))]
        #expect(Self.parse(stream) == expected)
        Self.expectSameEverySplit(stream, expected)
        // A close between fragments ends the stream (the message is never delivered).
        #expect(Self.parse(Self.text("Hel", fin: false) + Self.close(1000) + Self.frame(0, [0x6F])) == [.close(1000, [])])
    }

    @Test(arguments: [UInt8(8), 9, 10])
    func controlFramesMustNotBeFragmented(_ opcode: UInt8) {
        #expect(Self.parse(Self.frame(opcode, [], fin: false)) == [Self.error(.fragmentedControlFrame)])
    }

    @Test(arguments: [UInt8(8), 9, 10])
    func controlFramesAreAtMost125Bytes(_ opcode: UInt8) {
        var ok = [UInt8](repeating: 0x61, count: 125)
        if opcode == 8 { ok[0] = 0x03; ok[1] = 0xE8 }
        #expect(Self.parse(Self.frame(opcode, ok)).count == 1)
        #expect(Self.parse(Self.frame(opcode, ok + [0x61])) == [Self.error(.oversizedControlFrame)])
        // The extended form announcing 125 bytes is refused too: the 7-bit length must say it.
        #expect(Self.parse(Self.frame(opcode, ok, length: .bits16)) == [Self.error(.oversizedControlFrame)])
    }

    @Test func maskedFramesAreRefused() {
        #expect(Self.parse(Self.frame(1, Array("x".utf8), mask: [1, 2, 3, 4])) == [Self.error(.maskedFrame)])
        #expect(Self.parse(Self.frame(9, [], mask: [1, 2, 3, 4])) == [Self.error(.maskedFrame)])
    }

    @Test func emptyFramesAndFragments() {
        #expect(Self.parse(Self.text("")) == [.text([])])
        #expect(Self.parse(Self.frame(2, [])) == [.binary([])])
        let stream = Self.text("", fin: false) + Self.frame(0, [], fin: false) + Self.frame(0, Array("x".utf8)) + Self.text("", fin: false) + Self.frame(0, [])
        #expect(Self.parse(stream) == [.text(Array("x".utf8)), .text([])])
        Self.expectSameEverySplit(stream, [.text(Array("x".utf8)), .text([])])
    }

    // MARK: - Close frames

    @Test func closeFrames() {
        #expect(Self.parse(Self.frame(8, [])) == [.close(nil, [])])
        #expect(Self.parse(Self.close(1000)) == [.close(1000, [])])
        #expect(Self.parse(Self.close(4100, Array("bad key".utf8))) == [.close(4100, Array("bad key".utf8))])
        #expect(Self.parse(Self.close(1001, Array("κόσμε".utf8))) == [.close(1001, Array("κόσμε".utf8))])
    }

    @Test func oneByteClosePayloadIsRefused() {
        #expect(Self.parse(Self.frame(8, [0x03])) == [Self.error(.truncatedCloseCode)])
        #expect(WebSocketProtocolError(.truncatedCloseCode).closeCode == 1002)
    }

    @Test(arguments: [UInt16(1000), 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4100, 4999])
    func sendableCloseCodesAreAccepted(_ code: UInt16) {
        #expect(Self.parse(Self.close(code)) == [.close(code, [])])
    }

    @Test(arguments: [UInt16(0), 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
    func closeCodesThatMayNotBeSentAreRefused(_ code: UInt16) {
        #expect(Self.parse(Self.close(code)) == [Self.error(.invalidCloseCode(code))])
        #expect(WebSocketProtocolError(.invalidCloseCode(code)).closeCode == 1002)
    }

    @Test func closeReasonMustBeUTF8() {
        #expect(Self.parse(Self.close(1000, [0x61, 0xFF])) == [Self.error(.invalidCloseReason)])
        #expect(Self.parse(Self.close(1000, [0xE2, 0x82])) == [Self.error(.invalidCloseReason)])
        #expect(WebSocketProtocolError(.invalidCloseReason).closeCode == 1007)
    }

    @Test func bytesAfterACloseAreIgnored() {
        var parser = WebSocketParser(maxMessageSize: 1 << 20)
        let stream = Self.text("a") + Self.close(1000) + [0xFF, 0xFF, 0x00] + Self.text("b")
        #expect(Self.parse(stream, with: &parser) == [.text([0x61]), .close(1000, [])])
        let closed = parser.isClosed
        #expect(closed)
        #expect(Self.parse(Self.text("c"), with: &parser) == [])
    }

    @Test func anErrorIsThrownAgainOnEveryLaterCall() {
        var parser = WebSocketParser(maxMessageSize: 1 << 20)
        #expect(Self.parse(Self.frame(3, []), with: &parser) == [Self.error(.reservedOpcode(3))])
        #expect(Self.parse(Self.text("ok"), with: &parser) == [Self.error(.reservedOpcode(3))])
    }

    // MARK: - UTF-8

    static let validUTF8: [[UInt8]] = [
        Array("plain ascii, longer than eight bytes".utf8), Array("κόσμε".utf8), Array("€ 𝄞 日本".utf8),
        [0xC2, 0x80], [0xDF, 0xBF], [0xE0, 0xA0, 0x80], [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF],
        [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0x00], [0x7F],
    ]

    static let invalidUTF8: [[UInt8]] = [
        [0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF],  // lone continuation, overlong
        [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],  // surrogates
        [0xF0, 0x80, 0x80, 0x80], [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],  // overlong, > U+10FFFF
        [0xFE], [0xFF], [0xC2], [0xE2, 0x82], [0xF0, 0x9D, 0x84], [0xC2, 0x41], [0xE2, 0x28, 0xA1],  // truncated, bad continuation
        Array("0123456789abcdef".utf8) + [0xFF] + Array("0123456789".utf8),  // in the middle of ASCII
    ]

    @Test func validatorAgreesWithTheStandardLibrary() {
        for bytes in Self.validUTF8 + Self.invalidUTF8 {
            let standard = String(validating: bytes, as: UTF8.self) != nil
            #expect(bytes.withUnsafeBytes { UTF8Validator.isValid($0) } == standard, "\(bytes)")
        }
        // Every 1-, 2- and 3-byte sequence over a set of interesting bytes, and every cut of them into two feeds.
        let interesting: [UInt8] = [0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF]
        for a in interesting {
            for b in interesting {
                for c in interesting + [nil] {
                    let bytes = [a, b] + (c.map { [$0] } ?? [])
                    let standard = String(validating: bytes, as: UTF8.self) != nil
                    for cut in 0...bytes.count {
                        var v = UTF8Validator()
                        let ok = bytes[..<cut].withUnsafeBytes { v.feed($0) } && bytes[cut...].withUnsafeBytes { v.feed($0) } && v.isComplete
                        #expect(ok == standard, "\(bytes) cut at \(cut)")
                    }
                }
            }
        }
    }

    @Test func textMustBeUTF8() {
        for bytes in Self.validUTF8 {
            #expect(Self.parse(Self.frame(1, bytes)) == [.text(bytes)])
        }
        for bytes in Self.invalidUTF8 {
            #expect(Self.parse(Self.frame(1, bytes)) == [Self.error(.invalidUTF8)], "\(bytes)")
            Self.expectSameEverySplit(Self.frame(1, bytes), [Self.error(.invalidUTF8)], rounds: 2)
        }
        #expect(WebSocketProtocolError(.invalidUTF8).closeCode == 1007)
        // Binary messages are not text: no validation.
        #expect(Self.parse(Self.frame(2, [0xFF])) == [.binary([0xFF])])
    }

    @Test func utf8AcrossFragments() {
        let euro: [UInt8] = [0xE2, 0x82, 0xAC]
        for cut in 0...3 {
            let stream = Self.frame(1, Array(euro[..<cut]), fin: false) + Self.frame(0, Array(euro[cut...]))
            #expect(Self.parse(stream) == [.text(euro)], "cut at \(cut)")
        }
        // A code point cut by the end of the message.
        #expect(Self.parse(Self.frame(1, [0xE2, 0x82], fin: false) + Self.frame(0, [])) == [Self.error(.invalidUTF8)])
        // A bad continuation in the second fragment.
        #expect(Self.parse(Self.frame(1, [0xE2], fin: false) + Self.frame(0, [0x41, 0x41])) == [Self.error(.invalidUTF8)])
    }

    /// Invalid UTF-8 fails the connection as soon as it arrives, not at the end of its message.
    @Test func invalidUTF8FailsFast() {
        var parser = WebSocketParser(maxMessageSize: 1 << 20)
        let first = Self.frame(1, Array("ok".utf8) + [0xC0], fin: false)
        #expect(Self.parse(first, with: &parser) == [Self.error(.invalidUTF8)])
        var cut = WebSocketParser(maxMessageSize: 1 << 20)
        let frame = Self.frame(1, Array("ok".utf8) + [0xFF] + [UInt8](repeating: 0x61, count: 1000))
        #expect(Self.parse(Array(frame.prefix(10)), with: &cut) == [Self.error(.invalidUTF8)])
    }

    // MARK: - In place and the reassembly buffer

    /// A whole unfragmented frame is yielded straight from the bytes handed over; nothing is allocated.
    @Test func wholeFramesAreYieldedInPlace() {
        var parser = WebSocketParser(maxMessageSize: 1 << 20)
        let stream = Self.text("Hello") + Self.frame(9, [1, 2]) + Self.text(String(repeating: "x", count: 70_000)) + Self.frame(2, [7])
        stream.withUnsafeBytes { bytes in
            var input = bytes
            var events = 0
            while let event = try? parser.next(&input) {
                let view: UnsafeRawBufferPointer
                switch event {
                case .text(let b), .binary(let b), .ping(let b): view = b
                default: Issue.record("\(event)"); return
                }
                let inside = view.baseAddress! >= bytes.baseAddress! && view.baseAddress! + view.count <= bytes.baseAddress! + bytes.count
                #expect(inside, "event \(events) is not in place")
                events += 1
            }
            #expect(events == 4)
        }
        #expect(parser.reassemblyCapacity == 0)
    }

    /// Messages cut by reads, or fragmented, go through one buffer: allocated once, reused for every later message
    /// no longer than the longest before.
    @Test func theReassemblyBufferIsReused() {
        var parser = WebSocketParser(maxMessageSize: 1 << 20)
        let message = Self.text(String(repeating: "y", count: 3000))
        let fragmented = Self.text(String(repeating: "a", count: 1000), fin: false) + Self.frame(0, Array(String(repeating: "b", count: 1000).utf8))
        _ = Self.parse(message, cuts: [100], with: &parser)
        let capacity = parser.reassemblyCapacity
        #expect(capacity >= 3000)
        for round in 0..<200 {
            let events = Self.parse(round % 2 == 0 ? message : fragmented, cuts: [1 + round % 50], with: &parser)
            #expect(events.count == 1)
            #expect(parser.reassemblyCapacity == capacity, "grew at round \(round)")
        }
    }

    // MARK: - Every split

    /// A stream of every kind of frame: any split of it gives the same events as the stream in one piece.
    @Test func everySplitGivesTheSameEvents() {
        let price = #"{"type":"data","channel":"market@crypto_latest_price","params":{"crypto_ids":1},"data":{"cid":1,"p":2.5},"ts":1}"#
        let long = String(repeating: "ab€", count: 80)  // 16-bit length, multi-byte code points everywhere
        let stream =
            Self.text(#"{"type":"welcome","ping_interval_ms":10000}"#) + Self.text(price) + Self.frame(9, Array("ping".utf8))
            + Self.text(long) + Self.text("κόσμε", length: .bits64) + Self.frame(1, Array("日本".utf8).prefix(4).map { $0 }, fin: false)
            + Self.frame(10, []) + Self.frame(0, Array(Array("日本".utf8)[4...]), fin: false) + Self.frame(0, Array(" 語".utf8))
            + Self.frame(2, [0, 1, 2, 3], length: .bits16) + Self.text("", fin: false) + Self.frame(0, Array("x".utf8))
            + Self.close(4100, Array("key".utf8))
        let expected: [Recorded] = [
            .text(Array(#"{"type":"welcome","ping_interval_ms":10000}"#.utf8)), .text(Array(price.utf8)), .ping(Array("ping".utf8)),
            .text(Array(long.utf8)), .text(Array("κόσμε".utf8)), .pong([]), .text(Array("日本 語".utf8)), .binary([0, 1, 2, 3]),
            .text(Array("x".utf8)), .close(4100, Array("key".utf8)),
        ]
        #expect(Self.parse(stream) == expected)
        Self.expectSameEverySplit(stream, expected, rounds: 200)
    }

    /// A stream ending in an error: every split gives the same events, then the same error.
    @Test(arguments: [
        WebSocketParserTests.frame(1, [0x61, 0xC0, 0x80]), WebSocketParserTests.frame(5, []),
        WebSocketParserTests.frame(0, [1]), WebSocketParserTests.frame(9, [], fin: false),
        WebSocketParserTests.frame(8, [3]), WebSocketParserTests.close(1005), WebSocketParserTests.close(1000, [0xFF]),
        WebSocketParserTests.frame(1, [1], rsv: 4), WebSocketParserTests.frame(2, [UInt8](repeating: 0, count: 600)),
        WebSocketParserTests.frame(1, [1], mask: [1, 2, 3, 4]), [0x82, 0x7F, 0xFF, 0, 0, 0, 0, 0, 0, 0],
    ])
    func everySplitGivesTheSameError(_ bad: [UInt8]) {
        let stream = Self.text("before", fin: false) + Self.frame(9, [9]) + Self.frame(0, Array(" and".utf8)) + Self.text("€") + bad
        let expected = Self.parse(stream, limit: 500)
        #expect(expected.count == 4, "\(expected)")
        guard case .error = expected.last else {
            Issue.record("no error: \(expected)")
            return
        }
        Self.expectSameEverySplit(stream, expected, limit: 500, rounds: 50)
    }

    /// Random streams of valid frames, split at random: the events match what the generator meant.
    @Test func randomStreamsOfValidFrames() {
        var rng = SplitMix64(seed: 6455)
        let alphabet = Array("a€κ𝄞{\"".unicodeScalars).map { String($0) }
        for round in 0..<200 {
            var stream: [UInt8] = []
            var expected: [Recorded] = []
            for _ in 0..<Int(rng.next() % 8 + 1) {
                let n = Int(rng.next() % 3 == 0 ? rng.next() % 3000 : rng.next() % 40)
                let text = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
                let bytes = Array(text.utf8)
                let pieces = Int(rng.next() % 4)
                if pieces == 0 {
                    stream += Self.frame(1, bytes, length: [.minimal, .bits16, .bits64][Int(rng.next() % 3)])
                } else {
                    // Cut anywhere, code points included, with pings between the fragments.
                    var cuts = (0..<pieces).map { _ in Int(rng.next() % UInt64(bytes.count + 1)) }.sorted()
                    cuts = [0] + cuts + [bytes.count]
                    for k in 0..<cuts.count - 1 {
                        stream += Self.frame(k == 0 ? 1 : 0, Array(bytes[cuts[k]..<cuts[k + 1]]), fin: k == cuts.count - 2)
                        if k < cuts.count - 2, rng.next() % 2 == 0 {
                            stream += Self.frame(9, [UInt8(k)])
                            expected.append(.ping([UInt8(k)]))
                        }
                    }
                }
                expected.append(.text(bytes))
            }
            var cuts: [Int] = []
            var at = 0
            while at < stream.count {
                at += Int(rng.next() % 700)
                cuts.append(min(at, stream.count))
            }
            #expect(Self.parse(stream, cuts: cuts) == expected, "round \(round)")
        }
    }
}
