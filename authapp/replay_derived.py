"""Derived replays: a login closer to the stored samples than fresh genuine writing ever is.

``authapp.security.find_replay`` catches copies that differ from a stored recording by what
the verifier ignores (time, translation, scale, rotation, a little noise): their residual is
far below any genuine one, whoever writes. Copies *derived* from stolen samples in other ways
are not that close in absolute terms, but are still much closer to the samples they come
from than the person's own fresh writing gets, and the verifier loves them (issue 22: a copy
projected onto a plane, the first or last 10 % cut off, the average of two samples, a smooth
warp of a few mm, resampled to 15 Hz). So this check is relative, per user:

* **Bound** (leave-one-out): how close the user's own enrollment samples come to each other,
  by each measure below (the smallest value over all pairs). This is the closest that two
  fresh genuine writings of this person have come.
* **Query**: how close the login comes to the stored samples, by the same measures, where a
  stored sample also stands for what can be derived from it: its crops (in time), its
  projection onto the login's plane (when the login is flat), its resampling at the login's
  frame rate (when the login is sparser), and the averages of two stored samples.
* A login whose ratio (query / bound) by any measure is below ``DERIVED_RATIO`` is a replay.

The measures, each invariant to what the verifier ignores:

* ``shape``: ``authapp.replay_align``'s affine-aligned residual of the shapes (time-free),
  in both directions (aligning the stored sample onto the login also covers linear
  projections: a rank-deficient affine map);
* ``dynamics``: the DTW distance between the verifier's own feature sequences (z-scored
  position, velocity and acceleration at 100 Hz): the *timing* of the writing, which a warp of
  a few mm keeps exactly and which fresh writing never repeats. It is the distance the DTW
  verifier scores by, so this is "the score is too good", normalised per user.

``benchmarks/replay_residuals.py --derived`` measures the ratio of every genuine pair of the
shared data sets (no genuine login flagged) and of the derived copies (README).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from authapp.replay_align import aligned_residual
from authapp.replay_fingerprint import fingerprint, path_shape, shapes
from capture.trajectory import Trajectory
from models.dtw import dtw_distance_matrix
from models.dtw_verifier import DEFAULT_FEATURES
from models.fixed_features import make_config, sequences

__all__ = [
    "CROPS",
    "CROP_STEP",
    "CROP_THREADS",
    "CROP_TOLERANCE",
    "DERIVED_RATIO",
    "DTW_WINDOW",
    "MAX_CROP",
    "DerivedMatch",
    "Reference",
    "StoredSet",
    "alike",
    "blend",
    "derived_bounds",
    "find_derived_replay",
    "reference",
    "stored_set",
]

DERIVED_RATIO = 0.5
"""A login closer than this fraction of the user's own closest genuine pair (by any measure)
is a derived replay. Measured on every genuine pair of the shared data (README): the
smallest genuine ratio is well above it."""
CROP_STEP = 0.01
"""First step of the fine search of a cut (half the step of the ``CROPS`` grid)."""
MAX_CROP = 0.3
"""Largest fraction of a stored sample's writing time cut off at either end."""
CROP_TOLERANCE = 0.002
"""The best cut of the grid is refined by a pattern search down to this step: the residual
of a cut copy has a narrow minimum (a 10 % cut of one Leap sample: 0.027 at 0.05 of its
fingerprint, 0.0066 at 0.07; 7 % of both ends of an SVC2004 one: 0.004 at (0.03, 0.05), above
0.025 at starts 0.01 and 0.04), which a grid alone misses."""
_GRID = round(MAX_CROP / (2 * CROP_STEP))
_DIAGONAL = round(MAX_CROP / (4 * CROP_STEP))
CROPS = tuple([(round(i * 2 * CROP_STEP, 4), 0.0) for i in range(1, _GRID + 1)]
              + [(0.0, round(j * 2 * CROP_STEP, 4)) for j in range(1, _GRID + 1)]
              + [(round(k * 2 * CROP_STEP, 4),) * 2 for k in range(1, _DIAGONAL + 1)])
