#!/usr/bin/env bash
# Times `slice2floe` (release build) against ZeroC's `slice2cpp` on the whole ZeroC
# Slice corpus from Debian's zeroc-ice-slice, and prints both and their ratio. A benchmark, not a
# test: run it on a quiet machine; runs alternate to even out noise.
#   Tools/bench-compiler.sh [ROUNDS]     (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
corpus=/usr/share/ice/slice
command -v slice2cpp >/dev/null || { echo "slice2cpp not found: apt-get install zeroc-ice-compilers" >&2; exit 1; }
[ -d "$corpus" ] || { echo "$corpus not found: apt-get install zeroc-ice-slice" >&2; exit 1; }

swift build -c release --product slice2floe >/dev/null
floe=.build/release/slice2floe
files=$(find "$corpus" -name '*.ice' | sort)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

now() { date +%s.%N; }
floe_total=0
cpp_total=0
for round in $(seq "$rounds"); do
    start=$(now)
    # shellcheck disable=SC2086
    "$floe" -I "$corpus" --ice-module Ice --output-dir "$out/floe" $files 2>/dev/null
    floe_time=$(echo "$(now) - $start" | bc)
    start=$(now)
    # shellcheck disable=SC2086
    slice2cpp --ice -I "$corpus" --output-dir "$out" $files 2>/dev/null
    cpp_time=$(echo "$(now) - $start" | bc)
    printf 'round %d: slice2floe %.3f s, slice2cpp %.3f s\n' "$round" "$floe_time" "$cpp_time"
    floe_total=$(echo "$floe_total + $floe_time" | bc)
    cpp_total=$(echo "$cpp_total + $cpp_time" | bc)
done
printf 'files: %d, rounds: %d\n' "$(echo "$files" | wc -l)" "$rounds"
printf 'slice2floe:            %.3f s per run\n' "$(echo "$floe_total / $rounds" | bc -l)"
printf 'slice2cpp:             %.3f s per run\n' "$(echo "$cpp_total / $rounds" | bc -l)"
printf 'ratio slice2floe/slice2cpp: %.2f (below 1 means slice2floe is faster)\n' "$(echo "$floe_total / $cpp_total" | bc -l)"
