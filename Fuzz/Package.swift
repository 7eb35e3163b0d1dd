// swift-tools-version: 6.1
//
// libFuzzer targets for StreamKit (issue: reliability). Built apart from the main package because they need
// `-sanitize=fuzzer` and `-parse-as-library` (libFuzzer provides `main`). Run them with `make fuzz` at the top.
// SPDX-License-Identifier: Apache-2.0

import PackageDescription

let fuzzing: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "StreamKitFuzz",
    dependencies: [.package(name: "StreamKit", path: "..")],
    targets: [
        /// The glue to libFuzzer's driver, shared by the fuzzers.
        .target(name: "FuzzDriver"),
        /// The scanner and decoder: any bytes as a frame (typed decode, JSONValue, the normalised rendering).
        .executableTarget(
            name: "FuzzDecoder",
            dependencies: ["FuzzDriver", .product(name: "StreamKit", package: "StreamKit")],
            swiftSettings: fuzzing
        ),
        /// The session engine: any sequence of server frames, closes, timeouts and user calls.
        .executableTarget(
            name: "FuzzSession",
            dependencies: ["FuzzDriver", .product(name: "StreamKit", package: "StreamKit")],
            swiftSettings: fuzzing
        ),
        /// The WebSocket parser: any bytes as the stream after the upgrade, in one piece, split, and byte by byte.
        .executableTarget(
            name: "FuzzWebSocket",
            dependencies: ["FuzzDriver", .product(name: "StreamKit", package: "StreamKit")],
            swiftSettings: fuzzing
        ),
    ]
)
