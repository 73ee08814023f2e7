"""Fixed-length feature vectors from trajectories, for the vector-space verifiers.

The subspace method and the SVMs need every sample as a point in one space R^d, whereas DTW
compares sequences of any length.  A vector is the preprocessed feature sequence
(``capture.preprocess.feature_sequence``) resampled to ``length`` points and flattened,
optionally followed by a few global facts the resampling throws away (how long the writing
took: forgers copy shapes slowly), and optionally by DTW distances to the user's templates.

Feature sequences are cached per trajectory object (weakly, so nothing is kept alive): one
login is scored by several verifiers, and a harness scores the same impostor sample against
every user, so the preprocessing runs once per (trajectory, config).
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from capture.preprocess import FeatureConfig, feature_sequence, resample_length
from capture.trajectory import Trajectory
from core.errors import TrajectoryError

_CACHE: weakref.WeakKeyDictionary[Trajectory, dict[str, np.ndarray]] = weakref.WeakKeyDictionary()
_CACHE_MAX_ENTRIES = 8  # per trajectory: bounds memory when configs or templates change


def make_config(features: Mapping[str, Any] | FeatureConfig | None) -> FeatureConfig:
    """A ``FeatureConfig`` from a verifier's JSON-able ``features`` param (None = default)."""
    if features is None:
        return FeatureConfig()
    if isinstance(features, FeatureConfig):
        return features
    return FeatureConfig.from_dict(features)


def _key(config: FeatureConfig) -> str:
    return json.dumps(config.to_dict(), sort_keys=True)


def cached_feature_sequence(traj: Trajectory, config: FeatureConfig) -> np.ndarray:
    """``feature_sequence(traj, config)``, computed once per trajectory object and config.

    The returned array is read-only because it is shared between callers.
    """
    return _cached(traj, "seq:" + _key(config), lambda: feature_sequence(traj, config))


def _cached(traj: Trajectory, key: str, compute: Any) -> np.ndarray:
    """Per-trajectory memo of read-only arrays under ``key`` (bounded per trajectory)."""
    try:
        per_traj = _CACHE.setdefault(traj, {})
    except TypeError:  # not weak-referenceable: just compute
        return compute()
    value = per_traj.get(key)
    if value is None:
        value = compute()
        value.setflags(write=False)
        if len(per_traj) >= _CACHE_MAX_ENTRIES:
            per_traj.pop(next(iter(per_traj)))
        per_traj[key] = value
    return value


def sequences(trajs: Sequence[Trajectory], config: FeatureConfig) -> list[np.ndarray]:
    return [cached_feature_sequence(t, config) for t in trajs]


