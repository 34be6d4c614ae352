#!/usr/bin/env bash
# Instructions a benchmark server executes per ping, counted by valgrind's callgrind: unlike
# time, the count repeats exactly for the same binaries, so a change to the request path can be
# measured on these noisy 2-core VMs without interleaved rounds (Docs/benchmark.md, "Instructions
# per request").
#
#   Tools/scripts/server-instructions.sh [--keep DIR] [--before-reply] SERVER TRANSPORT...
#       SERVER: floe or cpp; TRANSPORT: tcp, ssl, ws, wss
#
# For each transport, the server runs under callgrind twice while the C++ bench-client makes
# 1,000 and then 3,000 latency calls; the difference between the two totals, over 2,000, is the
# server's user-space instructions per call, start-up and shutdown cancelling out. With --keep,
# the callgrind files stay in DIR (callgrind_annotate reads them). With --before-reply, only the
# instructions between a request's arrival (the first read that returns data) and its reply's
# write count: the part of the work the client waits for. Needs a release floe-bench
# (Tools/bench.sh builds it; FLOE_BENCH names another build) and the C++ peer in
# .build-peers/bench-cpp (or CPP_PEER).
#
# Two workarounds for valgrind 3.19 (Debian 12): it cannot read the DWARF 5 that Swift emits, so
# it runs a copy of floe-bench without debug information (symbols stay); and it crashes in
# libdispatch's `dispatch_main`, which Swift's async main calls, so a preloaded shim replaces
# that with a loop draining the main queue every 200 µs (nothing on a request's path runs there).
set -euo pipefail
cd "$(dirname "$0")/../.."

keep= before_reply=
while :; do
    case ${1-} in
        --keep) keep=$2; shift 2 ;;
        --before-reply) before_reply=1; shift ;;
        *) break ;;
    esac
done
[ $# -ge 2 ] || { sed -n 2,16p "$0" >&2; exit 2; }
server=$1; shift
command -v valgrind >/dev/null || { echo "server-instructions.sh: valgrind is not installed" >&2; exit 2; }
CPP_PEER=${CPP_PEER:-$PWD/.build-peers/bench-cpp}
FLOE_BENCH=${FLOE_BENCH:-.build/release/floe-bench}
[ -x "$FLOE_BENCH" ] || { echo "server-instructions.sh: no $FLOE_BENCH" >&2; exit 2; }
[ -x "$CPP_PEER/bench-client" ] || { echo "server-instructions.sh: no $CPP_PEER/bench-client" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
objcopy --strip-debug "$FLOE_BENCH" "$work/floe-bench"
swiftlib=$(dirname "$(command -v swift)")/../lib/swift/linux
cat >"$work/shim.c" <<'EOF'
#include <unistd.h>
extern void _dispatch_main_queue_callback_4CF(void *);
void dispatch_main(void) { for (;;) { _dispatch_main_queue_callback_4CF(0); usleep(200); } }
EOF
cc -O2 -shared -fPIC -o "$work/shim.so" "$work/shim.c" -L"$swiftlib" -ldispatch
preload=$work/shim.so collect=()
if [ -n "$before_reply" ]; then
    # Collection starts when a read on a connection (fd > 8: past the listener and the event
    # loops' own descriptors) returns data, and stops when that thread next writes to one.
    cat >"$work/window.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <valgrind/callgrind.h>
static __thread int on;
static void arrived(int fd, ssize_t n) { if (fd > 8 && n > 0 && !on) { on = 1; CALLGRIND_TOGGLE_COLLECT; } }
static void leaving(int fd) { if (fd > 8 && on) { on = 0; CALLGRIND_TOGGLE_COLLECT; } }
#define NEXT(name) static __typeof__(name) *next; if (!next) next = dlsym(RTLD_NEXT, #name)
ssize_t read(int fd, void *b, size_t n) { NEXT(read); ssize_t r = next(fd, b, n); arrived(fd, r); return r; }
ssize_t recv(int fd, void *b, size_t n, int f) { NEXT(recv); ssize_t r = next(fd, b, n, f); arrived(fd, r); return r; }
ssize_t write(int fd, const void *b, size_t n) { NEXT(write); leaving(fd); return next(fd, b, n); }
ssize_t writev(int fd, const struct iovec *v, int n) { NEXT(writev); leaving(fd); return next(fd, v, n); }
ssize_t send(int fd, const void *b, size_t n, int f) { NEXT(send); leaving(fd); return next(fd, b, n, f); }
ssize_t sendmsg(int fd, const struct msghdr *m, int f) { NEXT(sendmsg); leaving(fd); return next(fd, m, f); }
EOF
    cc -O2 -shared -fPIC -o "$work/window.so" "$work/window.c" -ldl
    preload=$preload:$work/window.so collect=(--collect-atstart=no)
fi
mkdir -p "$work/certs"
sh Tests/GeneratedCodeTests/Peers/make-certs.sh "$work/certs" >/dev/null 2>&1

# run TRANSPORT CALLS: prints the server's instruction total.
run() {
    local transport=$1 calls=$2 port=$((12000 + RANDOM % 2000))
    local tls_s=() tls_c=() plugin=()
    case $transport in
        ssl | wss)
            local common=(--IceSSL.DefaultDir="$work/certs" --IceSSL.CAs=ca.pem --IceSSL.VerifyPeer=2)
            tls_s=("${common[@]}" --IceSSL.CertFile=server.pem --IceSSL.KeyFile=server.key)
            tls_c=("${common[@]}" --IceSSL.CertFile=client.pem --IceSSL.KeyFile=client.key)
            plugin=(--Ice.Plugin.IceSSL=IceSSL:createIceSSL) ;;
    esac
    local cmd
    case $server in
        floe) cmd=("$work/floe-bench" server) ;;
        cpp) cmd=("$CPP_PEER/bench-server" ${plugin[@]+"${plugin[@]}"}) ;;
        *) echo "server-instructions.sh: SERVER is floe or cpp" >&2; exit 2 ;;
    esac
    local out="$work/$server-$transport-$calls"
    LD_PRELOAD="$preload" LD_LIBRARY_PATH="$swiftlib" valgrind --tool=callgrind ${collect[@]+"${collect[@]}"} \
        --callgrind-out-file="$out.callgrind" "${cmd[@]}" ${tls_s[@]+"${tls_s[@]}"} \
        --endpoints "$transport -h 127.0.0.1 -p $port" >"$out.log" 2>&1 &
    local pid=$!
    for _ in $(seq 600); do grep -q '^ready' "$out.log" && break; sleep 0.1; done
    "$CPP_PEER/bench-client" ${plugin[@]+"${plugin[@]}"} ${tls_c[@]+"${tls_c[@]}"} \
        --proxy "bench:$transport -h 127.0.0.1 -p $port" --workloads latency --runs 1 \
        --scale "$(awk "BEGIN { print $calls / 10000 }")" --shutdown >/dev/null 2>&1
    wait "$pid" || true
    if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$out.callgrind" "$keep/"; fi
    sed -n 's/.*Collected : //p' "$out.log"
}

for transport in "$@"; do
    small=$(run "$transport" 1000)
    large=$(run "$transport" 3000)
    echo "$server $transport: $(((large - small) / 2000)) instructions per call${before_reply:+ before its reply} (totals $small, $large)"
done
