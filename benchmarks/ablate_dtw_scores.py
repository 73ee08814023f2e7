"""Ablation: score-level alternatives to the DP-matching verifier against skilled forgeries.

Why this exists: SVC2004's best Task1 team reported 2.84 % EER; the DTW verifier here sits
near 3.5 % (pooled, 100 reference draws) however its features are set.  This script checks,
on the same reference draws as ``authapp experiment`` (its ``draw_trial``: 5 references, the
other 15 genuine samples and the user's 20 forgeries as attempts), whether ideas from the field move that number:

* ``baseline``   -- ``DTWVerifier`` with its defaults (checked to equal it: ``--check``);
* ``stability``  -- each template's per-point spread (mean aligned cost of the other
  references, smoothed, floored) divides the query's aligned costs (FMKit's uncertainty
  weighting); ``stability-half`` divides by its square root;
* ``fused-<set>`` -- the mean of the baseline score and the same score from a second DTW on
  another feature set (independent alignments);
* ``cohort-ratio`` / ``cohort-znorm`` -- other people's distances to the references (their
  first 4 genuine samples) rescale the score (partly, or as a Z-norm);
* ``global``     -- |z| of 11 global writing facts (speed, pen-ups, strokes, aspect, ...)
  against the references, averaged and weighted 0.05, subtracted from the score;
* ``learned``    -- a logistic regression over 10 distance features, trained on the other
  half of the users (disjoint, ``assign_folds``) with their forgeries, on other draws.

Prints pooled EER (one global threshold) and the mean per-user EER, in %.

    .venv/bin/python benchmarks/ablate_dtw_scores.py ../shared/data/svc2004_task1 --draws 40
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from scipy.ndimage import uniform_filter1d

from authapp.harness import metrics
from authapp.harness.experiment import ExperimentConfig, assign_folds, draw_trial
from capture.datasets import load_dataset
from capture.preprocess import lowpass, resample_uniform, trim_idle
from capture.trajectory import Trajectory
from models.dtw import dtw_distance_matrix, dtw_path
from models.dtw_verifier import (
    DEFAULT_FEATURES,
    TYPICAL_SPREAD,
    DTWVerifier,
    blended_distance,
    duration_penalty,
    shrunk_spread,
)
from models.fixed_features import make_config, sequences

COHORT_PER_USER = 4
_PROTOCOL = ExperimentConfig(data_dir=Path("."), references=5)  # only its draw settings are used
OTHER_FEATURES = {
    "vel-acc": dict(DEFAULT_FEATURES, channels=["vel", "acc"]),
    "50hz": {"rate_hz": 50.0, "cutoff_hz": 10.0},
}


@dataclass
class UserData:
    """Everything the scorers need about one user: DTW results of every sample (genuine
    first, then forgeries) against every genuine sample."""

    user: str
    n_genuine: int
    dist: np.ndarray  # (n_samples, n_genuine) path-normalised DTW distance
    frames: np.ndarray  # (n_samples,) feature frames
    point_cost: dict[tuple[int, int], np.ndarray]  # (sample, template) -> mean cost per template frame
    path_len: np.ndarray  # (n_samples, n_genuine)
    other_dist: dict[str, np.ndarray]  # feature-set name -> (n_samples, n_genuine)
    cohort: np.ndarray  # (cohort samples, n_genuine)
    facts: np.ndarray  # (n_samples, n_facts) global writing facts


def writing_facts(traj: Trajectory, rate_hz: float = 100.0) -> np.ndarray:
    """Global facts a forger may get wrong: log duration, path length, speed statistics,
    mean acceleration, aspect ratio, pen-up fraction, strokes, velocity sign changes."""
    _, pos = resample_uniform(traj.t, traj.positions, rate_hz)
    pos = lowpass(pos, rate_hz, 20.0)
    keep = trim_idle(pos, rate_hz)
    pos = pos[keep]
    dur = len(pos) / rate_hz
    vel = np.gradient(pos, 1 / rate_hz, axis=0)
    spd = np.linalg.norm(vel, axis=1) + 1e-9
    acc = np.linalg.norm(np.gradient(vel, 1 / rate_hz, axis=0), axis=1) + 1e-9
    ext = np.ptp(pos, axis=0) + 1e-9
    pen = traj.channels.get("pen_down")
    if pen is not None:
        _, p = resample_uniform(traj.t, np.asarray(pen, float), rate_hz)
        down = p[keep] > 0.5
        up_frac, strokes = 1.0 - down.mean(), 1.0 + np.sum(np.diff(down.astype(int)) == 1)
    else:
        up_frac, strokes = 0.0, 1.0
    flips = [np.sum(np.diff(np.sign(vel[:, k])) != 0) / dur for k in range(2)]
    return np.array([np.log(dur), np.log(spd.sum() / rate_hz), np.log(spd.mean()),
                     np.log(spd.std() + 1e-9), np.log(np.percentile(spd, 95)), np.log(acc.mean()),
                     np.log(ext[0] / ext[1]), up_frac, strokes, *flips])


def user_data(user: str, samples: list[Trajectory], n_genuine: int, cohort: list[Trajectory],
              window: float) -> UserData:
    cfg = make_config(DEFAULT_FEATURES)
    seqs = sequences(samples, cfg)
    n = len(seqs)
    dist, path_len = np.zeros((n, n_genuine)), np.zeros((n, n_genuine))
    point_cost = {}
    for i, a in enumerate(seqs):
        for j in range(n_genuine):
            if i == j:
                continue
            b = seqs[j]
            total, path = dtw_path(a, b, window)
            cost = np.linalg.norm(a[path[:, 0]] - b[path[:, 1]], axis=1)
            per = np.bincount(path[:, 1], weights=cost, minlength=len(b))
            cnt = np.bincount(path[:, 1], minlength=len(b))
            point_cost[(i, j)] = per / np.maximum(cnt, 1)
            dist[i, j], path_len[i, j] = total / len(path), len(path)
    other = {name: dtw_distance_matrix(sequences(samples, make_config(c)),
                                       sequences(samples[:n_genuine], make_config(c)), window)
             for name, c in OTHER_FEATURES.items()}
    coh = dtw_distance_matrix(sequences(cohort, cfg), seqs[:n_genuine], window)
    return UserData(user, n_genuine, dist, np.array([len(s) for s in seqs]), point_cost, path_len,
                    other, coh, np.array([writing_facts(t) for t in samples]))


# -- scorers: (user data, reference indices, attempt indices) -> scores, higher = genuine ----
Scorer = Callable[[UserData, list[int], list[int]], np.ndarray]
_DTW = DTWVerifier()


def _scale(loo_mean: float, typical: float) -> float:
    return shrunk_spread(np.array([loo_mean]), _DTW.scale_power, typical)


def _nearest(dist: np.ndarray, refs: list[int], rows: list[int]) -> tuple[np.ndarray, float]:
    """Distances of ``rows`` to the references as the verifier blends them, and the mean
    leave-one-out distance among the references."""
    sub = dist[np.ix_(refs, refs)].copy()
    np.fill_diagonal(sub, np.nan)  # blended_distance skips NaN: a reference against itself
    return (blended_distance(dist[np.ix_(rows, refs)], _DTW.min_weight),
            float(np.mean(blended_distance(sub, _DTW.min_weight))))


def _duration_term(u: UserData, refs: list[int], tests: list[int]) -> np.ndarray:
    return duration_penalty(u.frames[tests], float(np.mean(np.log(u.frames[refs]))),
                            _DTW.duration_weight)


def baseline(u: UserData, refs: list[int], tests: list[int], dist: np.ndarray | None = None,
             typical: float = TYPICAL_SPREAD[2]) -> np.ndarray:
    d, loo = _nearest(u.dist if dist is None else dist, refs, tests)
    return -d / _scale(loo, typical) - _duration_term(u, refs, tests)


def _spread(u: UserData, template: int, others: list[int]) -> np.ndarray:
    s = uniform_filter1d(np.mean([u.point_cost[(o, template)] for o in others], axis=0), 5)
    return np.maximum(s, 0.5 * np.median(s))


def _weighted(u: UserData, query: int, template: int, spread: np.ndarray, gamma: float) -> float:
    return float(np.sum(u.point_cost[(query, template)] / spread ** gamma) / len(spread))


def stability(gamma: float) -> Scorer:
    def score(u: UserData, refs: list[int], tests: list[int]) -> np.ndarray:
        spreads = {r: _spread(u, r, [o for o in refs if o != r]) for r in refs}
        loo = []
        for h in refs:
            rest = [o for o in refs if o != h]
            loo.append(min(_weighted(u, h, r, _spread(u, r, [o for o in rest if o != r]), gamma)
                           for r in rest))
        d = np.array([min(_weighted(u, q, r, spreads[r], gamma) for r in refs) for q in tests])
        return -d / _scale(float(np.mean(loo)), 1.0) - _duration_term(u, refs, tests)
    return score


def fused(name: str, typical: float) -> Scorer:
    def score(u: UserData, refs: list[int], tests: list[int]) -> np.ndarray:
        return 0.5 * (baseline(u, refs, tests)
                      + baseline(u, refs, tests, u.other_dist[name], typical))
    return score


def cohort_ratio(u: UserData, refs: list[int], tests: list[int]) -> np.ndarray:
    d, loo = _nearest(u.dist, refs, tests)
    imp = float(u.cohort[:, refs].min(axis=1).mean())
    scale = loo ** 0.5 * imp ** 0.25 * TYPICAL_SPREAD[2] ** 0.25
    return -d / scale - _duration_term(u, refs, tests)


def cohort_znorm(u: UserData, refs: list[int], tests: list[int]) -> np.ndarray:
    d, _ = _nearest(u.dist, refs, tests)
    imp = u.cohort[:, refs].min(axis=1)
    return -(d - imp.mean()) / max(imp.std(), 1e-9) - _duration_term(u, refs, tests)


def global_facts(floor: np.ndarray, weight: float = 0.05) -> Scorer:
    def score(u: UserData, refs: list[int], tests: list[int]) -> np.ndarray:
        ref = u.facts[refs]
        sd = np.maximum(ref.std(axis=0, ddof=1), floor)
        z = np.abs(u.facts[tests] - ref.mean(axis=0)) / sd
        return baseline(u, refs, tests) - weight * z.mean(axis=1)
    return score


def distance_features(u: UserData, refs: list[int], tests: list[int]) -> np.ndarray:
    """(attempts, 10): nearest / mean / farthest distance over the user's spread, raw nearest,
    log spread, duration term, nearest distance of two other feature sets over their spreads,
    nearest path stretch, cohort-relative distance."""
    d_all = u.dist[np.ix_(tests, refs)]
    d, loo = _nearest(u.dist, refs, tests)
    cols = [d / loo, d_all.mean(1) / loo, d_all.max(1) / loo, d, np.full(len(tests), np.log(loo)),
            _duration_term(u, refs, tests)]
    for name in OTHER_FEATURES:
        od, oloo = _nearest(u.other_dist[name], refs, tests)
        cols.append(od / oloo)
    stretch = u.path_len[np.ix_(tests, refs)] / np.maximum.outer(u.frames[tests], u.frames[refs])
    cols.append(stretch.min(1))
    cols.append(d / u.cohort[:, refs].min(axis=1).mean())
    return np.column_stack(cols)


# -- protocol -------------------------------------------------------------------------------
def draw(user: str, seed: int, n_genuine: int, n_samples: int) -> tuple[list[int], list[int]]:
    """(reference indices, attempt indices): the harness's own draw (``draw_trial``, random
    split) made on sample indices; forgeries (indices from ``n_genuine`` on) always attempt."""
    refs, tests, _ = draw_trial(_PROTOCOL, user, seed, list(range(n_genuine)), [])
    return refs, tests + list(range(n_genuine, n_samples))


def evaluate(data: dict[str, UserData], scorer: Scorer, seeds: range) -> tuple[float, float]:
    """(pooled EER, mean per-user EER) in %, every user's seeds together."""
    gen, imp, user_eers = [], [], []
    for user, u in sorted(data.items()):
        ug, ui = [], []
        for seed in seeds:
            refs, tests = draw(user, seed, u.n_genuine, len(u.frames))
            s = scorer(u, refs, tests)
            genuine = np.array(tests) < u.n_genuine
            ug.append(s[genuine])
            ui.append(s[~genuine])
        gen += ug
        imp += ui
        user_eers.append(metrics.eer(np.concatenate(ug), np.concatenate(ui)))
    return (100 * metrics.eer(np.concatenate(gen), np.concatenate(imp)),
            100 * float(np.mean(user_eers)))


