"""Login security: replay-attack detection (and, re-exported, the lockout policy).

Replay detection rests on one fact: real handwriting never repeats exactly, while a replayed
recording - a copied file, possibly re-timed, re-sampled, moved, scaled (also per axis),
rotated or with a little noise added - traces the same shape. The verifier ignores exactly
those changes (it centres and z-scores each axis and warps time), so the replay check must
ignore them too, or an altered copy scores as well as the original and passes:

* ``authapp.replay_fingerprint``: a recording's **fingerprint**, its writing on a time axis
  normalised to its own duration, low-passed (time shifts, time scaling, resampling and most
  tracking noise leave it unchanged), and the **shapes** compared.
* ``authapp.replay_align``: the **residual** of one fingerprint against another after the
  best affine alignment (translation, scale per axis, rotation, shear), as a fraction of the
  writing's size.
* This module: "too good to be true". A copy, however altered by those transformations and
  a few mm of noise, lies much closer to its original than two real repetitions of the same
  person ever do. ``benchmarks/replay_residuals.py`` measures both on all the real data in
  ``../shared/data``; the thresholds below sit at about half the smallest genuine residual
  (see README, "Enrollment store and security").

The lockout policy lives in ``authapp.lockout``; its names, and the fingerprint and alignment
functions, stay importable from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from authapp.lockout import (
    MAX_POLICY_FAILURES,
    MAX_POLICY_SECONDS,
    LockoutPolicy,
    LockState,
    lockout_state,
)
from authapp.replay_fingerprint import (
    END_TRIM,
    FINGERPRINT_VERSION,
    GLITCH_SIZE,
    LEGACY_POINTS,
    PARAM_CYCLES,
    PATH_SAMPLES,
    SHAPE_POINTS,
    SMOOTH_CYCLES,
    SPAN_PASSES,
    TIME_POINTS,
    arc_length_resample,
    despiked,
    fingerprint,
    legacy_fingerprint,
    shapes,
)

__all__ = [
    "DEFAULT_REPLAY_THRESHOLDS", "END_TRIM", "FINGERPRINT_VERSION", "GLITCH_SIZE",
    "LEGACY_POINTS", "LEGACY_THRESHOLD_MM", "MAX_POLICY_FAILURES", "MAX_POLICY_SECONDS",
    "PARAM_CYCLES", "PATH_SAMPLES", "REPLAY_THRESHOLD_RANGE", "SHAPE_POINTS", "SMOOTH_CYCLES",
    "SPAN_PASSES", "TIME_POINTS", "LockState", "LockoutPolicy", "ReplayMatch",
    "arc_length_resample", "despiked", "find_replay", "fingerprint", "legacy_fingerprint",
    "lockout_state", "replay_distance", "replay_threshold", "shapes",
]  # and the alignment's names (_ALIGN_NAMES), loaded on first use

_ALIGN_NAMES = ("ALIGN_POINTS", "DTW_BAND", "ICP_STEPS", "SEARCH_SEGMENTS", "aligned_residual",
                "legacy_distance")


def __getattr__(name: str):
    """The alignment's names, imported on first use: ``replay_align`` compiles with numba, and
    commands that only read the store (``users``, ``unlock``, ``settings``) never align."""
    if name in _ALIGN_NAMES:
        from authapp import replay_align
        return getattr(replay_align, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DEFAULT_REPLAY_THRESHOLDS = {3: 0.02, 2: 0.006}
"""Residual (fraction of the writing's RMS radius) below which a recording is a replay, per
spatial dimensionality: in-air 3-D writing varies more than pen signatures on a tablet. The
smallest genuine residuals measured are 0.039 (3-D, 50 + 1 people) and 0.012 (2-D, SVC2004);
every altered copy of the issue's list stays below 0.014 (3-D)."""
REPLAY_THRESHOLD_RANGE = (0.001, 0.1)
"""Accepted values of an administrator's replay threshold (0 would silence the check)."""

LEGACY_THRESHOLD_MM = 1.0
"""The check of stores before schema 3 (version-1 fingerprints, ``legacy_distance``): a copy
within 1 mm (mean, after moving it) of a stored raw path."""


def replay_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The replay residual of fingerprint ``a`` against the stored fingerprint ``b``: the
    smaller ``aligned_residual`` of their ``shapes``."""
    return _replay_residual(shapes(a), b)


def _replay_residual(query_shapes: list[np.ndarray], stored: np.ndarray) -> float:
    """``replay_distance`` with the query's ``shapes`` computed once (``find_replay`` compares
    one query with many stored fingerprints); ``inf`` for a stored one that cannot match."""
    stored_arr = np.asarray(stored)
    if stored_arr.ndim != 2 or stored_arr.shape[0] < 4 or stored_arr.shape[1] != \
            query_shapes[0].shape[1] or not np.all(np.isfinite(stored_arr)):
        return float("inf")
    from authapp.replay_align import aligned_residual

    return min(aligned_residual(q, p) for q, p in zip(query_shapes, shapes(stored_arr)))


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
    from authapp.replay_align import legacy_distance

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
