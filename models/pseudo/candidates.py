"""Candidate pseudo samples made from a user's enrollment samples only, at graded strengths.

Global variations (small affine transform, writing speed, time warp, amplitude jitter) mimic
how one person's repetitions differ; local ones (one stroke segment distorted, shifted,
stretched, swapped with the corresponding segment of another reference, or removed) mimic
both natural variation (weak) and a forger's mistakes (strong). Which candidates count as
pseudo-genuine and which as pseudo-impostor is decided later (SH-SVM selection); here every
candidate only records what was done to it in ``meta.extra``: "transform", "strength",
"parents" (indices into the references) and "parent_sources".

Strength is unitless: 1.0 is the spread between two genuine repetitions, 2-3 is a clumsy
forgery. Nominal transform sizes cannot mean that for every writer (a tidy writer's
repetitions differ far less than a hasty one's), so with ``calibrate`` the displacement
transforms are rescaled per user: a candidate at strength s lies about s times the mean
distance between the user's references away from its parent, measured by DTW on the
preprocessed feature sequences the verifiers compare (``capture.preprocess.feature_sequence``).
Measured on SVC2004 before calibration, even strength-3 jitter/shift/distort candidates were
closer to their parent than the user's real repetitions are to each other: pseudo-impostors
"more genuine than genuine", which taught the SVM to reject real logins.
Everything is deterministic for a ``numpy.random.Generator`` seed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.interpolate import CubicSpline

from capture.preprocess import FeatureConfig, feature_sequence
from capture.trajectory import MIN_FRAMES, Trajectory, TrajectoryMeta
from models.dtw import dtw_distance
from models.pseudo.align import match_indices

GLOBAL_TRANSFORMS = ("affine", "speed", "timewarp", "jitter")
LOCAL_TRANSFORMS = ("distort", "shift", "stretch", "swap", "remove")
TRANSFORMS = GLOBAL_TRANSFORMS + LOCAL_TRANSFORMS
BINARY_CHANNELS = ("pen_down",)
"""Channels that are states, not measurements: resampled by nearest frame, never blended."""


@dataclass(frozen=True)
class CandidateConfig:
    """How many candidates, which transforms, which strengths. JSON-able via ``to_dict``."""

    per_reference: int = 40
    transforms: tuple[str, ...] = TRANSFORMS
    strengths: tuple[float, ...] = (0.5, 1.0, 1.5, 2.0, 3.0)
    segment_frac: tuple[float, float] = (0.1, 0.3)
    compound: float = 0.5
    """Probability that a second, weaker transform is composed onto a candidate (diversity)."""
    calibrate: bool = True
    """Scale displacement transforms per user so that strength s moves a candidate s times the
    user's own typical distance between two references (DTW on feature sequences)."""

    def __post_init__(self) -> None:
        unknown = set(self.transforms) - set(TRANSFORMS)
        if unknown:
            raise ValueError(f"unknown transforms {sorted(unknown)}; known: {TRANSFORMS}")
        if not self.transforms or not self.strengths:
            raise ValueError("need at least one transform and one strength")
        lo, hi = self.segment_frac
        if not 0 < lo <= hi < 1:
            raise ValueError("segment_frac must satisfy 0 < lo <= hi < 1")
        object.__setattr__(self, "transforms", tuple(self.transforms))
        object.__setattr__(self, "strengths", tuple(float(s) for s in self.strengths))
        object.__setattr__(self, "segment_frac", tuple(float(s) for s in self.segment_frac))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("transforms", "strengths", "segment_frac"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> CandidateConfig:
        d = dict(d or {})
        for k in ("transforms", "strengths", "segment_frac"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


# -- a mutable working copy -------------------------------------------------------------------
@dataclass
class _Rec:
    t: np.ndarray
    pos: np.ndarray
    ch: dict[str, np.ndarray]

    @classmethod
    def of(cls, traj: Trajectory) -> _Rec:
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


def _affine(rec: _Rec, s: float, rng: np.random.Generator, **_: Any) -> _Rec:
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


def _speed(rec: _Rec, s: float, rng: np.random.Generator, **_: Any) -> _Rec:
    """Whole sample written faster or slower."""
    rec.t = rec.t * np.exp(_signed(rng, 0.1 * s))
    return rec


def _timewarp(rec: _Rec, s: float, rng: np.random.Generator, **_: Any) -> _Rec:
    """Local writing speed varies smoothly; total duration is kept."""
    dt = np.diff(rec.t)
    rate = np.exp(0.15 * s * _smooth_noise(rng, dt.size, 6, 1)[:, 0])
    new_dt = dt * rate
    new_dt *= dt.sum() / new_dt.sum()
    rec.t = np.concatenate([[0.0], np.cumsum(new_dt)])
    return rec


def _jitter(rec: _Rec, s: float, rng: np.random.Generator, **_: Any) -> _Rec:
    """Smooth low-frequency amplitude noise on every axis (hand tremor, drift)."""
    knots = max(6, rec.n // 15)
    rec.pos = rec.pos + 0.015 * s * _size(rec.pos) * _smooth_noise(rng, rec.n, knots,
                                                                     rec.pos.shape[1])
    return rec


# -- local transforms -------------------------------------------------------------------------
def _distort(rec: _Rec, s: float, rng: np.random.Generator, frac=(0.1, 0.3), **_: Any) -> _Rec:
    """One segment's shape bends (a stroke drawn differently)."""
    a, b = _segment(rng, rec.n, frac)
    m = b - a
    bump = _smooth_noise(rng, m, 4, rec.pos.shape[1]) * np.hanning(m + 2)[1:-1, None]
    rec.pos[a:b] += 0.12 * s * _size(rec.pos) * bump
    return rec


def _shift(rec: _Rec, s: float, rng: np.random.Generator, frac=(0.1, 0.3), **_: Any) -> _Rec:
    """One segment displaced as a whole, joined smoothly to its neighbours."""
    a, b = _segment(rng, rec.n, frac)
    v = rng.standard_normal(rec.pos.shape[1])
    v *= abs(_signed(rng, 0.1 * s)) * _size(rec.pos) / np.linalg.norm(v)
    rec.pos[a:b] += _tukey(b - a)[:, None] * v
    return rec


def _stretch(rec: _Rec, s: float, rng: np.random.Generator, frac=(0.1, 0.3), **_: Any) -> _Rec:
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


def _remove(rec: _Rec, s: float, rng: np.random.Generator, **_: Any) -> _Rec:
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


def _swap(rec: _Rec, s: float, rng: np.random.Generator, other: Trajectory | None = None,
          match: np.ndarray | None = None, **_: Any) -> _Rec:
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


_APPLY: dict[str, Callable[..., _Rec]] = {
    "affine": _affine, "speed": _speed, "timewarp": _timewarp, "jitter": _jitter,
    "distort": _distort, "shift": _shift, "stretch": _stretch, "swap": _swap,
    "remove": _remove,
}


def _finish(rec: _Rec) -> _Rec:
    """Guarantee strictly increasing time (transforms may create ties in float arithmetic)."""
    dt = np.diff(rec.t)
    floor = 1e-6 * max(float(np.median(dt)) if dt.size else 1.0, 1e-9)
    if np.any(dt <= floor):
        dt = np.maximum(dt, floor)
        rec.t = np.concatenate([[0.0], np.cumsum(dt)])
    return rec


def transform(ref: Trajectory, name: str, strength: float, rng: np.random.Generator,
              other: Trajectory | None = None, match: np.ndarray | None = None,
              segment_frac: tuple[float, float] = (0.1, 0.3)) -> _Rec:
    """Apply one named transform at a strength to a copy of ``ref`` (working record)."""
    rec = _Rec.of(ref)
    return _finish(_APPLY[name](rec, float(strength), rng, other=other, match=match,
                                frac=segment_frac))


DISPLACEMENTS = ("affine", "jitter", "distort", "shift", "stretch")
"""Transforms that only move positions (frames unchanged): their size can be rescaled."""
_FEATURES = FeatureConfig()
_WINDOW = 0.1
_MAX_GAIN = 8.0


def _features(t: np.ndarray, pos: np.ndarray, ch: Mapping[str, np.ndarray]) -> np.ndarray:
    return feature_sequence(Trajectory(t, pos, ch), _FEATURES)


def reference_spread(references: Sequence[Trajectory]) -> float | None:
    """Mean DTW distance between the references' feature sequences (None for one sample)."""
    if len(references) < 2:
        return None
    seqs = [feature_sequence(r, _FEATURES) for r in references]
    d = [dtw_distance(seqs[i], seqs[j], _WINDOW) for i in range(len(seqs))
         for j in range(i + 1, len(seqs))]
    spread = float(np.mean(d))
    return spread if spread > 0 else None


def _calibrated(parent: Trajectory, rec: _Rec, target: float, parent_seq: np.ndarray) -> _Rec:
    """Rescale the displacement ``rec.pos - parent.positions`` to reach distance ``target``.

    DTW distance grows about linearly with a small displacement's size: one secant step
    from the nominal size, then one correction.
    """
    delta = rec.pos - parent.positions
    gain = 1.0
    for _ in range(2):
        d = dtw_distance(_features(rec.t, parent.positions + gain * delta, rec.ch),
                         parent_seq, _WINDOW)
        if d <= 0:
            break
        gain = float(np.clip(gain * target / d, 0.0, _MAX_GAIN))
    rec.pos = parent.positions + gain * delta
    return rec


def calibrate_displacement(parent: Trajectory, pos: np.ndarray, target: float) -> np.ndarray:
    """Positions ``pos`` (on ``parent``'s frames) whose displacement from ``parent`` is
    rescaled to DTW distance ``target``: the per-user calibration of the candidates, shared
    with the mask-and-inpaint generators."""
    rec = _Rec(parent.t.copy(), pos.copy(), dict(parent.channels))
    return _calibrated(parent, rec, target, feature_sequence(parent, _FEATURES)).pos


def generate_candidates(references: Sequence[Trajectory], config: CandidateConfig,
                        rng: np.random.Generator, spread: float | None = None
                        ) -> list[Trajectory]:
    """``config.per_reference`` candidates per reference, transforms and strengths balanced.

    Every (transform, strength) pair is used in turn, so each grade of each variation is
    represented even with few candidates; a swap partner is another reference chosen at
    random (with one reference, swaps fall back to distortions). ``spread``: the writer's
    typical distance between repetitions when already known (else measured on the references).
    """
    refs = list(references)
    grid = [(t, s) for s in config.strengths for t in config.transforms]
    if not config.calibrate:
        spread = None
    elif spread is None:
        spread = reference_spread(refs)
    parent_seqs = ([feature_sequence(r, _FEATURES) for r in refs] if spread is not None
                   else [])
    matches: dict[tuple[int, int], np.ndarray] = {}
    out: list[Trajectory] = []
    for i, ref in enumerate(refs):
        order = rng.permutation(len(grid))
        for j in range(config.per_reference):
            name, s = grid[order[j % len(grid)]]
            steps = [(name, s)]
            if rng.random() < config.compound:
                steps.append((str(rng.choice(config.transforms)), 0.5 * s))
            current, parents = ref, [i]
            rec = None
            for k_step, (step_name, step_s) in enumerate(steps):
                other = match = None
                if step_name == "swap" and len(refs) > 1:
                    k = int(rng.choice([x for x in range(len(refs)) if x != i]))
                    if (i, k) not in matches:
                        matches[(i, k)] = match_indices(ref.positions, refs[k].positions)
                    other, parents = refs[k], parents + [k]
                    match = matches[(i, k)]
                    if len(current) != len(ref):  # an earlier step changed the frames
                        match = match_indices(current.positions, other.positions)
                rec = transform(current, step_name, step_s, rng, other, match,
                                config.segment_frac)
                if spread is not None and k_step == 0 and step_name in DISPLACEMENTS:
                    rec = _calibrated(ref, rec, step_s * spread, parent_seqs[i])
                current = Trajectory(rec.t, rec.pos, rec.ch, current.meta)
            meta = TrajectoryMeta(
                user=ref.meta.user, content=ref.meta.content, device=ref.meta.device,
                source=ref.meta.source,
                extra={
                    "transform": "+".join(n for n, _ in steps),
                    "strength": float(s),
                    "steps": [[n, float(v)] for n, v in steps],
                    "parents": parents,
                    "parent_sources": [refs[p].meta.source for p in parents],
                },
            )
            out.append(Trajectory(current.t, current.positions, current.channels, meta))
    return out
