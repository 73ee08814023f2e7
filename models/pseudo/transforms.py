"""The transforms that make candidate pseudo samples from one reference, at a strength.

Global variations (small affine transform, writing speed, time warp, amplitude jitter) mimic
how one person's repetitions differ; local ones (one stroke segment distorted, shifted,
stretched, swapped with the corresponding segment of another reference, or removed) mimic
both natural variation (weak) and a forger's mistakes (strong). Strength is unitless here: the
nominal size of each transform grows with it (``models.pseudo.displacement`` rescales it per
user). Apart from ``models.pseudo.candidates`` because each transform is one self-contained
piece of geometry on a working copy (``Rec``); which transforms and strengths to draw, and what
becomes of the results, is the candidate generator's business.
Everything is deterministic for a ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.interpolate import CubicSpline

from capture.trajectory import MIN_FRAMES, Trajectory

GLOBAL_TRANSFORMS = ("affine", "speed", "timewarp", "jitter")
LOCAL_TRANSFORMS = ("distort", "shift", "stretch", "swap", "remove")
TRANSFORMS = GLOBAL_TRANSFORMS + LOCAL_TRANSFORMS
BINARY_CHANNELS = ("pen_down",)
"""Channels that are states, not measurements: resampled by nearest frame, never blended."""
DISPLACEMENTS = ("affine", "jitter", "distort", "shift", "stretch")
"""Transforms that only move positions (frames unchanged): their size can be rescaled."""


# -- a mutable working copy -------------------------------------------------------------------
@dataclass
class Rec:
    """A trajectory's times, positions and channels as plain arrays the transforms edit."""

    t: np.ndarray
    pos: np.ndarray
    ch: dict[str, np.ndarray]

    @classmethod
    def of(cls, traj: Trajectory) -> Rec:
        return cls(traj.t.copy(), traj.positions.copy(), {k: v.copy() for k, v in
                                                          traj.channels.items()})

    @property
    def n(self) -> int:
        return self.t.shape[0]


def _size(pos: np.ndarray) -> float:
    """RMS distance from the centroid: the yardstick for displacement strengths."""
    c = pos - pos.mean(axis=0)
    s = float(np.sqrt(np.mean(np.sum(c**2, axis=1))))
    return s if s > 0 else 1.0


def _signed(rng: np.random.Generator, magnitude: float) -> float:
    """A random-sign value of about ``magnitude`` (never near zero: strength must show)."""
    return float(magnitude * rng.uniform(0.6, 1.4) * rng.choice((-1.0, 1.0)))


def _smooth_noise(rng: np.random.Generator, n: int, knots: int, dims: int) -> np.ndarray:
    """(n, dims) smooth random curves with unit RMS: knots of N(0,1) joined by a cubic spline."""
    knots = int(max(2, min(knots, n)))
    x = np.linspace(0.0, 1.0, knots)
    y = rng.standard_normal((knots, dims))
    out = CubicSpline(x, y, axis=0, bc_type="natural")(np.linspace(0.0, 1.0, n))
    rms = np.sqrt(np.mean(out**2))
    return out / rms if rms > 0 else out


def _segment(rng: np.random.Generator, n: int, frac: tuple[float, float]) -> tuple[int, int]:
    """A random frame range [a, b) covering a fraction of the sample, at least 4 frames."""
    m = int(np.clip(round(rng.uniform(*frac) * n), 4, max(4, n - 2)))
    a = int(rng.integers(0, max(1, n - m)))
    return a, min(n, a + m)


def _tukey(m: int, flat: float = 0.5) -> np.ndarray:
    """A window rising to 1 and back to 0, so a local change joins its neighbours smoothly."""
    if m < 3:
        return np.ones(m)
    x = np.linspace(0.0, 1.0, m)
    ramp = (1.0 - flat) / 2.0
    w = np.ones(m)
    up = x < ramp
    down = x > 1.0 - ramp
    w[up] = 0.5 * (1 - np.cos(np.pi * x[up] / ramp))
    w[down] = 0.5 * (1 - np.cos(np.pi * (1.0 - x[down]) / ramp))
    return w


def _resample_channel(values: np.ndarray, src: np.ndarray, dst: np.ndarray,
                      binary: bool) -> np.ndarray:
    """A channel taken from frame positions ``src`` onto fractional positions ``dst``."""
    if binary:
        idx = np.clip(np.rint(np.interp(dst, src, np.arange(src.size))), 0, src.size - 1)
        return values[idx.astype(int)]
    if values.ndim == 1:
        return np.interp(dst, src, values)
    return np.column_stack([np.interp(dst, src, values[:, j]) for j in range(values.shape[1])])


