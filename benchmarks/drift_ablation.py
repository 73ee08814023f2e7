"""Ablation: does anything in the DP-matching member follow a writer's drift between sittings?

Why this exists (issue 21): enrolled from their first SVC2004 sitting, users are rejected far
more often a week later (the product's later-session FRR, Task2 21 %, against 6 % in the same
sitting), while their second-week writing still scores above their forgers'. The DTW member
carries most of the calibrated score, so a drift model belongs there if anywhere. This script
scores, with the harness's own session draw (``draw_trial``, split "sessions": 5 references
from the first sitting, the rest of it and the whole second sitting as genuine attempts, the
user's 20 skilled forgeries), ``DTWVerifier``'s own score under:

* ``baseline``     -- its defaults;
* any ``NAME=PARAMS`` given with ``--variant`` (``DTWVerifier`` parameters as JSON, e.g.
  ``--variant 'sp0={"scale_power": 0}'``);
* ``affine``       -- before DTW, the login's normalised positions are mapped onto each
  template by the least-squares affine map along the default DTW path (slant, shear, aspect
  and size drift taken out; velocity and acceleration recomputed from the mapped path);
  ``affine-half`` moves half way from the identity to that map;
* ``pressure``     -- the pen's pressure (z-scored per sample, weight 1) as one more DTW
  channel; ``pen-angles`` the same with azimuth and altitude (weight 0.5); data without
  those channels give the baseline.

Prints, pooled over users and draws (one global threshold, as a calibration would set it):
EER between second-sitting genuine attempts and forgeries ("later"), the same with
first-sitting attempts ("same"), and the second-sitting FRR where the forgeries' FAR is
10 % and 5 %. ``--strangers`` (data without forgeries or sessions, e.g. the Leap people)
scores two samples of every other person instead and prints the genuine attempts' EER
against them and the FRR where 1 % and 0.1 % of them get in: the strict tail a change must
not loosen. These are the member's own scores, not the product's decision (no calibration,
no adaptation); what the product decides is measured by ``authapp experiment``.

    .venv/bin/python benchmarks/drift_ablation.py ../shared/data/svc2004_task2 --draws 3
    .venv/bin/python benchmarks/drift_ablation.py ../shared/data/leap_air_signatures \
        --format leapcsv --strangers --draws 1
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from authapp.harness import metrics
from authapp.harness.draws import attempt_sessions, draw_trial
from authapp.harness.experiment import ExperimentConfig
from capture.datasets import load_dataset
from capture.preprocess import (  # the kept frames, as the pen channel finds them
    _filtered_positions,
    normalized_positions,
    resample_uniform,
    zscore,
)
from capture.trajectory import Trajectory
from models.dtw import dtw_distance_matrix, dtw_path
from models.dtw_verifier import DTWVerifier, duration_penalty, shrunk_spread
from models.fixed_features import sequences

_PROTOCOL = ExperimentConfig(data_dir=Path("."), references=5, split="sessions")
Scorer = Callable[[list[Trajectory], list[Trajectory]], np.ndarray]


def plain(params: dict) -> Scorer:
    """``DTWVerifier(**params)`` fitted on the references, its ``score_samples``."""
    def score(refs: list[Trajectory], tests: list[Trajectory]) -> np.ndarray:
        return DTWVerifier(**params).fit(refs).score_samples(tests)
    return score


def _pva(pos: np.ndarray, rate_hz: float) -> np.ndarray:
    """The default feature channels (position, z-scored velocity and acceleration) of
    already normalised positions."""
    vel = np.gradient(pos, 1.0 / rate_hz, axis=0)
    acc = np.gradient(vel, 1.0 / rate_hz, axis=0)
    return np.ascontiguousarray(np.column_stack([pos, zscore(vel), zscore(acc)]))


def _like_verifier(refs: list[Trajectory], tests: list[Trajectory],
                   distance: Callable[[DTWVerifier, Trajectory, int], float]) -> np.ndarray:
    """A ``DTWVerifier`` score (nearest template over the shrunk leave-one-out spread, minus
    the duration term) with another query-to-template distance."""
    v = DTWVerifier().fit(refs)
    loo = [min(distance(v, refs[i], j) for j in range(len(refs)) if j != i)
           for i in range(len(refs))]
    scale = shrunk_spread(np.array(loo), v.scale_power, v._typical_spread())
    near = np.array([min(distance(v, q, j) for j in range(len(refs))) for q in tests])
    frames = np.array([len(s) for s in sequences(tests, v.config_)])
    return -near / scale - duration_penalty(frames, v.log_frames_, v.duration_weight)


def affine(strength: float) -> Scorer:
    def distance(v: DTWVerifier, q: Trajectory, j: int) -> float:
        cfg, template = v.config_, v.templates_[j]
        fq = sequences([q], cfg)[0]
        _, path = dtw_path(fq, template, v.window)
        pq = normalized_positions(q, cfg)
        dims = pq.shape[1]
        x = np.column_stack([pq[path[:, 0]], np.ones(len(path))])
        fit = np.linalg.lstsq(x, template[path[:, 1], :dims], rcond=None)[0]
        lin = (1 - strength) * np.eye(dims) + strength * fit[:dims]
        mapped = zscore(pq @ lin + strength * fit[dims])
        return float(dtw_distance_matrix([_pva(mapped, cfg.rate_hz)], [template], v.window)[0, 0])

    def score(refs: list[Trajectory], tests: list[Trajectory]) -> np.ndarray:
        return _like_verifier(refs, tests, distance)
    return score


def extra_channels(names: Sequence[str], weight: float) -> Scorer:
    """The default features plus the named pen channels (z-scored, times ``weight``)."""
    def seq(v: DTWVerifier, t: Trajectory) -> np.ndarray:
        cfg = v.config_
        base = sequences([t], cfg)[0]
        _, keep = _filtered_positions(t, cfg)  # the frames the features kept (idle trim)
        cols = [zscore(resample_uniform(t.t, t.channels[n], cfg.rate_hz)[1][keep]) * weight
                for n in names if n in t.channels]
        return np.ascontiguousarray(np.column_stack([base, *cols])) if cols else base

    def score(refs: list[Trajectory], tests: list[Trajectory]) -> np.ndarray:
        cache: dict[int, np.ndarray] = {}

        def distance(v: DTWVerifier, q: Trajectory, j: int) -> float:
            a = cache.setdefault(id(q), seq(v, q))
            b = cache.setdefault(id(refs[j]), seq(v, refs[j]))
            return float(dtw_distance_matrix([a], [b], v.window)[0, 0])
        return _like_verifier(refs, tests, distance)
    return score


STRANGER_SAMPLES = (0, 7)
"""Which samples of every other person attempt with ``--strangers``."""


def one_user(user: str, genuine: list[Trajectory], forgeries: list[Trajectory],
             scorers: dict[str, Scorer], draws: int) -> dict[str, dict[str, list[float]]]:
    """Scores by kind ("same", "later", "forgery") per variant; ``forgeries`` are whoever
    must be rejected (skilled forgers, or strangers with ``--strangers``)."""
    out: dict[str, dict[str, list[float]]] = {n: {"same": [], "later": [], "forgery": []}
                                              for n in scorers}
    for seed in range(draws):
        refs, tests, _ = draw_trial(_PROTOCOL, user, seed, genuine, [])
        kinds = attempt_sessions(refs, tests)
        for name, scorer in scorers.items():
            s = scorer(refs, tests + forgeries)
            for k, kind in enumerate(kinds):
                out[name][kind].append(float(s[k]))
            out[name]["forgery"] += s[len(tests):].tolist()
    return out


def frr_at_far(genuine: np.ndarray, forged: np.ndarray, far: float) -> float:
    """Share of genuine scores below the threshold that accepts ``far`` of the forgeries."""
    return float(np.mean(genuine < np.quantile(forged, 1.0 - far)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="a data set with sessions and skilled forgeries")
    ap.add_argument("--format", default="svc2004")
    ap.add_argument("--draws", type=int, default=3, help="reference draws (seeds 0..N-1)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--strangers", action="store_true",
                    help="other people's samples as the impostors (data without forgeries)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                    help="DTWVerifier parameters to compare as well (repeatable)")
    args = ap.parse_args()
    scorers: dict[str, Scorer] = {"baseline": plain({})}
    for spec in args.variant:
        name, _, params = spec.partition("=")
        scorers[name] = plain(json.loads(params))
    scorers.update({"affine": affine(1.0), "affine-half": affine(0.5),
                    "pressure": extra_channels(["pressure"], 1.0),
                    "pen-angles": extra_channels(["azimuth", "altitude"], 0.5)})
    ds = load_dataset(args.data, args.format)
    if args.strangers:
        users = ds.identities
        against = {u: [ds.genuine(o)[k] for o in users if o != u for k in STRANGER_SAMPLES
                       if k < len(ds.genuine(o))] for u in users}
    else:
        users = [u for u in ds.identities if ds.forgeries(u)]
        against = {u: ds.forgeries(u) for u in users}
        if not users:
            raise SystemExit(f"{args.data}: no skilled forgeries (use --strangers)")
    t0 = time.perf_counter()
    per_user = Parallel(n_jobs=args.jobs)(
        delayed(one_user)(u, ds.genuine(u), against[u], scorers, args.draws) for u in users)
    print(f"{len(users)} users, {args.draws} draws, {time.perf_counter() - t0:.0f} s")
    if args.strangers:
        print(f"{'variant':14s} {'EER %':>7s} {'FRR @ FAR 1 %':>13s} {'@ FAR 0.1 %':>11s}")
        for name in scorers:
            g = np.array([x for u in per_user for k in ("same", "later") for x in u[name][k]])
            f = np.array([x for u in per_user for x in u[name]["forgery"]])
            print(f"{name:14s} {100 * metrics.eer(g, f):7.3f} "
                  f"{100 * frr_at_far(g, f, 0.01):13.2f} {100 * frr_at_far(g, f, 0.001):11.2f}")
        return 0
    print(f"{'variant':14s} {'EER later %':>11s} {'EER same %':>10s} "
          f"{'FRR later @ FAR 10 %':>20s} {'@ FAR 5 %':>9s}")
    for name in scorers:
        pooled = {k: np.array([x for u in per_user for x in u[name][k]])
                  for k in ("same", "later", "forgery")}
        if not pooled["later"].size:
            raise SystemExit(f"{args.data}: no later-sitting attempts (no sessions?)")
        f = pooled["forgery"]
        print(f"{name:14s} {100 * metrics.eer(pooled['later'], f):11.2f} "
              f"{100 * metrics.eer(pooled['same'], f):10.2f} "
              f"{100 * frr_at_far(pooled['later'], f, 0.10):20.2f} "
              f"{100 * frr_at_far(pooled['later'], f, 0.05):9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
