// swift-tools-version: 6.2
import PackageDescription

// Floe's observability wired to an operator's backends: spans exported over OTLP/HTTP by
// swift-otel, metrics served to Prometheus by swift-prometheus. Not built by CI (swift-otel's
// dependencies take several minutes to build); see README.md here.
let package = Package(
    name: "FloeObservabilityExample",
    dependencies: [
        .package(name: "Floe", path: "../../.."),
        // OTLP over HTTP only: the gRPC exporter would bring grpc-swift too.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // The Slice both processes share, compiled by Floe's build plugin.
        .target(
            name: "Greeter",
            dependencies: [.product(name: "Floe", package: "Floe")],
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "Slice2FloeBuildPlugin", package: "Floe")]
        ),
        .executableTarget(
            name: "greeter-server",
            dependencies: [
                "Greeter", .product(name: "Floe", package: "Floe"), .product(name: "OTel", package: "swift-otel"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "greeter-client",
            dependencies: [
                "Greeter", .product(name: "Floe", package: "Floe"), .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
