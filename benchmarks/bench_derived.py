"""Benchmark: the derived-replay check of one accepted login (issue 24), warm, in-process.

FMKit's luduo: samples 1-5 are the stored enrollment, 6-10 the logins. Times, after one
warm-up of each:

* one affine alignment (``authapp.replay_align.aligned_residual``), over every ordered pair
  of the 10 samples' path shapes;
* preparing the 5 stored samples (``replay_derived.stored_set``: references, blends, bounds,
  the crop grid), as for an account not yet prepared in this process;
* the check of each login (``find_derived_replay``) with the crop search on one thread (the
  reference) and on the default pool, in the same run: their ratio is the threads' speed-up.
  Both must find the same thing (nothing: these are genuine logins);
* a long-used account (the check grows with the stored samples, adapted ones included): the
  Leap person with the most recordings, all but the last stored (14: 5 enrolled and 9
  adapted at most ``max_adapted`` 10), and the check of the last, on the default pool.

Run from an older checkout (``git worktree add DIR COMMIT``, then ``cd DIR`` and the same
command) for the figures before a change: code without the thread pool times one mode.

    nice .venv/bin/python benchmarks/bench_derived.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "fmkit_leap"
LEAP = REPO.parent / "shared" / "data" / "leap_air_signatures"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from authapp import replay_derived
    from authapp.replay_align import aligned_residual
    from authapp.replay_fingerprint import fingerprint, shapes
    from capture.formats import load_recording

    recs = [load_recording(DATA / f"luduo_luduo_{i:02d}.txt") for i in range(1, 11)]
    paths = [shapes(fingerprint(r))[0] for r in recs]
    pairs = [(a, b) for i, a in enumerate(paths) for j, b in enumerate(paths) if i != j]
    aligned_residual(*pairs[0])
    t0 = time.perf_counter()
    for _ in range(args.rounds):
        for a, b in pairs:
            aligned_residual(a, b)
    per_pair = (time.perf_counter() - t0) / (args.rounds * len(pairs))

    def prepared() -> replay_derived.StoredSet:
        return replay_derived.stored_set([replay_derived.reference(f"sample {i}", r)
                                          for i, r in enumerate(recs[:5], 1)])

    prepared()
    prep = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        stored = prepared()
        prep.append(time.perf_counter() - t0)
    # code before the threaded crop search (run from an older checkout) has one mode only
    pooled = hasattr(replay_derived, "_POOLS")
    modes = ["1 thread (reference)"] + (["pool"] if pooled else [])
    times: dict[str, list[float]] = {k: [] for k in modes}
    found: dict[str, list[object]] = {k: [] for k in modes}

    def check(name: str, login: object) -> object:
        if not pooled:
            return replay_derived.find_derived_replay(login, stored)
        threads = replay_derived.CROP_THREADS
        replay_derived._POOLS.clear()
        replay_derived.CROP_THREADS = 1 if name == modes[0] else threads
        try:
            return replay_derived.find_derived_replay(login, stored)
        finally:
            replay_derived.CROP_THREADS = threads
            replay_derived._POOLS.clear()

    for name in modes:  # warm-up of each
        check(name, recs[5])
    for _ in range(args.rounds):
        for name in modes:
            for login in recs[5:]:
                t0 = time.perf_counter()
                found[name].append(check(name, login))
                times[name].append(time.perf_counter() - t0)
    if any(found[name] != found[modes[0]] for name in modes):
        raise SystemExit("the pool found something else than one thread")
    print(f"one alignment: {per_pair * 1000:.3f} ms (mean of {args.rounds} x {len(pairs)} "
          "pairs)")
    print(f"preparing 5 stored samples: median {statistics.median(prep) * 1000:.0f} ms")
    base = statistics.median(times["1 thread (reference)"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"check of one login, {name:<22} median {med * 1000:6.0f} ms, max "
              f"{max(ts) * 1000:6.0f} ms, {base / med:.2f}x")
    from capture.datasets import load_dataset

    leap = load_dataset(LEAP, "leapcsv")
    person = max(leap.identities, key=lambda u: (len(leap.genuine(u)), u))
    *kept, last = leap.genuine(person)
    long_used = replay_derived.stored_set([replay_derived.reference(f"sample {i}", r)
                                           for i, r in enumerate(kept, 1)])
    replay_derived.find_derived_replay(last, long_used)
    long_times = []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        if replay_derived.find_derived_replay(last, long_used) is not None:
            raise SystemExit(f"{person}'s last recording was found derived")
        long_times.append(time.perf_counter() - t0)
    print(f"check of one login against {len(kept)} stored samples ({person}, a long-used "
          f"account): median {statistics.median(long_times) * 1000:.0f} ms, max "
          f"{max(long_times) * 1000:.0f} ms")
    print(f"derived replays found: {sum(f is not None for f in found[modes[0]])} of "
          f"{len(found[modes[0]])} genuine logins; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