def global_features(traj: Trajectory, seq: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Facts that resampling to a fixed length loses: log writing time (after idle trimming).

    Duration is among the strongest cues against skilled forgers, who write slowly and
    carefully; the log makes its spread comparable between fast and slow writers.
    """
    return np.array([np.log(max(seq.shape[0] / config.rate_hz, 1e-3))])


def fixed_vector(seq: np.ndarray, length: int) -> np.ndarray:
    """A feature sequence (M, C) resampled to ``length`` points and flattened to (length * C,)."""
    return resample_length(seq, length).ravel()


def check_dims(trajs: Sequence[Trajectory], dims: int) -> None:
    """Clear error when a query's spatial dimensionality differs from the enrollment's."""
    for i, t in enumerate(trajs):
        if t.dims != dims:
            raise TrajectoryError(f"trajectory {i} is {t.dims}-D but the model was enrolled "
                                  f"with {dims}-D trajectories")


def align_to_template(seq: np.ndarray, template: np.ndarray, window: float | None,
                      timing: bool = False) -> np.ndarray:
    """``seq`` warped onto the template's time axis by DTW: (len(template), C [+ 1]).

    Each template frame gets the mean of the ``seq`` frames the optimal path matches to it,
    so corresponding strokes of different samples land at the same vector coordinates --
    fixed-length vectors of unaligned samples mostly measure timing jitter instead of shape.
    ``timing`` appends the warp itself as a channel: where (as a fraction of its duration)
    ``seq`` is at each template frame, minus where the template is.  Alignment hides tempo
    differences; this channel keeps them (a forger lags where he has to think).
    """
    from models.dtw import dtw_path

    _, path = dtw_path(template, seq, window)
    m = template.shape[0]
    counts = np.bincount(path[:, 0], minlength=m).astype(np.float64)
    cols = [np.bincount(path[:, 0], weights=seq[path[:, 1], c], minlength=m)
            for c in range(seq.shape[1])]
    if timing:
        where = np.bincount(path[:, 0], weights=path[:, 1], minlength=m)
        cols.append(where - counts * np.arange(m) * (seq.shape[0] - 1) / max(m - 1, 1))
        cols[-1] = cols[-1] / max(seq.shape[0] - 1, 1)
    return np.column_stack(cols) / counts[:, None]


def medoid_index(seqs: Sequence[np.ndarray], window: float | None) -> int:
    """Index of the sequence with the smallest summed DTW distance to the others."""
    from models.dtw import dtw_distance_matrix

    if len(seqs) < 3:
        return 0
    d = dtw_distance_matrix(list(seqs), None, window)
    return int(np.argmin(d.sum(axis=1)))


def dtw_summary(dist: np.ndarray, scale: float, self_mask: np.ndarray | None = None) -> np.ndarray:
    """Per-row (min, mean) of template distances divided by the user's own spread ``scale``.

    ``self_mask`` marks entries to ignore (a template's distance to itself, which would be 0
    for the enrollment samples but never for a login).
    """
    d = np.array(dist, dtype=np.float64)
    if self_mask is not None:
        d = np.where(self_mask, np.nan, d)
    scale = scale if scale > 0 else 1.0
    return np.column_stack([np.nanmin(d, axis=1), np.nanmean(d, axis=1)]) / scale


class FixedEncoder:
    """Trajectories -> fixed-length vectors, optionally DTW-aligned to a user template.

    Shared by the subspace method and the SVMs so they encode samples identically.
    ``fit`` picks the template (the medoid of the genuine samples) when ``align`` is on;
    ``transform`` returns the (n, d) matrix.  State: the template array plus the params.
    """

    def __init__(self, features: Mapping[str, Any] | None = None, length: int = 32,
                 align: bool = True, window: float | None = 0.2,
                 global_weight: float = 0.0, warp_weight: float = 0.0) -> None:
        self.features = features
        self.warp_weight = warp_weight
        self.length = length
        self.align = align
        self.window = window
        self.global_weight = global_weight
        self.config = make_config(features)
        self.template_: np.ndarray | None = None
        self._vec_key = ""
        if length < 2:
            raise ValueError("length must be at least 2")

    @classmethod
    def of(cls, owner: Any) -> FixedEncoder:
        """The encoder a verifier's own params describe: the subspace method and both SVMs
        carry ``features, length, align, window, global_weight, warp_weight``."""
        return cls(owner.features, owner.length, owner.align, owner.window,
                   owner.global_weight, owner.warp_weight)

    def fit(self, trajs: Sequence[Trajectory]) -> FixedEncoder:
        if self.align:
            seqs = sequences(trajs, self.config)
            self._set_template(np.array(seqs[medoid_index(seqs, self.window)]))
        return self

    def _set_template(self, template: np.ndarray) -> None:
        """Store the template and the cache key of vectors encoded against it.

        Several verifiers of one user (a fusion) share template and settings, so a login is
        aligned once, not once per member.
        """
        self.template_ = template
        digest = hashlib.blake2b(np.ascontiguousarray(template).tobytes(), digest_size=12)
        self._vec_key = (f"vec:{_key(self.config)}:{self.length}:{self.window}:"
                         f"{self.warp_weight}:{digest.hexdigest()}")

    def encode_sequence(self, seq: np.ndarray) -> np.ndarray:
        if self.align:
            if self.template_ is None:
                raise RuntimeError("FixedEncoder.fit must run before transform when aligning")
            seq = align_to_template(seq, self.template_, self.window, self.warp_weight > 0)
            if self.warp_weight > 0:
                seq[:, -1] *= self.warp_weight
        return fixed_vector(seq, self.length)

    def transform(self, trajs: Sequence[Trajectory]) -> np.ndarray:
        rows = []
        for traj in trajs:
            seq = cached_feature_sequence(traj, self.config)
            if self.align:
                vec = _cached(traj, self._vec_key, lambda s=seq: self.encode_sequence(s))
            else:
                vec = self.encode_sequence(seq)
            if self.global_weight > 0:
                vec = np.concatenate([vec, self.global_weight
                                      * global_features(traj, seq, self.config)])
            rows.append(vec)
        return np.vstack(rows)

    @property
    def channels(self) -> int:
        return int(self.template_.shape[1]) if self.template_ is not None else -1

    def get_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {f"{prefix}template": self.template_} if self.template_ is not None else {}

    def set_arrays(self, arrays: Mapping[str, np.ndarray], prefix: str = "") -> FixedEncoder:
        if self.align:
            tpl = np.asarray(arrays[f"{prefix}template"], dtype=np.float64)
            if tpl.ndim != 2 or tpl.shape[0] < 2:
                raise ValueError("encoder template must be a (frames, channels) array")
            self._set_template(tpl)
        return self
