"""The pseudo-data generator interface and its plain-data persistence.

A user enrolls with a handful of genuine samples and no impostor samples. A generator expands
them: ``fit(background)`` learns whatever it needs from OTHER people's recordings (it may be a
no-op), ``generate(references, seed)`` returns pseudo-genuine and pseudo-impostor trajectories
made from the references alone. Every generated trajectory says where it came from in
``meta.extra`` ("pseudo", "generator", "transform", "strength", "parents"), so provenance can be
audited and tests can prove that nothing but the references was used.

Generators are ``models.base.Estimator``s (scikit-learn parameters, ``ParameterError``) and
``models.persistence.Persistent``: state goes out as (JSON-able params, named arrays) like the
verifiers' state; ``models.pseudo.serialization`` turns that into bytes (npz + JSON header,
never pickle) and the caller (authapp, the harness) decides where the bytes live.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from capture.trajectory import Label, Trajectory
from core.errors import AirAuthError
from models.base import Estimator, NotFittedError, check_trajectories
from models.persistence import Persistent

GENUINE = "genuine"
IMPOSTOR = "impostor"


class PseudoDataError(AirAuthError, ValueError):
    """Input a generator cannot work with (too few references, mixed dimensions, bad state)."""


@dataclass
class PseudoData:
    """What a generator returns: extra genuine-like and impostor-like trajectories."""

    genuine: list[Trajectory] = field(default_factory=list)
    impostors: list[Trajectory] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.genuine) + len(self.impostors)


def tag(traj: Trajectory, kind: str, generator: str) -> Trajectory:
    """Mark a candidate as pseudo-genuine or pseudo-impostor (label and meta.extra)."""
    if kind not in (GENUINE, IMPOSTOR):
        raise ValueError(f"kind must be {GENUINE!r} or {IMPOSTOR!r}")
    extra = dict(traj.meta.extra)
    extra["pseudo"] = kind
    extra["generator"] = generator
    label = Label.GENUINE if kind == GENUINE else Label.IMPOSTOR
    return traj.with_meta(label=label, extra=extra)


def check_references(references: Any, min_count: int = 1) -> list[Trajectory]:
    """References must be trajectories of one dimensionality (all pen or all in-air)."""
    refs = check_trajectories(references, "references", min_count=min_count)
    dims = {r.dims for r in refs}
    if len(dims) > 1:
        raise PseudoDataError("references mix 2-D and 3-D trajectories: enroll one kind only")
    return refs


def identity_of(traj: Trajectory) -> str:
    """Who wrote what: background trajectories are grouped by (user, content)."""
    return f"{traj.meta.user}|{traj.meta.content}"


def background_fingerprint(background: Sequence[Trajectory]) -> str:
    """A short hash of a background corpus, for callers that cache fitted generators."""
    h = hashlib.sha256()
    for tr in background:
        h.update(identity_of(tr).encode())
        h.update(tr.meta.source.encode())
        h.update(np.ascontiguousarray(tr.positions[:: max(1, len(tr) // 16)]).tobytes())
        h.update(str(len(tr)).encode())
    return h.hexdigest()[:16]


class PseudoGenerator(Estimator, Persistent, ABC):
    """Base class: ``fit`` on other people's data, ``generate`` from one user's references."""

    name: ClassVar[str] = "pseudo-generator"

    def fit(self, background: Sequence[Trajectory], seed: int = 0) -> PseudoGenerator:
        background = check_trajectories(background, "background", 0) if background else []
        self.check_params()
        self._fit(background, int(seed))
        self.fitted_ = True
        return self

    def generate(self, references: Sequence[Trajectory], seed: int) -> PseudoData:
        """Pseudo data from ``references`` only (deterministic for a seed)."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() first")
        refs = check_references(references, min_count=1)
        return self._generate(refs, int(seed))

    @abstractmethod
    def _fit(self, background: list[Trajectory], seed: int) -> None: ...

    @abstractmethod
    def _generate(self, references: list[Trajectory], seed: int) -> PseudoData: ...
