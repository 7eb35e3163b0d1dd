// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// zstd through libzstd.so.1 loaded at run time: no build-time dependency (a fresh machine has the runtime, not the
// headers), and the wheel's manylinux tag keeps holding. Only the stable streaming API is used (czstd.h).

import CZstd
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The functions of libzstd StreamKit uses, resolved once per process.
struct Zstd: @unchecked Sendable {
    let createCCtx: sk_zstd_create_ctx_fn
    let freeCCtx: sk_zstd_free_ctx_fn
    let setParameter: sk_zstd_set_parameter_fn
    let compressStream2: sk_zstd_compress_stream2_fn
    let createDCtx: sk_zstd_create_ctx_fn
    let freeDCtx: sk_zstd_free_ctx_fn
    let decompressStream: sk_zstd_decompress_stream_fn
    let isError: sk_zstd_is_error_fn
    let errorName: sk_zstd_error_name_fn
    let versionNumber: UInt32

    /// The names tried, in order: the runtime's soname first (Debian's `libzstd1`, every distribution's), then
    /// the development link and macOS's names.
    static let libraryNames = ["libzstd.so.1", "libzstd.so", "libzstd.1.dylib", "libzstd.dylib"]

    /// The library, or why it cannot be used (loaded once; the result is kept).
    static let shared: Result<Zstd, CaptureError> = Zstd.load()

    static func load() -> Result<Zstd, CaptureError> {
        var handle: UnsafeMutableRawPointer?
        for name in libraryNames {
            handle = dlopen(name, RTLD_NOW | RTLD_LOCAL)
            if handle != nil { break }
        }
        guard let handle else {
            return .failure(.compression(
                "zstd is not available: libzstd.so.1 could not be loaded (install the zstd runtime, e.g. "
                    + "`apt-get install libzstd1`, or write an uncompressed capture)"))
        }
        func symbol<T>(_ name: String, _ type: T.Type) -> T? {
            dlsym(handle, name).map { unsafeBitCast($0, to: T.self) }
        }
        guard let createCCtx = symbol("ZSTD_createCCtx", sk_zstd_create_ctx_fn.self),
            let freeCCtx = symbol("ZSTD_freeCCtx", sk_zstd_free_ctx_fn.self),
            let setParameter = symbol("ZSTD_CCtx_setParameter", sk_zstd_set_parameter_fn.self),
            let compressStream2 = symbol("ZSTD_compressStream2", sk_zstd_compress_stream2_fn.self),
            let createDCtx = symbol("ZSTD_createDCtx", sk_zstd_create_ctx_fn.self),
            let freeDCtx = symbol("ZSTD_freeDCtx", sk_zstd_free_ctx_fn.self),
            let decompressStream = symbol("ZSTD_decompressStream", sk_zstd_decompress_stream_fn.self),
            let isError = symbol("ZSTD_isError", sk_zstd_is_error_fn.self),
            let errorName = symbol("ZSTD_getErrorName", sk_zstd_error_name_fn.self),
            let version = symbol("ZSTD_versionNumber", sk_zstd_version_number_fn.self)
        else {
            return .failure(.compression("the zstd library found lacks the streaming API of zstd 1.4 (too old?)"))
        }
        let number = version()
        guard number >= 10400 else {
            return .failure(.compression("zstd \(number / 10000).\(number / 100 % 100) is too old: 1.4.0 or later is needed"))
        }
        return .success(Zstd(
            createCCtx: createCCtx, freeCCtx: freeCCtx, setParameter: setParameter, compressStream2: compressStream2,
            createDCtx: createDCtx, freeDCtx: freeDCtx, decompressStream: decompressStream, isError: isError,
            errorName: errorName, versionNumber: number))
    }

    /// The library, or the error that says why it is missing.
    static func get() throws(CaptureError) -> Zstd {
        switch shared {
        case .success(let z): return z
        case .failure(let e): throw e
        }
    }

    func check(_ code: Int, _ what: String) throws(CaptureError) {
        if self.isError(code) != 0 {
            throw .compression("\(what): \(self.errorName(code).map { String(cString: $0) } ?? "error \(code)")")
        }
    }