"""(start, end) fractions of a stored sample's writing time cut off that every stored sample
is tried at first: its start alone, its end alone, and both by the same amount, in steps of
twice ``CROP_STEP``, ``MAX_CROP`` in all at most (a cut copy's residual has a valley only
1-2 % of the writing time wide in the start, a wide one in the end); each stored sample is
then searched from the best cut of each of the three scans, in both ends at once. Every
sample, not only the nearest: a cut copy need not be the nearest sample uncut (cutting a fast
start moves much of the path)."""
DTW_WINDOW = 0.15
"""Sakoe-Chiba band of the dynamics distance (the DTW verifier's)."""
FLAT = 0.02
"""A login whose thinnest principal axis is below this fraction of its widest is flat (a
projection of 3-D writing onto a plane)."""
SPARSER = 0.8
"""A login sampled at less than this fraction of a stored sample's frame rate is compared
with that sample resampled at the login's rate as well."""
MIN_SAMPLES = 2
"""Stored samples needed to learn a bound (one genuine pair)."""
BLEND_SAMPLES = 8
"""Blends are made of the first this many stored samples (28 pairs): the cost grows with the
square of the count, and an enrollment has 5."""
CROP_THREADS = 4
"""Most threads the crop search uses (at most one per CPU)."""
_CONFIG = make_config(DEFAULT_FEATURES)


@dataclass(frozen=True)
class Reference:
    """One stored recording (or blend of two), with what the measures need of it."""

    ref: str
    traj: Trajectory
    fp: np.ndarray
    shapes: tuple[np.ndarray, ...]
    seq: np.ndarray
    _crops: dict = field(default_factory=dict, compare=False, repr=False)

    def crop(self, start: float, end: float) -> np.ndarray:
        """The along-path shape of this sample with ``start`` and ``end`` (fractions of its
        writing time) cut off; computed once, when first needed (only the nearest samples
        are cropped)."""
        key = (round(start, 4), round(end, 4))
        if key not in self._crops:
            n = self.fp.shape[0]
            self._crops[key] = path_shape(self.fp[round(start * n): n - round(end * n)])
        return self._crops[key]


@dataclass(frozen=True)
class DerivedMatch:
    """The stored sample (or blend) a login is derived from, by which measure, and how close
    (``ratio``: the login's distance over the user's closest genuine pair's)."""

    ref: str
    measure: str
    ratio: float

    def describe(self) -> str:
        return (f"{self.ratio:.2f} of the closest genuine pair's {self.measure} distance "
                f"from {self.ref}")


def reference(ref: str, traj: Trajectory, fp: np.ndarray | None = None) -> Reference:
    """A ``Reference`` for ``traj`` (``fp``: its fingerprint when already computed)."""
    f = fingerprint(traj) if fp is None else np.asarray(fp)
    return Reference(ref, traj, f, tuple(shapes(f)), np.asarray(sequences([traj], _CONFIG)[0]))


def blend(a: Trajectory, b: Trajectory) -> Trajectory:
    """The average of two recordings, frame by frame after resampling both to the same
    number of frames (what an attacker averaging two stolen samples computes)."""
    m = min(len(a), len(b))

    def at(t: Trajectory) -> np.ndarray:
        g = np.linspace(0, len(t) - 1, m)
        return np.column_stack([np.interp(g, np.arange(len(t)), t.positions[:, k])
                                for k in range(t.dims)])

    return Trajectory(np.linspace(a.t[0], a.t[-1], m), (at(a) + at(b)) / 2)


def _shape(q: Sequence[np.ndarray], p: Sequence[np.ndarray]) -> float:
    """The shape measure: smallest residual over the shapes, aligning either way."""
    return min(min(aligned_residual(a, b), aligned_residual(b, a)) for a, b in zip(q, p))


def _dynamics(q: np.ndarray, refs: Sequence[np.ndarray]) -> np.ndarray:
    return dtw_distance_matrix([q], list(refs), DTW_WINDOW)[0]


def _rate(t: Trajectory) -> float:
    dt = np.diff(t.t)
    dt = dt[dt > 0]
    return float(1.0 / np.median(dt)) if dt.size else 0.0


def _flat_normal(t: Trajectory) -> np.ndarray | None:
    """The normal of the plane a 3-D recording lies in, or None when it is not flat."""
    if t.dims != 3:
        return None
    x = t.positions - t.positions.mean(axis=0)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    return vt[-1] if s[0] > 0 and s[-1] < FLAT * s[0] else None


