"""Login security: replay-attack detection and lockout after repeated failures.

Replay detection rests on one fact: real handwriting never repeats exactly, while a replayed
recording - a copied file, possibly re-timed, re-sampled, moved, scaled (also per axis),
rotated or with a little noise added - traces the same shape. The verifier ignores exactly
those changes (it centres and z-scores each axis and warps time), so the replay check must
ignore them too, or an altered copy scores as well as the original and passes:

* A recording's **fingerprint** is its writing (idle ends trimmed as the verifier trims them),
  resampled on a time axis normalised to the recording's own duration, low-passed at
  ``SMOOTH_CYCLES`` cycles per recording, then resampled at equal arc-length steps. Time
  shifts, time scaling and resampling leave it unchanged; tracking noise is mostly filtered
  out (the cut-off is relative to the duration, so slowing a noisy copy down does not let
  more noise through).
* Two fingerprints are compared by aligning the query onto the stored one with an **affine
  map** (translation, scale per axis, rotation, shear) on point correspondences found by DTW
  and refined by nearest points on the stored polyline (ICP). The **residual** is the mean
  distance left after that alignment, in both directions, divided by the stored path's RMS
  radius: a unit-free fraction of the writing's size.
* "Too good to be true": a copy, however altered by those transformations and a few mm of
  noise, lies much closer to its original than two real repetitions of the same person
  ever do. ``benchmarks/replay_residuals.py`` measures both on all the real data in
  ``../shared/data``; the thresholds below sit at about half the smallest genuine residual
  (see README, "Enrollment store and security").

Fingerprints are small (``TIME_POINTS`` x dims float32) and kept in the store for every
enrollment sample and login attempt.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.signal import butter, sosfiltfilt

from capture.trajectory import Trajectory
from models.dtw import dtw_path

SHAPE_POINTS = 512
"""Points of each compared path (``shapes``): its polyline follows the path closely."""
LEGACY_POINTS = 512
"""Points of a version-1 fingerprint (raw positions at equal arc-length steps)."""
FINGERPRINT_VERSION = 2
"""1: raw positions at arc-length steps (stores before this version; still compared as they
are); 2: trimmed, time-normalised, low-passed (``fingerprint``)."""
TIME_POINTS = 512
"""Points of a fingerprint: the writing on its normalised time axis."""
GLITCH_SIZE = 0.5
"""Smallest jump, as a fraction of the path's median distance from its centre, that can be
a tracking glitch (a real stroke does not jump that far between two frames and back)."""
PARAM_CYCLES = 32.0
"""Low-pass cut-off (cycles per recording) of the path ``path_parameter`` measures."""
PATH_SAMPLES = 1024
"""Samples along the path before low-passing."""
SPAN_PASSES = 2
END_TRIM = 0.01
"""Fraction of the path's length cut at either end (where rest and the hand entering or
leaving the tracker make the ends of two copies differ)."""
SMOOTH_CYCLES = 16.0
"""Low-pass cut-off in cycles per recording (4 Hz for a 4 s signature): keeps the shape of
the writing, removes most of added per-frame noise (measured: 12-24 give the same margins)."""
ALIGN_POINTS = 128
"""Points of each path used to align the two and to measure the residual."""
DTW_BAND = 0.1
"""Sakoe-Chiba band (fraction of ``ALIGN_POINTS``) of the correspondence search."""
ICP_STEPS = 4
SEARCH_SEGMENTS = 24
"""Nearest points are searched this many polyline segments either side of the
correspondence DTW found (the true nearest point of a copy is there; a genuine pair can only
come out farther apart, never closer, by this restriction)."""

DEFAULT_REPLAY_THRESHOLDS = {3: 0.02, 2: 0.006}
"""Residual (fraction of the writing's RMS radius) below which a recording is a replay, per
spatial dimensionality: in-air 3-D writing varies more than pen signatures on a tablet. The
smallest genuine residuals measured are 0.039 (3-D, 50 + 1 people) and 0.012 (2-D, SVC2004);
every altered copy of the issue's list stays below 0.014 (3-D)."""
REPLAY_THRESHOLD_RANGE = (0.001, 0.1)
"""Accepted values of an administrator's replay threshold (0 would silence the check)."""


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


def _normalised_lowpass(t: np.ndarray, positions: np.ndarray, start: float, stop: float,
                       cycles: float) -> np.ndarray:
    """``[start, stop]`` of a path at ``TIME_POINTS`` equal time steps, low-passed at
    ``cycles`` per that span: relative to the span's own duration, so playing a recording
    faster or slower, or at another frame rate, gives the same result."""
    grid = np.linspace(start, stop, TIME_POINTS)
    pos = np.column_stack([np.interp(grid, t, positions[:, j])
                           for j in range(positions.shape[1])])
    return _lowpass_rows(pos, cycles)


def despiked(traj: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """(times, positions) without isolated glitch frames: trackers emit the odd frame far
    off the path (the Leap CSVs hold rows at (0, 0, 0)), and whether a copy keeps it must not
    matter. A glitch jumps away by more than ``GLITCH_SIZE`` of the path's size and its
    neighbours are much closer to each other than to it (distances only, so rotating or
    scaling a copy changes nothing)."""
    x = traj.positions
    n = x.shape[0]
    step = np.linalg.norm(np.diff(x, axis=0), axis=1)
    size = float(np.median(np.linalg.norm(x - np.median(x, axis=0), axis=1)))
    jump = max(GLITCH_SIZE * size, 1e-9)
    bad = np.zeros(n, dtype=bool)
    if n >= 3:
        skip = np.linalg.norm(x[2:] - x[:-2], axis=1)
        near = np.minimum(step[:-1], step[1:])
        bad[1:-1] = (near > jump) & (near > 4.0 * skip)
    typical = float(np.median(step)) if step.size else 0.0
    bad[0] |= bool(step[0] > max(jump, 20.0 * typical))
    bad[-1] |= bool(step[-1] > max(jump, 20.0 * typical))
    if np.count_nonzero(~bad) < 8:
        return traj.t, x
    return traj.t[~bad], x[~bad]


def fingerprint(traj: Trajectory) -> np.ndarray:
    """Compact, time-free description of a recording's writing: (TIME_POINTS, dims) float32.

    The writing (glitch frames removed, rest and the hand entering or leaving cut off) at
    ``TIME_POINTS`` equal steps of a time axis normalised to its duration, low-passed at
    ``PARAM_CYCLES`` per that duration: re-timing or re-sampling a copy changes nothing.
    The span of writing (between the first and last ``END_TRIM`` of the path's length) is
    found twice, the second time on the first span alone, so that rest padded onto a copy,
    which widens the first time base, is gone by the second. ``shapes`` derives what is
    compared from it.
    """
    t, x = despiked(traj)
    start, stop = float(t[0]), float(t[-1])
    for _ in range(SPAN_PASSES):
        grid = np.linspace(start, stop, TIME_POINTS)
        pos = _normalised_lowpass(t, x, start, stop, PARAM_CYCLES)
        s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pos, axis=0), axis=1))])
        s = s + np.arange(s.size) * (max(float(s[-1]), 1e-9) * 1e-9)  # strictly increasing
        start, stop = (float(v) for v in np.interp([END_TRIM * s[-1], (1 - END_TRIM) * s[-1]],
                                                   s, grid))
    return _normalised_lowpass(t, x, start, stop, PARAM_CYCLES).astype(np.float32)


