"""Benchmark: the full SVC2004 Task1 impersonation protocol through the real CLI.

Goal (issue 4): 20 users, 5 references, 3 seeds, every method, ``--jobs 2`` in <= 120 s on the
2-core development machine. Prints the wall time of the whole command (process start to exit),
the time spent inside the verifiers (fit + score, summed over workers) and what is left for the
harness (start-up, loading, workers, metrics, plots, files).

    .venv/bin/python benchmarks/bench_experiment.py [--jobs 2] [--methods ...] [--limit 120]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "svc2004_task1"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--methods", default=None, help="default: every installed method")
    ap.add_argument("--pseudo", default="off")
    ap.add_argument("--limit", type=float, default=120.0, help="seconds allowed (goal)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "authapp.cli", "experiment", str(args.data), "--format",
               "svc2004", "--references", "5", "--seed", "0", "--seeds", "3",
               "--jobs", str(args.jobs),
               "--pseudo", args.pseudo, "--out", tmp, "--no-progress"]
        if args.methods:
            cmd += ["--methods", args.methods]
        print("$", " ".join(cmd), flush=True)
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"experiment failed with status {proc.returncode}")
            return proc.returncode
        res = json.loads((Path(tmp) / "results.json").read_text())
    timing = res["timing"]
    inside = sum(v["fit_s"] + v["score_s"] for v in timing["per_method"].values())
    inside += sum(timing.get("generate_s", {}).values())
    inside += sum(timing.get("generator_fit_s", {}).values())
    print(f"methods: {', '.join(res['methods'])}")
    print(f"wall time (process): {wall:.1f} s   (inside the command: {timing['wall_s']:.1f} s)")
    for name, v in timing["per_method"].items():
        print(f"  {name:<18} fit {v['fit_s']:7.1f} s  score {v['score_s']:7.1f} s  "
              f"cpu {v.get('cpu_s', float('nan')):7.1f} s")
    per_job = inside / max(args.jobs, 1)
    rest = max(wall - per_job, 0.0)
    print(f"verifier time {inside:.1f} s over {args.jobs} job(s) = {per_job:.1f} s per job; "
          f"harness share ~ {rest:.1f} s ({100 * rest / wall:.0f} %)")
    print(f"load average (1 min) before / after: {load_before:.1f} / "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (a shared machine: a load above "
          "the CPU count means other work slowed this run)")
    ok = wall <= args.limit
    print(f"{'PASS' if ok else 'FAIL'}: {wall:.1f} s {'<=' if ok else '>'} {args.limit:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
