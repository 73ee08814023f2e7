"""What the array-level one-class detectors share: input checks, parameters, state.

A detector learns from normal samples only (``fit``), can be adapted to a few more normal
samples of a narrower kind (``adapt``: the user's own after pretraining on other people), and
scores anything (``anomaly``: higher = more anomalous; ``score_samples``: its negative,
higher = more normal, as in scikit-learn). Inputs are (n, channels, length) arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from models.base import Estimator, NotFittedError, check_seed
from models.persistence import Persistent

VERSION = 1


def check_array(x: Any, channels: int | None = None, length: int | None = None) -> np.ndarray:
    """(n, C, L) finite float32 array, with a clear ValueError otherwise."""
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[0] < 1:
        raise ValueError(f"expected an (n, channels, length) array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("input contains NaN or infinite values")
    if channels is not None and (arr.shape[1], arr.shape[2]) != (channels, length):
        raise ValueError(f"input is {arr.shape[1]} channels x {arr.shape[2]} points but the "
                         f"detector was fitted on {channels} x {length}")
    return arr


class ArrayDetector(Estimator, Persistent, ABC):
    """Base class: ``fit(X)``, ``adapt(X, steps)``, ``anomaly(X)``, state (scikit-learn
    parameters and the shared ``get_state`` / ``from_state`` contract).

    Every detector takes ``random_state`` (an int, default 0) in its constructor: it seeds
    ``fit`` and ``adapt`` (weights, batches, noise). A verifier pretrains with its
    ``pretrain_seed`` and sets its per-fit seed on the pretrained copy before adapting."""

    kind: ClassVar[str] = "detector"
    signed_scores: ClassVar[tuple[str, ...]] = ()
    """Scores that can be zero or negative (a logit, a normalised sum): compared on a linear
    scale, where the others (residuals, distances) are compared by their logarithm."""

    random_state: int

    def fit(self, x: Any) -> ArrayDetector:
        import torch

        from models.nn.threads import set_threads

        self.check_params()
        seed = check_seed("random_state", self.random_state)
        arr = check_array(x)
        self.channels_, self.length_ = int(arr.shape[1]), int(arr.shape[2])
        set_threads(self.threads)
        torch.manual_seed(seed)
        self._build()
        self._train(arr, np.random.default_rng(seed))
        self._eval()
        self.n_train_ = int(arr.shape[0])
        return self

    def adapt(self, x: Any, steps: int) -> ArrayDetector:
        """A few more training steps on ``x`` only (fine-tuning to a narrower normal class),
        seeded by ``random_state``."""
        import torch

        from models.nn.threads import set_threads

        self._check_fitted()
        arr = check_array(x, self.channels_, self.length_)
        if steps > 0:
            seed = check_seed("random_state", self.random_state)
            set_threads(self.threads)
            torch.manual_seed(seed)
            self._adapt(arr, int(steps), np.random.default_rng(seed))
            self._eval()
        return self

    def anomaly(self, x: Any, score: str | None = None) -> np.ndarray:
        import torch

        self._check_fitted()
        arr = check_array(x, self.channels_, self.length_)
        with torch.no_grad():
            return self._anomaly(torch.from_numpy(arr), score).numpy().astype(np.float64)

    def log_scale(self) -> bool:
        """Is the configured score positive, so that its logarithm is meaningful?"""
        return self.score not in self.signed_scores

    def score_samples(self, x: Any) -> np.ndarray:
        """Higher = more normal (scikit-learn's convention)."""
        return -self.anomaly(x)

    def _check_fitted(self) -> None:
        if not hasattr(self, "channels_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() first")

    def _eval(self) -> None:
        for m in self._modules().values():
            m.eval()

    def _train_mode(self) -> None:
        for m in self._modules().values():
            m.train()

    # -- state --------------------------------------------------------------------------------
    def get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        from models.nn.tensors import module_arrays

        self._check_fitted()
        params = {"kind": self.kind, "version": VERSION, "params": self.get_params(deep=False),
                  "channels": self.channels_, "length": self.length_, "n_train": self.n_train_}
        return params, module_arrays(self._modules())

    @classmethod
    def from_state(cls, params: dict[str, Any], arrays: dict[str, np.ndarray]) -> ArrayDetector:
        from models.nn.tensors import load_module_arrays

        if params.get("kind") != cls.kind or params.get("version") != VERSION:
            raise ValueError(f"not a version-{VERSION} {cls.kind} state")
        self = cls(**params["params"])
        self.channels_, self.length_ = int(params["channels"]), int(params["length"])
        self.n_train_ = int(params["n_train"])
        self._build()
        load_module_arrays(self._modules(), arrays)
        return self

    # -- subclass hooks -------------------------------------------------------------------------
    @abstractmethod
    def _build(self) -> None:
        """Create the networks for ``channels_`` x ``length_`` (fresh weights)."""

    @abstractmethod
    def _modules(self) -> dict[str, Any]:
        """{name: torch module} of everything that is state."""

    @abstractmethod
    def _train(self, x: np.ndarray, rng: np.random.Generator) -> None: ...

    @abstractmethod
    def _adapt(self, x: np.ndarray, steps: int, rng: np.random.Generator) -> None: ...

    @abstractmethod
    def _anomaly(self, x: Any, score: str | None) -> Any: ...


class EpochDetector(ArrayDetector):
    """A detector trained by one loop of mini-batch steps: ``epochs`` passes over the data at
    ``lr`` to fit, ``steps`` more at ``adapt_lr`` to adapt. Subclasses implement ``_steps``."""

    def _check_params(self) -> None:
        from models.base import ParameterError

        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.adapt_lr <= 0:
            raise ParameterError(f"{type(self).__name__}: epochs and batch_size must be >= 1, "
                                 "lr and adapt_lr > 0")

    def _train(self, x: np.ndarray, rng: np.random.Generator) -> None:
        per_epoch = -(-len(x) // self.batch_size)
        self._steps(x, self.epochs * per_epoch, self.lr, rng)

    def _adapt(self, x: np.ndarray, steps: int, rng: np.random.Generator) -> None:
        self._steps(x, steps, self.adapt_lr, rng)

    @abstractmethod
    def _steps(self, x: np.ndarray, steps: int, lr: float, rng: np.random.Generator) -> None:
        """``steps`` optimiser steps on mini-batches of ``x`` (all networks left in train
        mode; ``fit`` / ``adapt`` switch them back to eval)."""
