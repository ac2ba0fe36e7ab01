#!/usr/bin/env python3
"""Runs the peer (PyTorch from Python) and Retort on the benchmark workloads and prints a table.

W1: one run, 1 epoch. W2: sweep of 8 runs (T in {1,2,4,8} x lambda in {0.5,0.9}), 1 epoch each.
W3: one run, 10 epochs. T (text): WordNet, Transformer teacher 1 epoch + one BiLSTM KD epoch
(--workloads T; peer/text_peer.py). W1-W3: Fashion-MNIST (60,000 training images, no validation split),
frozen untrained teacher conv32-conv64-fc128, student MLP 784-128-10, Hinton KD, Adam 1e-3,
batch 128, 2 threads, CPU. Whole processes, peer and Retort alternated, medians and ratios.
Each Retort run writes a fresh project: no teacher outputs are carried between measurements.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER = os.path.join(HERE, "peer", "kd_peer.py")
TEXT_PEER = os.path.join(HERE, "peer", "text_peer.py")
SWEEP = [(t, lam) for t in (1, 2, 4, 8) for lam in (0.5, 0.9)]


def timed(cmd, log):
    """Runs cmd, returns (wall seconds, peak RSS in MB, stdout). The peak RSS is the child's own,
    from wait4's rusage: no external time(1) program is needed."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=log, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.monotonic() - start
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            sys.exit(f"bench: {' '.join(cmd)} failed with exit {p.returncode}")
        out.seek(0)
        stdout = out.read()
    return wall, usage.ru_maxrss / 1024.0, stdout


