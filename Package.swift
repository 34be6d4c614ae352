// swift-tools-version: 6.1
import PackageDescription

/// Settings every target shares: Swift 6 language mode plus the upcoming features
/// `Docs/architecture.md` asks for.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "Floe",
    products: [
        // What applications import: the runtime, FloeIce and the NIO transport.
        .library(name: "Floe", targets: ["Floe"]),
        .library(name: "FloeEncoding", targets: ["FloeEncoding"]),
        .library(name: "FloeProtocol", targets: ["FloeProtocol"]),
        // FloeIce comes with FloeCore: generated code that uses Ice's Locator, Process, Router or
        // built-in sequences imports it.
        .library(name: "FloeCore", targets: ["FloeCore", "FloeIce"]),
        .library(name: "FloeNIO", targets: ["FloeNIO"]),
        .library(name: "SliceParser", targets: ["SliceParser"]),
        .library(name: "SliceSwiftGen", targets: ["SliceSwiftGen"]),
        .executable(name: "slice2floe", targets: ["slice2floe"]),
        .plugin(name: "Slice2FloeBuildPlugin", targets: ["Slice2FloeBuildPlugin"]),
        .executable(name: "floe-demo", targets: ["floe-demo"]),
        .library(name: "FloeRegistry", targets: ["FloeRegistry"]),
        .executable(name: "floe-registry", targets: ["floe-registry"]),
        .executable(name: "floe-admin", targets: ["floe-admin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // `swift package generate-documentation --target Floe` (Tools/scripts/check-docs.sh).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
        // floe-registry's storage (SQLite, bundled: no system library needed).
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        // zlib message compression (Floe's preferred codec), over the system's libz.
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        // TLS (ssl endpoints), and reading certificate subjects for IceSSL.TrustOnly.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        // Observability: call and connection metrics, and spans with trace context in requests.
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
    ],
    targets: [
        // Compiler half: never imports the runtime.
        .target(name: "SliceAST", swiftSettings: strictSettings),
        .target(name: "SliceParser", dependencies: ["SliceAST"], swiftSettings: strictSettings),
        .target(name: "SliceSwiftGen", dependencies: ["SliceAST"], swiftSettings: strictSettings),
        .executableTarget(
            name: "slice2floe",
            dependencies: [
                "SliceAST", "SliceParser", "SliceSwiftGen",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),

        .plugin(
            name: "Slice2FloeBuildPlugin",
            capability: .buildTool(),
            dependencies: ["slice2floe"],
            path: "Tools/Plugins/Slice2FloeBuildPlugin"
        ),

        // Runtime half.
        .target(
            name: "FloeEncoding",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "FloeProtocol",
            dependencies: ["FloeEncoding", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
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
            swiftSettings: strictSettings
        ),
        .target(
            name: "FloeNIO",
            dependencies: [
                "FloeCore", "FloeProtocol", "FloeBZip2", "FloeZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                // ssl endpoints: only this module imports NIOSSL.
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                // ws and wss endpoints: the HTTP upgrade and WebSocket frames.
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Floe",
            dependencies: [
                "FloeCore", "FloeIce", "FloeNIO", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings),
        .target(
            name: "FloeIce",
            dependencies: ["FloeCore"],
            exclude: ["slice-plugin.json"],
            swiftSettings: strictSettings,
            plugins: ["Slice2FloeBuildPlugin"]
        ),
        // Message compression codecs: bzip2 (ZeroC 3.7's, on the system's libbzip2) and zlib
        // (Floe's own choice between Floe peers, on compress-nio).
        .systemLibrary(name: "CBZip2", path: "Sources/CBZip2", providers: [.apt(["libbz2-dev"])]),
        .target(
            name: "FloeBZip2",
            dependencies: ["CBZip2", "FloeProtocol", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "FloeZlib",
            dependencies: [
                "FloeProtocol", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CompressionCodecTests",
            dependencies: [
                "FloeBZip2", "FloeZlib", "FloeProtocol", "VectorFixtures",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // The locator registry (floe-registry's engine), built with the application API.
        .target(
            name: "FloeRegistry",
            dependencies: [
                "FloeCore", "FloeIce", "FloeEncoding", .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["slice-plugin.json"],
            swiftSettings: strictSettings,
            plugins: ["Slice2FloeBuildPlugin"]
        ),
        .executableTarget(
            name: "floe-registry",
            dependencies: [
                "Floe", "FloeRegistry", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "floe-admin",
            dependencies: [
                "Floe", "FloeRegistry", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "floe-demo",
            dependencies: [
                "Floe", "FloeRegistry", .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings,
            plugins: ["Slice2FloeBuildPlugin"]
        ),
        .executableTarget(
            name: "floe-bench",
            dependencies: [
                "FloeCore", "FloeIce", "FloeNIO", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings,
            plugins: ["Slice2FloeBuildPlugin"]
        ),
        .testTarget(
            name: "SliceParserTests",
            dependencies: ["SliceAST", "SliceParser", "TestSupport"],
            resources: [.copy("Inputs")],
            swiftSettings: strictSettings
        ),
        // Runs the slice2floe that `swift build --build-tests` builds next to the test bundle (a
        // dependency on the executable target would link its objects twice).
        .testTarget(
            name: "Slice2FloeTests",
            dependencies: ["TestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SliceSwiftGenTests",
            dependencies: ["SliceAST", "SliceParser", "SliceSwiftGen"],
            exclude: ["Golden"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GeneratedCodeTests",
            dependencies: [
                "Floe", "FloeBZip2", "FloeCore", "FloeIce", "FloeNIO", "FloeProtocol", "FloeRegistry", "TestSupport",
                "VectorFixtures", .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            exclude: ["Peers"],
            swiftSettings: strictSettings,
            plugins: ["Slice2FloeBuildPlugin"]
        ),
        .testTarget(
            name: "FloeCoreTests",
            dependencies: [
                "FloeCore", "FloeEncoding", "FloeProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FloeEncodingTests",
            dependencies: [
                "FloeEncoding", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        // What tests share to keep blocking work off the cooperative pool.
        .target(
            name: "TestSupport",
            path: "Tests/TestSupport",
            swiftSettings: strictSettings
        ),
        // The ZeroC captures, shared by the tests that check bytes against them.
        .target(
            name: "VectorFixtures",
            path: "Tests/VectorFixtures",
            resources: [.copy("Vectors")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FloeProtocolTests",
            dependencies: [
                "FloeEncoding", "FloeProtocol", "VectorFixtures",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
