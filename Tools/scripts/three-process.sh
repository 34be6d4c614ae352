#!/usr/bin/env bash
# The demo as three processes (in CI), as the README shows them: `floe-registry`; `floe-demo
# server`, whose adapter registers as GreeterAdapter; `floe-demo client`, which knows only the
# locator and `greeter@GreeterAdapter`. Then the server restarts on another port and the same
# client command reaches it again.
set -euo pipefail
cd "$(dirname "$0")/../.."
source Tools/scripts/swiftpm.sh
swiftpm build --product floe-demo >/dev/null
swiftpm build --product floe-registry >/dev/null
demo=.build/debug/floe-demo
registry_out=$(mktemp); server_out=$(mktemp)
trap 'rm -f "$registry_out" "$server_out"; for p in ${registry:-} ${server:-}; do kill -9 "$p" 2>/dev/null || true; done' EXIT

wait_for() {  # FILE PATTERN
    for _ in $(seq 200); do grep -q "$2" "$1" && return 0; sleep 0.1; done
    cat "$1"; echo "three-process: no '$2'" >&2; exit 1
}

# Ice.PrintAdapterReady: the line Ice launchers wait for, "<adapter> ready", as ZeroC prints it.
.build/debug/floe-registry --endpoints "tcp -h 127.0.0.1 -p 0" --Ice.PrintAdapterReady=1 > "$registry_out" 2>&1 &
registry=$!
wait_for "$registry_out" "^FloeRegistry ready$"
wait_for "$registry_out" "floe-registry: ready"
locator=$(sed -n 's/^floe-registry: ready, locator is "\(.*\)"$/\1/p' "$registry_out")

start_server() {
    : > "$server_out"
    "$demo" server --Ice.Default.Locator="$locator" --Greeter.AdapterId=GreeterAdapter > "$server_out" 2>&1 &
    server=$!
    wait_for "$server_out" "server: ready"
}

start_server
"$demo" client "greeter@GreeterAdapter" --Ice.Default.Locator="$locator" --calls 10
first=$(sed -n 's/.*greeter is "\(.*\)"$/\1/p' "$server_out")
kill -TERM "$server"; wait "$server"; server=

start_server   # a new process, on another ephemeral port
"$demo" client "greeter@GreeterAdapter" --Ice.Default.Locator="$locator" --calls 10
kill -TERM "$server"; wait "$server"; server=
kill -TERM "$registry"; wait "$registry"; registry=
echo "three-process: floe-registry, a server registered as GreeterAdapter (restarted once) and clients by adapter id: all calls answered ($first)"
