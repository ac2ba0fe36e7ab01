#!/usr/bin/env python3
"""Shrinks a fuzz target's seed corpus to a small set with the same edge coverage.

libFuzzer's -merge=1 keeps every input that adds a new feature in order of size, so it keeps
hundreds of small inputs that each add one counter. This runs a merge of each input alone only
for its control file (which then lists every edge that input covers), then keeps the named inputs (hand-written seeds
and regression-* files: anything whose name is not a 40-digit hash) plus a greedy set cover of
the remaining edges, largest gain first, smaller input on ties. Inputs not kept are deleted from
the corpus folder unless --dry-run is given.

    fuzz/minimize.py build-asan/fuzz/fuzz_spec fuzz/corpus/spec [extra input folders...]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HASH = re.compile(r"^[0-9a-f]{40}$")


def coverage(target, folders, env):
    """Per input file: (path, size, set of edges it covers). One merge process per input: within
    one process a merge's control file lists only the edges an input adds to those before it."""
    paths = []
    for folder in folders:
        for name in sorted(os.listdir(folder)):
            p = os.path.join(folder, name)
            if os.path.isfile(p):
                paths.append(p)
    result = []
    with tempfile.TemporaryDirectory() as tmp:
        one, out, control = (os.path.join(tmp, n) for n in ("one", "out", "control"))
        for path in paths:
            for d in (one, out):
                shutil.rmtree(d, ignore_errors=True)
                os.mkdir(d)
            shutil.copy(path, os.path.join(one, "input"))
            if os.path.exists(control):
                os.remove(control)  # an existing control file would resume the last merge
            subprocess.run([target, "-merge=1", "-merge_control_file=" + control,
                            "-rss_limit_mb=4096", out, one], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            cov = set()
            with open(control) as f:
                for line in f:
                    parts = line.split()
                    if parts and parts[0] == "COV":
                        cov.update(parts[2:])
            result.append((path, os.path.getsize(path), cov))
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target")
    ap.add_argument("corpus")
    ap.add_argument("extra", nargs="*", help="more inputs to choose from (copied in if kept)")
    ap.add_argument("--dry-run", action="store_true", help="report, delete nothing")
    ap.add_argument("--cache", help="coverage file: written if absent, else read (no runs)")
    a = ap.parse_args()
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:alloc_dealloc_mismatch=0")
    if a.cache and os.path.exists(a.cache):
        with open(a.cache) as f:  # inputs deleted since (by an earlier run) drop out
            inputs = [(p, size, set(cov)) for p, size, cov in json.load(f) if os.path.exists(p)]
    else:
        inputs = coverage(a.target, [a.corpus] + a.extra, env)
        if a.cache:
            with open(a.cache, "w") as f:
                json.dump([(p, size, sorted(cov)) for p, size, cov in inputs], f)
    every = set().union(*(c for _, _, c in inputs)) if inputs else set()

    keep, covered = [], set()
    for path, size, cov in inputs:
        if os.path.dirname(os.path.abspath(path)) == os.path.abspath(a.corpus) and \
                not HASH.match(os.path.basename(path)):
            keep.append(path)
            covered |= cov
    rest = [x for x in inputs if x[0] not in keep]
    while covered != every:
        best = max(rest, key=lambda x: (len(x[2] - covered), -x[1]))
        if not best[2] - covered:
            break
        keep.append(best[0])
        covered |= best[2]
        rest.remove(best)

    named = sum(1 for p in keep if not HASH.match(os.path.basename(p)))
    print(f"{os.path.basename(a.target)}: {len(inputs)} inputs cover {len(every)} edges; "
          f"keeping {len(keep)} ({named} named) covering {len(covered)}")
    # What a smaller corpus would give up: inputs needed for a share of the edges (named first).
    curve, seen = [], set()
    for i, p in enumerate(keep, 1):
        seen |= next(c for q, _, c in inputs if q == p)
        curve.append((i, len(seen)))
    for share in (0.9, 0.95, 0.99):
        n = next((i for i, c in curve if c >= share * len(every)), 0)
        print(f"  {share:.0%} of the edges: {n} inputs")
    if a.dry_run:
        return 0
    kept = set(os.path.abspath(p) for p in keep)
    for path, _, _ in inputs:
        p = os.path.abspath(path)
        in_corpus = os.path.dirname(p) == os.path.abspath(a.corpus)
        if in_corpus and p not in kept:
            os.remove(p)
        elif not in_corpus and p in kept:
            shutil.copy(p, os.path.join(a.corpus, os.path.basename(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
