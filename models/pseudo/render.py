"""Trajectories as small multi-channel images, the input of the EfficientNet embedding.

A CNN cannot take a variable-length 3-D curve, but it is good at shapes: so each sample
becomes ``N_CHANNELS`` images of ``size`` x ``size`` pixels, all at one common scale
(size and aspect are part of a writer's style; position in front of the sensor is not):

- 3-D in-air: the x-y, x-z and z-y plane projections, brightness = writing speed;
- 2-D pen: the x-y view with brightness = speed (pen down), the x-y view coloured by time
  (stroke order), and the pen-up moves;
- both: a time plot (each axis and the speed against time, one horizontal band each), which
  carries the rhythm that the spatial views lose.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter, uniform_filter1d

from capture.preprocess import resample_uniform, speed
from capture.trajectory import Trajectory

N_CHANNELS = 4
RATE_HZ = 100.0
MARGIN = 0.06
"""Fraction of the image left empty at each border."""


def _densify(xy: np.ndarray, v: np.ndarray, size: int,
             keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Points along each polyline segment about one pixel apart (so lines have no gaps).

    ``keep`` (bool per point): a segment is drawn only when both its ends are kept.
    """
    if xy.shape[0] < 2:
        return xy, v
    step = np.linalg.norm(np.diff(xy, axis=0), axis=1) * size
    reps = np.clip(np.ceil(step).astype(int), 1, 4 * size)
    if keep is not None:
        reps[~(keep[:-1] & keep[1:])] = 0
    idx = np.repeat(np.arange(xy.shape[0] - 1), reps)
    starts = np.repeat(np.cumsum(reps) - reps, reps)
    frac = (np.arange(idx.size) - starts) / np.repeat(np.maximum(reps, 1), reps)
    pts = xy[idx] + frac[:, None] * (xy[idx + 1] - xy[idx])
    vals = v[idx] + frac * (v[idx + 1] - v[idx])
    last = xy[-1:] if keep is None or keep[-1] else xy[:0]
    return np.vstack([pts, last]), np.concatenate([vals, v[-1:][: len(last)]])


def _draw(img: np.ndarray, xy: np.ndarray, v: np.ndarray,
          keep: np.ndarray | None = None) -> None:
    """Max-composite the polyline ``xy`` (coordinates in [0, 1]) with intensities ``v``."""
    size = img.shape[0]
    xy, v = _densify(xy, v, size, keep)
    cols = np.clip((xy[:, 0] * (size - 1)).round().astype(int), 0, size - 1)
    rows = np.clip(((1.0 - xy[:, 1]) * (size - 1)).round().astype(int), 0, size - 1)
    np.maximum.at(img, (rows, cols), v)


def _prepare(traj: Trajectory) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Uniformly resampled, lightly smoothed positions, time, speed in [0, 1], pen state."""
    t, pos = resample_uniform(traj.t, traj.positions, RATE_HZ)
    pos = uniform_filter1d(pos, 3, axis=0, mode="nearest")  # tracking jitter, cheaply
    sp = speed(pos, RATE_HZ)
    ref = np.percentile(sp, 95)
    sp = np.clip(sp / ref, 0.0, 1.0) if ref > 0 else np.zeros_like(sp)
    pen = None
    if "pen_down" in traj.channels:
        _, p = resample_uniform(traj.t, traj.channels["pen_down"], RATE_HZ)
        pen = p[:, 0] > 0.5
    return t, pos, sp, pen


def render(traj: Trajectory, size: int = 64, blur: float = 0.6) -> np.ndarray:
    """(N_CHANNELS, size, size) float32 image of one trajectory, values in [0, 1]."""
    t, pos, sp, pen = _prepare(traj)
    lo, hi = pos.min(axis=0), pos.max(axis=0)
    mid = (lo + hi) / 2
    extent = float(np.max(hi - lo)) or 1.0
    unit = (pos - mid) / extent * (1 - 2 * MARGIN) + 0.5  # common scale keeps the aspect
    bright = 0.3 + 0.7 * sp
    img = np.zeros((N_CHANNELS, size, size), dtype=np.float64)
    if traj.dims == 3:
        for k, (i, j) in enumerate(((0, 1), (0, 2), (2, 1))):
            _draw(img[k], unit[:, [i, j]], bright)
    else:
        down = pen if pen is not None else np.ones(len(t), dtype=bool)
        _draw(img[0], unit, bright, down)
        tau = t / t[-1] if t[-1] > 0 else np.zeros_like(t)
        _draw(img[1], unit, 0.2 + 0.8 * tau, down)
        if pen is not None and np.any(~pen):
            up = ~pen
            up[:-1] |= np.diff(pen.astype(int)) != 0  # include the frames that start a move
            _draw(img[2], unit, np.full(len(t), 0.8), up)
    # time plot: every axis and the speed, one band each, time left to right
    bands = traj.dims + 1
    tau = (t / t[-1] if t[-1] > 0 else np.linspace(0, 1, len(t))) * (1 - 2 * MARGIN) + MARGIN
    curves = list(unit.T) + [sp * (1 - 2 * MARGIN) + MARGIN]
    for b, y in enumerate(curves):
        yb = (bands - 1 - b + y) / bands
        _draw(img[3], np.column_stack([tau, yb]), np.full(len(t), 1.0))
    if blur > 0:
        img = gaussian_filter(img, sigma=(0, blur, blur))
        m = img.max(axis=(1, 2), keepdims=True)
        img = np.where(m > 0, img / np.where(m > 0, m, 1), 0)
    return img.astype(np.float32)


def render_batch(trajs: Sequence[Trajectory], size: int = 64, blur: float = 0.6) -> np.ndarray:
    """(n, N_CHANNELS, size, size) float32 images."""
    if not trajs:
        return np.zeros((0, N_CHANNELS, size, size), dtype=np.float32)
    return np.stack([render(tr, size, blur) for tr in trajs])