@functools.lru_cache(maxsize=32)
def _butter(cycles: float, n: int) -> np.ndarray:
    """4th-order Butterworth low-pass at ``cycles`` per ``n`` samples (designs are slow)."""
    return butter(4, min(cycles, 0.45 * n), btype="low", fs=n, output="sos")


def _lowpass_rows(x: np.ndarray, cycles: float) -> np.ndarray:
    """Zero-phase low-pass along the rows of ``x`` at ``cycles`` per all its rows."""
    n = x.shape[0]
    sos = _butter(float(cycles), n)
    return sosfiltfilt(sos, x, axis=0, padlen=min(3 * (2 * len(sos) + 1), n - 1))


def shapes(fp: np.ndarray) -> list[np.ndarray]:
    """The paths a fingerprint is compared by, each at ``SHAPE_POINTS`` arc-length steps.

    [0] low-passed at ``SMOOTH_CYCLES`` along the path (its length, not time: pauses take
    no room); [1] low-passed at ``SMOOTH_CYCLES`` along time, which averages tracking noise
    over equally many frames everywhere. A copy comes close in at least one (measured);
    genuine repetitions are far apart in both.
    """
    x = np.asarray(fp, dtype=np.float64)
    along_path = _lowpass_rows(arc_length_resample(x, PATH_SAMPLES), SMOOTH_CYCLES)
    return [arc_length_resample(along_path, SHAPE_POINTS),
            arc_length_resample(_lowpass_rows(x, SMOOTH_CYCLES), SHAPE_POINTS)]


