#!/usr/bin/env bash
# Regenerates the committed Swift code for Protos/bench.proto into Sources/grpc-bench/Generated.
#
#   Tools/grpc-bench/generate.sh [--build-plugins]
#
# The code is generated once and committed rather than generated at build time: the SwiftPM
# build plugin builds protoc-gen-swift and protoc itself, which takes many minutes on a
# 2-core machine, on every clean build.
#
# Needs:
#   - protoc (Debian: apt-get install -y protobuf-compiler; 3.21.12 was used);
#   - protoc-gen-swift from apple/swift-protobuf 1.39.0 and protoc-gen-grpc-swift-2 from
#     grpc/grpc-swift-protobuf 2.4.1, on PATH or named by $PROTOC_GEN_SWIFT and
#     $PROTOC_GEN_GRPC_SWIFT. With --build-plugins the script builds both (debug, about a
#     minute) in a scratch package under ${PLUGIN_DIR:-/tmp/grpc-bench-plugins}, outside the
#     repository, and uses those.
#
# The versions matter only in that they are the ones Package.swift depends on: code from a
# newer generator may need a newer runtime library.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--build-plugins" ]; then
    dir=${PLUGIN_DIR:-/tmp/grpc-bench-plugins}
    mkdir -p "$dir/Sources/plugins"
    cat >"$dir/Package.swift" <<'SWIFT'
// swift-tools-version:6.1
// Scratch package, only to build the protoc plugins for Tools/grpc-bench/generate.sh.
import PackageDescription
let package = Package(
    name: "grpc-bench-plugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    ],
    targets: [
        .target(name: "plugins", dependencies: [
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        ])
    ]
)
SWIFT
    echo "// Empty: the package exists for its dependencies' executables." >"$dir/Sources/plugins/Empty.swift"
    (cd "$dir" && swift build --product protoc-gen-swift && swift build --product protoc-gen-grpc-swift-2) >&2
    PROTOC_GEN_SWIFT=$dir/.build/debug/protoc-gen-swift
    PROTOC_GEN_GRPC_SWIFT=$dir/.build/debug/protoc-gen-grpc-swift-2
fi

PROTOC_GEN_SWIFT=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
PROTOC_GEN_GRPC_SWIFT=${PROTOC_GEN_GRPC_SWIFT:-$(command -v protoc-gen-grpc-swift-2 || true)}
command -v protoc >/dev/null || { echo "generate.sh: no protoc (apt-get install -y protobuf-compiler)" >&2; exit 2; }
[ -x "$PROTOC_GEN_SWIFT" ] || { echo "generate.sh: no protoc-gen-swift; set PROTOC_GEN_SWIFT or use --build-plugins" >&2; exit 2; }
[ -x "$PROTOC_GEN_GRPC_SWIFT" ] || { echo "generate.sh: no protoc-gen-grpc-swift-2; set PROTOC_GEN_GRPC_SWIFT or use --build-plugins" >&2; exit 2; }

echo "protoc: $(protoc --version); $("$PROTOC_GEN_SWIFT" --version); $("$PROTOC_GEN_GRPC_SWIFT" --version)" >&2
out=$here/Sources/grpc-bench/Generated
mkdir -p "$out"
# Internal visibility: the messages and stubs are used by this executable only.
protoc \
    --proto_path="$here/Protos" \
    --plugin=protoc-gen-swift="$PROTOC_GEN_SWIFT" \
    --plugin=protoc-gen-grpc-swift-2="$PROTOC_GEN_GRPC_SWIFT" \
    --swift_out="$out" --swift_opt=Visibility=Internal \
    --grpc-swift-2_out="$out" --grpc-swift-2_opt=Visibility=Internal,Server=true,Client=true \
    bench.proto
echo "generate.sh: wrote $(cd "$out" && ls ./*.swift | tr '\n' ' ')" >&2