def learned(data: dict[str, UserData], seeds: range, fold_seed: int = 0) -> tuple[float, float]:
    """Logistic regression on ``distance_features``, trained on the other fold's users (and
    their forgeries) over draws disjoint from ``seeds``; scores per fold like ``evaluate``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    users = sorted(data)
    fold_of = assign_folds(users, users, 2, fold_seed)
    train_seeds = range(seeds.stop + 1000, seeds.stop + 1000 + len(seeds))
    models = {}
    for fold in (0, 1):
        X, y = [], []
        for user in (v for v in users if fold_of[v] != fold):
            u = data[user]
            for seed in train_seeds:
                refs, tests = draw(user, seed, u.n_genuine, len(u.frames))
                X.append(distance_features(u, refs, tests))
                y.append(np.array(tests) < u.n_genuine)
        models[fold] = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(
            np.vstack(X), np.concatenate(y))

    def score(u: UserData, refs: list[int], tests: list[int]) -> np.ndarray:
        return models[fold_of[u.user]].decision_function(distance_features(u, refs, tests))
    return evaluate(data, score, seeds)


def load_users(data_dir: Path, jobs: int, window: float,
               limit: int | None = None) -> dict[str, UserData]:
    """Pair data of the first ``limit`` users (all by default)."""
    ds = load_dataset(data_dir, "svc2004")
    users = ds.identities[:limit]
    if not ds.has_forgeries:
        raise SystemExit(f"{data_dir}: no forgeries; this ablation is about skilled forgers")
    cohort = {u: [t for o in users if o != u for t in ds.genuine(o)[:COHORT_PER_USER]]
              for u in users}
    built = Parallel(n_jobs=jobs)(
        delayed(user_data)(u, ds.genuine(u) + ds.forgeries(u), len(ds.genuine(u)), cohort[u],
                           _DTW.window) for u in users)
    return dict(zip(users, built))


def check_baseline(data_dir: Path, data: dict[str, UserData], seed: int = 0) -> float:
    """Largest |difference| between ``baseline`` and ``DTWVerifier`` scores on one draw."""
    ds = load_dataset(data_dir, "svc2004")
    worst = 0.0
    for user, u in sorted(data.items())[:3]:
        samples = ds.genuine(user) + ds.forgeries(user)
        refs, tests = draw(user, seed, u.n_genuine, len(samples))
        v = DTWVerifier().fit([samples[i] for i in refs])
        mine = baseline(u, refs, tests)
        worst = max(worst, float(np.max(np.abs(v.score_samples([samples[i] for i in tests]) - mine))))
    return worst


def scorers(data: dict[str, UserData]) -> dict[str, Scorer]:
    typical = {name: float(np.median([np.median(u.other_dist[name][:u.n_genuine][
        ~np.eye(u.n_genuine, dtype=bool)]) for u in data.values()])) for name in OTHER_FEATURES}
    facts_sd = np.mean([u.facts[:u.n_genuine].std(axis=0, ddof=1) for u in data.values()], axis=0)
    out: dict[str, Scorer] = {"baseline": baseline, "stability": stability(1.0),
                              "stability-half": stability(0.5)}
    out.update({f"fused-{name}": fused(name, typical[name]) for name in OTHER_FEATURES})
    out.update({"cohort-ratio": cohort_ratio, "cohort-znorm": cohort_znorm,
                "global": global_facts(np.maximum(0.5 * facts_sd, 1e-3))})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="an SVC2004 task folder")
    ap.add_argument("--draws", type=int, default=40, help="reference draws (seeds 0..N-1)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--users", type=int, default=None, help="only the first N users")
    ap.add_argument("--check", action="store_true",
                    help="first check that 'baseline' reproduces DTWVerifier's scores")
    args = ap.parse_args()
    t0 = time.perf_counter()
    data = load_users(args.data, args.jobs, _DTW.window, args.users)
    print(f"{len(data)} users, DTW pairs in {time.perf_counter() - t0:.0f} s")
    if args.check:
        print(f"baseline vs DTWVerifier: max |score difference| {check_baseline(args.data, data):.2e}")
    seeds = range(args.draws)
    print(f"{'variant':16s} {'pooled EER %':>12s} {'user EER %':>10s}   ({args.draws} draws)")
    for name, scorer in scorers(data).items():
        pooled, user = evaluate(data, scorer, seeds)
        print(f"{name:16s} {pooled:12.2f} {user:10.2f}")
    pooled, user = learned(data, seeds)
    print(f"{'learned':16s} {pooled:12.2f} {user:10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
