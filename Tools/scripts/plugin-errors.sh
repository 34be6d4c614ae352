#!/usr/bin/env bash
# The build plugin's configuration mistakes stop a user's build with one clear line naming the
# file: a misspelt key of slice-plugin.json, a value of the wrong type, a search path that does
# not exist. A throwaway package with a path dependency on this checkout; SwiftPM stops while
# planning, after building only slice2floe (about 30 s).
set -euo pipefail
floe=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$floe/Tools/scripts/swiftpm.sh"
cat > "$work/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "PluginErrors",
    dependencies: [.package(name: "Floe", path: "$floe")],
    targets: [
        .executableTarget(
            name: "App", dependencies: [.product(name: "Floe", package: "Floe")], exclude: ["slice-plugin.json"],
            plugins: [.plugin(name: "Slice2FloeBuildPlugin", package: "Floe")])
    ]
)
SWIFT
mkdir -p "$work/Sources/App"
echo "module App { interface I { void f(); } }" > "$work/Sources/App/App.ice"
echo 'print("unreachable")' > "$work/Sources/App/main.swift"

# Builds with slice-plugin.json $1 and expects the failure $2. (The plugin stops at a target's
# first mistake, so one build each; only the first builds slice2floe.)
expect() {
    echo "$1" > "$work/Sources/App/slice-plugin.json"
    touch "$work/Package.swift"   # (SwiftPM may not notice the edit otherwise)
    if swiftpm build --package-path "$work" > "$work/build.log" 2>&1; then
        echo "plugin-errors: the build with $1 succeeded" >&2
        exit 1
    fi
    grep "Sources/App/slice-plugin.json: error: " "$work/build.log" | grep -qF "$2" && return 0
    cat "$work/build.log" >&2
    echo "plugin-errors: no '$2' in the output of the build with $1" >&2
    exit 1
}
expect '{ "source": ["App.ice"] }' "unknown key 'source' (it takes sources and search_paths)"
expect '{ "sources": "App.ice" }' "typeMismatch"
expect '{ "search_paths": ["../Nowhere"] }' "'../Nowhere' does not exist"
echo "plugin-errors: a misspelt key, a wrong type and a missing search path each stop the build, naming the file"
