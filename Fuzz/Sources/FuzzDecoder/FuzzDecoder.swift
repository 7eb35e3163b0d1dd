// This source file is part of StreamKit.
// SPDX-License-Identifier: Apache-2.0

// libFuzzer entry point: one input = one frame. Every decoding path must return a value or a typed error, never
// trap, and never read outside the input (AddressSanitizer checks that).

import FuzzDriver
import StreamKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecoder(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let decoder = FrameDecoder()
    var frame = DecodedFrame()
    if (try? decoder.decode(bytes, into: &frame)) != nil {
        // Read everything the frame offers: envelope, typed payload, every text slice.
        _ = frame.frame
        if case .data(let d) = frame.frame {
            _ = d.params
            _ = d.payload.unknownKeyCount
            _ = d.channelName.string(in: bytes)
        }
    }
    let array = Array(bytes)
    if let value = try? JSONValue(parsing: array) {
        _ = value["data"]?["p"]?.double
        _ = value["data"]?["p"]?.decimal
        _ = value.elements.count
    }
    _ = NormalizedJSON.render(array)
    return 0
}

// SwiftPM links an executable's entry point as `FuzzDecoder_main`; hand it to libFuzzer's driver.
@_cdecl("FuzzDecoder_main")
public func fuzzDecoderMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzDecoder)
}