def _derived_of(query: Trajectory, r: Reference) -> list[tuple[str, Trajectory]]:
    """What the login may have been made of ``r`` by: its projection onto the login's plane,
    its resampling at the login's rate (crops are compared on fingerprints, ``_crops``)."""
    out = []
    normal = _flat_normal(query)
    if normal is not None and _flat_normal(r.traj) is None:
        p = r.traj.positions
        out.append(("projected", Trajectory(r.traj.t, p - np.outer(p @ normal, normal))))
    rate, own = _rate(query), _rate(r.traj)
    if 0 < rate < SPARSER * own:
        grid = np.arange(r.traj.t[0], r.traj.t[-1], 1.0 / rate)
        if grid.size >= 8:
            out.append((f"resampled at {rate:.0f} Hz", Trajectory(grid, np.column_stack(
                [np.interp(grid, r.traj.t, r.traj.positions[:, k])
                 for k in range(r.traj.dims)]))))
    return out


def _crop_residual(q: Sequence[np.ndarray], r: Reference, cut: tuple[float, float]) -> float:
    """The shape measure (along the path) against ``r`` with ``cut`` = (start, end) cut off."""
    ok = 0 <= cut[0] <= MAX_CROP and 0 <= cut[1] <= MAX_CROP and any(cut)
    return aligned_residual(q[0], r.crop(*cut)) if ok else np.inf


def _crops(q: Sequence[np.ndarray], r: Reference, start: tuple[float, float],
           known: dict[tuple[float, float], float]) -> float:
    """The shape measure against ``r`` with its start and/or end cut off, any cut: a pattern
    search from the coarse grid's best cut ``start``, steps halving from ``CROP_STEP`` to
    ``CROP_TOLERANCE``; the smallest residual of the cuts it visited. ``known``: the
    residuals of ``r``'s cuts computed so far (the grid's, the other searches'), shared so
    that no cut is aligned twice (a search's path depends only on the values: the same
    cuts are visited, fewer alignments made)."""
    scores: dict[tuple[float, float], float] = {}

    def at(c: tuple[float, float]) -> float:
        c = (round(c[0], 4), round(c[1], 4))
        if c not in scores:
            if c not in known:
                known[c] = _crop_residual(q, r, c)
            scores[c] = known[c]
        return scores[c]

    best, step = start, CROP_STEP
    while step >= CROP_TOLERANCE:
        a, b = best
        move = min(((a + step, b), (a - step, b), (a, b + step), (a, b - step)), key=at)
        if at(move) < at(best):
            best = (round(move[0], 4), round(move[1], 4))
        else:
            step /= 2
    return min(scores.values())


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    """Threads for the crop search, one stored sample each: it is most of a login's check
    (hundreds of alignments), and the alignment code releases the GIL. One pool per process:
    a child forked after a check (parallel logins, test servers) gets a new one, because the
    parent's threads do not exist there and work given to them would never run."""
    with _POOL_LOCK:
        pool = _POOLS.get(os.getpid())
        if pool is None:
            _POOLS.clear()
            pool = _POOLS[os.getpid()] = ThreadPoolExecutor(
                max_workers=max(1, min(CROP_THREADS, os.cpu_count() or 1)),
                thread_name_prefix="derived-replay")
        return pool


@dataclass(frozen=True)
class StoredSet:
    """A user's stored samples prepared for the check: references, their pairwise blends and
    the bounds (computed once per enrollment: ``stored_set``)."""

    refs: tuple[Reference, ...]
    blends: tuple[Reference, ...]
    bounds: dict[str, float]


def stored_set(refs: Sequence[Reference]) -> StoredSet:
    """Everything of a user's stored samples the check needs, login after login (the cuts of
    the ``CROPS`` grid included: every login tries them all)."""
    mixes = _blends(refs)
    for r in refs:
        for cut in CROPS:
            r.crop(*cut)
    return StoredSet(tuple(refs), tuple(m for _, _, m in mixes), derived_bounds(refs, mixes))


def alike(first: Trajectory, second: Trajectory, user: StoredSet) -> DerivedMatch | None:
    """Whether ``second`` is derived from ``first`` (or the other way round) by the user's own
    bounds: two writings offered as proof of identity must differ as genuine writings do."""
    one = StoredSet((reference("the first proof", first),), (), user.bounds)
    return find_derived_replay(second, one)