# -- alignment and residual (compiled) ----------------------------------------------------------
@njit(cache=True)
def _affine_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares affine map (D + 1, D) taking points ``x`` (m, D) onto ``y``: the linear
    part in the first D rows, the translation in the last.

    Fitted on centred points; a tiny ridge keeps it defined for flat or straight paths.
    """
    m, d = x.shape
    mx = np.zeros(d)
    my = np.zeros(d)
    for i in range(m):
        mx += x[i]
        my += y[i]
    mx /= m
    my /= m
    xc = x - mx
    yc = y - my
    xtx = xc.T @ xc
    ridge = 1e-12 * (np.trace(xtx) + 1.0)
    for k in range(d):
        xtx[k, k] += ridge
    out = np.empty((d + 1, d))
    lin = np.linalg.solve(xtx, xc.T @ yc)
    out[:d] = lin
    out[d] = my - mx @ lin
    return out


@njit(cache=True)
def _apply(b: np.ndarray, x: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    return np.ascontiguousarray(x) @ np.ascontiguousarray(b[:d]) + b[d]


@njit(cache=True)
def _nearest(points: np.ndarray, poly: np.ndarray, guess: np.ndarray, span: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distance, nearest point, segment) on ``poly`` for each point, searching ``span``
    segments either side of segment ``guess[i]``."""
    p, d = points.shape
    nseg = poly.shape[0] - 1
    dist = np.empty(p)
    near = np.empty((p, d))
    seg = np.empty(p, dtype=np.int64)
    for i in range(p):
        lo = max(0, guess[i] - span)
        hi = min(nseg, guess[i] + span + 1)
        best = np.inf
        for s in range(lo, hi):
            ab2 = 0.0
            apab = 0.0
            for k in range(d):
                ab = poly[s + 1, k] - poly[s, k]
                ab2 += ab * ab
                apab += (points[i, k] - poly[s, k]) * ab
            u = 0.0 if ab2 <= 1e-18 else min(1.0, max(0.0, apab / ab2))
            d2 = 0.0
            for k in range(d):
                diff = points[i, k] - (poly[s, k] + u * (poly[s + 1, k] - poly[s, k]))
                d2 += diff * diff
            if d2 < best:
                best = d2
                seg[i] = s
                for k in range(d):
                    near[i, k] = poly[s, k] + u * (poly[s + 1, k] - poly[s, k])
        dist[i] = math.sqrt(best)
    return dist, near, seg


@njit(cache=True)
def _refine(qs: np.ndarray, stored: np.ndarray, qdense: np.ndarray, ps: np.ndarray,
            b: np.ndarray, q_guess: np.ndarray, p_guess: np.ndarray, steps: int,
            span: int) -> tuple[float, float]:
    """ICP refinement of the affine map ``b`` (query -> stored), then the mean distances
    (query points to the stored polyline, stored points to the aligned query polyline)."""
    guess = q_guess.copy()
    for _ in range(steps):
        _, near, guess = _nearest(_apply(b, qs), stored, guess, span)
        b = _affine_fit(qs, near)
    dq, _, _ = _nearest(_apply(b, qs), stored, guess, span)
    dp, _, _ = _nearest(ps, _apply(b, qdense), p_guess, span)
    return dq.mean(), dp.mean()


def _subsample(x: np.ndarray, m: int) -> np.ndarray:
    return x[np.linspace(0, x.shape[0] - 1, m).round().astype(np.int64)]


