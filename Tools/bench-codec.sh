#!/usr/bin/env bash
# Floe's encoder against ZeroC's C++ streams, in memory (no network), interleaved in one sitting.
#
#   Tools/bench-codec.sh [--rounds N] [codec options...]     (options: --items, --nodes, --rounds
#                                                              per process; see floe-bench codec)
#
# Builds floe-bench in release mode and Tools/cpp-codec (ZeroC Ice 3.7's C++ runtime; needs
# libzeroc-ice-dev and zeroc-ice-compilers), runs each N times (default 5) alternately, and
# prints per operation the median ns per element of each and the Floe/C++ ratio (≤1: Floe as
# fast or faster). The networked workloads of Tools/bench.sh vary by 10–30% from run to run;
# these figures vary by a few percent, so they show what an encoder change is worth.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=5
if [ "${1-}" = --rounds ]; then rounds=$2; shift 2; fi
make -s -C Tools/cpp-codec >&2
swift build -c release --product floe-bench >&2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for round in $(seq "$rounds"); do
    echo "round $round/$rounds" >&2
    .build/release/floe-bench codec "$@" | sed 's/^{/{"peer":"floe",/' >>"$out"
    Tools/cpp-codec/build/cpp-codec "$@" | sed 's/^{/{"peer":"cpp",/' >>"$out"
done

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
print("%-16s %8s %12s %12s   %s" % ("operation", "count", "floe ns", "cpp ns", "floe / cpp (≤1 is parity)"))
for codec in dict.fromkeys(r["codec"] for r in rows):
    median = {peer: statistics.median(r["ns_per_element"] for r in rows if r["codec"] == codec and r["peer"] == peer)
              for peer in ("floe", "cpp")}
    count = next(r["count"] for r in rows if r["codec"] == codec)
    print("%-16s %8d %12.2f %12.2f   %.2f" % (codec, count, median["floe"], median["cpp"], median["floe"] / median["cpp"]))
PY
