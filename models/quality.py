"""Enrollment quality check: reject samples inconsistent with the others, saying why.

A user enrolls with only a few samples, so one bad sample (written much slower, much smaller,
a different word, an aborted attempt) poisons the template. Each sample is compared with the
set's median: active writing time (idle start/end trimmed), size (RMS distance from the
centroid, mm), extent along each axis (an in-air sample written far deeper than the others
loosened an account of the Leap signatures until it accepted many other people, while the
overall size hid it) and shape (DTW distance to the other samples relative to how far the other
samples are from each other: leave-one-out, so one outlier cannot hide by inflating the
reference). Messages are phrased for the person enrolling ("sample 3 is much slower than the
others (4.1 s vs median 1.9 s)").

Default thresholds were set on the shared real data (50 Leap signers + FMKit, 5-sample sets
drawn at random) to flag few genuine sets (the rates are in the README); samples the extent
check flags are left out of the model by ``models.enrollment`` rather than refusing the
enrollment. The shape check reliably catches a different word but only some of other
people's signatures: it is a quality gate, not a verifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from capture.preprocess import (
    FeatureConfig,
    center,
    feature_sequence,
    lowpass,
    resample_uniform,
    trim_idle,
)
from capture.trajectory import Trajectory
from core.errors import TrajectoryError
from models.base import check_trajectories


@dataclass(frozen=True)
class QualityConfig:
    """Thresholds of the check (ratios are to the median of the set)."""

    min_samples: int = 2
    min_duration_s: float = 0.5
    duration_reject: float = 2.0
    duration_warn: float = 1.5
    size_reject: float = 2.0
    size_warn: float = 1.5
    extent_reject: float = 2.2
    extent_warn: float = 1.7
    shape_reject: float = 2.5
    shape_warn: float = 1.8
    shape_window: float = 0.25
    rate_hz: float = 50.0
    cutoff_hz: float = 10.0


@dataclass(frozen=True)
class SampleQuality:
    """Measurements of one sample and what is wrong with it (``index`` is 0-based)."""

    index: int
    duration_s: float
    size_mm: float
    shape_ratio: float | None
    extent_mm: tuple[float, ...] = ()
    reasons: tuple[str, ...] = ()  # why the sample is rejected
    notes: tuple[str, ...] = ()  # worth knowing, not rejecting

    @property
    def accepted(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class QualityReport:
    """Per-sample results plus problems of the set as a whole (too few samples)."""

    samples: tuple[SampleQuality, ...]
    problems: tuple[str, ...] = ()
    config: QualityConfig = field(default_factory=QualityConfig)

    @property
    def ok(self) -> bool:
        return not self.problems and all(s.accepted for s in self.samples)

    @property
    def rejected(self) -> list[int]:
        """0-based indices of rejected samples."""
        return [s.index for s in self.samples if not s.accepted]

    def messages_rejecting(self) -> list[str]:
        """Only the problems that make the set unusable (set problems, then rejections)."""
        return list(self.problems) + [r for s in self.samples for r in s.reasons]

    def messages(self) -> list[str]:
        """Everything a user should read: set problems, rejections, then notes."""
        out = list(self.problems)
        out += [r for s in self.samples for r in s.reasons]
        out += [n for s in self.samples for n in s.notes]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "problems": list(self.problems),
            "samples": [dict(asdict(s), accepted=s.accepted) for s in self.samples],
        }


def _active_part(traj: Trajectory, cfg: QualityConfig) -> np.ndarray:
    """Uniformly resampled, filtered positions with the still start and end removed."""
    _, pos = resample_uniform(traj.t, traj.positions, cfg.rate_hz)
    pos = lowpass(pos, cfg.rate_hz, cfg.cutoff_hz)
    return pos[trim_idle(pos, cfg.rate_hz)]


def _ratio_check(i: int, value: float, median: float, reject: float, warn: float,
                 unit: str, big: str, small: str) -> tuple[list[str], list[str]]:
    """Reasons / notes for a value far above or below the set's median."""
    if median <= 0 or value <= 0:
        return [], []
    ratio = value / median
    word, r = (big, ratio) if ratio >= 1 else (small, 1 / ratio)
    text = f"({value:.1f} {unit} vs median {median:.1f} {unit})"
    if r > reject:
        return [f"sample {i + 1} is much {word} than the others {text}"], []
    if r > warn:
        return [], [f"sample {i + 1} is somewhat {word} than the others {text}"]
    return [], []


_AXES = ("x (width)", "y (height)", "z (depth)")