def aligned_residual(query: np.ndarray, stored: np.ndarray) -> float:
    """Residual of ``query`` after the best affine alignment onto ``stored`` (both
    fingerprints), as a fraction of ``stored``'s RMS radius; ``inf`` if they cannot match.

    See the module docstring. Symmetric in what it measures (the larger of the two directed
    mean distances), so a copy of half a path does not match the whole one.
    """
    q = np.asarray(query, dtype=np.float64)
    p = np.asarray(stored, dtype=np.float64)
    if (q.ndim != 2 or p.ndim != 2 or q.shape[1] != p.shape[1] or q.shape[0] < 4
            or p.shape[0] < 4 or not (np.all(np.isfinite(q)) and np.all(np.isfinite(p)))):
        return float("inf")
    size = float(np.sqrt(np.mean(np.sum((p - p.mean(axis=0)) ** 2, axis=1))))
    if size <= 0:
        return float("inf")
    m = ALIGN_POINTS
    qs, ps = _subsample(q, m), _subsample(p, m)
    b = _affine_fit(qs, ps)  # equal arc-length fractions correspond, to begin with
    _, path = dtw_path(_apply(b, qs), ps, window=DTW_BAND)
    b = _affine_fit(qs[path[:, 0]], ps[path[:, 1]])
    # where on the dense polylines each subsampled point's partner lies, per DTW
    q_to_p = np.zeros(m, dtype=np.int64)
    p_to_q = np.zeros(m, dtype=np.int64)
    np.maximum.at(q_to_p, path[:, 0], path[:, 1])
    np.maximum.at(p_to_q, path[:, 1], path[:, 0])
    q_guess = (q_to_p * (p.shape[0] - 1)) // (m - 1)
    p_guess = (p_to_q * (q.shape[0] - 1)) // (m - 1)
    span = max(SEARCH_SEGMENTS, int(np.ceil(2 * max(p.shape[0], q.shape[0]) / m)))
    dq, dp = _refine(qs, p, q, ps, b, q_guess, p_guess, ICP_STEPS, span)
    return max(float(dq), float(dp)) / size


def replay_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The replay residual of fingerprint ``a`` against the stored fingerprint ``b``: the
    smaller ``aligned_residual`` of their ``shapes``."""
    return _replay_residual(shapes(a), b)


def _replay_residual(query_shapes: list[np.ndarray], stored: np.ndarray) -> float:
    stored_arr = np.asarray(stored)
    if stored_arr.ndim != 2 or stored_arr.shape[0] < 4 or stored_arr.shape[1] != \
            query_shapes[0].shape[1] or not np.all(np.isfinite(stored_arr)):
        return float("inf")
    return min(aligned_residual(q, p) for q, p in zip(query_shapes, shapes(stored_arr)))


# -- fingerprints of stores before schema 3 -----------------------------------------------------
LEGACY_THRESHOLD_MM = 1.0
"""Their check: a copy within 1 mm (mean, after moving it) of a stored raw path."""


def legacy_fingerprint(traj: Trajectory) -> np.ndarray:
    """A recording as stores before schema 3 fingerprinted it (version 1): the raw positions
    at ``LEGACY_POINTS`` equal arc-length steps. Only to compare with such stored ones,
    which hold too little (no time, no smoothing) for the aligned comparison."""
    return arc_length_resample(traj.positions, LEGACY_POINTS).astype(np.float32)


def legacy_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The check of stores before schema 3 between two version-1 fingerprints: mean
    distance (mm) to the other's polyline after the best translation, the larger way round."""
    def directed(q: np.ndarray, p: np.ndarray) -> float:
        q = _subsample(q, 96)
        q = q - q.mean(axis=0) + p.mean(axis=0)
        guess = np.zeros(q.shape[0], dtype=np.int64)
        for _ in range(3):
            _, near, guess = _nearest(q, p, guess, p.shape[0])
            q = q + np.mean(near - q, axis=0)
        d, _, _ = _nearest(q, p, guess, p.shape[0])
        return float(d.mean())

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        return float("inf")
    return max(directed(x, y), directed(y, x))


def replay_threshold(dims: int, override: float | None = None) -> float:
    """The residual below which a ``dims``-D recording is a replay (an administrator's
    ``override`` applies to every kind of data)."""
    if override is not None:
        return float(override)
    return DEFAULT_REPLAY_THRESHOLDS.get(int(dims), DEFAULT_REPLAY_THRESHOLDS[3])


