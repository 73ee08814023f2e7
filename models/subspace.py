"""Subspace method (CLAFIC): a user's class subspace and the projection-length similarity.

Every sample becomes a fixed-length unit vector (``models.fixed_features``).  The user's
subspace is spanned by the leading eigenvectors of the autocorrelation matrix
R = sum_i x_i x_i^T / n of the genuine vectors -- uncentred, as CLAFIC defines it: the mean
direction of the signature is the first and most important axis, and centring would discard
exactly the shape all genuine samples share.  The dimension is the smallest k whose
eigenvalues hold ``energy`` of the total.  A query's similarity is the squared projection
length ratio ||P x||^2 / ||x||^2; its residual 1 - similarity is the distance.

Per-user calibration: the residual is divided by the mean leave-one-out residual of the
user's real enrollment samples, so a global ``threshold`` (in those units) is a per-user
threshold in raw units and pooled scores of different users are comparable.
Pseudo-genuine samples simply join the sample set and so widen the subspace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from capture.trajectory import Trajectory
from models import calibration
from models.base import ParameterError, Verifier
from models.fixed_features import FixedEncoder, check_dims

NORMALIZE = ("ratio", "none")


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean length (zero rows stay zero)."""
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, calibration.MIN_SPREAD)


def class_subspace(x: np.ndarray, energy: float, max_dims: int | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(basis (k, d) with orthonormal rows, eigenvalues (k,)) of the autocorrelation of ``x``.

    ``x`` holds unit vectors as rows; k is the smallest count of eigenvalues whose share of
    the total reaches ``energy`` (capped by ``max_dims`` and the rank).
    """
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    lam = s**2 / x.shape[0]
    total = lam.sum()
    rank = int(np.sum(lam > total * 1e-12)) if total > 0 else 1
    if total > 0:
        k = int(np.searchsorted(np.cumsum(lam) / total, energy - 1e-12) + 1)
    else:
        k = 1
    k = max(1, min(k, rank, max_dims or rank))
    return vt[:k].copy(), lam[:k].copy()


def residual(basis: np.ndarray, x_unit: np.ndarray) -> np.ndarray:
    """1 - ||P x||^2 for unit rows ``x_unit``: the share of each vector outside the subspace."""
    proj = x_unit @ basis.T
    return np.clip(1.0 - np.sum(proj**2, axis=1), 0.0, 1.0)


class SubspaceVerifier(Verifier):
    """CLAFIC verifier: similarity = squared projection length onto the user's subspace.

    Parameters
    ----------
    length: points each feature sequence is resampled to before flattening.
    features: ``capture.preprocess.FeatureConfig`` as a dict (None = its defaults).
    align: DTW-align every sample to the user's medoid sample before resampling.
    window: DTW band for the alignment (fraction of the longer length, or frames).
    energy: cumulative eigenvalue share that fixes the subspace dimension.
    max_dims: upper bound on the dimension (None = only the rank bounds it).
    global_weight: weight of the appended log-duration feature (0 = none).
    warp_weight: weight of the alignment's timing channel (0 = none; see
        ``fixed_features.align_to_template``).
    normalize: "ratio" -> score = -residual / (mean LOO residual), comparable across users;
        "none" -> score = raw similarity ||Px||^2/||x||^2 in [0, 1].
    threshold: accept while residual <= threshold * mean LOO residual (both normalisations
        make the same per-user decision).
    """

    name = "subspace"

    def __init__(self, length: int = 32, features: Mapping[str, Any] | None = None,
                 align: bool = True, window: float | None = 0.2, energy: float = 0.95,
                 max_dims: int | None = None, global_weight: float = 0.0,
                 warp_weight: float = 0.0, normalize: str = "ratio",
                 threshold: float = 2.0) -> None:
        self.length = length
        self.features = features
        self.align = align
        self.window = window
        self.energy = energy
        self.max_dims = max_dims
        self.global_weight = global_weight
        self.warp_weight = warp_weight
        self.normalize = normalize
        self.threshold = threshold

    # -- fitting --------------------------------------------------------------------------
    def _vectors(self, trajs: list[Trajectory]) -> np.ndarray:
        check_dims(trajs, self.dims_)
        return unit_rows(self.encoder_.transform(trajs))

    def _check_params(self) -> None:
        if not 0.0 < self.energy <= 1.0:
            raise ParameterError(f"energy must be in (0, 1], got {self.energy}")
        if self.normalize not in NORMALIZE:
            raise ParameterError(f"normalize must be one of {NORMALIZE}, got {self.normalize!r}")
        if self.length < 2:
            raise ParameterError("length must be at least 2")

    def _fit(self, genuine: list[Trajectory], impostors: list[Trajectory]) -> None:
        self.dims_ = genuine[0].dims
        self.encoder_ = FixedEncoder.of(self).fit(genuine)
        x = self._vectors(genuine)
        self.basis_, self.eigenvalues_ = class_subspace(x, self.energy, self.max_dims)

        def held_out(train: np.ndarray, i: int) -> float:
            b, _ = class_subspace(x[train], self.energy, self.max_dims)
            return float(residual(b, x[i:i + 1])[0])

        self.loo_residuals_ = calibration.leave_one_out(genuine, held_out)
        self.scale_ = calibration.positive_scale(self.loo_residuals_)
        self._set_threshold()

    def _set_threshold(self) -> None:
        if self.normalize == "ratio":
            self.threshold_ = -float(self.threshold)
        else:
            self.threshold_ = 1.0 - float(self.threshold) * self.scale_

    # -- scoring --------------------------------------------------------------------------
    def residuals(self, trajectories: list[Trajectory]) -> np.ndarray:
        """Raw residuals 1 - ||Px||^2/||x||^2 of the queries (distance, lower = genuine)."""
        self._check_fitted()
        return residual(self.basis_, self._vectors(trajectories))

    def _score(self, trajectories: list[Trajectory]) -> np.ndarray:
        r = residual(self.basis_, self._vectors(trajectories))
        if self.normalize == "ratio":
            return -r / self.scale_
        return 1.0 - r

    # -- state ----------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        params = {"params": self.get_params(), "scale": self.scale_, "dims": self.dims_}
        arrays = {"basis": self.basis_, "eigenvalues": self.eigenvalues_,
                  "loo_residuals": self.loo_residuals_, **self.encoder_.get_arrays("encoder_")}
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]
                   ) -> SubspaceVerifier:
        v = cls(**params["params"])
        v.check_params()
        v.dims_ = int(params["dims"])
        v.encoder_ = FixedEncoder.of(v).set_arrays(arrays, "encoder_")
        v.basis_ = np.asarray(arrays["basis"], dtype=np.float64)
        v.eigenvalues_ = np.asarray(arrays["eigenvalues"], dtype=np.float64)
        v.loo_residuals_ = np.asarray(arrays["loo_residuals"], dtype=np.float64)
        v.scale_ = float(params["scale"])
        if v.basis_.ndim != 2:
            raise ValueError("subspace basis must be a 2-D array")
        v._set_threshold()
        return v
