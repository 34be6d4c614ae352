#!/usr/bin/env bash
# Floe behind ZeroC's Glacier2: a glacier2router, and the Callback target of
# Tests/PluginConsumer (Glacier2's Slice compiled by the build plugin from /usr/share/ice/slice)
# as a client with a session and callbacks through the router, against a Floe server and
# against a ZeroC Python one; a ZeroC Python client called back by the Floe server; then a
# second router whose permissions verifier and session manager are Floe servants (the same
# target's gatekeeper). Needs glacier2router (zeroc-glacier2), python3-zeroc-ice and
# zeroc-ice-slice.
set -euo pipefail
cd "$(dirname "$0")/../.."
source Tools/scripts/swiftpm.sh
work=$(mktemp -d)
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Waits for $2 in the file $1 (a process's output), for ten seconds at most.
wait_for() {
    for _ in $(seq 100); do grep -q "$2" "$1" && return 0; sleep 0.1; done
    cat "$1" >&2
    echo "glacier2: no '$2' in $1" >&2
    exit 1
}
router_port=$(free_port)
floe_port=$(free_port)
zeroc_port=$(free_port)

glacier2router --Ice.PrintAdapterReady=1 --Glacier2.InstanceName=FloeGlacier2 \
    "--Glacier2.Client.Endpoints=tcp -h 127.0.0.1 -p $router_port" \
    "--Glacier2.Server.Endpoints=tcp -h 127.0.0.1" \
    --Glacier2.PermissionsVerifier=FloeGlacier2/NullPermissionsVerifier \
    --Glacier2.Client.ForwardContext=1 > "$work/glacier2.log" 2>&1 &
pids+=($!)
wait_for "$work/glacier2.log" "Glacier2.Client ready"

swiftpm build --package-path Tests/PluginConsumer --product Callback >/dev/null
callback=$(swiftpm build --package-path Tests/PluginConsumer --show-bin-path)/Callback
"$callback" server "$floe_port" > "$work/floe-server.log" 2>&1 &
pids+=($!)
wait_for "$work/floe-server.log" "server ready"

# A ZeroC Python server with the same Slice (loaded at run time).
cat > "$work/server.py" <<PY
import sys, Ice
Ice.loadSlice("Tests/PluginConsumer/Sources/Callback/Callback.ice")
import Demo

class CallbackI(Demo.Callback):
    def initiateCallback(self, receiver, message, current):
        receiver.callback(message)

    def shutdown(self, current):
        current.adapter.getCommunicator().shutdown()

with Ice.initialize(sys.argv) as communicator:
    adapter = communicator.createObjectAdapterWithEndpoints("Callback.Server", "tcp -h 127.0.0.1 -p $zeroc_port")
    adapter.add(CallbackI(), Ice.stringToIdentity("callback"))
    adapter.activate()
    print("zeroc server ready", flush=True)
    communicator.waitForShutdown()
PY
/usr/bin/python3 "$work/server.py" > "$work/zeroc-server.log" 2>&1 &
pids+=($!)
wait_for "$work/zeroc-server.log" "zeroc server ready"

router="FloeGlacier2/router:tcp -h 127.0.0.1 -p $router_port"
for server in "callback:tcp -h 127.0.0.1 -p $floe_port" "callback:tcp -h 127.0.0.1 -p $zeroc_port"; do
    echo "glacier2: client -> glacier2router -> $server"
    timeout 60 "$callback" client "$router" "$server"
done

# A ZeroC Python client behind the same router, called back by the Floe server.
cat > "$work/client.py" <<PY
import sys, threading, Ice, Glacier2
Ice.loadSlice("Tests/PluginConsumer/Sources/Callback/Callback.ice")
import Demo

class ReceiverI(Demo.CallbackReceiver):
    def __init__(self):
        self.received = threading.Event()
    def callback(self, message, current):
        if message == "python":
            self.received.set()

with Ice.initialize(sys.argv) as communicator:
    router = Glacier2.RouterPrx.checkedCast(communicator.getDefaultRouter())
    router.createSession("python", "any password")
    adapter = communicator.createObjectAdapterWithRouter("Receiver", router)
    receiver = ReceiverI()
    proxy = Demo.CallbackReceiverPrx.uncheckedCast(
        adapter.add(receiver, Ice.Identity("receiver", router.getCategoryForClient())))
    adapter.activate()
    server = Demo.CallbackPrx.checkedCast(communicator.stringToProxy("callback:tcp -h 127.0.0.1 -p $floe_port"))
    server.initiateCallback(proxy, "python")
    if not receiver.received.wait(5):
        sys.exit("no callback from the Floe server")
    print("zeroc client: the Floe server's callback came back through the router")
PY
echo "glacier2: ZeroC Python client -> glacier2router -> Floe server"
timeout 60 /usr/bin/python3 "$work/client.py" "--Ice.Default.Router=$router" --Ice.RetryIntervals=-1

# Glacier2 asking Floe: its permissions verifier and session manager are the gatekeeper's.
gatekeeper_port=$(free_port)
gated_port=$(free_port)
"$callback" gatekeeper "$gatekeeper_port" > "$work/gatekeeper.log" 2>&1 &
pids+=($!)
wait_for "$work/gatekeeper.log" "gatekeeper: ready"
glacier2router --Ice.PrintAdapterReady=1 --Glacier2.InstanceName=GatedGlacier2 \
    "--Glacier2.Client.Endpoints=tcp -h 127.0.0.1 -p $gated_port" \
    "--Glacier2.Server.Endpoints=tcp -h 127.0.0.1" \
    "--Glacier2.PermissionsVerifier=verifier:tcp -h 127.0.0.1 -p $gatekeeper_port" \
    "--Glacier2.SessionManager=sessions:tcp -h 127.0.0.1 -p $gatekeeper_port" > "$work/gated.log" 2>&1 &
pids+=($!)
wait_for "$work/gated.log" "Glacier2.Client ready"
echo "glacier2: gated client -> glacier2router (Floe verifier and session manager) -> Floe server"
timeout 60 "$callback" gated-client "GatedGlacier2/router:tcp -h 127.0.0.1 -p $gated_port" \
    "callback:tcp -h 127.0.0.1 -p $floe_port"
wait_for "$work/gatekeeper.log" "the session of floe was destroyed"
echo "glacier2: the gatekeeper's session was destroyed with the client's"
