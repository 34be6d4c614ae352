// swift-tools-version:6.1
// A gRPC peer for Floe's benchmark (../../shared/peers/BENCH.md): grpc-swift-2 over its NIO
// HTTP/2 transport, for comparison with Floe on the same workloads. A package of its own so
// that the Floe package never depends on gRPC; see Docs/benchmark.md, "gRPC comparison peer".
import PackageDescription

/// The Floe package's settings: Swift 6 language mode and the same upcoming features, so both
/// peers are compiled under the same concurrency semantics.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
]

let package = Package(
    name: "grpc-bench",
    dependencies: [
        // Exact versions: the committed generated code (Sources/grpc-bench/Generated) was made
        // by the generators of these releases; see generate.sh.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        // No default traits, as grpc-swift-protobuf asks: they pull in Foundation streams.
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0", traits: []),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "grpc-bench",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        )
    ]
)
