"""The fitted SVM as plain numbers, evaluated in numpy: the kernel expansion both SVM
verifiers (``models.svm``) store and score with.

scikit-learn fits the SVM (``fit_kernel_svm``); its support vectors, dual coefficients,
intercept and gamma are then kept as arrays (``KernelExpansion``) and evaluated here, for
freshly fitted and loaded models alike, so a saved model scores exactly like the one that was
fitted, a login never imports scikit-learn's SVM, and nothing is pickled. Apart from the
verifiers because it is the one piece that knows scikit-learn's SVM internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # sklearn.svm is imported to fit only: a login scores the stored expansion
    from sklearn.svm import SVC, OneClassSVM

KERNELS = ("rbf", "linear")


@dataclass
class KernelExpansion:
    """f(x) = sum_i coef_i K(sv_i, x) + intercept, K = RBF exp(-gamma |.|^2) or linear."""

    support: np.ndarray  # (n_sv, d)
    coef: np.ndarray  # (n_sv,)
    intercept: float
    gamma: float
    kernel: str

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.kernel == "linear":
            return x @ (self.support.T @ self.coef) + self.intercept
        sq = (np.sum(x**2, axis=1)[:, None] + np.sum(self.support**2, axis=1)[None, :]
              - 2.0 * x @ self.support.T)
        return np.exp(-self.gamma * np.maximum(sq, 0.0)) @ self.coef + self.intercept

    def log_density(self, x: np.ndarray) -> np.ndarray:
        """log sum_i coef_i K(sv_i, x) for an RBF one-class expansion (coefs > 0).

        Computed with log-sum-exp: far from every support vector the kernel sum underflows
        to 0, whose log would be -inf; this stays finite.
        """
        sq = (np.sum(x**2, axis=1)[:, None] + np.sum(self.support**2, axis=1)[None, :]
              - 2.0 * x @ self.support.T)
        a = np.log(np.maximum(self.coef, 1e-300))[None, :] - self.gamma * np.maximum(sq, 0.0)
        top = a.max(axis=1)
        return top + np.log(np.exp(a - top[:, None]).sum(axis=1))

    def kernel_distance(self, x: np.ndarray) -> np.ndarray:
        """-log of the one-class kernel density relative to its maximum possible value (>= 0)."""
        return np.maximum(np.log(self.coef.sum()) - self.log_density(x), 0.0)

    @classmethod
    def from_sklearn(cls, model: SVC | OneClassSVM, kernel: str) -> KernelExpansion:
        gamma = float(getattr(model, "_gamma", 0.0))
        return cls(np.array(model.support_vectors_, dtype=np.float64),
                   np.array(model.dual_coef_[0], dtype=np.float64),
                   float(model.intercept_[0]), gamma, kernel)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}support": self.support, f"{prefix}coef": self.coef}

    def scalars(self) -> dict[str, Any]:
        return {"intercept": self.intercept, "gamma": self.gamma, "kernel": self.kernel}

    @classmethod
    def restore(cls, scalars: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                prefix: str) -> KernelExpansion:
        sup = np.asarray(arrays[f"{prefix}support"], dtype=np.float64)
        coef = np.asarray(arrays[f"{prefix}coef"], dtype=np.float64)
        if sup.ndim != 2 or coef.shape != (sup.shape[0],):
            raise ValueError("SVM support vectors and coefficients do not match")
        kernel = str(scalars["kernel"])
        if kernel not in KERNELS:
            raise ValueError(f"unknown SVM kernel {kernel!r}")
        return cls(sup, coef, float(scalars["intercept"]), float(scalars["gamma"]), kernel)


def fit_kernel_svm(x_gen: np.ndarray, x_imp: np.ndarray, kernel: str, C: float,
                   gamma: float | str, nu: float) -> tuple[KernelExpansion, bool]:
    """Two-class SVC (genuine = +1) when impostors exist, else a one-class SVM.

    Returns the expansion and whether it is one-class.  Classes are weighted inversely to
    their counts: a handful of genuine samples must not be outvoted by hundreds of negatives.
    The one-class SVM is always RBF: a linear one only separates the data from the origin.
    """
    from sklearn.svm import SVC, OneClassSVM

    if x_imp.shape[0] == 0:
        oc = OneClassSVM(kernel="rbf", nu=nu, gamma=gamma).fit(x_gen)
        return KernelExpansion.from_sklearn(oc, "rbf"), True
    x = np.vstack([x_gen, x_imp])
    y = np.r_[np.ones(len(x_gen), dtype=int), np.zeros(len(x_imp), dtype=int)]
    svc = SVC(kernel=kernel, C=C, gamma=gamma, class_weight="balanced").fit(x, y)
    return KernelExpansion.from_sklearn(svc, kernel), False
