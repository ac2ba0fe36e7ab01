#!/bin/sh
# Runs sweeps through a real one-machine Slurm cluster (tests/slurm/cluster.sh) and checks that
# `retort-cli submit/sync/cancel` bring every run home: 4 synthetic points equal to the same
# sweep run locally, and a second sweep with one task killed mid-way that comes back failed or
# interrupted with nothing else lost. Fails, naming the package, when a Slurm or munge program is
# missing; exit 77 (skipped, with the reason) only when the daemons cannot start on this machine.
# Stops every daemon it started and removes its folder.
set -u
build=$(cd "$1" && pwd)
cli="$build/app/retort-cli"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/cluster.sh"
work=$(mktemp -d /tmp/retort-slurm.XXXXXX)
cleanup() { cluster_stop "$work/cluster"; rm -rf "$work"; }
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; for f in "$work"/shared/*/logs/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -5 "$f"; }; done; exit 1; }

t0=$(date +%s)
cluster_start "$work/cluster"
rc=$?
[ $rc -eq 0 ] || exit $rc
export SLURM_CONF="$work/cluster/slurm.conf"
echo "cluster up in $(( $(date +%s) - t0 )) s"
PY=$(command -v python3)

sync_until_done() {  # sync_until_done OUT SECONDS: syncs every second until nothing is left
    n=0
    while :; do
        "$cli" sync --project "$work/p.retort" --json > "$1" || fail "sync"
        [ "$(json "$1" 'd["done"]')" = True ] && return 0
        n=$((n + 1)); [ $n -lt "$2" ] || fail "not done after $2 s"; sleep 1
    done
}

json() {  # json FILE EXPR: evaluates a Python expression over the parsed JSON d
    "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}

cat > "$work/sweep.json" <<SPEC
{ "name": "slurm", "seed": 3, "threads": 1, "device": "cpu",
  "data": {"format": "synthetic", "classes": 4, "train_samples": 600, "test_samples": 200,
           "shape": [1, 6, 6], "noise": 1.0},
  "teacher": {"arch": "mlp", "hidden": [32], "train": {"epochs": 2, "batch_size": 50}},
  "student": {"arch": "mlp", "hidden": [16]},
  "distill": {"temperature": 2.0, "lambda": 0.5},
  "train": {"epochs": 3, "batch_size": 50},
  "sweep": {"distill.lambda": [0.0, 0.5], "prune.sparsity": [0.0, 0.7]} }
SPEC

echo "== dry run"
"$cli" submit "$work/sweep.json" --project "$work/p.retort" --slurm --shared-dir "$work/shared" \
    --time 00:10:00 --dry-run > "$work/dry.txt" || fail "dry run"
grep -q -- '--array=0-3' "$work/dry.txt" || fail "dry run has no array"
grep -q -- '#SBATCH --time=00:10:00' "$work/dry.txt" || fail "dry run lacks --time"
[ ! -e "$work/p.retort" ] || [ "$("$cli" list --project "$work/p.retort" --json | grep -c '"id"')" = 0 ] || fail "dry run recorded runs"

echo "== submit 4 points (settings file gives the partition)"
mkdir -p "$work/config/retort"
printf '[slurm]\npartition = test\ncpus-per-task = 1\n' > "$work/config/retort/settings.ini"
XDG_CONFIG_HOME="$work/config" "$cli" submit "$work/sweep.json" --project "$work/p.retort" --slurm \
    --shared-dir "$work/shared" --json > "$work/submit.json" || fail "submit"
cat "$work/submit.json"
[ "$(json "$work/submit.json" 'len(d["runs"])')" = 4 ] || fail "4 runs not recorded"
[ -n "$(json "$work/submit.json" 'd["teacher_job"]')" ] || fail "no teacher job"
grep -q 'partition=test' "$(json "$work/submit.json" 'd["folder"]')/array.sh" || fail "settings not used"
"$cli" list --project "$work/p.retort" | grep -q queued || fail "runs not queued"

sync_until_done "$work/sync.json" 120
echo "sweep done in $(( $(date +%s) - t0 )) s"
"$cli" list --project "$work/p.retort" --json > "$work/slurm-runs.json"
[ "$(json "$work/slurm-runs.json" 'sum(r["status"]=="completed" for r in d["runs"])')" = 4 ] ||
    fail "not 4 completed runs: $(cat "$work/slurm-runs.json")"
# Syncing again changes nothing.
cp "$work/slurm-runs.json" "$work/before.json"
"$cli" sync --project "$work/p.retort" --json > "$work/sync2.json"
[ "$(json "$work/sync2.json" 'd["merged"]')" = 0 ] || fail "second sync merged again"
"$cli" list --project "$work/p.retort" --json | cmp -s - "$work/before.json" || fail "second sync changed the project"

echo "== the same sweep locally"
"$cli" run "$work/sweep.json" --project "$work/local.retort" --json > "$work/local.json" 2>/dev/null || fail "local run"
"$PY" - "$work/slurm-runs.json" "$work/local.json" <<'PYCHECK' || fail "Slurm results differ from local ones"
import json, sys
a = {r["name"]: r for r in json.load(open(sys.argv[1]))["runs"]}
b = {r["name"]: r for r in json.load(open(sys.argv[2]))["runs"]}
assert a.keys() == b.keys(), (a.keys(), b.keys())
for name in a:
    for k in ("test_accuracy", "compressed_size_bytes", "nonzero_params", "teacher_test_accuracy"):
        assert a[name]["results"][k] == b[name]["results"][k], (name, k, a[name]["results"][k], b[name]["results"][k])
print("4 runs equal to the local sweep")
PYCHECK
[ "$("$cli" show 1 --project "$work/p.retort" --json | grep -c '"epoch"')" -ge 3 ] || fail "metrics not merged"

echo "== a second sweep; one task killed mid-way"
sed -e 's/"epochs": 3, "batch_size": 50/"epochs": 400, "batch_size": 50/' \
    -e 's/"train_samples": 600/"train_samples": 3000/' "$work/sweep.json" > "$work/slow.json"
"$PY" - "$work/slow.json" <<'PYEDIT'
import json, sys
d = json.load(open(sys.argv[1])); d["name"] = "slow"; d["sweep"] = {"seed": [1, 2]}
json.dump(d, open(sys.argv[1], "w"))
PYEDIT
"$cli" submit "$work/slow.json" --project "$work/p.retort" --slurm --shared-dir "$work/shared" \
    --json > "$work/submit2.json" || fail "second submit"
folder2=$(json "$work/submit2.json" 'd["folder"]')
i=0
while ! pgrep -f "run-point $folder2/points/0.json" >/dev/null; do
    i=$((i + 1)); [ $i -lt 600 ] || fail "task 0 never started"; sleep 0.1
done
while ! grep -q "student epoch" "$folder2/logs/task-0.log" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 1200 ] || fail "task 0 never trained"; sleep 0.1
done
pkill -KILL -f "run-point $folder2/points/0.json" || fail "could not kill task 0"
"$cli" cancel --project "$work/p.retort" 2>/dev/null  # stop the other (slow) task too
sync_until_done "$work/sync3.json" 60
"$cli" list --project "$work/p.retort" --json > "$work/after.json"
"$PY" - "$work/after.json" "$work/before.json" <<'PYCHECK' || fail "the kill lost or changed something"
import json, sys
after = {r["id"]: r for r in json.load(open(sys.argv[1]))["runs"]}
before = {r["id"]: r for r in json.load(open(sys.argv[2]))["runs"]}
for i, r in before.items():
    assert after[i] == r, ("run %d changed" % i)
killed = after[5]
assert killed["status"] in ("failed", "interrupted"), killed
assert "Slurm" in killed.get("error", ""), killed
assert after[6]["status"] in ("cancelled", "failed", "completed"), after[6]
print("killed task:", killed["status"], "-", killed["error"])
print("other task:", after[6]["status"], "-", after[6].get("error", ""))
PYCHECK
"$cli" list --project "$work/p.retort"

gui="$build/tests/tst_workbench"
if [ -x "$gui" ]; then
    echo "== the workbench submits a sweep and follows it"
    mkdir -p "$work/gui"
    (cd "$work/gui" && XDG_CONFIG_HOME="$work/config" RETORT_SLURM_SHARED="$work/shared" \
        QTEST_FUNCTION_TIMEOUT=900000 QT_QPA_PLATFORM=offscreen "$gui" slurmSweepFromTheWorkbench) > "$work/gui.log" 2>&1 ||
        { cat "$work/gui.log"; fail "the workbench's Slurm sweep"; }
    grep -E "PASS|SKIP" "$work/gui.log" | grep slurm
fi
echo "OK in $(( $(date +%s) - t0 )) s"
