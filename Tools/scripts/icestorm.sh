#!/usr/bin/env bash
# Floe through ZeroC's IceStorm: an icebox running the IceStorm service, and the Storm target of
# Tests/PluginConsumer (IceStorm's Slice compiled by the build plugin from /usr/share/ice/slice)
# subscribing, publishing and receiving every tick in order. Needs icebox (zeroc-icebox),
# IceStorm (libzeroc-icestorm3.7) and zeroc-ice-slice.
set -euo pipefail
cd "$(dirname "$0")/../.."
source Tools/scripts/swiftpm.sh
work=$(mktemp -d)
trap 'if [ -n "${icebox:-}" ]; then kill "$icebox" 2>/dev/null; wait "$icebox" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/db"
cat > "$work/icebox.cfg" <<CFG
IceBox.Service.IceStorm=IceStormService,37:createIceStorm
IceBox.InheritProperties=1
IceBox.PrintServicesReady=IceBox
IceStorm.InstanceName=FloeStorm
IceStorm.TopicManager.Endpoints=tcp -h 127.0.0.1 -p $port
IceStorm.Publish.Endpoints=tcp -h 127.0.0.1
IceStorm.LMDB.Path=$work/db
IceStorm.LMDB.MapSize=10
CFG
icebox --Ice.Config="$work/icebox.cfg" > "$work/icebox.log" 2>&1 &
icebox=$!
for _ in $(seq 100); do grep -q "IceBox ready" "$work/icebox.log" && break; sleep 0.1; done
grep -q "IceBox ready" "$work/icebox.log" || { cat "$work/icebox.log" >&2; echo "icestorm: IceBox did not start" >&2; exit 1; }
swiftpm build --package-path Tests/PluginConsumer --product Storm >/dev/null
bin=$(swiftpm build --package-path Tests/PluginConsumer --show-bin-path)
timeout 120 "$bin/Storm" "FloeStorm/TopicManager:tcp -h 127.0.0.1 -p $port"
