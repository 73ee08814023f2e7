"""SVM verifiers: an RBF SVM on fixed-length features, and SS-SVM on subspace coordinates.

``SVMVerifier`` separates the user's genuine vectors (DTW-aligned, resampled feature
sequences, optionally with DTW distances to the templates) from impostor vectors
(pseudo-impostors and/or a background set of other people).  Without impostors it falls
back to a one-class SVM around the genuine vectors.

``SubspaceSVMVerifier`` is the subspace-based SVM (SS-SVM; Kitamura, Takeuchi, Abe, Fukui,
Neural Networks 2009): the features are the squared projections of the unit vector on each
direction of the user's CLAFIC subspace plus the residual, so a linear SVM learns one
weight per eigen-direction (and a bias) by margin maximisation instead of CLAFIC's equal
weights.  Genuine training vectors are projected on a subspace fitted WITHOUT them
(jackknife), otherwise their residual would be ~0 and the SVM would learn "residual 0 =
genuine", which never holds for a new login.

Fitted SVMs are stored as plain arrays (support vectors, dual coefficients, intercept,
gamma) and evaluated in numpy (``models.svm_kernel``), for freshly fitted and loaded models
alike, so a saved model scores exactly like the one that was fitted -- and no pickle.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from capture.trajectory import Trajectory
from models import calibration
from models.base import ParameterError, Verifier
from models.fixed_features import FixedEncoder, check_dims, dtw_summary, sequences
from models.subspace import class_subspace, unit_rows
from models.svm_kernel import KERNELS, KernelExpansion, fit_kernel_svm


class _SVMBase(Verifier):
    """Shared fitting, scaling, calibration and state of the two SVM verifiers."""

    uses_background: ClassVar[bool] = True

    # subclass hooks: fixed-length features for training (may differ: jackknife) and queries
    @abstractmethod
    def _train_features(self, genuine: list[Trajectory], impostors: list[Trajectory]
                        ) -> tuple[np.ndarray, np.ndarray]: ...

    @abstractmethod
    def _features(self, trajs: list[Trajectory]) -> np.ndarray: ...

    @abstractmethod
    def _sub_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]: ...

    @abstractmethod
    def _restore_sub_state(self, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None: ...

    def _check_params(self) -> None:
        if self.kernel not in KERNELS:
            raise ParameterError(f"kernel must be one of {KERNELS}, got {self.kernel!r}")
        if not 0.0 < self.nu <= 1.0:
            raise ParameterError(f"nu must be in (0, 1], got {self.nu}")
        if self.C <= 0:
            raise ParameterError(f"C must be positive, got {self.C}")

    def _fit(self, genuine: list[Trajectory], impostors: list[Trajectory]) -> None:
        self.dims_ = genuine[0].dims
        impostors = [t for t in impostors if t.dims == self.dims_]
        x_gen, x_imp = self._train_features(genuine, impostors)
        # scale on the genuine samples: impostors are the many, but the user is the reference
        self.mean_ = x_gen.mean(axis=0)
        sd = np.sqrt(np.mean(np.vstack([x_gen, x_imp]).var(axis=0))) if len(x_imp) else 0.0
        sd = sd if sd > 0 else float(np.sqrt(np.mean(x_gen.var(axis=0))))
        self.scale_ = float(max(sd, calibration.MIN_SPREAD))
        zg = (x_gen - self.mean_) / self.scale_
        zi = (x_imp - self.mean_) / self.scale_
        self.svm_, self.one_class_ = fit_kernel_svm(zg, zi, self.kernel, self.C, self.gamma,
                                                    self.nu)
        self.oc_scale_ = 1.0
        if self.one_class_:
            self.oc_scale_ = self._one_class_scale(zg, genuine)
        self._set_threshold()

    def _one_class_scale(self, zg: np.ndarray, genuine: list[Trajectory]) -> float:
        """Mean leave-one-out kernel distance of the real genuine samples."""
        def score(train: np.ndarray, i: int) -> float:
            sub, _ = fit_kernel_svm(zg[train], zg[:0], "rbf", self.C, self.gamma, self.nu)
            return float(sub.kernel_distance(zg[i:i + 1])[0])

        return calibration.positive_scale(calibration.leave_one_out(genuine, score))

    def _set_threshold(self) -> None:
        # one-class: score = -kernel distance / LOO scale, so the threshold is in LOO units
        self.threshold_ = -float(self.oc_threshold) if self.one_class_ else float(self.threshold)

    def _score(self, trajectories: list[Trajectory]) -> np.ndarray:
        check_dims(trajectories, self.dims_)
        z = (self._features(trajectories) - self.mean_) / self.scale_
        if self.one_class_:
            return -self.svm_.kernel_distance(z) / self.oc_scale_
        return self.svm_(z)

    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self._check_fitted()
        sub_params, sub_arrays = self._sub_state()
        params = {"params": self.get_params(), "dims": self.dims_, "scale": self.scale_,
                  "one_class": self.one_class_, "oc_scale": self.oc_scale_, "svm": self.svm_.scalars(), **sub_params}
        arrays = {"mean": self.mean_, **self.svm_.arrays("svm_"), **sub_arrays}
        return params, arrays

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> _SVMBase:
        v = cls(**params["params"])
        v.check_params()
        v.dims_ = int(params["dims"])
        v.scale_ = float(params["scale"])
        v.one_class_ = bool(params["one_class"])
        v.oc_scale_ = float(params["oc_scale"])
        v.mean_ = np.asarray(arrays["mean"], dtype=np.float64)
        v.svm_ = KernelExpansion.restore(params["svm"], arrays, "svm_")
        if v.svm_.support.shape[1] != v.mean_.shape[0]:
            raise ValueError("SVM feature size does not match the stored scaling")
        v._restore_sub_state(params, arrays)
        v._set_threshold()
        return v


class SVMVerifier(_SVMBase):
    """RBF SVM on DTW-aligned fixed-length vectors (+ DTW distances to the templates).

    Parameters
    ----------
    length, features, align, window, global_weight, warp_weight: the ``FixedEncoder``
        settings.  ``global_weight`` (log writing time) defaults to 3: the shape vector is
        DTW-aligned, so without it the SVM is blind to tempo, the main cue against skilled
        forgers.
    dtw_weight: weight of the appended (min, mean) DTW distances to the enrollment
        templates, divided by the mean distance among the templates (0 = left out).
    kernel, C, gamma: the SVC's; ``nu``: the one-class fallback's.
    threshold: accept when the SVM decision value is >= this (0 = the SVM's boundary).
    oc_threshold: one-class fallback only: the score is minus the kernel distance
        -log(K-density / max) divided by its mean leave-one-out value over the real genuine
        samples; accept while that ratio is <= oc_threshold.
    """

    name = "svm"

    def __init__(self, length: int = 32, features: Mapping[str, Any] | None = None,
                 align: bool = True, window: float | None = 0.2,
                 global_weight: float = 3.0, warp_weight: float = 0.0,
                 dtw_weight: float = 0.0, kernel: str = "rbf",
                 C: float = 10.0, gamma: float | str = "scale", nu: float = 0.2,
                 threshold: float = 0.0, oc_threshold: float = 2.0) -> None:
        self.length = length
        self.features = features
        self.align = align
        self.window = window
        self.global_weight = global_weight
        self.warp_weight = warp_weight
        self.dtw_weight = dtw_weight
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.nu = nu
        self.threshold = threshold
        self.oc_threshold = oc_threshold

    def _dtw_block(self, trajs: list[Trajectory], self_mask: bool = False) -> np.ndarray:
        from models.dtw import dtw_distance_matrix

        seqs = sequences(trajs, self.encoder_.config)
        d = dtw_distance_matrix(seqs, self.templates_, self.window)
        mask = np.eye(len(trajs), len(self.templates_), dtype=bool) if self_mask else None
        return self.dtw_weight * dtw_summary(d, self.dtw_scale_, mask)

    def _train_features(self, genuine: list[Trajectory], impostors: list[Trajectory]
                        ) -> tuple[np.ndarray, np.ndarray]:
        from models.dtw import dtw_distance_matrix

        self.encoder_ = FixedEncoder.of(self).fit(genuine)
        x_gen = self.encoder_.transform(genuine)
        x_imp = self.encoder_.transform(impostors) if impostors else np.empty((0, x_gen.shape[1]))
        if self.dtw_weight > 0:
            real = calibration.loo_indices(genuine)
            self.templates_ = [np.array(s) for s in
                               sequences([genuine[i] for i in real], self.encoder_.config)]
            d = dtw_distance_matrix(self.templates_, None, self.window)
            n = len(self.templates_)
            self.dtw_scale_ = calibration.positive_scale(d[~np.eye(n, dtype=bool)])
            # genuine rows that are templates ignore their zero distance to themselves
            gen_d = dtw_distance_matrix(sequences(genuine, self.encoder_.config),
                                        self.templates_, self.window)
            mask = np.zeros_like(gen_d, dtype=bool)
            for k, i in enumerate(real):
                mask[i, k] = True
            x_gen = np.hstack([x_gen, self.dtw_weight * dtw_summary(gen_d, self.dtw_scale_, mask)])
            if impostors:
                x_imp = np.hstack([x_imp, self._dtw_block(impostors)])
            else:
                x_imp = np.empty((0, x_gen.shape[1]))
        return x_gen, x_imp

    def _features(self, trajs: list[Trajectory]) -> np.ndarray:
        x = self.encoder_.transform(trajs)
        if self.dtw_weight > 0:
            x = np.hstack([x, self._dtw_block(trajs)])
        return x

    def _sub_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        arrays = self.encoder_.get_arrays("encoder_")
        params: dict[str, Any] = {}
        if self.dtw_weight > 0:
            params["dtw_scale"] = self.dtw_scale_
            params["n_templates"] = len(self.templates_)
            arrays.update({f"template_{i}": t for i, t in enumerate(self.templates_)})
        return params, arrays

    def _restore_sub_state(self, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.encoder_ = FixedEncoder.of(self).set_arrays(arrays, "encoder_")
        if self.dtw_weight > 0:
            self.dtw_scale_ = float(params["dtw_scale"])
            self.templates_ = [np.asarray(arrays[f"template_{i}"], dtype=np.float64)
                               for i in range(int(params["n_templates"]))]


class SubspaceSVMVerifier(_SVMBase):
    """SS-SVM: a linear SVM (default) over squared projections on the user's subspace.

    Parameters
    ----------
    length, features, align, window, global_weight, warp_weight: the ``FixedEncoder``
        settings.
    energy, max_dims: the subspace dimension (as in ``SubspaceVerifier``, but kept larger:
        the SVM, not a cut-off, decides how much each direction counts).
    jackknife: project each real genuine training sample on a subspace fitted without it.
    kernel, C, gamma, nu, threshold, oc_threshold: as in ``SVMVerifier`` (the one-class
        fallback is RBF whatever ``kernel`` says).
    """

    name = "ss-svm"

    def __init__(self, length: int = 32, features: Mapping[str, Any] | None = None,
                 align: bool = True, window: float | None = 0.2,
                 global_weight: float = 0.0, warp_weight: float = 0.0,
                 energy: float = 0.999, max_dims: int | None = None,
                 jackknife: bool = True, kernel: str = "linear", C: float = 10.0,
                 gamma: float | str = "scale", nu: float = 0.2, threshold: float = 0.0,
                 oc_threshold: float = 2.0) -> None:
        self.length = length
        self.features = features
        self.align = align
        self.window = window
        self.global_weight = global_weight
        self.warp_weight = warp_weight
        self.energy = energy
        self.max_dims = max_dims
        self.jackknife = jackknife
        self.kernel = kernel
        self.C = C
        self.gamma = gamma
        self.nu = nu
        self.threshold = threshold
        self.oc_threshold = oc_threshold

    @staticmethod
    def project(basis: np.ndarray, x_unit: np.ndarray) -> np.ndarray:
        """Squared projections on each basis direction, then the residual: (n, k + 1)."""
        p2 = (x_unit @ basis.T) ** 2
        return np.column_stack([p2, np.clip(1.0 - p2.sum(axis=1), 0.0, 1.0)])

    def _train_features(self, genuine: list[Trajectory], impostors: list[Trajectory]
                        ) -> tuple[np.ndarray, np.ndarray]:
        self.encoder_ = FixedEncoder.of(self).fit(genuine)
        xg = unit_rows(self.encoder_.transform(genuine))
        self.basis_, _ = class_subspace(xg, self.energy, self.max_dims)
        k = self.basis_.shape[0]
        f_gen = self.project(self.basis_, xg)
        if self.jackknife:
            for i, train in calibration.loo_splits(genuine):
                if len(train) == 0:  # every other sample was made from this one: keep it
                    continue
                b, _ = class_subspace(xg[train], 1.0, k)
                b = _match_directions(b, self.basis_)
                f_gen[i] = self.project(b, xg[i:i + 1])[0]
        if impostors:
            f_imp = self.project(self.basis_, unit_rows(self.encoder_.transform(impostors)))
        else:
            f_imp = np.empty((0, k + 1))
        return f_gen, f_imp

    def _features(self, trajs: list[Trajectory]) -> np.ndarray:
        return self.project(self.basis_, unit_rows(self.encoder_.transform(trajs)))

    def _sub_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"basis": self.basis_, **self.encoder_.get_arrays("encoder_")}

    def _restore_sub_state(self, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.encoder_ = FixedEncoder.of(self).set_arrays(arrays, "encoder_")
        self.basis_ = np.asarray(arrays["basis"], dtype=np.float64)
        if self.basis_.ndim != 2 or self.basis_.shape[0] + 1 != self.mean_.shape[0]:
            raise ValueError("SS-SVM basis does not match the SVM's feature size")


def _match_directions(basis: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Reorder a jackknife basis so its direction i is the one closest to reference's i.

    A left-out sample can swap two eigen-directions of similar energy; the SVM weights are
    per direction, so the features must refer to the same directions.
    """
    k = min(basis.shape[0], reference.shape[0])
    sim = np.abs(reference[:k] @ basis[:k].T)
    order = np.full(k, -1)
    free = set(range(k))
    for i in np.argsort(-sim.max(axis=1)):
        j = max(free, key=lambda c: sim[i, c])
        order[i] = j
        free.discard(j)
    out = np.zeros_like(reference)
    out[:k] = basis[order]
    return out
