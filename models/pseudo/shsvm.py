"""SH-SVM (semi-hard-margin SVM) selection of pseudo-genuine and pseudo-impostor candidates.

An SVM with a large but finite C is fit on the embeddings of the user's genuine samples
against generic negatives (other people's samples): nearly hard on the few genuine points,
yet tolerant of an outlier. Its decision value, in units of the margin (the support vectors
sit at +-1), sorts candidates:

- inside the genuine side (``f >= genuine_min``) -> pseudo-genuine: the variation kept the
  sample within what this user writes;
- just beyond the boundary (``impostor_band[0] <= f < impostor_band[1]``) -> pseudo-impostor:
  similar to the user but past the line, the hard negatives a verifier learns most from;
- far beyond -> discarded (easy negatives teach nothing the background does not).

Without negatives (no background yet) a nearest-reference radius gives the same geometry.
"""

from __future__ import annotations

import numpy as np
from sklearn.svm import SVC


class SHSVM:
    """Semi-hard-margin SVM over embeddings; ``decision_function`` is in margin units."""

    def __init__(self, C: float = 100.0, kernel: str = "rbf",
                 gamma: float | str = "scale") -> None:
        self.C = C
        self.kernel = kernel
        self.gamma = gamma

    def fit(self, genuine: np.ndarray, negatives: np.ndarray | None = None) -> SHSVM:
        genuine = np.asarray(genuine, dtype=np.float64)
        if negatives is None or len(negatives) == 0:
            # no negatives: a one-class SVM around 5 points puts them ON its boundary (its
            # scale then explodes); the references' own nearest-neighbour radius is robust:
            # 1 at a reference, 0 at the largest reference-to-reference NN distance, -1 at twice it
            self.svm_ = None
            self.genuine_ = genuine
            d = np.linalg.norm(genuine[:, None] - genuine[None], axis=2)
            np.fill_diagonal(d, np.inf)
            nn = d.min(axis=1)
            self.scale_ = float(np.max(nn[np.isfinite(nn)])) if np.isfinite(nn).any() else 0.0
            self.scale_ = self.scale_ if self.scale_ > 0 else 1.0
            self.one_class_ = True
            return self
        negatives = np.asarray(negatives, dtype=np.float64)
        x = np.vstack([genuine, negatives])
        y = np.r_[np.ones(len(genuine)), np.zeros(len(negatives))]
        # balanced weights: 5 genuine points must not be outvoted by hundreds of negatives
        self.svm_ = SVC(C=self.C, kernel=self.kernel, gamma=self.gamma,
                        class_weight="balanced")
        self.svm_.fit(x, y)
        self.scale_ = 1.0
        self.one_class_ = False
        return self

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.one_class_:
            nn = np.linalg.norm(x[:, None] - self.genuine_[None], axis=2).min(axis=1)
            return 1.0 - nn / self.scale_
        return self.svm_.decision_function(x) / self.scale_


def select(scores: np.ndarray, rng: np.random.Generator, genuine_min: float = 0.0,
           impostor_band: tuple[float, float] = (-1.0, 0.0), max_genuine: int = 40,
           max_impostors: int = 40, eligible_impostor: np.ndarray | None = None,
           eligible_genuine: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of pseudo-genuine and pseudo-impostor candidates from SH-SVM scores.

    Within each region the pick is random (seeded), not "the best N": the most genuine-looking
    candidates are the least varied, and variety is what the verifiers need.
    ``eligible_impostor`` / ``eligible_genuine`` (bool masks) can exclude candidates too weak
    to be called impostors / too strong to be called genuine.
    """
    scores = np.asarray(scores, dtype=np.float64)
    gen_mask = scores >= genuine_min
    if eligible_genuine is not None:
        gen_mask &= np.asarray(eligible_genuine, dtype=bool)
    gen = np.flatnonzero(gen_mask)
    lo, hi = impostor_band
    imp_mask = (scores >= lo) & (scores < hi)
    if eligible_impostor is not None:
        imp_mask &= np.asarray(eligible_impostor, dtype=bool)
    imp = np.flatnonzero(imp_mask)
    if gen.size > max_genuine:
        gen = np.sort(rng.choice(gen, size=max_genuine, replace=False))
    if imp.size > max_impostors:
        imp = np.sort(rng.choice(imp, size=max_impostors, replace=False))
    return gen, imp

