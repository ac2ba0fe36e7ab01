#!/usr/bin/env bash
# Configures and builds Retort into build/ (Release, 2 parallel jobs by default).
# Extra arguments go to CMake's configure step, e.g. -DRETORT_BUILD_GUI=OFF.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${RETORT_JOBS:-2}"
generator=()
command -v ninja >/dev/null && [ ! -f build/Makefile ] && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build --parallel "$jobs"
