#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: installs what Retort needs and builds it; then
#  - with a display: starts the workbench on demo.retort with the demo spec in the editor
#    (press Run Experiment, Ctrl+R);
#  - without one: runs the demo sweep headless through retort-cli, prints its results table and
#    writes the report as demo-report.html and demo-report.pdf beside the project.
# The demo: CNN teacher (conv32-conv64-fc128, trained 5 epochs) -> MLP 784-128-10 students,
# 10 epochs, temperature {1, 4} x lambda {0, 0.9}, plus a 90 %-sparse int8 student.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
project="${1:-demo.retort}"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/app/retort ]; then
  exec build/app/retort "$project" --spec examples/demo.json
fi
build/app/retort-cli run examples/demo.json --project "$project"
report="${project%.retort}-report"
build/app/retort-cli report --project "$project" --out "$report.html"
build/app/retort-cli report --project "$project" --out "$report.pdf"
echo
echo "Stored in $project; the report is $report.html (and .pdf)." >&2
echo "Inspect with: build/app/retort-cli list --project $project" >&2
