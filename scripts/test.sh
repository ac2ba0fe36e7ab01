#!/usr/bin/env bash
# Installs what Retort needs, builds it with its tests and runs the whole suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DRETORT_BUILD_TESTS=ON
cd build
ctest --output-on-failure --parallel 2 --timeout 900
