#!/usr/bin/env bash
# Builds the DocC documentation of the `Floe` module (its catalog: Sources/Floe/Floe.docc) and
# fails on any warning, so broken links and stale symbol names are caught. Output goes to
# .build/docs (open Floe.doccarchive with `xcrun docc preview`, or serve it statically).
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .build/docs
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift package --allow-writing-to-directory .build/docs generate-documentation --target Floe \
    --output-path .build/docs/Floe.doccarchive >"$log" 2>&1 || { cat "$log"; exit 1; }
# (SwiftPM's note that a dependency ships files it does not declare — swift-distributed-tracing's
# CMakeLists.txt — is about that package's manifest, not this documentation.)
if grep -E "warning:|error:" "$log" | grep -v "which are unhandled; explicitly declare them as resources"; then
    echo "check-docs: the documentation has warnings" >&2
    exit 1
fi
echo "check-docs: Floe.doccarchive built without warnings"
