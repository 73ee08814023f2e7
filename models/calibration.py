"""Per-user score calibration shared by the verifiers: LOO statistics and thresholds.

A user enrolls with a handful of samples, so a verifier learns how far its own genuine
samples lie from the model by leave-one-out (fit on all but one real sample, score that one).
Dividing a query's distance by that typical genuine distance makes scores of different users
comparable (one global threshold in normalised units = a per-user threshold in raw units),
the normalisation the SVC2004 winner and the FMKit verifier use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from capture.trajectory import Trajectory

MIN_SPREAD = 1e-6
"""Floor for spreads and scales: n identical samples must not divide by zero."""


def pseudo_kind(traj: Trajectory) -> str | None:
    """``"genuine"`` / ``"impostor"`` for generated samples, None for recorded ones."""
    kind = traj.meta.extra.get("pseudo") if traj.meta.extra else None
    return str(kind) if kind else None


def is_adapted(traj: Trajectory) -> bool:
    """Was this sample added by template adaptation (``models.adaptation``), i.e. a login
    that joined the references after enrollment?"""
    return bool(traj.meta.extra.get("adapted")) if traj.meta.extra else False


def real_indices(trajs: Sequence[Trajectory]) -> list[int]:
    """Indices of recorded enrollment samples: only they can be left out honestly, and only
    they define the user's own spread. Generated samples are near-copies of them; adapted
    ones (logins added later) are extra templates that must not widen the spread the
    calibration's thresholds were learned with."""
    return [i for i, t in enumerate(trajs) if pseudo_kind(t) is None and not is_adapted(t)]


def loo_indices(trajs: Sequence[Trajectory]) -> list[int]:
    """Which samples leave-one-out runs over: the real ones, or all if every one is pseudo."""
    idx = real_indices(trajs)
    return idx if len(idx) >= 2 else list(range(len(trajs)))


def derived_from(traj: Trajectory, parent: Trajectory, parent_index: int) -> bool:
    """Was generated sample ``traj`` made from recorded sample ``parent``?

    Pseudo-data generators record their parents in ``meta.extra`` ("parent_sources", or
    "parents" as indices into the references, which come first in the genuine list).
    """
    extra = traj.meta.extra or {}
    sources = extra.get("parent_sources")
    if sources and parent.meta.source:
        return parent.meta.source in sources
    parents = extra.get("parents")
    return bool(parents) and parent_index in parents


def loo_splits(trajs: Sequence[Trajectory]) -> list[tuple[int, np.ndarray]]:
    """(held-out index, training indices) for leave-one-out over the real samples.

    The training set also drops the generated samples made from the held-out one: they are
    near-copies of it, and keeping them would make the left-out sample look easy.
    """
    held = loo_indices(trajs)
    out = []
    for k, i in enumerate(held):
        train = [j for j in range(len(trajs)) if j != i and not (
            pseudo_kind(trajs[j]) is not None and derived_from(trajs[j], trajs[i], k))]
        out.append((i, np.array(train, dtype=np.intp)))
    return out


def leave_one_out(trajs: Sequence[Trajectory],
                  score_held_out: Callable[[np.ndarray, int], float]) -> np.ndarray:
    """Scores of each held-out real sample i by a model fitted on its ``loo_splits`` set.

    ``score_held_out(train_idx, i)`` fits on ``train_idx`` and returns the score of ``i``.
    """
    return np.array([score_held_out(train, i) for i, train in loo_splits(trajs)])


def positive_scale(values: np.ndarray) -> float:
    """Mean of non-negative distances, floored: the user's typical genuine distance."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(max(v.mean(), MIN_SPREAD)) if v.size else 1.0


def mean_std(values: np.ndarray, min_std: float = MIN_SPREAD) -> tuple[float, float]:
    """Mean and standard deviation (ddof=1 when possible), with the std floored."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return 0.0, 1.0
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return float(v.mean()), max(sd, min_std)


def threshold_for_far(impostor_scores: np.ndarray, far: float) -> float:
    """Smallest threshold whose false-accept rate on ``impostor_scores`` is at most ``far``.

    Accepting means score >= threshold, so the threshold sits just above the
    ceil((1 - far) * n)-th impostor score.
    """
    s = np.sort(np.asarray(impostor_scores, dtype=np.float64))
    if s.size == 0:
        raise ValueError("no impostor scores to set a false-accept rate from")
    allowed = int(np.floor(far * s.size))  # impostors we may accept
    top = s[s.size - allowed - 1]
    return float(np.nextafter(top, np.inf))
