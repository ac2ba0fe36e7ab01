#!/usr/bin/env bash
# Installs what Retort needs, builds it with its tests and runs the whole suite with CTest; then
# builds the engine again with clang under AddressSanitizer + UBSan (with the libFuzzer targets)
# and runs the core tests and a few seconds of each fuzzer there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DRETORT_BUILD_TESTS=ON
(cd build && ctest --output-on-failure --parallel 2 --timeout 900)

echo "== core tests under AddressSanitizer + UBSan, fuzzers ==" >&2
generator=()
command -v ninja >/dev/null && [ ! -f build-asan/Makefile ] && generator=(-G Ninja)
CC=clang CXX=clang++ cmake -S . -B build-asan "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRETORT_BUILD_GUI=OFF -DRETORT_SANITIZE=ON -DRETORT_FUZZ=ON >/dev/null
cmake --build build-asan --parallel "${RETORT_JOBS:-2}"
cd build-asan
# LibTorch is not instrumented: leak reports would be its static allocations, and it frees some
# new[] memory with delete; every other ASan and UBSan finding fails the test.
ASAN_OPTIONS=detect_leaks=0:alloc_dealloc_mismatch=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure --parallel 2 --timeout 900 -L "core|fuzz"
