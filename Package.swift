// swift-tools-version: 6.1
//
// StreamKit: a client SDK for the CoinMarketCap Pro WebSocket stream.
// SPDX-License-Identifier: Apache-2.0

import PackageDescription

/// Strictness every StreamKit target opts into (swift-websocket does the same).
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "StreamKit",
    products: [
        .library(name: "StreamKit", targets: ["StreamKit"]),
        .library(name: "StreamKitClient", targets: ["StreamKitClient"]),
        .library(name: "StreamKitSimulator", targets: ["StreamKitSimulator"]),
        .library(name: "StreamKitCapture", targets: ["StreamKitCapture"]),
        .executable(name: "streamkit", targets: ["streamkit"]),
        /// The C ABI (include/streamkit.h) as a shared library. `make lib` builds it self-contained (Swift runtime
        /// linked in, only `sk_*` exported) as `libstreamkit.so`; the executable above already has that name.
        .library(name: "StreamKitABI", type: .dynamic, targets: ["CABI"]),
    ],
    dependencies: [
        // Command-line parsing for the `streamkit` CLI and the benchmark.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The transport: WebSockets and TLS over SwiftNIO.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // Deque for the delivery queue.
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        // Counts heap allocations in the benchmarks (the allocation figures in docs/benchmarks.md).
        .package(url: "https://github.com/ordo-one/malloc-interposer", from: "1.6.1"),
    ],
    targets: [
        // MARK: - Targets

        /// The core: wire protocol, zero-copy key scanner, typed payloads. No I/O, no NIO.
        .target(
            name: "StreamKit",
            swiftSettings: strictSettings
        ),

        /// The client: NIO transport (ws:// and wss://) driving the core's sans-I/O `SessionPool`, and the Swift API.
        /// The only target that imports NIO.
        .target(
            name: "StreamKitClient",
            dependencies: [
                "StreamKit",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),

        /// The simulator: a protocol-faithful stream server (pure engine and market model; NIO server).
        .target(
            name: "StreamKitSimulator",
            dependencies: [
                "StreamKit",
                "StreamKitCapture",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),

        /// zstd's stable streaming types (Sources/CZstd/include/czstd.h), declared by us: libzstd.so.1 is loaded at
        /// run time, so building needs no zstd headers.
        .target(name: "CZstd"),

        /// Captures: the record format (header, frame and lifecycle lines), zstd through dlopen, rotation by size
        /// and time, and the readers. No NIO.
        .target(
            name: "StreamKitCapture",
            dependencies: ["StreamKit", "CZstd"],
            swiftSettings: strictSettings
        ),

        /// The fault soak: the client against the simulator under scripted and random faults, sent versus delivered.
        .target(
            name: "StreamKitSoak",
            dependencies: [
                "StreamKit",
                "StreamKitClient",
                "StreamKitSimulator",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),

        /// The C header (include/streamkit.h, include/streamkit_payloads.h) as a Clang module for the C ABI.
        .target(name: "CStreamKit"),

        /// The C ABI: `@_cdecl` functions implementing include/streamkit.h over `StreamClient` (and the simulator).
        .target(
            name: "CABI",
            dependencies: [
                "CStreamKit",
                "StreamKit",
                "StreamKitCapture",
                "StreamKitClient",
                "StreamKitSimulator",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["exports.map"],
            swiftSettings: strictSettings,
            linkerSettings: [
                // Only the API is exported, under the name C programs link against.
                .unsafeFlags([
                    "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/CABI/exports.map",
                    "-Xlinker", "-soname=libstreamkit.so",
                ])
            ]
        ),

        /// Seeded corpus of realistic frames and JSONDecoder mirror types: shared by the differential tests, the
        /// benchmarks and the simulator. Independent of the decoder it is used to check.
        .target(
            name: "StreamKitTestSupport",
            dependencies: ["StreamKit"],
            swiftSettings: strictSettings
        ),

        /// The `streamkit` command: watch, record, replay, decode, sim, soak.
        .executableTarget(
            name: "streamkit",
            dependencies: [
                "StreamKit",
                "StreamKitCapture",
                "StreamKitClient",
                "StreamKitSimulator",
                "StreamKitSoak",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/StreamKitCLI",  // not Sources/streamkit: it would merge with Sources/StreamKit on a case-insensitive file system
            swiftSettings: strictSettings
        ),

        /// `swift run -c release streamkit-bench`: decode throughput against Foundation, same corpus, same run.
        .executableTarget(
            name: "streamkit-bench",
            dependencies: [
                "CStreamKit",
                "StreamKit",
                "StreamKitCapture",
                "StreamKitTestSupport",
                "StreamKitSimulator",
                "StreamKitClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ],
            path: "Benchmarks/streamkit-bench",
            swiftSettings: strictSettings
        ),

        /// The Swift consumers of the live benchmark (`Benchmarks/live.py`): CPU per message, RSS, latency.
        .executableTarget(
            name: "streamkit-livebench",
            dependencies: [
                "StreamKit",
                "StreamKitClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Benchmarks/streamkit-livebench",
            swiftSettings: strictSettings
        ),

        // MARK: - Tests

        .testTarget(
            name: "StreamKitTests",
            dependencies: ["StreamKit", "StreamKitTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StreamKitClientTests",
            dependencies: [
                "StreamKitClient",
                "StreamKitCapture",
                "StreamKitSimulator",
                "StreamKitSoak",
                "StreamKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
