// swift-tools-version: 6.1
// The decoder fuzzer lives in its own package so the main package never carries its flags.
// Run it with Tools/fuzz/run.sh.
import PackageDescription

let package = Package(
    name: "FloeFuzz",
    dependencies: [.package(name: "Floe", path: "../..")],
    targets: [
        .executableTarget(
            name: "FloeDecoderFuzzer",
            dependencies: [
                .product(name: "FloeEncoding", package: "Floe"),
                .product(name: "FloeProtocol", package: "Floe"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
