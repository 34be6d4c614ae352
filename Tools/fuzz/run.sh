#!/usr/bin/env bash
# Builds the decoder fuzzer with coverage counters and runs it for SECONDS (default 60).
# Without -sanitize-coverage this toolchain's --sanitize=fuzzer leaves the code uninstrumented
# and libFuzzer runs blind.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
swift build -c release --sanitize=fuzzer \
    -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp
mkdir -p corpus
exec .build/release/FloeDecoderFuzzer corpus -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096
