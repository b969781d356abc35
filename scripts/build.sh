#!/usr/bin/env bash
# scripts/build.sh — configures and builds pgrouter. Owns only the build-directory convention:
#   release → build/       (Release)
#   asan    → build-asan/  (Debug, -DPGROUTER_SANITIZE=ON: AddressSanitizer + UBSan)
# Usage: build.sh [release|asan] [--tests-only]
#   --tests-only  build just the pgrouter binary and the test executables (what ctest runs).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=release
tests_only=0
for arg in "$@"; do
    case "$arg" in
        release | asan) mode=$arg ;;
        --tests-only) tests_only=1 ;;
        *)
            echo "usage: $0 [release|asan] [--tests-only]" >&2
            exit 2
            ;;
    esac
done

case "$mode" in
    release) dir=build && args=(-DCMAKE_BUILD_TYPE=Release) ;;
    asan) dir=build-asan && args=(-DCMAKE_BUILD_TYPE=Debug -DPGROUTER_SANITIZE=ON) ;;
esac
jobs=$(nproc)

# Unix Makefiles for a fresh directory: --tests-only relies on `make -C <dir>/tests`, which builds
# exactly the targets defined under tests/ (and what they link) and nothing else of the tree. An
# existing directory keeps its generator (CMake refuses to switch).
if [ ! -f "$dir/CMakeCache.txt" ]; then
    args+=(-G "Unix Makefiles")
fi
cmake -S . -B "$dir" "${args[@]}"
makefiles=0
grep -q '^CMAKE_GENERATOR:INTERNAL=Unix Makefiles$' "$dir/CMakeCache.txt" && makefiles=1
if [ "$tests_only" -eq 1 ] && [ "$makefiles" -eq 1 ]; then
    cmake --build "$dir" --target pgrouter -j "$jobs"
    make -C "$dir/tests" --no-print-directory -j "$jobs"
else
    cmake --build "$dir" -j "$jobs"
fi
echo "build.sh: $mode build in $dir/"