def _extent_check(i: int, extent: np.ndarray, median: np.ndarray, cfg: QualityConfig
                  ) -> tuple[list[str], list[str]]:
    """Reasons / notes for the axis along which the sample spans far more or far less than
    the set's median (the most extreme axis only)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where((median > 0) & (extent > 0), extent / median, 1.0)
    far = np.maximum(ratio, 1.0 / ratio)
    k = int(np.argmax(far))
    if far[k] <= cfg.extent_warn:
        return [], []
    text = (f"sample {i + 1} spans {ratio[k]:.1f}x the others' extent along {_AXES[k]} "
            f"({extent[k]:.0f} vs median {median[k]:.0f} mm)")
    if far[k] > cfg.extent_reject:
        return [f"{text}: write it again"], []
    return [], [text]


def _shape_ratios(seqs: list[np.ndarray], window: float) -> np.ndarray:
    """Leave-one-out shape ratio per sample: median DTW distance to the others divided by
    the median distance among the others."""
    from models.dtw import dtw_distance_matrix

    n = len(seqs)
    dist = dtw_distance_matrix(seqs, window=window)
    out = np.empty(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        among = dist[np.ix_(others, others)][np.triu_indices(n - 1, 1)]
        ref = float(np.median(among))
        own = float(np.median(dist[i, others]))
        out[i] = own / ref if ref > 0 else (np.inf if own > 0 else 1.0)
    return out


def check_enrollment(trajs: Sequence[Trajectory],
                     config: QualityConfig = QualityConfig()) -> QualityReport:
    """Check a set of enrollment samples for consistency; see the module docstring."""
    items = check_trajectories(trajs, "enrollment samples", min_count=0)
    cfg = config
    problems: list[str] = []
    if len(items) < cfg.min_samples:
        problems.append(f"too few samples: {len(items)} given, at least {cfg.min_samples} "
                        "needed")
    dims = [t.dims for t in items]
    main_dims = max(set(dims), key=dims.count) if dims else 3
    reasons: list[list[str]] = [[] for _ in items]
    notes: list[list[str]] = [[] for _ in items]
    durations = np.zeros(len(items))
    sizes = np.zeros(len(items))
    extents = np.zeros((len(items), main_dims))
    seqs: dict[int, np.ndarray] = {}
    feat_cfg = FeatureConfig(rate_hz=cfg.rate_hz, cutoff_hz=cfg.cutoff_hz,
                             channels=("pos", "vel"))
    for i, traj in enumerate(items):
        if traj.dims != main_dims:
            reasons[i].append(f"sample {i + 1} is {traj.dims}-D while the others are "
                              f"{main_dims}-D (a different kind of device?)")
            continue
        active = _active_part(traj, cfg)
        durations[i] = active.shape[0] / cfg.rate_hz
        sizes[i] = float(np.sqrt(np.mean(np.sum(center(active) ** 2, axis=1))))
        extents[i] = np.ptp(active, axis=0)
        if durations[i] < cfg.min_duration_s:
            reasons[i].append(f"sample {i + 1} is too short ({durations[i]:.2f} s of writing, "
                              f"at least {cfg.min_duration_s:.1f} s): write the whole word")
            continue
        try:
            seqs[i] = feature_sequence(traj, feat_cfg)
        except TrajectoryError as exc:
            reasons[i].append(f"sample {i + 1} cannot be used: {exc}")
    usable = [i for i in range(len(items)) if not reasons[i]]
    shape: dict[int, float] = {}
    if len(usable) >= 3:
        med_d = float(np.median(durations[usable]))
        med_s = float(np.median(sizes[usable]))
        ratios = _shape_ratios([seqs[i] for i in usable], cfg.shape_window)
        shape = {i: float(r) for i, r in zip(usable, ratios)}
        for i in usable:
            r, n = _ratio_check(i, durations[i], med_d, cfg.duration_reject, cfg.duration_warn,
                                "s", "slower", "faster")
            reasons[i] += r
            notes[i] += n
            r, n = _ratio_check(i, sizes[i], med_s, cfg.size_reject, cfg.size_warn, "mm",
                                "larger", "smaller")
            reasons[i] += r
            notes[i] += n
            if not r:  # one size complaint is enough
                r, n = _extent_check(i, extents[i], np.median(extents[usable], axis=0), cfg)
                reasons[i] += r
                notes[i] += n
            text = f"(DTW distance {shape[i]:.1f}x the others' typical distance)"
            if shape[i] > cfg.shape_reject:
                reasons[i].append(f"sample {i + 1}'s shape differs from the others {text}: "
                                  "did you write something else?")
            elif shape[i] > cfg.shape_warn:
                notes[i].append(f"sample {i + 1}'s shape differs somewhat from the others "
                                f"{text}")
    samples = tuple(
        SampleQuality(index=i, duration_s=float(durations[i]), size_mm=float(sizes[i]),
                      shape_ratio=shape.get(i),
                      extent_mm=tuple(float(e) for e in extents[i]), reasons=tuple(reasons[i]),
                      notes=tuple(notes[i]))
        for i in range(len(items))
    )
    return QualityReport(samples=samples, problems=tuple(problems), config=cfg)
