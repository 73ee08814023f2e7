"""Identification accuracy on real people: the index's shortlist against exhaustive search.

Open set, per data set: the identities are shuffled (seed 0) and half of them enroll with
their first 5 genuine samples through the product's pipeline (``models.enrollment.
build_user_model`` with ``Settings()``'s defaults: calibrated fusion, the other enrolled
users' samples as the cohort); queries are the enrolled people's other genuine samples
(closed-set part: identified as the right person?) and every genuine sample of the other half
(outsiders: rejected?). Every enrolled verifier scores every query once; then

* exhaustive: the user with the largest decision value is named when it is >= 0
  (``AuthService.identify``'s rule), among all N enrolled;
* index: the same rule among the ``SHORTLIST`` users whose nearest enrollment sample is
  nearest in the embedding (``models.embedding``, as ``authapp.identify_index`` ranks them;
  exact nearest neighbours here).

Reported against the number enrolled N (the first N of the enrolled half), with 95 % paired
bootstrap intervals (1,000 resamples of the people) of index minus exhaustive. Replay and
lockout rules are the same for both and not simulated.

    nice .venv/bin/python benchmarks/identify_accuracy.py [--datasets leap_air_signatures,...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"
SETS = {"leap_air_signatures": "leapcsv", "svc2004_task1": "svc2004",
        "svc2004_task2": "svc2004", "fmkit_leap": "fmkit"}
K_REFS = 5


def score_matrix(name: str, fmt: str, seed: int, cache: Path | None = None) -> dict:
    from authapp.harness.data import load
    from authapp.service_settings import Settings
    from models.embedding import RecordingEmbedding
    from models.enrollment import EnrollmentQualityError, build_user_model

    ds = load(DATA / name, fmt)
    people = [i for i in ds.identities if len(ds.genuine(i)) > K_REFS]
    rng = np.random.default_rng(seed)
    people = [people[i] for i in rng.permutation(len(people))]
    enrolled, outsiders = people[: len(people) // 2], people[len(people) // 2:]
    settings = Settings()
    es = settings.enrollment()
    cals = settings.calibrations()
    refs = {p: list(ds.genuine(p))[:K_REFS] for p in enrolled}
    queries, truth = [], []
    for p in enrolled:
        queries += list(ds.genuine(p))[K_REFS:]
        truth += [p] * (len(ds.genuine(p)) - K_REFS)
    for p in outsiders:
        queries += list(ds.genuine(p))
        truth += [p] * len(ds.genuine(p))
    emb = RecordingEmbedding()
    qvec = emb.transform(queries)
    values, cents, kept = [], [], []
    t0 = time.perf_counter()
    cached = cache / f"{name}-{seed}.npz" if cache else None
    if cached is not None and cached.exists():  # the verifiers' scores of an earlier run
        with np.load(cached) as z:
            kept = [str(p) for p in z["enrolled"]]
            return {"enrolled": kept, "outsiders": outsiders, "truth": truth,
                    "values": z["values"], "qvec": qvec,
                    "cents": np.stack([emb.transform(refs[p]) for p in kept])}
    for p in enrolled:
        others = [t for o in enrolled if o != p for t in refs[o]]
        try:
            model = build_user_model(refs[p], es, calibrations=cals, others=others)
        except EnrollmentQualityError as exc:
            print(f"  {name}: {p} not enrolled ({exc})", file=sys.stderr)
            continue
        values.append(np.asarray(model.verifier.decision_function(queries), dtype=float))
        cents.append(emb.transform(refs[p]))
        kept.append(p)
    print(f"  {name}: {len(kept)} enrolled, {len(outsiders)} outsiders, {len(queries)} "
          f"queries, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cached, enrolled=np.array(kept), values=np.stack(values, axis=1))
    return {"enrolled": kept, "outsiders": outsiders, "truth": truth,
            "values": np.stack(values, axis=1), "qvec": qvec, "cents": np.stack(cents)}


def decide(values: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Index of the named user per query (-1: rejected): largest value >= 0 among allowed."""
    v = np.where(allowed, values, -np.inf)
    best = np.argmax(v, axis=1)
    ok = v[np.arange(len(v)), best] >= 0
    return np.where(ok, best, -1)


