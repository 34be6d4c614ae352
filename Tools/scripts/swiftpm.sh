# Sourced by the test scripts: `swiftpm build ARGS...` is `swift build ARGS...`, run once more
# when the package manager itself dies from a signal. SwiftPM 6.3's own process (swift-build,
# or swift-run while it builds) now and then crashes in libdispatch's event loop
# (_dispatch_event_loop_drain; swiftlang/swift-package-manager#8171): a CI run ended so, with 76
# images mapped as in swift-build, not the 24 of the product it was to run. A compiler error or
# a crashing swiftc ends swift-build with status 1 and is not retried; products are run by path
# after building, so a crash of Floe's own code is never retried either.
# Each attempt is bounded (SWIFTPM_TIMEOUT seconds, 1800 by default): a hang ends with status
# 124, which is not retried.
swiftpm() {
    local status=0
    timeout "${SWIFTPM_TIMEOUT:-1800}" swift "$@" || status=$?
    if [ "$status" -gt 128 ]; then
        echo "swiftpm.sh: 'swift $*' died from signal $((status - 128)) (the package manager, not Floe's code); once more" >&2
        status=0
        timeout "${SWIFTPM_TIMEOUT:-1800}" swift "$@" || status=$?
    fi
    return "$status"
}