    /// The magic number every zstd frame starts with (RFC 8878, 3.1.1), little-endian on disk.
    static let magic: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD]
}

/// A streaming compressor: bytes in, compressed bytes appended to an output buffer; `flush` makes everything so
/// far decodable (a zstd block boundary); `end` closes the frame (with its checksum).
final class ZstdCompressor {
    private let zstd: Zstd
    private let cctx: UnsafeMutableRawPointer
    /// Compressed bytes waiting to be written.
    var output: [UInt8] = []
    private var scratch = [UInt8](repeating: 0, count: 128 << 10)

    init(level: Int) throws(CaptureError) {
        self.zstd = try Zstd.get()
        guard let cctx = self.zstd.createCCtx() else { throw .compression("ZSTD_createCCtx failed (out of memory)") }
        self.cctx = cctx
        do {
            try self.zstd.check(self.zstd.setParameter(cctx, Int32(SK_ZSTD_C_COMPRESSION_LEVEL), Int32(level)), "level \(level)")
            try self.zstd.check(self.zstd.setParameter(cctx, Int32(SK_ZSTD_C_CHECKSUM_FLAG), 1), "checksum")
        } catch {
            _ = self.zstd.freeCCtx(cctx)
            throw error
        }
    }

    deinit { _ = self.zstd.freeCCtx(self.cctx) }

    func compress(_ bytes: UnsafeRawBufferPointer) throws(CaptureError) {
        try self.run(bytes, op: Int32(SK_ZSTD_E_CONTINUE))
    }

    func flush() throws(CaptureError) { try self.run(UnsafeRawBufferPointer(start: nil, count: 0), op: Int32(SK_ZSTD_E_FLUSH)) }

    func end() throws(CaptureError) { try self.run(UnsafeRawBufferPointer(start: nil, count: 0), op: Int32(SK_ZSTD_E_END)) }

    private func run(_ bytes: UnsafeRawBufferPointer, op: Int32) throws(CaptureError) {
        var input = sk_zstd_in_buffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        let zstd = self.zstd
        let cctx = self.cctx
        while true {
            let (remaining, produced): (Int, Int) = self.scratch.withUnsafeMutableBytes { out in
                var o = sk_zstd_out_buffer(dst: out.baseAddress, size: out.count, pos: 0)
                let r = zstd.compressStream2(cctx, &o, &input, op)
                return (r, o.pos)
            }
            try zstd.check(remaining, "zstd compression")
            if produced > 0 { self.output.append(contentsOf: self.scratch[0..<produced]) }
            // continue: done once the input is consumed; flush/end: once zstd reports nothing left to write.
            if op == Int32(SK_ZSTD_E_CONTINUE) ? input.pos == input.size : remaining == 0 { return }
        }
    }
}

/// A streaming decompressor over a sequence of zstd frames (files concatenated by rotation stay readable).
final class ZstdDecompressor {
    private let zstd: Zstd
    private let dctx: UnsafeMutableRawPointer
    /// 0 once the last frame is complete; otherwise zstd's hint that more input is expected.
    private(set) var pending = 0

    init() throws(CaptureError) {
        self.zstd = try Zstd.get()
        guard let dctx = self.zstd.createDCtx() else { throw .compression("ZSTD_createDCtx failed (out of memory)") }
        self.dctx = dctx
    }

    deinit { _ = self.zstd.freeDCtx(self.dctx) }

    /// Decompresses from `input` (advancing `consumed`) into `output` (from `written`), until either is exhausted.
    func decompress(
        _ input: UnsafeRawBufferPointer, consumed: inout Int, into output: UnsafeMutableRawBufferPointer, written: inout Int
    ) throws(CaptureError) {
        // No input: nothing to do (zstd would answer with the next frame header's size, as if a frame were open).
        guard consumed < input.count else { return }
        var i = sk_zstd_in_buffer(src: input.baseAddress, size: input.count, pos: consumed)
        var o = sk_zstd_out_buffer(dst: output.baseAddress, size: output.count, pos: written)
        let r = self.zstd.decompressStream(self.dctx, &o, &i)
        consumed = i.pos
        written = o.pos
        try self.zstd.check(r, "zstd data is corrupt")
        self.pending = r
    }
}
