#!/usr/bin/env bash
# Floe against ZeroC's C++ runtime on the benchmark of BENCH.md, interleaved in one sitting.
#
#   Tools/bench.sh [--rounds N] [--grpc] [--pin C:S] [client options...]     (default: --workloads core,classes,throughput-z)
#
# Builds floe-bench in release mode and the C++ peer (from ../shared/peers/cpp when ../shared
# is there, into .build-peers/bench-cpp, since ../shared may be read-only; otherwise set
# CPP_PEER to a folder holding bench-server and
# bench-client built from ZeroC Ice 3.7's C++ runtime and Bench.ice — see
# Docs/benchmark.md). Then runs N rounds (default 3) of the four pairings, in order
# floe→floe, cpp→cpp, floe→cpp, cpp→floe (client→server), prints a table per workload with
# Floe/C++ ratios (per-call time for latency, calls/s or MB/s otherwise; medians over the
# rounds), the Floe server's resident memory after each of five full runs, a bare C TCP ping-pong's
# time per round trip in each round (the floor under the latency workload that day), and the
# raw JSON lines.
#
# --pin C:S (a diagnostic) runs every client on CPU C and every server on CPU S (taskset), e.g.
# 0:0 for one core, 0:1 for two; the ping-pong's ends likewise. Latency on these VMs depends on where
# the scheduler puts the two ends (Docs/benchmark.md, "Latency and idle CPUs").
#
# --ssl runs every pairing over ssl endpoints with mutual TLS (certificates made at start by
# Tests/GeneratedCodeTests/Peers/make-certs.sh; the C++ peer loads IceSSL with
# --Ice.Plugin.IceSSL=IceSSL:createIceSSL); unless the workloads are named: latency, pipelined and
# throughput (send and receive). Not with --grpc. --transport ws (or wss, with TLS as --ssl) runs
# them over WebSocket endpoints instead; --ssl is --transport ssl.
#
# --observability adds two floe→floe pairings to each round, both ends run with
# --Floe.Metrics=1 (floe-bench then reports to an in-memory backend that keeps every value) or
# with --Floe.Tracing=1 (spans to the default no-op tracer), and the table gives each against
# plain floe→floe; unless the workloads are named: latency and pipelined.
#
# --grpc (opt-in) also builds the gRPC peer Tools/grpc-bench (its own package; its first build
# takes several minutes) and adds a grpc→grpc pairing to each round, after the four others. Its
# client gets only the options it shares with the others (--workloads, --runs, --scale,
# --pipeline, --bytes, --label) and runs latency, pipelined, throughput-send and throughput-recv,
# skipping other workloads with a note; the table then has a grpc→grpc column and a floe/grpc
# ratio for those four. See Docs/benchmark.md, "gRPC comparison peer".
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3
grpc=false
transport=tcp
observability=false
pin_client=()
pin_server=()
pingpong_cpus=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=$2; shift 2 ;;
        --grpc) grpc=true; shift ;;
        --ssl) transport=ssl; shift ;;
        --transport) transport=$2; shift 2 ;;
        --observability) observability=true; shift ;;
        --pin)
            pin_client=(taskset -c "${2%%:*}"); pin_server=(taskset -c "${2##*:}")
            pingpong_cpus=("${2%%:*}" "${2##*:}"); shift 2 ;;
        *) break ;;
    esac
done
case $transport in
    tcp | ssl | ws | wss) ;;
    *) echo "bench.sh: --transport takes tcp, ssl, ws or wss" >&2; exit 2 ;;
esac
# TLS on ssl and wss.
ssl=false
if [ "$transport" = ssl ] || [ "$transport" = wss ]; then ssl=true; fi
# Unless the workloads are named: core, classes and the compressed throughput-z (bzip2 between
# ZeroC peers and with them; zlib floe→floe, which Floe negotiates by itself); over another
# transport, latency, pipelined and throughput.
if [ "$transport" != tcp ]; then
    case " $* " in *" --workloads"*) ;; *) set -- --workloads latency,pipelined,throughput "$@" ;; esac
elif $observability; then
    case " $* " in *" --workloads"*) ;; *) set -- --workloads latency,pipelined "$@" ;; esac
else
    case " $* " in *" --workloads"*) ;; *) set -- --workloads core,classes,throughput-z "$@" ;; esac
fi

shared=../shared/peers
if [ -z "${CPP_PEER:-}" ]; then
    [ -d "$shared/cpp" ] || { echo "bench.sh: no ../shared/peers/cpp; set CPP_PEER" >&2; exit 2; }
    CPP_PEER=$PWD/.build-peers/bench-cpp
    make -s -C "$shared/cpp" BUILD="$CPP_PEER" >&2
fi
swift build -c release --product floe-bench >&2
FLOE=.build/release/floe-bench
GRPC=Tools/grpc-bench/.build/release/grpc-bench
if $grpc; then swift build -c release --package-path Tools/grpc-bench >&2; fi
port=${PORT:-10100}
out=$(mktemp -d)
server_pid=
# A failing client ends the script (set -e); its server must not outlive it.
trap 'if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi; rm -rf "$out"' EXIT

tls_server=()
tls_client=()
if $ssl; then
    mkdir -p "$out/certs"
    sh Tests/GeneratedCodeTests/Peers/make-certs.sh "$out/certs" >&2
    common=(--IceSSL.DefaultDir="$out/certs" --IceSSL.CAs=ca.pem --IceSSL.VerifyPeer=2)
    tls_server=("${common[@]}" --IceSSL.CertFile=server.pem --IceSSL.KeyFile=server.key)
    tls_client=("${common[@]}" --IceSSL.CertFile=client.pem --IceSSL.KeyFile=client.key)