def outcomes(m: dict, n: int, shortlist: int | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query: correct (enrolled: named rightly; outsider: rejected), whether the query
    is of an enrolled person (among the first n), and whether that person is on the
    shortlist."""
    users = m["enrolled"][:n]
    values = m["values"][:, :n]
    if shortlist is None or shortlist >= n:
        allowed = np.ones_like(values, dtype=bool)
    else:
        # (queries, users): squared distance to the user's nearest enrollment sample
        d = ((m["qvec"][:, None, None, :] - m["cents"][None, :n]) ** 2).sum(-1).min(-1)
        near = np.argsort(d, axis=1, kind="stable")[:, :shortlist]
        allowed = np.zeros_like(values, dtype=bool)
        np.put_along_axis(allowed, near, True, axis=1)
    named = decide(values, allowed)
    index = {u: k for k, u in enumerate(users)}
    truth = np.array([index.get(t, -1) for t in m["truth"]])
    # people enrolled beyond the first n are outsiders of the smaller store, as are the
    # outsider half
    listed = allowed[np.arange(len(truth)), np.maximum(truth, 0)] & (truth >= 0)
    return named == truth, truth >= 0, listed


def bootstrap(people: list[str], diff_of: dict[str, np.ndarray], reps: int = 1000,
              seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    sums = np.array([diff_of[p].sum() for p in people])
    counts = np.array([diff_of[p].size for p in people])
    stats = []
    for _ in range(reps):
        pick = rng.integers(0, len(people), len(people))
        stats.append(sums[pick].sum() / max(counts[pick].sum(), 1))
    lo, hi = np.percentile(stats, [2.5, 97.5])
    return float(lo), float(hi)


def main() -> int:
    from authapp.identify_index import SHORTLIST

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=",".join(SETS))
    ap.add_argument("--shortlist", type=int, default=SHORTLIST)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    ap.add_argument("--cache", type=Path, default=None,
                    help="folder keeping the verifiers' score matrices (a rerun with another "
                         "--shortlist or embedding reuses them)")
    args = ap.parse_args()
    out = []
    for name in args.datasets.split(","):
        m = score_matrix(name, SETS[name], args.seed, args.cache)
        n_max = len(m["enrolled"])
        for n in sorted({n for n in (5, 10, 15, 20, 25, n_max) if n <= n_max}):
            ex_ok, closed, _ = outcomes(m, n, None)
            ix_ok, _, listed = outcomes(m, n, args.shortlist)
            row = {"dataset": name, "enrolled": n, "shortlist": args.shortlist,
                   "shortlist_recall": float(listed[closed].mean())}
            for part, mask in (("top1", closed), ("outsider_rejection", ~closed)):
                people = sorted({t for t, c in zip(m["truth"], mask) if c})
                diff = {p: (ix_ok.astype(float) - ex_ok.astype(float))[
                    mask & (np.array(m["truth"]) == p)] for p in people}
                row[part] = {"exhaustive": float(ex_ok[mask].mean()),
                             "index": float(ix_ok[mask].mean()), "queries": int(mask.sum()),
                             "diff_ci95": bootstrap(people, diff)}
            out.append(row)
            t, o = row["top1"], row["outsider_rejection"]
            print(f"{name:<20} N={n:>3}  recall {row['shortlist_recall']:.3f}  top-1 exhaustive {t['exhaustive']:.3f} index "
                  f"{t['index']:.3f} (diff CI {t['diff_ci95'][0]:+.3f}..{t['diff_ci95'][1]:+.3f})"
                  f"  outsider rejection {o['exhaustive']:.3f} / {o['index']:.3f} (diff CI "
                  f"{o['diff_ci95'][0]:+.3f}..{o['diff_ci95'][1]:+.3f})", flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
