// swift-tools-version: 6.1
// A package as a Floe user writes it, following only the README: a path dependency on Floe and
// the build plugin on a target with its own Slice. Tools/test.sh builds and runs it.
import PackageDescription

let package = Package(
    name: "PluginConsumer",
    dependencies: [.package(name: "Floe", path: "../..")],
    targets: [
        .executableTarget(
            name: "Consumer",
            dependencies: [.product(name: "Floe", package: "Floe"), "Clashing", "StdNames"],
            exclude: ["slice-plugin.json"],
            swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")],
            plugins: [.plugin(name: "Slice2FloeBuildPlugin", package: "Floe")]
        ),
        // ZeroC's IceStorm Slice from /usr/share/ice/slice next to the target's own
        // (Tools/scripts/icestorm.sh runs it against an IceStorm service).
        .executableTarget(
            name: "Storm",
            dependencies: [.product(name: "Floe", package: "Floe")],
            exclude: ["slice-plugin.json"],
            plugins: [.plugin(name: "Slice2FloeBuildPlugin", package: "Floe")]
        ),
        // A client behind ZeroC's Glacier2 router, with Glacier2's Slice from /usr/share/ice/slice
        // (Tools/scripts/glacier2.sh runs it against glacier2router).
        .executableTarget(
            name: "Callback",
            dependencies: [.product(name: "Floe", package: "Floe")],
            exclude: ["slice-plugin.json"],
            plugins: [.plugin(name: "Slice2FloeBuildPlugin", package: "Floe")]
        ),
        // Slice types named like Swift's standard types (`String`, `Int32`, `Error`, `Task`, ...).
        .target(
            name: "StdNames",
            dependencies: [.product(name: "Floe", package: "Floe")],
            plugins: [.plugin(name: "Slice2FloeBuildPlugin", package: "Floe")]
        ),
        // Slice types named like the runtime's (`Value`, `Current`, `Reply`, ...).
        .target(
            name: "Clashing",
            dependencies: [.product(name: "Floe", package: "Floe")],
            plugins: [.plugin(name: "Slice2FloeBuildPlugin", package: "Floe")]
        ),
    ]
)
