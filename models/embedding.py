"""A writer-independent embedding of a recording, for finding candidates among many users.

Identification among N enrolled people cannot score every user's verifier (tens of ms
each). Instead each recording becomes one short unit vector, the same function for every
person (nothing is learned per user, nothing from the query's writer): recordings of one
person's writing lie close together, and a nearest-neighbour index over the vectors of the
users' enrollment recordings gives a shortlist (the users whose nearest sample is nearest)
that the calibrated verifiers then score (``authapp.identify_index``).

The vector is the preprocessed feature sequence (``capture.preprocess``: trimmed, low-passed,
each axis z-scored; by default the position alone) resampled to ``length`` points,
flattened, scaled to unit length, with the log of the writing's duration appended (weighted
by ``duration_weight``: people differ in how long they take). Fixed features were chosen by
measurement against the alternatives named in issue 24 (README, "Scale": shortlist recall on
all identities of the shared data sets).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from capture.preprocess import FeatureConfig
from capture.trajectory import Trajectory
from models.base import Estimator, ParameterError
from models.fixed_features import cached_feature_sequence, fixed_vector

MAX_AXES = 3
"""Vectors of 2-D (pen) recordings are padded to the length of 3-D ones."""
EMBEDDING_VERSION = 2
"""Changes whenever the vectors of the same recording would change (stored vectors of another
version are recomputed)."""


class RecordingEmbedding(Estimator):
    """Recordings -> unit vectors (``transform``); stateless: ``fit`` only checks params."""

    def __init__(self, length: int = 24, channels: tuple[str, ...] = ("pos",),
                 duration_weight: float = 0.5) -> None:
        self.length = length
        self.channels = channels
        self.duration_weight = duration_weight

    def _check_params(self) -> None:
        if int(self.length) < 2:
            raise ParameterError(f"length must be at least 2, got {self.length}")
        if not 0 <= float(self.duration_weight) <= 10:
            raise ParameterError(f"duration_weight must be in [0, 10], got "
                                 f"{self.duration_weight}")
        FeatureConfig(channels=tuple(self.channels))

    def fit(self, trajectories: Sequence[Trajectory] | None = None) -> RecordingEmbedding:
        self.check_params()
        return self

    def transform(self, trajectories: Sequence[Trajectory]) -> np.ndarray:
        """(n, d) float32 rows, each of unit length (d = length x channels x 3 + 1)."""
        self.check_params()
        config = FeatureConfig(channels=tuple(self.channels))
        rows = []
        for traj in trajectories:
            seq = cached_feature_sequence(traj, config)
            vec = fixed_vector(np.nan_to_num(seq), int(self.length))
            size = int(self.length) * MAX_AXES * len(self.channels)
            if vec.size < size:  # pen data (2-D): one length for every recording
                vec = np.concatenate([vec, np.zeros(size - vec.size)])
            norm = float(np.linalg.norm(vec))
            vec = vec / norm if norm > 0 else vec
            duration = np.log(max(float(traj.duration), 1e-3))
            rows.append(np.concatenate([vec, [float(self.duration_weight) * duration]]))
        out = np.asarray(rows, dtype=np.float64)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms > 0, norms, 1.0)).astype(np.float32)

