// swift-tools-version: 6.1
// The fuzzers live in their own package so the main package never carries their flags. They
// compile Floe's runtime sources themselves (Runtime/ links to ../../Sources): a dependency on
// the Floe package would also build its Slice build plugin's tool with the fuzzer's sanitizer,
// whose libFuzzer `main` clashes with the tool's own. Run them with Tools/fuzz/run.sh.
import PackageDescription

let settings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "FloeFuzz",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
    ],
    targets: [
        .target(
            name: "FloeEncoding",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
            ],
            path: "Runtime/FloeEncoding", swiftSettings: settings),
        .target(
            name: "FloeProtocol", dependencies: ["FloeEncoding", .product(name: "NIOCore", package: "swift-nio")],
            path: "Runtime/FloeProtocol", swiftSettings: settings),
        .target(
            name: "FloeCore",
            dependencies: [
                "FloeEncoding", "FloeProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Runtime/FloeCore", swiftSettings: settings),
        .systemLibrary(name: "CBZip2", path: "Runtime/CBZip2"),
        .target(
            name: "FloeBZip2",
            dependencies: ["CBZip2", "FloeProtocol", .product(name: "NIOCore", package: "swift-nio")],
            path: "Runtime/FloeBZip2", swiftSettings: settings),
        .target(
            name: "FloeZlib",
            dependencies: [
                "FloeProtocol", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            path: "Runtime/FloeZlib", swiftSettings: settings),
        .target(
            name: "FloeNIO",
            dependencies: [
                "FloeCore", "FloeProtocol", "FloeBZip2", "FloeZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Runtime/FloeNIO", swiftSettings: settings),
        // Values, exceptions, proxies and messages decoded from raw bytes.
        .executableTarget(
            name: "FloeDecoderFuzzer", dependencies: ["FloeEncoding", "FloeProtocol"],
            swiftSettings: [.swiftLanguageMode(.v6)]),
        // Whole frames into a server connection (its real handler, through a testing channel),
        // or into a client connection (FLOE_FUZZ_SIDE=client).
        .executableTarget(
            name: "FloeFrameFuzzer",
            dependencies: [
                "FloeCore", "FloeEncoding", "FloeNIO", "FloeProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]),
    ]
)