def derived_bounds(refs: Sequence[Reference],
                   mixes: Sequence[tuple[int, int, Reference]] | None = None
                   ) -> dict[str, float]:
    """The user's closest genuine pair by each measure (leave-one-out over the stored
    samples): ``shape``, ``dynamics``, and the same against blends of two other samples
    (``blend shape``, ``blend dynamics``; from three samples). ``mixes``: ``_blends(refs)``
    when already made."""
    n = len(refs)
    mixes = _blends(refs) if mixes is None else mixes
    out = {"shape": np.inf, "dynamics": np.inf, "blend shape": np.inf,
           "blend dynamics": np.inf}
    # ``_shape`` aligns both ways and keeps the smaller: symmetric, so each pair once
    for i, j in combinations(range(n), 2):
        out["shape"] = min(out["shape"], _shape(refs[i].shapes, refs[j].shapes))
    for i in range(n):
        others = [refs[j] for j in range(n) if j != i]
        out["dynamics"] = min(out["dynamics"],
                              float(_dynamics(refs[i].seq, [o.seq for o in others]).min()))
        mixes_i = [m for a, b, m in mixes if i not in (a, b)]
        if mixes_i:
            out["blend shape"] = min(out["blend shape"],
                                     min(_shape(refs[i].shapes, m.shapes) for m in mixes_i))
            out["blend dynamics"] = min(out["blend dynamics"], float(
                _dynamics(refs[i].seq, [m.seq for m in mixes_i]).min()))
    return out


def _blends(refs: Sequence[Reference]) -> list[tuple[int, int, Reference]]:
    """(i, j, the average of samples i and j) for every pair."""
    return [(i, j, reference(f"the average of {refs[i].ref} and {refs[j].ref}",
                             blend(refs[i].traj, refs[j].traj)))
            for i, j in combinations(range(min(len(refs), BLEND_SAMPLES)), 2)]


def find_derived_replay(query: Trajectory, stored: StoredSet,
                        ratio: float = DERIVED_RATIO) -> DerivedMatch | None:
    """The closest stored sample (or blend, crop, projection, resampling of one) the login
    comes closer to than ``ratio`` times the user's closest genuine pair, else None.

    Fewer than ``MIN_SAMPLES`` stored samples: no bound (infinite), no check (None).
    """
    refs, b = stored.refs, stored.bounds
    if not refs:
        return None
    q = reference("login", query)
    best: DerivedMatch | None = None

    def consider(ref: str, measure: str, value: float, bound_key: str) -> None:
        nonlocal best
        bound = b.get(bound_key, np.inf)
        if not (np.isfinite(bound) and bound > 0):
            return
        r = float(value) / bound
        if r < ratio and (best is None or r < best.ratio):
            best = DerivedMatch(ref, measure, r)

    dyn = _dynamics(q.seq, [r.seq for r in refs])
    for r, d in zip(refs, dyn):
        consider(r.ref, "dynamics", d, "dynamics")
        s = _shape(q.shapes, r.shapes)
        consider(r.ref, "shape", s, "shape")
        for what, derived in _derived_of(query, r):
            dr = reference(f"{r.ref} {what}", derived)
            consider(dr.ref, "shape", _shape(q.shapes, dr.shapes), "shape")
            consider(dr.ref, "dynamics", _dynamics(q.seq, [dr.seq])[0], "dynamics")
    # crops: a coarse grid of cuts of every stored sample, then a fine search from its best
    def best_cut(r: Reference) -> float:
        grid = [(_crop_residual(q.shapes, r, c), c) for c in CROPS]
        known = {c: value for value, c in grid}
        scans = (grid[:_GRID], grid[_GRID:2 * _GRID], grid[2 * _GRID:])
        return min(min(_crops(q.shapes, r, min(g)[1], known) for g in scans), min(grid)[0])

    for r, cut in zip(refs, _pool().map(best_cut, refs)):  # (in order: same ties)
        consider(f"{r.ref} (cropped)", "shape", cut, "shape")
    if stored.blends:
        for m, d in zip(stored.blends, _dynamics(q.seq, [m.seq for m in stored.blends])):
            consider(m.ref, "dynamics", d, "blend dynamics")
            consider(m.ref, "shape", _shape(q.shapes, m.shapes), "blend shape")
    return best
