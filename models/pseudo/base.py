"""The pseudo-data generator interface and its plain-data persistence.

A user enrolls with a handful of genuine samples and no impostor samples. A generator expands
them: ``fit(background)`` learns whatever it needs from OTHER people's recordings (it may be a
no-op), ``generate(references)`` returns pseudo-genuine and pseudo-impostor trajectories
made from the references alone. Every generated trajectory says where it came from in
``meta.extra`` ("pseudo", "generator", "transform", "strength", "parents"), so provenance can be
audited and tests can prove that nothing but the references was used.

Seeds enter as parameters, as in the one-class verifiers: ``pretrain_seed`` seeds ``fit`` (the
network trained once per background and shared by every user of it; part of the weight cache's
key), ``random_state`` seeds ``generate`` (one enrollment's draws). The harness and the product
fit once per background and give each enrollment its own stream with
``with_random_state(seed)``, a copy sharing the fitted state.

Generators are ``models.base.Estimator``s (scikit-learn parameters, ``ParameterError``) and
``models.persistence.Persistent``: state goes out as (JSON-able params, named arrays) like the
verifiers' state; ``models.pseudo.serialization`` turns that into bytes (npz + JSON header,
never pickle) and the caller (authapp, the harness) decides where the bytes live.
"""

from __future__ import annotations

import copy
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np

from capture.trajectory import Label, Trajectory
from core.errors import AirAuthError
from models.base import Estimator, NotFittedError, check_seed, check_trajectories
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
    """Base class: ``fit`` on other people's data, ``generate`` from one user's references.

    Subclasses take ``pretrain_seed`` and ``random_state`` (ints, default 0) in their
    constructors (see the module docstring)."""

    name: ClassVar[str] = "pseudo-generator"
    pretrain_seed: int
    random_state: int

    def fit(self, background: Sequence[Trajectory]) -> PseudoGenerator:
        """Learn from ``background`` (other people only), seeded by ``pretrain_seed``."""
        background = check_trajectories(background, "background", 0) if background else []
        self.check_params()
        self._fit(background, check_seed("pretrain_seed", self.pretrain_seed))
        self.fitted_ = True
        return self

    def with_random_state(self, random_state: int) -> Self:
        """This fitted generator with another ``random_state``: a shallow copy that shares
        the fitted networks (``generate`` only reads them), so one generator fitted per
        background serves every enrollment with that enrollment's own seed."""
        out = copy.copy(self)
        out.random_state = check_seed("random_state", random_state)
        return out

    def generate(self, references: Sequence[Trajectory], seed: int | None = None
                 ) -> PseudoData:
        """Pseudo data from ``references`` only, deterministic for ``random_state``.

        ``seed``: this call's seed instead of ``random_state`` (the older call style, kept
        for callers and files made with it; the harness and the product use
        ``with_random_state``)."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit() first")
        refs = check_references(references, min_count=1)
        return self._generate(refs, check_seed("random_state",
                                               self.random_state if seed is None else seed))

    def _check_params(self) -> None:
        check_seed("pretrain_seed", self.pretrain_seed)
        check_seed("random_state", self.random_state)

    @abstractmethod
    def _fit(self, background: list[Trajectory], seed: int) -> None:
        """Fit with ``seed`` (the ``pretrain_seed``)."""

    @abstractmethod
    def _generate(self, references: list[Trajectory], seed: int) -> PseudoData:
        """Generate with ``seed`` (the ``random_state``)."""
