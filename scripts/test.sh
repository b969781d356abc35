#!/usr/bin/env bash
# scripts/test.sh — THE test command (README, .ci/run). On a fresh Debian 12, as root: installs the
# packages, builds Release and runs every test (unit + integration against real PostgreSQL 15),
# then does the same with an AddressSanitizer + UBSan build. Exits non-zero if either run failed.
# Owns the order of those steps only; what a test does lives in tests/.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

./scripts/install_deps.sh --drivers || exit 1

# A hung test must not eat the whole CI budget (the suite should take about 30 minutes on 2 cores);
# an empty suite is an error, not a pass.
ctest_args=(--output-on-failure -j2 --timeout 600 --no-tests=error)

# The ctest fixture (tests/integration/CMakeLists.txt) runs PostgreSQL from <build dir>/topology
# and stops it in its cleanup step. Stop it here too (a no-op when already stopped) so that an
# interrupted run never leaves a server holding the port the next variant needs.
stop_topologies() {
    local dir
    for dir in build/topology build-asan/topology; do
        [ -d "$dir" ] && ./scripts/local_topology.sh stop "$dir" >/dev/null 2>&1
    done
    return 0
}
trap stop_topologies EXIT

declare -A status
run_variant() {
    local name=$1 dir=$2
    shift 2
    rm -f "$dir/ctest.log"
    echo "=== test.sh: $name: build ($dir/) ==="
    if ! ./scripts/build.sh "$@"; then
        status[$name]="BUILD FAILED"
        return 1
    fi
    echo "=== test.sh: $name: ctest ==="
    ctest --test-dir "$dir" "${ctest_args[@]}" 2>&1 | tee "$dir/ctest.log"
    if [ "${PIPESTATUS[0]}" -eq 0 ]; then
        status[$name]=passed
    else
        status[$name]=FAILED
    fi
    stop_topologies
}

run_variant release build release
# A broken release build means the sanitizer build fails the same way: skip it to save the time.
if [ "${status[release]}" != "BUILD FAILED" ]; then
    # LeakSanitizer stops the process's threads with ptrace to scan them. That works as root in the
    # CI chroot (checked on this kernel: a deliberate leak is reported), so leaks stay on. If a
    # restricted container (no ptrace) makes LSan abort with "LeakSanitizer has encountered a fatal
    # error", set detect_leaks=0 here and say so, rather than drop the ASan run.
    # UBSan: the build uses -fno-sanitize-recover=undefined; print_stacktrace says where it fired.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    run_variant asan build-asan asan --tests-only
else
    status[asan]="skipped (release build failed)"
fi

# End with ctest's own summary of each run, so the last lines of the log say what happened.
rc=0
echo
for name in release asan; do
    dir=build
    [ "$name" = asan ] && dir=build-asan
    echo "=== test.sh summary: $name: ${status[$name]} ==="
    if [ -f "$dir/ctest.log" ]; then
        sed -n '/tests passed/,$p' "$dir/ctest.log"
    fi
    [ "${status[$name]}" = passed ] || rc=1
done
exit "$rc"
