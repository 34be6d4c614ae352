#!/usr/bin/env bash
# Builds the ZeroC Ice C++ interop peer (Tests/GeneratedCodeTests/Peers/cpp) into
# .build-peers/vectors-server. Needs g++, slice2cpp (zeroc-ice-compilers) and libzeroc-ice-dev,
# which Tools/test.sh installs.
set -euo pipefail
cd "$(dirname "$0")/../.."
peers=Tests/GeneratedCodeTests/Peers/cpp
slice=Tests/GeneratedCodeTests
out=.build-peers
mkdir -p "$out"
if [ -x "$out/vectors-server" ] && [ "$out/vectors-server" -nt "$peers/vectors_server.cpp" ] \
    && [ "$out/vectors-server" -nt "$slice/Vectors.ice" ] && [ "$out/vectors-server" -nt "$slice/ServerOnly.ice" ]; then
    exit 0
fi
slice2cpp -I "$slice" --output-dir "$out" "$slice/Vectors.ice" "$slice/ServerOnly.ice"
g++ -std=c++17 -O1 -pthread -DICE_CPP11_MAPPING -I "$out" \
    "$peers/vectors_server.cpp" "$out/Vectors.cpp" "$out/ServerOnly.cpp" \
    -o "$out/vectors-server" -lIce++11
echo "built $out/vectors-server"
