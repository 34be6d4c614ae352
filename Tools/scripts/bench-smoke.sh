#!/usr/bin/env bash
# A quick check that floe-bench works end to end (not a measurement): a debug floe-bench
# server and client run every workload with verification at a tiny scale, and must print one
# JSON line per workload. Used by Tools/test.sh; Tools/bench.sh does the real runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
bench=.build/debug/floe-bench
port=${BENCH_SMOKE_PORT:-10199}
log=$(mktemp)
$bench server --endpoints "tcp -h 127.0.0.1 -p $port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q '^ready' "$log" && break; sleep 0.1; done
grep -q '^ready' "$log" || { echo "bench-smoke: the server did not start" >&2; cat "$log" >&2; exit 1; }
lines=$($bench client --proxy "bench:tcp -h 127.0.0.1 -p $port" --scale 0.01 --runs 1 --shutdown | grep -c '^{"workload"')
[ "$lines" = 11 ] || { echo "bench-smoke: expected 11 results (every workload, throughput-z included), got $lines" >&2; exit 1; }
# The server exits after shutdown(); one that does not is a failure, not a hang.
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "bench-smoke: the server did not exit after shutdown()" >&2; exit 1; fi
# The in-memory codec timings: encode, then decode and check, both data sets.
lines=$($bench codec --items 100 --nodes 10 --rounds 2 | grep -c '^{"codec"')
[ "$lines" = 4 ] || { echo "bench-smoke: expected 4 codec results, got $lines" >&2; exit 1; }
# A bad command line exits with 2 (BENCH.md §6), including a proxy or endpoints that do not parse.
for args in "client --runs 0" "client --proxy bench:tcp-h" "server --endpoints tcp-h" "codec --rounds 0"; do
    status=0
    # shellcheck disable=SC2086
    $bench $args >/dev/null 2>&1 || status=$?
    [ "$status" = 2 ] || { echo "bench-smoke: 'floe-bench $args' exited with $status, not 2" >&2; exit 1; }
done
echo "bench-smoke: floe-bench client and server ran all 11 workloads with verification, codec timings decode what they encode; bad command lines exit 2"
