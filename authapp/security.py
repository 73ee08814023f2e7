"""Login security: replay-attack detection and lockout after repeated failures.

Replay detection rests on one fact: real handwriting never repeats to the micrometre, while a
replayed recording (a copied file, possibly re-timed, re-sampled or with a little noise added)
traces the same path in space. A recording's *fingerprint* is its path resampled at equal
arc-length steps (time plays no part, so re-timing, frame drops and time offsets do not change
it). Two paths are compared by the mean distance from the points of one to the polyline of the
other after a translation alignment (a "chamfer" distance in mm): a copy lies within a small
fraction of a millimetre of the original, two genuine repetitions several millimetres apart.
Fingerprints are small (``FINGERPRINT_POINTS`` x dims float32) and kept in the store for every
enrollment sample and login attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from capture.trajectory import Trajectory

FINGERPRINT_POINTS = 512
"""Points per stored fingerprint: dense enough that the polyline is within ~0.03 mm of the path."""

QUERY_POINTS = 96
"""Points of the incoming recording compared against each stored polyline."""

DEFAULT_REPLAY_THRESHOLD_MM = 1.0
"""Chamfer distance below which a recording counts as a replay (see the module docstring)."""


def arc_length_resample(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points at equal arc-length steps along the polyline ``points`` (N, D).

    Falls back to index steps for a path that does not move at all.
    """
    pts = np.asarray(points, dtype=np.float64)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        s = np.linspace(0.0, 1.0, pts.shape[0])
    else:  # keep it strictly increasing where the hand stood still
        s = s + np.arange(pts.shape[0]) * (s[-1] * 1e-12)
    grid = np.linspace(s[0], s[-1], n)
    return np.column_stack([np.interp(grid, s, pts[:, j]) for j in range(pts.shape[1])])


def fingerprint(traj: Trajectory, n: int = FINGERPRINT_POINTS) -> np.ndarray:
    """Compact, time-free description of a recording's path: (n, dims) float32, in mm."""
    return arc_length_resample(traj.positions, n).astype(np.float32)


def path_distance(query: np.ndarray, stored: np.ndarray, iterations: int = 3) -> float:
    """Mean distance (mm) from ``query``'s points to the polyline ``stored``, best translation.

    Both are fingerprints (any point counts). Translation is aligned by centroids of the
    arc-length samples, then refined by a few nearest-point (ICP-style) steps, so a shifted
    copy is still caught; that alignment cannot bring two genuine repetitions to within a
    fraction of a millimetre. Paths with different dims never match (``inf``).
    """
    q = np.asarray(query, dtype=np.float64)
    p = np.asarray(stored, dtype=np.float64)
    if q.ndim != 2 or p.ndim != 2 or q.shape[1] != p.shape[1] or p.shape[0] < 2 or q.size == 0:
        return float("inf")
    if q.shape[0] > QUERY_POINTS:
        q = q[np.linspace(0, q.shape[0] - 1, QUERY_POINTS).round().astype(int)]
    tree = cKDTree(p)
    q = q - q.mean(axis=0) + p.mean(axis=0)
    for _ in range(iterations):
        _, nearest = _nearest_on_polyline(q, p, tree)
        q = q + np.mean(nearest - q, axis=0)
    d, _ = _nearest_on_polyline(q, p, tree)
    return float(np.mean(d))


_NEIGHBOUR_SEGMENTS = np.arange(-4, 4)


def _nearest_on_polyline(points: np.ndarray, poly: np.ndarray, tree: cKDTree
                         ) -> tuple[np.ndarray, np.ndarray]:
    """(distance, nearest point) on the polyline ``poly`` for each of ``points``.

    Only the segments around each point's nearest vertex are searched (found by a k-d tree):
    exact for a densely sampled path, and O(P log M) instead of O(P M).
    """
    _, k = tree.query(points)
    seg = np.clip(k[:, None] + _NEIGHBOUR_SEGMENTS[None, :], 0, poly.shape[0] - 2)
    a = poly[seg]  # (P, S, D)
    ab = poly[seg + 1] - a
    ap = points[:, None, :] - a
    u = np.clip(np.sum(ap * ab, axis=2) / np.maximum(np.sum(ab * ab, axis=2), 1e-18), 0.0, 1.0)
    proj = a + u[..., None] * ab
    d2 = np.sum((points[:, None, :] - proj) ** 2, axis=2)
    best = np.argmin(d2, axis=1)
    idx = np.arange(points.shape[0])
    return np.sqrt(d2[idx, best]), proj[idx, best]


def replay_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric replay distance: the larger of the two directed path distances (mm)."""
    return max(path_distance(a, b), path_distance(b, a))


@dataclass(frozen=True)
class ReplayMatch:
    """The stored recording a login attempt copies."""

    ref: str
    distance_mm: float


def find_replay(query: np.ndarray, stored: Iterable[tuple[str, np.ndarray]],
                threshold_mm: float = DEFAULT_REPLAY_THRESHOLD_MM) -> ReplayMatch | None:
    """The closest stored fingerprint within ``threshold_mm`` of ``query``, else None.

    A cheap bound (centroid-free extent comparison) skips paths of clearly different size.
    """
    q = np.asarray(query, dtype=np.float64)
    q_extent = np.ptp(q, axis=0) if q.size else None
    best: ReplayMatch | None = None
    for ref, fp in stored:
        p = np.asarray(fp, dtype=np.float64)
        if p.ndim != 2 or q.ndim != 2 or p.shape[1] != q.shape[1] or q_extent is None:
            continue
        if np.max(np.abs(np.ptp(p, axis=0) - q_extent)) > 4 * threshold_mm + 1.0:
            continue  # a copy has the same bounding box up to jitter
        d = replay_distance(q, p)
        if d <= threshold_mm and (best is None or d < best.distance_mm):
            best = ReplayMatch(ref, d)
    return best


# -- lockout --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LockoutPolicy:
    """``max_failures`` failed logins within ``window_s`` seconds lock the account for
    ``lockout_s`` seconds. A successful login resets the count. ``max_failures=0`` disables it.
    """

    max_failures: int = 5
    window_s: float = 600.0
    lockout_s: float = 900.0

    def __post_init__(self) -> None:
        if self.max_failures < 0 or self.window_s <= 0 or self.lockout_s < 0:
            raise ValueError("lockout policy needs max_failures >= 0, window_s > 0, "
                             "lockout_s >= 0")


@dataclass(frozen=True)
class LockState:
    locked: bool
    until: float | None
    recent_failures: int


def lockout_state(failure_times: Sequence[float], last_success: float | None, now: float,
                  policy: LockoutPolicy) -> LockState:
    """Whether an account is locked at ``now`` given its failed-login times.

    The lock starts at the failure that brings the count within one window to
    ``max_failures`` and lasts ``lockout_s``; failures before the last success do not count.
    """
    times = sorted(t for t in failure_times
                   if (last_success is None or t > last_success) and t <= now)
    recent = sum(1 for t in times if t > now - policy.window_s)
    n = policy.max_failures
    if n <= 0 or len(times) < n:
        return LockState(False, None, recent)
    trigger = None
    for k in range(n - 1, len(times)):
        if times[k] - times[k - n + 1] <= policy.window_s:
            trigger = times[k]
    if trigger is not None and now < trigger + policy.lockout_s:
        return LockState(True, trigger + policy.lockout_s, recent)
    return LockState(False, None, recent)
