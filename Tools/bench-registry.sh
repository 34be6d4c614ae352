#!/usr/bin/env bash
# floe-registry beside IceGrid's icegridregistry, in one sitting, interleaved:
#   1. lookups per second (findAdapterById) from 8 concurrent clients, each with its own
#      connection, as clients with the locator cache off make them;
#   2. an indirect proxy (bench@BenchAdapter through floe-registry) against a direct one on the
#      same server: latency and pipelined calls once the first call has resolved it.
# Prints medians over N rounds (default 3) and the ratios. Needs Debian's zeroc-icegrid.
#
#   Tools/bench-registry.sh [--rounds N] [--calls N]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
calls=5000
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --calls) calls=$2; shift 2 ;;
        *) echo "usage: Tools/bench-registry.sh [--rounds N] [--calls N]" >&2; exit 2 ;;
    esac
done
command -v icegridregistry >/dev/null || { echo "bench-registry: icegridregistry is missing (apt-get install zeroc-icegrid)" >&2; exit 2; }
swift build -c release --product floe-bench >&2
swift build -c release --product floe-registry >&2
bench=.build/release/floe-bench
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
wait_for() { for _ in $(seq 300); do grep -q "$2" "$1" && return 0; sleep 0.1; done; cat "$1" >&2; echo "bench-registry: no '$2'" >&2; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

floe_port=$(port); grid_port=$(port)
.build/release/floe-registry --endpoints "tcp -h 127.0.0.1 -p $floe_port" > "$work/floe.out" 2>&1 &
pids+=($!)
mkdir -p "$work/lmdb"
icegridregistry --nowarn --Ice.PrintAdapterReady=1 --IceGrid.InstanceName=BenchGrid \
    --IceGrid.Registry.Client.Endpoints="tcp -h 127.0.0.1 -p $grid_port" \
    --IceGrid.Registry.Server.Endpoints="tcp -h 127.0.0.1" --IceGrid.Registry.Internal.Endpoints="tcp -h 127.0.0.1" \
    --IceGrid.Registry.LMDB.Path="$work/lmdb" --IceGrid.Registry.LMDB.MapSize=1 \
    --IceGrid.Registry.DynamicRegistration=1 --IceGrid.Registry.Discovery.Enabled=0 \
    --IceGrid.Registry.AdminPermissionsVerifier=BenchGrid/NullPermissionsVerifier > "$work/grid.out" 2>&1 &
pids+=($!)
wait_for "$work/floe.out" "ready"
wait_for "$work/grid.out" "Client ready"
floe_locator="FloeRegistry/Locator:tcp -h 127.0.0.1 -p $floe_port"
grid_locator="BenchGrid/Locator:tcp -h 127.0.0.1 -p $grid_port"

# One bench server registered with each registry.
server_port=$(port)
"$bench" server --endpoints "tcp -h 127.0.0.1 -p $server_port" --Ice.Default.Locator="$floe_locator" \
    --Bench.AdapterId=BenchAdapter > "$work/server.out" 2>&1 &
pids+=($!)
"$bench" server --endpoints "tcp -h 127.0.0.1 -p $(port)" --Ice.Default.Locator="$grid_locator" \
    --Bench.AdapterId=BenchAdapter > "$work/server2.out" 2>&1 &
pids+=($!)
wait_for "$work/server.out" "ready"
wait_for "$work/server2.out" "ready"

out="$work/results.jsonl"
for round in $(seq "$rounds"); do
    "$bench" lookups --locator "$floe_locator" --adapter BenchAdapter --calls "$calls" --label floe-registry >> "$out"
    "$bench" lookups --locator "$grid_locator" --adapter BenchAdapter --calls "$calls" --label icegridregistry >> "$out"
    "$bench" client --proxy "bench:tcp -h 127.0.0.1 -p $server_port" --workloads latency,pipelined --runs 3 \
        --label direct >> "$out"
    "$bench" client --proxy "bench@BenchAdapter" --Ice.Default.Locator="$floe_locator" --workloads latency,pipelined \
        --runs 3 --label indirect >> "$out"
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
def median(label, workload, key):
    values = [r[key] for r in rows if r.get("label") == label and r.get("workload") == workload]
    return statistics.median(values), values
floe, floe_runs = median("floe-registry", "lookups", "lookups_per_s")
grid, grid_runs = median("icegridregistry", "lookups", "lookups_per_s")
print(f"lookups/s, 8 clients: floe-registry {floe:,.0f}  icegridregistry {grid:,.0f}  floe/icegrid {floe/grid:.2f}")
print(f"  runs: floe {[round(v) for v in floe_runs]}, icegrid {[round(v) for v in grid_runs]}")
for workload, key in (("latency", "per_call_us"), ("pipelined", "calls_per_s")):
    direct, _ = median("direct", workload, key)
    indirect, _ = median("indirect", workload, key)
    print(f"{workload:9} {key:12} direct {direct:12.2f}  indirect {indirect:12.2f}  indirect/direct {indirect/direct:.3f}")
PY
