#!/usr/bin/env bash
# floe-admin against a running floe-registry (in CI): lists what a server registered, adds a
# well-known object with a type and tags and finds it by each, sets a replica-group policy,
# prints JSON, and refuses bad input with one line and exit status 1 (changing nothing). A
# client then reaches the greeter by its well-known name alone. Then floe-admin reaches a
# registry on ssl, configured with IceSSL properties as ZeroC's tools are.
set -euo pipefail
cd "$(dirname "$0")/../.."
source Tools/scripts/swiftpm.sh
for product in floe-registry floe-admin floe-demo; do swiftpm build --product "$product" >/dev/null; done
bin=.build/debug
registry_out=$(mktemp); server_out=$(mktemp); err=$(mktemp); certs=$(mktemp -d); config=$(mktemp)
stoppable_out=$(mktemp)
trap 'rm -rf "$registry_out" "$server_out" "$err" "$certs" "$config" "$stoppable_out"; for p in ${registry:-} ${server:-} ${stoppable:-}; do kill -9 "$p" 2>/dev/null || true; done' EXIT
fail() { echo "registry-admin: $*" >&2; exit 1; }
wait_for() { for _ in $(seq 200); do grep -q "$2" "$1" && return 0; sleep 0.1; done; cat "$1"; fail "no '$2'"; }

"$bin/floe-registry" --endpoints "tcp -h 127.0.0.1 -p 0" > "$registry_out" 2>&1 &
registry=$!
wait_for "$registry_out" "floe-registry: ready"
locator=$(sed -n 's/^floe-registry: ready, locator is "\(.*\)"$/\1/p' "$registry_out")
admin() { "$bin/floe-admin" "$1" "$2" --locator "$locator" "${@:3}"; }

"$bin/floe-demo" server --Ice.Default.Locator="$locator" --Greeter.AdapterId=GreeterAdapter > "$server_out" 2>&1 &
server=$!
wait_for "$server_out" "server: ready"

"$bin/floe-admin" ping --locator "$locator"
adapters=$(admin adapter list)
echo "$adapters"
grep -q "^GreeterAdapter .*yes" <<< "$adapters" || fail "adapter list lacks GreeterAdapter"
admin object add "greeter@GreeterAdapter" --type ::Demo::Greeter --tag tier=gold --tag region=eu
admin object find --type ::Demo::Greeter | grep -q "^greeter " || fail "find --type found nothing"
admin object find --tag tier=gold --tag region=eu | grep -q "^greeter " || fail "find --tag found nothing"
[ "$(admin object find --tag tier=silver | wc -l)" = 1 ] || fail "find --tag tier=silver found something"
admin object list --json | python3 -c 'import json,sys; o=json.load(sys.stdin); assert o[0]["name"]=="greeter" and "tier=gold" in o[0]["tags"], o'
admin replica-group set-policy Pool round-robin --replicas 2
admin replica-group list | grep -q "^Pool  *round-robin  *2" || fail "replica-group list lacks the policy"

# Bad input: one line on stderr, status 1, nothing changed.
refuse() {
    if "$@" 2>"$err" >/dev/null; then fail "accepted: $*"; fi
    [ "$(wc -l < "$err")" = 1 ] || { cat "$err"; fail "not one line: $*"; }
    echo "refused as expected: $(cat "$err")"
}
refuse admin object add "nobody" --type ::Demo::Greeter
refuse admin object add "greeter@GreeterAdapter" --type Demo.Greeter
refuse admin replica-group set-policy Pool fastest
refuse admin adapter remove NoSuchAdapter
refuse admin server stop NoSuchServer
refuse "$bin/floe-admin" ping --locator "FloeRegistry/Locator:tcp -h 127.0.0.1 -p 1"
# Without --locator, the registry comes from the configuration, as with ZeroC's tools.
printf 'Ice.Default.Locator=%s\n' "$locator" > "$config"
"$bin/floe-admin" adapter list --Ice.Config="$config" | grep -q "GreeterAdapter" \
    || fail "adapter list with the locator from --Ice.Config found nothing"
