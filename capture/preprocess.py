"""Preprocessing: turn a raw Trajectory into a feature sequence the verifiers compare.

Each step is a small function on plain arrays so that models, pseudo-data generators and
tests can reuse them one by one; ``FeatureConfig`` + ``feature_sequence`` compose them in
the order the FMKit recipe uses (resample, low-pass, trim idle ends, centre, rotate,
normalise, derive velocity / acceleration / angles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from capture.filtering import butter_lowpass, sosfiltfilt
from capture.trajectory import Trajectory
from core.errors import TrajectoryError

CHANNELS = ("pos", "vel", "acc", "angle", "speed", "pen")
"""Feature channel groups ``feature_sequence`` knows how to build."""


def resample_uniform(t: np.ndarray, x: np.ndarray, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate ``x`` (N, D) onto a uniform grid at ``rate_hz``.

    Devices drop frames and stamp time irregularly; a uniform grid makes derivatives and
    filters meaningful and durations comparable.
    """
    if rate_hz <= 0:
        raise ValueError("rate_hz must be positive")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n = max(int(np.floor(t[-1] * rate_hz)) + 1, 2)
    grid = np.arange(n, dtype=np.float64) / rate_hz
    out = np.empty((n, x.shape[1]))
    for j in range(x.shape[1]):
        out[:, j] = np.interp(grid, t, x[:, j])
    return grid, out


def resample_length(x: np.ndarray, length: int) -> np.ndarray:
    """Resample a sequence (N, D) to exactly ``length`` points by arc-index interpolation."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if length < 2:
        raise ValueError("length must be at least 2")
    src = np.linspace(0.0, 1.0, x.shape[0])
    dst = np.linspace(0.0, 1.0, length)
    return np.column_stack([np.interp(dst, src, x[:, j]) for j in range(x.shape[1])])


def lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth low-pass: removes tracking jitter without shifting strokes."""
    x = np.asarray(x, dtype=np.float64)
    if cutoff_hz <= 0 or cutoff_hz >= rate_hz / 2:
        return x.copy()
    sos = butter_lowpass(order, cutoff_hz, rate_hz)
    padlen = min(3 * (2 * len(sos) + 1), x.shape[0] - 1)
    if padlen < 1:
        return x.copy()
    return sosfiltfilt(sos, x, padlen)


def speed(x: np.ndarray, rate_hz: float) -> np.ndarray:
    """Magnitude of the velocity, (N,)."""
    return np.linalg.norm(np.gradient(x, 1.0 / rate_hz, axis=0), axis=1)


def trim_idle(x: np.ndarray, rate_hz: float, rel_threshold: float = 0.1,
              min_frames: int = 8) -> slice:
    """Slice that drops the still start and end (speed below a fraction of its 90th percentile).

    A writer rests before and after writing; those frames carry no identity and vary in
    length from sample to sample.
    """
    v = speed(x, rate_hz)
    if v.size == 0:
        return slice(0, 0)
    ref = np.percentile(v, 90)
    if ref <= 0:
        return slice(0, x.shape[0])
    moving = np.flatnonzero(v > rel_threshold * ref)
    if moving.size == 0:
        return slice(0, x.shape[0])
    start, stop = int(moving[0]), int(moving[-1]) + 1
    if stop - start < min_frames:
        return slice(0, x.shape[0])
    return slice(start, stop)


def center(x: np.ndarray) -> np.ndarray:
    """Remove the mean position: where in front of the sensor one writes is not identity."""
    return x - x.mean(axis=0, keepdims=True)


def scale_normalize(x: np.ndarray) -> np.ndarray:
    """Divide by the RMS distance from the centroid, keeping the aspect ratio."""
    c = center(x)
    s = np.sqrt(np.mean(np.sum(c**2, axis=1)))
    return c / s if s > 0 else c


def zscore(x: np.ndarray) -> np.ndarray:
    """Per-channel zero mean, unit variance (constant channels are only centred)."""
    mu = x.mean(axis=0, keepdims=True)
    sd = x.std(axis=0, keepdims=True)
    sd[sd == 0] = 1.0
    return (x - mu) / sd


def rotate_to_writing_plane(x: np.ndarray) -> np.ndarray:
    """Rotate 3-D points onto their principal axes (PCA), so a tilted writing plane becomes x-y.

    Axis signs are fixed so that the result is deterministic: the first two axes keep the
    direction of the device's x and y axes as far as possible.
    """
    if x.shape[1] != 3:
        return x.copy()
    c = center(x)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    basis = vt.copy()
    for i in range(3):
        ref = np.eye(3)[i]
        if basis[i] @ ref < 0:
            basis[i] = -basis[i]
    if np.linalg.det(basis) < 0:
        basis[2] = -basis[2]
    return c @ basis.T


