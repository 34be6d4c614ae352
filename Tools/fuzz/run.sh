#!/usr/bin/env bash
# Builds a fuzzer with coverage counters and runs it for SECONDS (default 60):
#   Tools/fuzz/run.sh [decoder|frames|client-frames] [SECONDS]
# decoder: bytes decoded as values, exceptions, proxies and messages (FloeDecoderFuzzer).
# frames:  a client's byte stream fed to a server connection's real handler through a testing
#          channel (FloeFrameFuzzer), seeded with the client side of the 52 ZeroC captures.
# client-frames: a server's byte stream fed to a client connection with four calls waiting
#          and an adapter for callbacks (FloeFrameFuzzer, FLOE_FUZZ_SIDE=client), seeded with
#          the server side of the captures.
# Without -sanitize-coverage this toolchain's --sanitize=fuzzer leaves the code uninstrumented
# and libFuzzer runs blind.
set -euo pipefail
cd "$(dirname "$0")"
target=decoder
if [ "${1:-}" = decoder ] || [ "${1:-}" = frames ] || [ "${1:-}" = client-frames ]; then target=$1; shift; fi
seconds=${1:-60}
product=$([ "$target" = decoder ] && echo FloeDecoderFuzzer || echo FloeFrameFuzzer)
# AddressSanitizer too: Floe's raw readers and writers, the WebSocket unmasking and the codecs'
# C libraries work on unsafe pointers, where an overrun would otherwise go unnoticed.
swift build -c release --product "$product" --sanitize=fuzzer --sanitize=address \
    -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp
if [ "$target" = decoder ]; then
    mkdir -p corpus
    exec .build/release/FloeDecoderFuzzer corpus -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=4096
fi
# Seeds: what each captured ZeroC client (or server) sent on its first connection.
corpus=corpus-frames direction=c2s
if [ "$target" = client-frames ]; then corpus=corpus-client-frames direction=s2c; export FLOE_FUZZ_SIDE=client; fi
mkdir -p "$corpus"
python3 - ../../Tests/VectorFixtures/Vectors "$corpus" "$direction" <<'PY'
import os, sys
source, target, wanted = sys.argv[1], sys.argv[2], sys.argv[3]
for name in sorted(os.listdir(source)):
    data, direction = b"", None
    for line in open(os.path.join(source, name)):
        if line.startswith("message: "):
            fields = line.split()
            direction = fields[2] if fields[1] == "1" else None
        elif line.startswith("hex: ") and direction == wanted:
            data += bytes.fromhex(line[5:].strip())
    if data:
        open(os.path.join(target, "seed-" + name[:-4]), "wb").write(data)
PY
exec .build/release/FloeFrameFuzzer "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=8192 \
    -timeout=10
