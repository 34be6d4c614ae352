#!/usr/bin/env bash
# A Floe server deployed by IceGrid, as Ice shops run their servers: ZeroC's icegridnode (with
# its registry collocated) starts `floe-demo server` on demand when a client looks up the
# well-known object `greeter`, reads the server's output from the files it named in Ice.StdOut
# and Ice.StdErr, reads its properties through the admin object, and stops it through its
# Process facet. Needs icegridnode and icegridadmin (zeroc-icegrid, zeroc-ice-utils).
set -euo pipefail
cd "$(dirname "$0")/../.."
source Tools/scripts/swiftpm.sh
swiftpm build --product floe-demo >/dev/null
demo=$(pwd)/.build/debug/floe-demo
work=$(mktemp -d)
trap 'kill -9 ${node:-} 2>/dev/null || true; pkill -9 -f "$work" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
locator="FloeGrid/Locator:tcp -h 127.0.0.1 -p $port"
mkdir -p "$work/registry" "$work/node" "$work/out"
cat > "$work/node.cfg" <<CFG
IceGrid.InstanceName=FloeGrid
Ice.Default.Locator=$locator
IceGrid.Registry.Client.Endpoints=tcp -h 127.0.0.1 -p $port
IceGrid.Registry.Server.Endpoints=tcp -h 127.0.0.1
IceGrid.Registry.Internal.Endpoints=tcp -h 127.0.0.1
IceGrid.Registry.LMDB.Path=$work/registry
IceGrid.Registry.LMDB.MapSize=10
IceGrid.Registry.AdminPermissionsVerifier=FloeGrid/NullPermissionsVerifier
IceGrid.Node.CollocateRegistry=1
IceGrid.Node.Name=node1
IceGrid.Node.Endpoints=tcp -h 127.0.0.1
IceGrid.Node.Data=$work/node
IceGrid.Node.Output=$work/out
Ice.PrintAdapterReady=1
# (CI runs as root: a root node starts servers as nobody, who cannot read this folder, unless
# the server's descriptor names root and this allows it.)
IceGrid.Node.AllowRunningServersAsRoot=1
CFG
user=""
[ "$(id -u)" = 0 ] && user='user="root"'
cat > "$work/app.xml" <<XML
<icegrid>
  <application name="Greeting">
    <node name="node1">
      <server id="FloeGreeter" exe="$demo" activation="on-demand" $user>
        <option>server</option>
        <adapter name="Greeter" endpoints="tcp -h 127.0.0.1">
          <object identity="greeter" type="::Demo::Greeter"/>
        </adapter>
        <property name="Demo.Deployed" value="by IceGrid"/>
        <property name="Demo.Trace" value="1"/>
      </server>
    </node>
  </application>
</icegrid>
XML

fail() { echo "icegrid-node: $1" >&2; cat "$work/node.log" >&2; exit 1; }
admin() { icegridadmin --Ice.Config="$work/node.cfg" -u floe -p floe -e "$1"; }
state() { admin "server state FloeGreeter" | cut -d' ' -f1; }

icegridnode --Ice.Config="$work/node.cfg" > "$work/node.log" 2>&1 &
node=$!
for _ in $(seq 100); do grep -q "IceGrid.Node ready" "$work/node.log" && break; sleep 0.1; done
grep -q "IceGrid.Node ready" "$work/node.log" || fail "the node did not start"
admin "application add '$work/app.xml'"

# On demand: the lookup of `greeter` makes the node start the Floe server.
[ "$(state)" = inactive ] || fail "the server runs before any client asked for it"
"$demo" client greeter --Ice.Default.Locator="$locator" --calls 5 > "$work/client.out" || fail "the client failed: $(cat "$work/client.out")"
grep -q "5 of 5 calls succeeded" "$work/client.out" || fail "calls lost: $(cat "$work/client.out")"
[ "$(state)" = active ] || fail "the server is not active after the calls"

# Its output went to the files the node named (Ice.StdOut, Ice.StdErr), where admin reads it.
admin "server show FloeGreeter stdout" | grep -q "server: ready" || fail "no 'server: ready' in the server's stdout file"
# What it prints with print(), while it runs (line-buffered, not held back until 4 KiB).
admin "server show FloeGreeter stdout" | grep -q "from request" || fail "the server's print() lines are not in its stdout file while it runs"
# Through the server's admin object (Ice.Admin.ServerId, its Properties facet).
[ "$(admin "server property FloeGreeter Demo.Deployed")" = "by IceGrid" ] || fail "server property did not read the server's property"

# Stopped through its Process facet, then started again by the next lookup.
admin "server stop FloeGreeter"
[ "$(state)" = inactive ] || fail "the server did not stop"
admin "server show FloeGreeter stdout" | grep -q "server: stopped" || fail "the server did not stop gracefully"
"$demo" client greeter --Ice.Default.Locator="$locator" --calls 2 | grep -q "2 of 2 calls succeeded" || fail "no restart on demand"
[ "$(state)" = active ] || fail "the server was not started again"
admin "server stop FloeGreeter"
admin "node shutdown node1"
wait "$node" || true
node=
grep -q "warning" "$work/out/FloeGreeter.err" && fail "the server warned: $(cat "$work/out/FloeGreeter.err")"
echo "icegrid-node: icegridnode started floe-demo server on demand (twice), read its stdout file and a property through its admin object, and stopped it through its Process facet"