fi
# (The C++ peer needs the IceSSL plugin loaded; Floe has ssl built in.)
cpp_tls() { if $ssl; then echo "--Ice.Plugin.IceSSL=IceSSL:createIceSSL"; fi; }
server_cmd() { case "$1" in floe) echo "$FLOE server" ;; cpp) echo "$CPP_PEER/bench-server $(cpp_tls)" ;; grpc) echo "$GRPC server" ;; esac; }
client_cmd() { case "$1" in floe) echo "$FLOE client" ;; cpp) echo "$CPP_PEER/bench-client $(cpp_tls)" ;; grpc) echo "$GRPC client" ;; esac; }

# grpc_args ARGS...: the client options the gRPC peer shares with the Ice peers, in either
# form (--opt value, --opt=value); others (--items, --nodes, --Ice.*, --Floe.*) are dropped.
grpc_args=()
grpc_args() {
    grpc_args=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --workloads=* | --runs=* | --scale=* | --pipeline=* | --bytes=* | --label=*) grpc_args+=("$1"); shift ;;
            --workloads | --runs | --scale | --pipeline | --bytes | --label) grpc_args+=("$1" "${2-}"); shift $(($# > 1 ? 2 : 1)) ;;
            --items | --nodes) shift $(($# > 1 ? 2 : 1)) ;;
            *) shift ;;
        esac
    done
}

# Extra options of both ends (--observability), and the pairing's tag suffix.
extra=()
suffix=

# start_server CMD...: starts a server on $port and waits for its `ready` line.
start_server() {
    ${pin_server[@]+"${pin_server[@]}"} "$@" ${tls_server[@]+"${tls_server[@]}"} ${extra[@]+"${extra[@]}"} --endpoints "$transport -h 127.0.0.1 -p $port" >"$out/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 100); do grep -q '^ready' "$out/server.log" && return; sleep 0.1; done
    echo "bench.sh: the server did not start: $*" >&2
    cat "$out/server.log" >&2
    exit 1
}

# stop_server: waits up to 10 s for the server to exit (after shutdown()), then kills it.
stop_server() {
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
}

# run CLIENT SERVER ARGS...: one pairing; JSON lines tagged with the pairing go to $out/results.
run() {
    local client=$1 server=$2; shift 2
    port=$((port + 1))
    # shellcheck disable=SC2046
    start_server $(server_cmd "$server")
    echo "  $client → $server" >&2
    # shellcheck disable=SC2046
    ${pin_client[@]+"${pin_client[@]}"} $(client_cmd "$client") --proxy "bench:$transport -h 127.0.0.1 -p $port" --shutdown \
        ${tls_client[@]+"${tls_client[@]}"} ${extra[@]+"${extra[@]}"} "$@" \
        | sed "s/^{/{\"pairing\":\"$client→$server$suffix\",/" >>"$out/results"
    stop_server
}

# The floor under the latency workload, measured in every round: a bare C TCP ping-pong.
pingpong=()
if cc -O2 -o "$out/tcp-pingpong" Tools/scripts/tcp-pingpong.c 2>/dev/null; then
    pingpong=("$out/tcp-pingpong")
else
    echo "bench.sh: no C compiler; the bare TCP ping-pong is left out" >&2
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
for round in $(seq "$rounds"); do
    echo "round $round/$rounds" >&2
    if [ ${#pingpong[@]} -gt 0 ]; then
        port=$((port + 1))
        "${pingpong[@]}" "$port" 20000 ${pingpong_cpus[@]+"${pingpong_cpus[@]}"} >>"$out/pingpong"
    fi
    run floe floe "$@"
    run cpp cpp "$@"
    run floe cpp "$@"
    run cpp floe "$@"
    if $observability; then
        extra=(--Floe.Metrics=1); suffix=+metrics; run floe floe "$@"
        extra=(--Floe.Tracing=1); suffix=+tracing; run floe floe "$@"
        extra=(); suffix=
    fi
    if $grpc; then
        grpc_args "$@"
        run grpc grpc ${grpc_args[@]+"${grpc_args[@]}"}
    fi
done

# Server memory: a Floe server serving five full C++ client runs in a row. It grows over the
# first runs (glibc gives each event-loop thread a malloc arena of its own, which keeps its
# high-water mark) and is flat from about the fourth; Docs/benchmark.md has longer series.
port=$((port + 1))
start_server $FLOE server
rss=()
for _ in 1 2 3 4 5; do
    # shellcheck disable=SC2046
    "$CPP_PEER/bench-client" $(cpp_tls) --proxy "bench:$transport -h 127.0.0.1 -p $port" \
        ${tls_client[@]+"${tls_client[@]}"} "$@" >/dev/null
    rss+=("$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")")
done
kill "$server_pid"
stop_server

python3 Tools/scripts/bench-table.py "$out/results" "${rss[@]}"
if [ -s "$out/pingpong" ]; then
    echo "Bare C TCP ping-pong over loopback (Tools/scripts/tcp-pingpong.c), per round:" \
        "$(awk '{printf "%s%s", sep, $1; sep=", "}' "$out/pingpong") µs per round trip"
fi
echo
echo "raw results:"
cat "$out/results"