@dataclass(frozen=True)
class ReplayMatch:
    """The stored recording a login attempt copies, and how closely: ``residual`` (fraction
    of the writing's size), or for a version-1 stored fingerprint the mean distance in mm
    (``legacy``)."""

    ref: str
    residual: float
    legacy: bool = False

    def describe(self) -> str:
        if self.legacy:
            return f"{self.residual:.3f} mm from {self.ref}"
        return f"residual {self.residual:.4f} of the writing's size from {self.ref}"


def find_replay(query: np.ndarray, stored: Iterable[tuple], threshold: float | None = None,
                legacy_query: np.ndarray | None = None) -> ReplayMatch | None:
    """The closest stored fingerprint whose residual is below the threshold, else None.

    ``stored`` holds (ref, fingerprint) or (ref, fingerprint, version) tuples. ``threshold``
    None uses the default for the query's dimensionality. Version-1 fingerprints are
    compared with ``legacy_query`` (``legacy_fingerprint`` of the same recording) by
    ``legacy_distance``, and skipped without it.
    """
    q = np.asarray(query, dtype=np.float64)
    if q.ndim != 2 or q.shape[0] < 4 or not np.all(np.isfinite(q)):
        return None
    limit = replay_threshold(q.shape[1], threshold)
    query_shapes = shapes(q)
    best: ReplayMatch | None = None
    for item in stored:
        ref, fp = item[0], item[1]
        version = int(item[2]) if len(item) > 2 else FINGERPRINT_VERSION
        if version < 2:
            if legacy_query is not None:
                d = legacy_distance(legacy_query, fp)
                if d < LEGACY_THRESHOLD_MM and (best is None or best.legacy):
                    best = ReplayMatch(ref, d, legacy=True)
            continue
        r = _replay_residual(query_shapes, fp)
        if r < limit and (best is None or best.legacy or r < best.residual):
            best = ReplayMatch(ref, r)
    return best


# -- lockout --------------------------------------------------------------------------------------
MAX_POLICY_FAILURES = 1000
MAX_POLICY_SECONDS = 366 * 86400.0


@dataclass(frozen=True)
class LockoutPolicy:
    """``max_failures`` failed logins within ``window_s`` seconds lock the account for
    ``lockout_s`` seconds. A successful login (or an administrator's unlock, or a
    re-enrollment) resets the count. ``max_failures=0`` disables it.
    """

    max_failures: int = 5
    window_s: float = 600.0
    lockout_s: float = 900.0

    def __post_init__(self) -> None:
        for name in ("max_failures", "window_s", "lockout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise ValueError(f"lockout policy: {name} must be a finite number, got "
                                 f"{value!r}")
        if isinstance(self.max_failures, float) and not self.max_failures.is_integer():
            raise ValueError(f"lockout policy: max_failures must be a whole number, got "
                             f"{self.max_failures!r}")
        object.__setattr__(self, "max_failures", int(self.max_failures))
        if not 0 <= self.max_failures <= MAX_POLICY_FAILURES:
            raise ValueError(f"lockout policy: max_failures must be 0-{MAX_POLICY_FAILURES} "
                             f"(0 disables the lockout), got {self.max_failures}")
        if not 0 < self.window_s <= MAX_POLICY_SECONDS:
            raise ValueError("lockout policy: window_s must be more than 0 and at most a year"
                             f", got {self.window_s:g}")
        if not 0 <= self.lockout_s <= MAX_POLICY_SECONDS:
            raise ValueError("lockout policy: lockout_s must be 0 to a year, got "
                             f"{self.lockout_s:g}")


@dataclass(frozen=True)
class LockState:
    locked: bool
    until: float | None
    recent_failures: int


def lockout_state(failure_times: Sequence[float], last_success: float | None, now: float,
                  policy: LockoutPolicy) -> LockState:
    """Whether an account is locked at ``now`` given its failed-login times.

    The lock starts at the failure that brings the count within one window to
    ``max_failures`` and lasts ``lockout_s``; failures before the last success (or reset)
    do not count.
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