# -- global transforms ------------------------------------------------------------------------
def _rotation(rng: np.random.Generator, dims: int, angle: float) -> np.ndarray:
    if dims == 2:
        c, s = np.cos(angle), np.sin(angle)
        return np.array([[c, -s], [s, c]])
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def _affine(rec: Rec, s: float, rng: np.random.Generator, **_: Any) -> Rec:
    """Small rotation, anisotropic scale and shear about the centroid (pose, hand size)."""
    d = rec.pos.shape[1]
    m = _rotation(rng, d, np.deg2rad(_signed(rng, 4.0 * s)))
    scale = np.exp([_signed(rng, 0.04 * s) for _ in range(d)])
    shear = np.eye(d)
    shear[0, 1] = _signed(rng, 0.04 * s)
    a = m @ shear @ np.diag(scale)
    c = rec.pos.mean(axis=0)
    rec.pos = (rec.pos - c) @ a.T + c
    return rec


def _speed(rec: Rec, s: float, rng: np.random.Generator, **_: Any) -> Rec:
    """Whole sample written faster or slower."""
    rec.t = rec.t * np.exp(_signed(rng, 0.1 * s))
    return rec


def _timewarp(rec: Rec, s: float, rng: np.random.Generator, **_: Any) -> Rec:
    """Local writing speed varies smoothly; total duration is kept."""
    dt = np.diff(rec.t)
    rate = np.exp(0.15 * s * _smooth_noise(rng, dt.size, 6, 1)[:, 0])
    new_dt = dt * rate
    new_dt *= dt.sum() / new_dt.sum()
    rec.t = np.concatenate([[0.0], np.cumsum(new_dt)])
    return rec


