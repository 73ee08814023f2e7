"""The interface every verifier follows: a scikit-learn estimator with a plain-data state.

``fit(genuine, impostors=None)`` learns from a user's enrollment trajectories (and optional
negatives); ``score_samples`` gives a genuineness score (higher = more genuine);
``decision_function`` is the score minus the fitted threshold; ``predict`` says accept.

Verifiers and pseudo-data generators are ``Estimator``s: they follow scikit-learn's estimator
protocol, so ``get_params`` / ``set_params`` / ``sklearn.base.clone`` work as everywhere in the
field. (The few lines of that protocol are written here rather than inherited from
``sklearn.base.BaseEstimator``: importing scikit-learn would delay every login before it
scores anything, and loading and scoring a model needs nothing else from it.) A
constructor only stores its arguments as given; they are checked in ``fit`` (and when a
saved model is loaded), and an unknown or invalid parameter is a ``ParameterError`` -- the
product's own error type, which the CLI turns into a one-line message and exit status 2.

A fitted estimator turns into plain data with ``get_state()`` -> (JSON-able dict, dict of
numpy arrays) and back with ``from_state`` (``models.persistence``: npz + JSON, never
pickle); ``authapp`` decides where the bytes go.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np

from capture.trajectory import Trajectory
from core.errors import AirAuthError, TrajectoryError
from models.persistence import Persistent


class NotFittedError(AirAuthError, RuntimeError):
    """A verifier was used before ``fit``."""


class ParameterError(AirAuthError, ValueError):
    """An estimator parameter that does not exist or is out of range."""


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


RandomState = int | np.random.Generator | np.random.RandomState | None
"""What a ``random_state`` parameter accepts (scikit-learn's ``check_random_state``)."""


def check_random_state(value: Any) -> None:
    """``ParameterError`` unless ``value`` is a ``RandomState``: None, an int >= 0, or a numpy
    Generator / RandomState."""
    if value is None or isinstance(value, (np.random.Generator, np.random.RandomState)):
        return
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0:
        return
    raise ParameterError(f"random_state must be None, an int >= 0 or a numpy Generator / "
                         f"RandomState, got {value!r}")


def check_seed(name: str, value: Any) -> int:
    """An int-only seed parameter (>= 0): one that keys a weight cache or is stored as JSON,
    where a Generator would not do (the pseudo-data generators' seeds)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ParameterError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)


def draw_seed(random_state: RandomState) -> int:
    """One int seed from a ``random_state`` (torch takes only ints): an int is the seed itself
    (so a default of 0 repeats what a fixed seed 0 did), a Generator / RandomState gives its
    next draw, None a fresh one from the operating system."""
    check_random_state(random_state)
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**32))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**32, dtype=np.int64))
    return int(random_state)


@functools.lru_cache(maxsize=256)
def _init_param_names(init: Any, owner: str) -> tuple[str, ...]:
    """``Estimator._get_param_names`` of a class whose ``__init__`` is ``init``, worked out
    once per constructor (``inspect.signature`` is slow, and loading a stored model asks
    for every member's names many times)."""
    if init is object.__init__:
        return ()
    params = [p for p in inspect.signature(init).parameters.values()
              if p.name != "self" and p.kind != p.VAR_KEYWORD]
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        raise TypeError(f"{owner}: estimators take no *args in __init__")
    return tuple(sorted(p.name for p in params))


class Estimator:
    """scikit-learn's parameter protocol plus the product's error type and JSON config.

    Subclasses store every ``__init__`` argument under its own name and nothing else there;
    ``_check_params`` (raising ``ParameterError``) says what is valid.
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The constructor's parameter names, sorted (``BaseEstimator._get_param_names``)."""
        return list(_init_param_names(cls.__init__, cls.__name__))

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameter name -> value; with ``deep``, nested estimators' as ``name__param``."""
        out: dict[str, Any] = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{key}__{k}", v) for k, v in value.get_params().items())
            out[key] = value
        return out

    def set_params(self, **params: Any) -> Self:
        """Set parameters (``name`` or nested ``name__param``); an unknown name is a
        ``ParameterError``."""
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            key, delim, sub_key = key.partition("__")
            if key not in valid:
                raise ParameterError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}. Valid "
                    f"parameters are: {sorted(self._get_param_names())!r}.")
            if delim:
                nested.setdefault(key, {})[sub_key] = value
            else:
                setattr(self, key, value)
                valid[key] = value
        for key, sub_params in nested.items():
            valid[key].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({params})"

    def _check_params(self) -> None:
        """Raise ``ParameterError`` for a parameter out of range (subclasses say which)."""

    def check_params(self) -> Self:
        """Check the parameters without fitting: ``fit`` and loading do it too, settings and
        command lines call it to refuse a bad value before any work is done."""
        try:
            self._check_params()
        except TypeError as exc:  # e.g. a string where a number belongs
            raise ParameterError(f"{type(self).__name__}: a parameter has the wrong type "
                                 f"({exc})") from None
        return self

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """An unfitted estimator from JSON-able parameters (settings, ``--param``, files).

        Unknown names are a ``ParameterError`` listing the known ones."""
        known = cls._get_param_names()
        unknown = sorted(set(config) - set(known))
        if unknown:
            raise ParameterError(f"{cls.__name__} has no parameter {unknown[0]!r}; its "
                                 f"parameters: {', '.join(known)}")
        return cls(**dict(config))

    def to_config(self) -> dict[str, Any]:
        """The inverse of ``from_config``: JSON-able parameters."""
        return self.get_params(deep=False)


class Verifier(Estimator, Persistent, ABC):
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
        self.check_params()
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

    # -- subclass hooks -----------------------------------------------------------------
    @abstractmethod
    def _fit(self, genuine: list[Trajectory], impostors: list[Trajectory]) -> None: ...

    @abstractmethod
    def _score(self, trajectories: list[Trajectory]) -> np.ndarray: ...

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() first")
