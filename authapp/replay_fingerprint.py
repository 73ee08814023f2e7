"""Replay fingerprints: a recording's writing, stripped of everything a copy may change.

A replayed recording - a copied file, possibly re-timed, re-sampled, moved, scaled or with a
little noise added - must come out (almost) the same here, while real repetitions do not;
``authapp.security`` compares what this module computes (see ``authapp.replay_align``).

* A recording's **fingerprint** is its writing (idle ends trimmed as the verifier trims them),
  resampled on a time axis normalised to the recording's own duration, low-passed at
  ``PARAM_CYCLES`` cycles per recording. Time shifts, time scaling and resampling leave it
  unchanged; tracking noise is mostly filtered out (the cut-off is relative to the duration,
  so slowing a noisy copy down does not let more noise through).
* Its **shapes** (what is compared) are two smoothed versions of it at equal arc-length
  steps, low-passed at ``SMOOTH_CYCLES`` along the path and along time.

Fingerprints are small (``TIME_POINTS`` x dims float32) and kept in the store for every
enrollment sample and login attempt, so this computation is part of the store's format
(``FINGERPRINT_VERSION``).
"""

from __future__ import annotations

import functools

import numpy as np

from capture.filtering import butter_lowpass, sosfiltfilt
from capture.trajectory import Trajectory

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
    return butter_lowpass(4, min(cycles, 0.45 * n), n)


def _lowpass_rows(x: np.ndarray, cycles: float) -> np.ndarray:
    """Zero-phase low-pass along the rows of ``x`` at ``cycles`` per all its rows."""
    n = x.shape[0]
    sos = _butter(float(cycles), n)
    return sosfiltfilt(sos, x, min(3 * (2 * len(sos) + 1), n - 1))


def shapes(fp: np.ndarray) -> list[np.ndarray]:
    """The paths a fingerprint is compared by, each at ``SHAPE_POINTS`` arc-length steps.

    [0] low-passed at ``SMOOTH_CYCLES`` along the path (its length, not time: pauses take
    no room); [1] low-passed at ``SMOOTH_CYCLES`` along time, which averages tracking noise
    over equally many frames everywhere. A copy comes close in at least one (measured);
    genuine repetitions are far apart in both.
    """
    x = np.asarray(fp, dtype=np.float64)
    return [path_shape(x), arc_length_resample(_lowpass_rows(x, SMOOTH_CYCLES), SHAPE_POINTS)]


def path_shape(fp: np.ndarray) -> np.ndarray:
    """``shapes(fp)[0]`` alone: the derived-replay check crops hundreds of fingerprints and
    compares only this one, so it does not pay for the other's filtering."""
    x = np.asarray(fp, dtype=np.float64)
    along_path = _lowpass_rows(arc_length_resample(x, PATH_SAMPLES), SMOOTH_CYCLES)
    return arc_length_resample(along_path, SHAPE_POINTS)


# -- fingerprints of stores before schema 3 -----------------------------------------------------
def legacy_fingerprint(traj: Trajectory) -> np.ndarray:
    """A recording as stores before schema 3 fingerprinted it (version 1): the raw positions
    at ``LEGACY_POINTS`` equal arc-length steps. Only to compare with such stored ones,
    which hold too little (no time, no smoothing) for the aligned comparison."""
    return arc_length_resample(traj.positions, LEGACY_POINTS).astype(np.float32)