def _jitter(rec: Rec, s: float, rng: np.random.Generator, **_: Any) -> Rec:
    """Smooth low-frequency amplitude noise on every axis (hand tremor, drift)."""
    knots = max(6, rec.n // 15)
    rec.pos = rec.pos + 0.015 * s * _size(rec.pos) * _smooth_noise(rng, rec.n, knots,
                                                                     rec.pos.shape[1])
    return rec


# -- local transforms -------------------------------------------------------------------------
def _distort(rec: Rec, s: float, rng: np.random.Generator, frac=(0.1, 0.3), **_: Any) -> Rec:
    """One segment's shape bends (a stroke drawn differently)."""
    a, b = _segment(rng, rec.n, frac)
    m = b - a
    bump = _smooth_noise(rng, m, 4, rec.pos.shape[1]) * np.hanning(m + 2)[1:-1, None]
    rec.pos[a:b] += 0.12 * s * _size(rec.pos) * bump
    return rec


def _shift(rec: Rec, s: float, rng: np.random.Generator, frac=(0.1, 0.3), **_: Any) -> Rec:
    """One segment displaced as a whole, joined smoothly to its neighbours."""
    a, b = _segment(rng, rec.n, frac)
    v = rng.standard_normal(rec.pos.shape[1])
    v *= abs(_signed(rng, 0.1 * s)) * _size(rec.pos) / np.linalg.norm(v)
    rec.pos[a:b] += _tukey(b - a)[:, None] * v
    return rec


def _stretch(rec: Rec, s: float, rng: np.random.Generator, frac=(0.1, 0.3), **_: Any) -> Rec:
    """One segment larger/smaller about its centroid and written slower/faster."""
    a, b = _segment(rng, rec.n, frac)
    w = _tukey(b - a)[:, None]
    seg = rec.pos[a:b]
    c = seg.mean(axis=0)
    f = np.exp(_signed(rng, 0.25 * s))
    rec.pos[a:b] = seg + w * (f - 1.0) * (seg - c)
    dt = np.diff(rec.t)
    g = np.exp(_signed(rng, 0.25 * s))
    lo, hi = max(a - 1, 0), max(b - 1, a)
    dt[lo:hi] *= g
    rec.t = np.concatenate([[0.0], np.cumsum(dt)])
    return rec


def _remove(rec: Rec, s: float, rng: np.random.Generator, **_: Any) -> Rec:
    """A segment left out: the pen (or finger) moves straight across in a short time."""
    frac = float(np.clip(0.04 + 0.05 * s, 0.04, 0.4))
    a, b = _segment(rng, rec.n, (frac * 0.8, frac * 1.2))
    a, b = max(a, 1), min(b, rec.n - 1)
    if b - a < 3 or rec.n - (b - a) + 2 < MIN_FRAMES:
        return rec
    k = max(2, round(0.2 * (b - a)))
    # frames a..b-1 are replaced by k bridge frames between frame a-1 and frame b
    u = np.arange(1, k + 1) / (k + 1)
    bridge = rec.pos[a - 1] + u[:, None] * (rec.pos[b] - rec.pos[a - 1])
    dur = 0.2 * (rec.t[b] - rec.t[a - 1])
    t_bridge = rec.t[a - 1] + u * dur
    t_after = rec.t[b:] - rec.t[b] + rec.t[a - 1] + dur
    src = np.arange(rec.n, dtype=np.float64)
    where = np.concatenate([np.arange(a), a - 1 + u * (b - a + 1), np.arange(b, rec.n)])
    for name, vals in rec.ch.items():
        new = _resample_channel(vals, src, where, name in BINARY_CHANNELS)
        if name == "pen_down":
            new[a:a + k] = 0.0
        rec.ch[name] = new
    rec.pos = np.concatenate([rec.pos[:a], bridge, rec.pos[b:]])
    rec.t = np.concatenate([rec.t[:a], t_bridge, t_after])
    return rec


def _swap(rec: Rec, s: float, rng: np.random.Generator, other: Trajectory | None = None,
          match: np.ndarray | None = None, **_: Any) -> Rec:
    """A segment replaced by the DTW-corresponding segment of another reference sample."""
    if other is None or match is None:
        return _distort(rec, s, rng)
    frac = float(np.clip(0.1 + 0.1 * s, 0.1, 0.6))
    a, b = _segment(rng, rec.n, (frac * 0.8, frac * 1.2))
    a, b = max(a, 1), min(b, rec.n - 1)
    c, d = int(match[a]), int(match[min(b, rec.n - 1)])
    if d - c < 3 or b - a < 3:
        return rec
    seg = other.positions[c:d + 1].copy()
    # other sample's stroke, placed at this sample's stroke start, scaled to this sample's
    # size; the end mismatch is spread along the segment so the join stays continuous
    seg = (seg - seg[0]) * (_size(rec.pos) / _size(other.positions)) + rec.pos[a - 1]
    ramp = np.linspace(0.0, 1.0, seg.shape[0])[:, None]
    seg = seg + ramp * (rec.pos[b] - seg[-1])
    seg = seg[1:-1]
    other_dt = np.diff(other.t[c:d + 1])
    scale_t = (rec.t[b] - rec.t[a - 1]) / max(other_dt.sum(), 1e-9)
    scale_t = np.clip(scale_t, 0.5, 2.0)  # keep the other sample's rhythm, roughly its tempo
    t_seg = rec.t[a - 1] + np.cumsum(other_dt * scale_t)
    t_new_b = t_seg[-1]
    t_seg = t_seg[:-1]
    t_after = rec.t[b:] - rec.t[b] + t_new_b
    m = seg.shape[0]
    if rec.n - (b - a) + m < MIN_FRAMES or m < 1:
        return rec
    src = np.arange(rec.n, dtype=np.float64)
    where = np.concatenate([np.arange(a), np.linspace(a - 1, b, m + 2)[1:-1],
                            np.arange(b, rec.n)])
    for name, vals in rec.ch.items():
        ov = other.channels.get(name)
        if ov is not None and ov.shape[1:] == vals.shape[1:]:
            rec.ch[name] = np.concatenate([vals[:a], ov[c + 1:d], vals[b:]])
        else:
            rec.ch[name] = _resample_channel(vals, src, where, name in BINARY_CHANNELS)
    rec.pos = np.concatenate([rec.pos[:a], seg, rec.pos[b:]])
    rec.t = np.concatenate([rec.t[:a], t_seg, t_after])
    return rec


_APPLY: dict[str, Callable[..., Rec]] = {
    "affine": _affine, "speed": _speed, "timewarp": _timewarp, "jitter": _jitter,
    "distort": _distort, "shift": _shift, "stretch": _stretch, "swap": _swap,
    "remove": _remove,
}


def _finish(rec: Rec) -> Rec:
    """Guarantee strictly increasing time (transforms may create ties in float arithmetic)."""
    dt = np.diff(rec.t)
    floor = 1e-6 * max(float(np.median(dt)) if dt.size else 1.0, 1e-9)
    if np.any(dt <= floor):
        dt = np.maximum(dt, floor)
        rec.t = np.concatenate([[0.0], np.cumsum(dt)])
    return rec


def transform(ref: Trajectory, name: str, strength: float, rng: np.random.Generator,
              other: Trajectory | None = None, match: np.ndarray | None = None,
              segment_frac: tuple[float, float] = (0.1, 0.3)) -> Rec:
    """Apply one named transform at a strength to a copy of ``ref`` (working record)."""
    rec = Rec.of(ref)
    return _finish(_APPLY[name](rec, float(strength), rng, other=other, match=match,
                                frac=segment_frac))
