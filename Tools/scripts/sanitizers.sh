#!/usr/bin/env bash
# Runs every test under ThreadSanitizer or AddressSanitizer, from a build folder of its own
# (outside CI: on 2 cores the build takes about 7 minutes and the run about 3):
#   Tools/scripts/sanitizers.sh thread|address [arguments for swift test, e.g. --filter X]
# Fails when the sanitizer reports anything. Tests that bound a time (a reply within 10 s, a
# shutdown within 5 s) may fail under the sanitizer's slowdown with every suite running at once;
# those failures are listed but do not fail the script: the sanitizer's reports are what it is for.
# SANITIZER_BUILD=DIR uses another build folder built with the same sanitizer.
set -uo pipefail
# (Resolved before the cd below.)
build=${SANITIZER_BUILD:+$(realpath -m "$SANITIZER_BUILD")}
cd "$(dirname "$0")/../.."
kind=${1:-}
case "$kind" in thread | address) shift ;; *) echo "usage: $0 thread|address [swift test arguments]" >&2; exit 2 ;; esac
build=${build:-$PWD/.build-$kind}  # (a folder of its own: the sanitizer changes every module)
log=$build/test.log
swift build --build-tests --sanitize="$kind" --build-path "$build" || exit 1
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1"
# (AddressSanitizer stops the process at its first report whatever the options say, unless
# the code is built to recover; that report is what matters. Leak checking is off: the Swift
# runtime keeps metadata caches and task-local storage for the life of the process, which
# LeakSanitizer reports at exit.)
export ASAN_OPTIONS="detect_leaks=0"
CI=true swift test --skip-build --build-path "$build" "$@" > "$log" 2>&1
status=$?
reports=$(grep -a -E -c "(WARNING|ERROR): (Thread|Address)Sanitizer" "$log")
grep -a "✘ Test .* recorded an issue" "$log" | cut -c1-200
grep -a "Test run with" "$log"
echo "sanitizers.sh: $reports $kind sanitizer report(s); swift test exited with $status; the full log is $log"
[ "$reports" -eq 0 ] || exit 1
# A crash, or a runner that never started, is a failure too; failed tests alone are not.
grep -a -q "Test run with" "$log" && [ "$status" -le 1 ]
