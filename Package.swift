// swift-tools-version: 6.1
import PackageDescription

/// Settings every target shares: Swift 6 language mode plus the upcoming features
/// `Docs/architecture.md` asks for.
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Floe",
    products: [
        .library(name: "FloeEncoding", targets: ["FloeEncoding"]),
        .library(name: "FloeProtocol", targets: ["FloeProtocol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
    ],
    targets: [
        .target(
            name: "FloeEncoding",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "FloeProtocol",
            dependencies: ["FloeEncoding", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FloeEncodingTests",
            dependencies: [
                "FloeEncoding",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "FloeProtocolTests",
            dependencies: [
                "FloeEncoding", "FloeProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            resources: [.copy("Vectors")],
            swiftSettings: strictSettings
        ),
    ]
)