def spec_file(name, tmp, limit, epochs=None, extra=None):
    with open(os.path.join(HERE, "specs", name + ".json")) as f:
        spec = json.load(f)
    if limit:
        spec["data"]["limit_train"] = limit
    if epochs:
        spec["train"]["epochs"] = epochs
    if extra:
        extra(spec)
    path = os.path.join(tmp, f"{name}-{limit}-{epochs}.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def run_retort(cli, spec, tmp, log, counter=[0]):
    counter[0] += 1
    project = os.path.join(tmp, f"r{counter[0]}.retort")
    wall, rss, out = timed([cli, "run", spec, "--project", project, "--json"], log)
    return wall, rss, json.loads(out)


def run_peer(args, log):
    return timed([sys.executable, PEER] + args, log)


def peer_workload(w, limit, log):
    base = ["--threads", "2"] + (["--limit", str(limit)] if limit else [])
    if w == "W1":
        return run_peer(base + ["--epochs", "1"], log)[:2]
    if w == "W3":
        return run_peer(base + ["--epochs", "10"], log)[:2]
    total, peak = 0.0, 0.0
    for t, lam in SWEEP:
        wall, rss, _ = run_peer(base + ["--epochs", "1", "--temperature", str(t), "--lam", str(lam)], log)
        total += wall
        peak = max(peak, rss)
    return total, peak


def retort_text_figures(project, out):
    """Teacher and student training seconds and real training tokens of a T run's project."""
    import sqlite3
    results = out["runs"][0]["results"]
    db = sqlite3.connect(f"file:{project}?mode=ro", uri=True)
    summary = json.loads(db.execute("SELECT summary FROM teachers").fetchone()[0])
    db.close()
    teacher_seconds = sum(e["epoch_seconds"] for e in summary["epochs"])
    tokens = results["mean_tokens"] * results["train_samples"]
    return {"teacher_seconds": teacher_seconds, "teacher_tokens_per_s": tokens * len(summary["epochs"]) / teacher_seconds,
            "student_seconds": results["train_seconds"], "student_tokens_per_s": tokens / results["train_seconds"],
            "train_tokens": tokens, "teacher_test_accuracy": results["teacher_test_accuracy"],
            "test_accuracy": results["test_accuracy"]}


def text_workload(cli, tmp, limit, pairs, log):
    """T: WordNet, the Transformer teacher 3x192 one epoch, then one KD epoch of the BiLSTM
    student. Whole processes alternated; training rates in real (non-padding) tokens per second."""
    spec = spec_file("t1", tmp, limit)
    peer_args = ["--threads", "2"] + (["--limit", str(limit)] if limit else [])
    rows = {"peer": [], "retort": []}
    for i in range(pairs):
        for side in (["peer", "retort"] if i % 2 == 0 else ["retort", "peer"]):
            if side == "peer":
                wall, rss, out = timed([sys.executable, TEXT_PEER] + peer_args, log)
                fig = json.loads(out)
            else:
                project = os.path.join(tmp, f"t{i}.retort")
                wall, rss, out = timed([cli, "run", spec, "--project", project, "--json"], log)
                fig = retort_text_figures(project, json.loads(out))
            fig.update(wall=wall, rss=rss)
            rows[side].append(fig)
        print(f"  T pair {i + 1}: peer {rows['peer'][-1]['wall']:.1f} s, Retort {rows['retort'][-1]['wall']:.1f} s",
              file=sys.stderr)
    med = {side: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for side, rs in rows.items()}
    p, r = med["peer"], med["retort"]
    print("\nText workload T (WordNet; teacher Transformer 3x192, 1 epoch; BiLSTM student, 1 KD epoch; "
          f"batch 64; {pairs} pair(s), medians; tokens are real tokens, padding not counted):\n")
    print("| figure | peer | Retort | Retort / peer |")
    print("| --- | ---: | ---: | ---: |")
    for key, label, better_high in [("wall", "whole process (s)", False),
                                    ("teacher_seconds", "teacher epoch (s)", False),
                                    ("teacher_tokens_per_s", "teacher training (tokens/s)", True),
                                    ("student_seconds", "KD student epoch (s)", False),
                                    ("student_tokens_per_s", "KD student training (tokens/s)", True),
                                    ("rss", "peak RSS (MB)", False)]:
        ratio = r[key] / p[key] if better_high else p[key] / r[key]
        print(f"| {label} | {p[key]:,.1f} | {r[key]:,.1f} | {ratio:.2f}x {'faster' if key != 'rss' else 'smaller'} |")
    print(f"| test accuracy, teacher / student (1 seed) | {p['teacher_test_accuracy']:.4f} / {p['test_accuracy']:.4f} "
          f"| {r['teacher_test_accuracy']:.4f} / {r['test_accuracy']:.4f} | |")
    # The study of examples/wordnet.json (teacher 4 epochs, six students 4 epochs each),
    # projected from these figures the same way for both sides: a peer process for the teacher
    # and one per student, each paying the measured overhead (data, tokenizer, evaluation);
    # Retort charged the same overhead seven times too (conservative: it loads data once).
    def study(f):
        overhead = f["wall"] - f["teacher_seconds"] - f["student_seconds"]
        return 7 * overhead + 4 * f["teacher_seconds"] + 6 * 4 * f["student_seconds"]
    print(f"\nProjected study (4 teacher epochs + 6 BiLSTM-sized students x 4 epochs, from the figures above): "
          f"peer {study(p) / 60:.1f} min, Retort {study(r) / 60:.1f} min, {study(p) / study(r):.2f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2,000 images, one pair, W1 and W2: a smoke run")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--workloads", default="W1,W2,W3", help="any of W1,W2,W3,T")
    ap.add_argument("--accuracy", action="store_true",
                    help="also compare accuracy: trained teacher (3 epochs), 5 student epochs, seeds 1-3")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    cli = os.path.join(args.build, "app", "retort-cli")
    rates = os.path.join(args.build, "bench", "retort-bench")
    limit = 2000 if args.quick else 0
    pairs = 1 if args.quick else args.pairs
    workloads = ["W1", "W2", "T"] if args.quick else args.workloads.split(",")
    log = open(os.devnull, "w")

    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"# Retort vs PyTorch peer — {datetime.date.today()} — commit {rev}")
    print(f"Machine: {cpu}, {os.cpu_count()} cores, {platform.platform()}; Python {platform.python_version()}")
    rate = json.loads(subprocess.run([rates, "--threads", "2", "--images", "2000" if args.quick else "20000"],
                                     capture_output=True, text=True, check=True).stdout)
    print(f"BLAS: {rate['blas']}")
    print(f"\nfp32 matrix product (2048^3): {rate['gemm_gflops']:.0f} GFLOP/s; teacher forward: "
          f"LibTorch NCHW {rate['teacher_nchw_gflops']:.0f} GFLOP/s, Retort frozen path "
          f"{rate['teacher_frozen_gflops']:.0f} GFLOP/s = {100 * rate['teacher_frozen_vs_gemm']:.0f} % of the "
          f"matrix-product rate (2 threads)\n")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for w in [w for w in workloads if w != "T"]:
            spec = spec_file(w.lower(), tmp, limit)
            peer_t, peer_m, ret_t, ret_m = [], [], [], []
            for i in range(pairs):
                order = ["peer", "retort"] if i % 2 == 0 else ["retort", "peer"]
                for side in order:
                    if side == "peer":
                        t, m = peer_workload(w, limit, log)
                        peer_t.append(t)
                        peer_m.append(m)
                    else:
                        t, m, _ = run_retort(cli, spec, tmp, log)
                        ret_t.append(t)
                        ret_m.append(m)
                print(f"  {w} pair {i + 1}: peer {peer_t[-1]:.2f} s, Retort {ret_t[-1]:.2f} s", file=sys.stderr)
            pt, rt = statistics.median(peer_t), statistics.median(ret_t)
            pm, rm = statistics.median(peer_m), statistics.median(ret_m)
            rows.append((w, pt, rt, pt / rt, pm, rm, rm / pm, ", ".join(f"{p:.1f}/{r:.1f}" for p, r in zip(peer_t, ret_t))))

        print("| workload | peer (s) | Retort (s) | speed-up | peer peak RSS (MB) | Retort peak RSS (MB) | RSS ratio | pairs peer/Retort (s) |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for w, pt, rt, sp, pm, rm, mr, each in rows:
            print(f"| {w} | {pt:.2f} | {rt:.2f} | {sp:.1f}x | {pm:.0f} | {rm:.0f} | {mr:.2f} | {each} |")

        if "T" in workloads:
            text_workload(cli, tmp, limit, pairs, log)

        gui = os.path.join(args.build, "bench", "retort-bench-gui")
        if os.path.exists(gui):
            # The workbench's worker thread against retort-cli: the engine's own training
            # throughput (train_samples_per_s) for W1, alternated.
            spec = spec_file("w1", tmp, limit)
            cli_rate, gui_rate = [], []
            for i in range(pairs):
                for side in (["cli", "gui"] if i % 2 == 0 else ["gui", "cli"]):
                    if side == "cli":
                        _, _, out = run_retort(cli, spec, tmp, log)
                        cli_rate.append(out["runs"][0]["results"]["train_samples_per_s"])
                    else:
                        project = os.path.join(tmp, f"gui{i}.retort")
                        _, _, out = timed([gui, spec, project], log)
                        gui_rate.append(json.loads(out)[0]["results"]["train_samples_per_s"])
            c, g = statistics.median(cli_rate), statistics.median(gui_rate)
            print(f"\nW1 student training speed: retort-cli {c:,.0f} samples/s, workbench worker thread "
                  f"{g:,.0f} samples/s ({100 * (g / c - 1):+.1f} %)")

        if args.accuracy and not args.quick:
            def seeds(spec):
                spec["teacher"]["train"] = {"epochs": 3}
                spec["sweep"] = {"seed": [1, 2, 3]}
            spec = spec_file("w1", tmp, 0, epochs=5, extra=seeds)
            _, _, out = run_retort(cli, spec, tmp, log)
            ours = [r["results"]["test_accuracy"] for r in out["runs"]]
            theirs = []
            for s in (1, 2, 3):
                _, _, o = run_peer(["--threads", "2", "--epochs", "5", "--teacher-epochs", "3", "--seed", str(s)], log)
                theirs.append(json.loads(o)["test_accuracy"])
            print("\nAccuracy (trained teacher, 3 epochs; student 5 epochs; seeds 1, 2, 3):")
            print(f"Retort {', '.join(f'{a:.4f}' for a in ours)} (mean {statistics.mean(ours):.4f}); "
                  f"peer {', '.join(f'{a:.4f}' for a in theirs)} (mean {statistics.mean(theirs):.4f}); "
                  f"difference {100 * (statistics.mean(ours) - statistics.mean(theirs)):+.2f} points")


if __name__ == "__main__":
    main()
