"""The interface every verifier follows, in scikit-learn's style.

``fit(genuine, impostors=None)`` learns from a user's enrollment trajectories (and optional
negatives); ``score_samples`` gives a genuineness score (higher = more genuine);
``decision_function`` is the score minus the fitted threshold; ``predict`` says accept.

A fitted verifier turns into plain data with ``get_state()`` -> (JSON-able dict, dict of
numpy arrays) and back with ``from_state``; ``models.serialization`` writes that as a safe
``.npz`` + JSON (never pickle), and ``authapp`` decides where it goes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from capture.errors import AirAuthError, TrajectoryError
from capture.trajectory import Trajectory


class NotFittedError(AirAuthError, RuntimeError):
    """A verifier was used before ``fit``."""


def check_trajectories(trajs: Any, what: str = "trajectories", min_count: int = 1) -> list[Trajectory]:
    """Validate a list of trajectories with a clear error (models take nothing else)."""
    if isinstance(trajs, Trajectory):
        trajs = [trajs]
    try:
        items = list(trajs)
    except TypeError as exc:
        raise TrajectoryError(f"{what} must be a sequence of Trajectory objects") from exc
    if len(items) < min_count:
        raise TrajectoryError(f"{what}: need at least {min_count}, got {len(items)}")
    for i, tr in enumerate(items):
        if not isinstance(tr, Trajectory):
            raise TrajectoryError(f"{what}[{i}] is a {type(tr).__name__}, not a Trajectory")
    return items


class Verifier(ABC):
    """Base class: subclasses implement ``_fit``, ``_score`` and the state hooks."""

    name: ClassVar[str] = "verifier"
    uses_background: ClassVar[bool] = False
    """Does ``fit`` learn from ``impostors`` (other people, pseudo-impostors)? Declared once
    here; verifiers that do set it True. Callers read the attribute, never guess it."""
    threshold_: float

    # -- sklearn-style API --------------------------------------------------------------
    def fit(self, genuine: Sequence[Trajectory],
            impostors: Sequence[Trajectory] | None = None) -> Verifier:
        genuine = check_trajectories(genuine, "genuine", min_count=2)
        impostors = check_trajectories(impostors, "impostors", 0) if impostors else []
        self._fit(genuine, impostors)
        return self

    def score_samples(self, trajectories: Sequence[Trajectory] | Trajectory) -> np.ndarray:
        self._check_fitted()
        items = check_trajectories(trajectories, "trajectories")
        scores = np.asarray(self._score(items), dtype=np.float64)
        return scores

    def decision_function(self, trajectories: Sequence[Trajectory] | Trajectory) -> np.ndarray:
        return self.score_samples(trajectories) - self.threshold_

    def predict(self, trajectories: Sequence[Trajectory] | Trajectory) -> np.ndarray:
        """True where the trajectory is accepted as genuine."""
        return self.decision_function(trajectories) >= 0

    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (JSON-able), as in scikit-learn."""
        import inspect

        sig = inspect.signature(type(self).__init__)
        return {k: getattr(self, k) for k in sig.parameters if k != "self"}

    # -- subclass hooks -----------------------------------------------------------------
    @abstractmethod
    def _fit(self, genuine: list[Trajectory], impostors: list[Trajectory]) -> None: ...

    @abstractmethod
    def _score(self, trajectories: list[Trajectory]) -> np.ndarray: ...

    @abstractmethod
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able params + fitted scalars, named arrays) that fully describe the fit."""

    @classmethod
    @abstractmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> Verifier: ...

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() first")
