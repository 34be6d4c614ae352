#!/usr/bin/env bash
# Rewrites the expected diagnostics (Tests/SliceParserTests/Inputs/diagnostics/*.err) from the
# current compiler. Review the diff before committing: it is the change in what users see.
set -euo pipefail
cd "$(dirname "$0")/../.."
swift build --product slice2floe
compiler="$PWD/.build/debug/slice2floe"
cd Tests/SliceParserTests/Inputs/diagnostics
scratch=$(mktemp -d)
for input in *.ice; do
    "$compiler" --output-dir "$scratch" "$input" 2> "${input%.ice}.err" || true
done
rm -rf "$scratch"
echo "updated $(ls *.err | wc -l) expectation files"

# Generated Swift for the Slice compiled by GeneratedCodeTests.
cd ../../../GeneratedCodeTests
out=$(mktemp -d)
for input in *.ice; do
    "$compiler" -I . -I ../../Slice --module-name GeneratedCodeTests --output-dir "$out" "$input"
    mv "$out/${input%.ice}.swift" "../SliceSwiftGenTests/Golden/${input%.ice}.swift.expected"
done
rmdir "$out"
echo "updated $(ls *.ice | wc -l) generated-code goldens"
