#!/usr/bin/env bash
# Benchmarks Retort against the PyTorch peer: bench/run.sh [--quick] [--pairs N] [--accuracy]
# Needs the build (scripts/build.sh) and python3-torch. See bench/run.py for the workloads.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