def path_angles(x: np.ndarray) -> np.ndarray:
    """Path-tangent direction as (cos, sin) of the angle in the first two axes, (N, 2).

    Encoded as cos/sin so the feature has no wrap-around discontinuity.
    """
    d = np.gradient(x[:, :2], axis=0)
    ang = np.arctan2(d[:, 1], d[:, 0])
    return np.column_stack([np.cos(ang), np.sin(ang)])


@dataclass(frozen=True)
class FeatureConfig:
    """How to turn a trajectory into a feature sequence. JSON-able via ``to_dict``."""

    rate_hz: float = 50.0
    cutoff_hz: float = 10.0
    trim: bool = True
    rotate: bool = False
    normalize: str = "zscore"  # "zscore" per axis, "scale" (keeps aspect), or "none"
    channels: tuple[str, ...] = ("pos", "vel", "acc")
    channel_weights: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.channels) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown feature channels {sorted(unknown)}; known: {CHANNELS}")
        if self.normalize not in ("zscore", "scale", "none"):
            raise ValueError(f"unknown normalize {self.normalize!r}")
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "channel_weights", dict(self.channel_weights))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["channels"] = list(self.channels)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureConfig:
        d = dict(d)
        d["channels"] = tuple(d.get("channels", cls.channels))
        return cls(**d)


def _filtered_positions(traj: Trajectory, config: FeatureConfig) -> tuple[np.ndarray, slice]:
    """Resampled, low-passed positions and the slice of frames kept by idle trimming."""
    _, pos = resample_uniform(traj.t, traj.positions, config.rate_hz)
    pos = lowpass(pos, config.rate_hz, config.cutoff_hz)
    keep = trim_idle(pos, config.rate_hz) if config.trim else slice(0, pos.shape[0])
    return pos, keep


def normalized_positions(traj: Trajectory, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Resampled, filtered, trimmed, centred (optionally rotated) and normalised positions."""
    pos, keep = _filtered_positions(traj, config)
    pos = pos[keep]
    if pos.shape[0] < 4:
        raise TrajectoryError("trajectory too short after resampling: it lasts only "
                              f"{traj.duration:.3f} s")
    pos = center(pos)
    if config.rotate:
        pos = rotate_to_writing_plane(pos)
    if config.normalize == "zscore":
        pos = zscore(pos)
    elif config.normalize == "scale":
        pos = scale_normalize(pos)
    return pos


def feature_sequence(traj: Trajectory, config: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """The (M, C) float64 feature sequence of a trajectory, in channel-group order.

    Velocity and acceleration are computed from the normalised positions in units of
    "normalised length per second" and then z-scored, so every channel group has a
    comparable scale before ``channel_weights`` are applied.
    """
    pos = normalized_positions(traj, config)
    dt = 1.0 / config.rate_hz
    parts: list[np.ndarray] = []
    for name in config.channels:
        if name == "pos":
            block = pos
        elif name == "vel":
            block = zscore(np.gradient(pos, dt, axis=0))
        elif name == "acc":
            block = zscore(np.gradient(np.gradient(pos, dt, axis=0), dt, axis=0))
        elif name == "angle":
            block = path_angles(pos)
        elif name == "speed":
            block = zscore(speed(pos, config.rate_hz)[:, None])
        else:  # "pen"
            block = _pen_channel(traj, config)
        w = float(config.channel_weights.get(name, 1.0))
        parts.append(block * w)
    return np.ascontiguousarray(np.column_stack(parts), dtype=np.float64)


def _pen_channel(traj: Trajectory, config: FeatureConfig) -> np.ndarray:
    """Pen-down state on the same resampled, trimmed frames as the positions (ones in air)."""
    _, keep = _filtered_positions(traj, config)
    if "pen_down" not in traj.channels:
        return np.ones((keep.stop - keep.start, 1))
    _, pen = resample_uniform(traj.t, traj.channels["pen_down"], config.rate_hz)
    return pen[keep]


def feature_sequences(trajs: Sequence[Trajectory],
                      config: FeatureConfig = FeatureConfig()) -> list[np.ndarray]:
    return [feature_sequence(t, config) for t in trajs]