refuse env -u ICE_CONFIG "$bin/floe-admin" ping
[ "$(admin object list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1 ] \
    || fail "a refused request changed the objects"

# A server with Ice.Admin.ServerId registers its Process proxy: listed, then stopped.
"$bin/floe-demo" server --Ice.Default.Locator="$locator" --Greeter.AdapterId=Stoppable \
    --Ice.Admin.ServerId=stoppable --Ice.Admin.Endpoints="tcp -h 127.0.0.1" > "$stoppable_out" 2>&1 &
stoppable=$!
wait_for "$stoppable_out" "server: ready"
listed=$(admin server list)
grep -q "^stoppable .*-f Process" <<< "$listed" || fail "server list lacks stoppable: $listed"
admin server stop stoppable
for _ in $(seq 100); do kill -0 "$stoppable" 2>/dev/null || break; sleep 0.1; done
kill -0 "$stoppable" 2>/dev/null && fail "server stop did not stop the server"
wait "$stoppable" || fail "the stopped server exited with status $?"
stoppable=

# A client that knows only the well-known name.
"$bin/floe-demo" client greeter --Ice.Default.Locator="$locator" --calls 5

kill -TERM "$server"; wait "$server"; server=
kill -TERM "$registry"; wait "$registry"; registry=

# A large registry: 60,000 adapters (registered by ZeroC Python) list in one reply of 3.4 MB,
# past Ice's default Ice.MessageSizeMax, which floe-admin raises to 100 MiB for itself.
"$bin/floe-registry" --endpoints "tcp -h 127.0.0.1 -p 0" --Floe.Registry.Liveness.Interval=0 > "$registry_out" 2>&1 &
registry=$!
wait_for "$registry_out" "floe-registry: ready"
locator=$(sed -n 's/^floe-registry: ready, locator is "\(.*\)"$/\1/p' "$registry_out")
/usr/bin/python3 - "$locator" <<'PY'
import sys, Ice
with Ice.initialize() as c:
    registry = Ice.LocatorPrx.checkedCast(c.stringToProxy(sys.argv[1])).getRegistry()
    pending = []
    for i in range(60000):
        proxy = c.stringToProxy("dummy:tcp -h 127.0.0.1 -p %d" % (10000 + i % 50000))
        pending.append(registry.setAdapterDirectProxyAsync("Adapter%05d" % i, proxy))
        if len(pending) >= 200:
            for call in pending: call.result()
            pending = []
    for call in pending: call.result()
PY
count=$(admin adapter list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$count" = 60000 ] || fail "adapter list gave $count of 60000 adapters"
kill -TERM "$registry"; wait "$registry"; registry=

# A registry on ssl: floe-admin takes --IceSSL.* (and --Ice.Config=FILE) anywhere.
sh Tests/GeneratedCodeTests/Peers/make-certs.sh "$certs" >/dev/null 2>&1
tls() { echo "--IceSSL.CertFile=$certs/$1.pem" "--IceSSL.KeyFile=$certs/$1.key" "--IceSSL.CAs=$certs/ca.pem"; }
# shellcheck disable=SC2046
"$bin/floe-registry" --endpoints "ssl -h 127.0.0.1 -p 0" $(tls server) > "$registry_out" 2>&1 &
registry=$!
wait_for "$registry_out" "floe-registry: ready"
locator=$(sed -n 's/^floe-registry: ready, locator is "\(.*\)"$/\1/p' "$registry_out")
# shellcheck disable=SC2046
"$bin/floe-admin" $(tls client) replica-group set-policy Secure ordered --locator "$locator"
# shellcheck disable=SC2046
admin replica-group list $(tls client) | grep -q "^Secure  *ordered" || fail "no policy set over ssl"
refuse admin replica-group list "--IceSSL.CAs=$certs/ca.pem"   # no client certificate
kill -TERM "$registry"; wait "$registry"; registry=
echo "registry-admin: floe-admin listed, added, found, set policies, listed and stopped a server, printed JSON and refused bad input, over tcp and ssl, and listed 60,000 adapters"
