"""What verifiers made of member verifiers share (``fusion``, ``calibrated``).

Members are estimator objects, as in scikit-learn's ``VotingClassifier``: ``members`` is a
list of ``(name, verifier)`` pairs (None: the product's four, ``FUSION_MEMBERS``), each
member is ``sklearn.base.clone``d before it is fitted, so the given objects stay unfitted
and one configured member can be refitted on any subset (leave-one-out, cross-fitting).
Nested parameters work as there: ``get_params()`` lists ``dtw__window``, and
``set_params(dtw__window=0.2)`` or ``set_params(dtw=DTWVerifier(...))`` change a member.

A member's name is its registry name (``models.registry.VERIFIERS``): that is how settings,
command lines and saved files name members in JSON (``from_config`` / ``to_config``:
``{"members": ["dtw", "svm"], "member_params": {"svm": {"C": 5}}}``), and how calibrations
are matched to the members they were made for (name + the parameters that differ from the
defaults).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from models.base import ParameterError, Verifier
from models.registry import VERIFIERS

FUSION_MEMBERS = ("dtw", "subspace", "svm", "ss-svm")
"""The members of the product's default verifier ("fusion"): DP matching, CLAFIC, two SVMs."""

Members = Sequence[tuple[str, Verifier]]


@dataclass(frozen=True)
class ScoreTerm:
    """One term of a linear combination's score: ``weight * value`` per trajectory; the
    constant term has ``weight`` None. A model's terms add up to its ``score_samples``, so a
    user interface can show members and the combined score on one scale (the score's own,
    the one its threshold is on) instead of members' own scores beside it."""

    name: str
    value: np.ndarray
    weight: float | None = None

    @property
    def part(self) -> np.ndarray:
        """What this term adds to the score (the score's units)."""
        return self.value if self.weight is None else self.weight * self.value


def default_members() -> list[tuple[str, Verifier]]:
    """Fresh ``(name, verifier)`` pairs of ``FUSION_MEMBERS`` with default parameters."""
    from models.dtw_verifier import DTWVerifier
    from models.subspace import SubspaceVerifier
    from models.svm import SubspaceSVMVerifier, SVMVerifier

    return [("dtw", DTWVerifier()), ("subspace", SubspaceVerifier()), ("svm", SVMVerifier()),
            ("ss-svm", SubspaceSVMVerifier())]


class EnsembleVerifier(Verifier):
    """Base of verifiers whose parameter ``members`` holds member verifiers.

    Subclasses store ``members`` in ``__init__`` like any parameter and call
    ``member_list()`` for the pairs; their ``_check_params`` should call
    ``_check_members()``.
    """

    members: Members | None

    # -- members ---------------------------------------------------------------------------
    def member_list(self) -> list[tuple[str, Verifier]]:
        """The ``(name, verifier)`` pairs (``default_members()`` when ``members`` is None)."""
        return default_members() if self.members is None else list(self.members)

    def member_names(self) -> list[str]:
        return [name for name, _ in self.member_list()]

    def _check_members(self) -> None:
        """Pairs of (registry name, that kind of single verifier), distinct, each valid."""
        if self.members is not None and (isinstance(self.members, (str, bytes)) or not all(
                isinstance(m, (tuple, list)) and len(m) == 2 for m in self.members)):
            raise ParameterError("members must be (name, verifier) pairs, e.g. "
                                 "[('dtw', DTWVerifier())]")
        pairs = self.member_list()
        names = [n for n, _ in pairs]
        if not names or len(set(names)) != len(names):
            raise ParameterError("members must be distinct registered verifier names")
        for name, est in pairs:
            if not isinstance(est, Verifier):
                raise ParameterError(f"member {name!r} is a {type(est).__name__}, not a "
                                     "verifier")
            if isinstance(est, EnsembleVerifier):
                raise ParameterError(f"{VERIFIERS.name_of(est)!r} cannot be a member of "
                                     f"{self.name!r} (it cannot contain itself or another "
                                     "combination); members: single verifiers")
            kind = VERIFIERS.name_of(est)
            if name != kind:
                raise ParameterError(f"member {name!r} is a {kind!r} verifier: members are "
                                     "named by their registry name")
            est.check_params()

    def fresh_members(self) -> list[Verifier]:
        """Unfitted clones of the members, in order (fit them; the originals stay as given)."""
        from sklearn.base import clone  # (when fitting: a login only loads and scores)

        return [clone(est) for _, est in self.member_list()]

    # -- nested parameters (scikit-learn's "name__param") ------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        out = super().get_params(deep=False)
        if deep and self.members is not None:
            for name, est in self.member_list():
                out[name] = est
                out.update({f"{name}__{k}": v for k, v in est.get_params(deep=True).items()})
        return out

    def set_params(self, **params: Any) -> Self:
        if "members" in params:
            self.members = params.pop("members")
        names = self.member_names() if self.members is not None else []
        replace = {k: params.pop(k) for k in list(params) if k in names}
        if replace:
            self.members = [(n, replace.get(n, est)) for n, est in self.member_list()]
        return super().set_params(**params) if params else self

    # -- JSON configuration ----------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """From JSON: ``members`` as registry names (None / absent: ``FUSION_MEMBERS``) and
        ``member_params`` {name: constructor params}; the rest are this class's params."""
        cfg = dict(config)
        names = cfg.pop("members", None)
        member_params = dict(cfg.pop("member_params", None) or {})
        if names is None and not member_params:
            return super().from_config({**cfg, "members": None})
        names = list(FUSION_MEMBERS if names is None else names)
        for n in names:
            if not isinstance(n, str) or n not in VERIFIERS:
                raise ParameterError(f"unknown member verifier {n!r}; known: "
                                     f"{', '.join(sorted(VERIFIERS))}")
            if issubclass(VERIFIERS.cls(n), EnsembleVerifier):
                raise ParameterError(f"{n!r} cannot be a member of {cls.name!r} (it cannot "
                                     "contain itself or another combination); members: "
                                     "single verifiers")
        for n in member_params:
            if n not in names:
                raise ParameterError(f"member_params names {n!r}, which is not a member")
        members = [(n, VERIFIERS.make(n, **dict(member_params.get(n) or {}))) for n in names]
        return super().from_config({**cfg, "members": members})

    def member_config(self) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """(member names, {name: parameters that differ from the defaults}) -- the JSON form
        of ``members``, and what identifies them to a calibration."""
        names, params = [], {}
        for name, est in self.member_list():
            names.append(name)
            own = VERIFIERS.non_default(name, est.get_params(deep=False))
            if own:
                params[name] = own
        return names, params

    def to_config(self) -> dict[str, Any]:
        names, params = self.member_config()
        return {**super().get_params(deep=False), "members": names,
                "member_params": params or None}

    # -- state ------------------------------------------------------------------------------
    def member_states(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """([{"kind", "state"}, ...], arrays prefixed ``m<k>__``) of the fitted members."""
        entries: list[dict[str, Any]] = []
        arrays: dict[str, Any] = {}
        for k, member in enumerate(self.members_):
            params, member_arrays = member.get_state()
            entries.append({"kind": VERIFIERS.name_of(member), "state": params})
            arrays.update({f"m{k}__{key}": value for key, value in member_arrays.items()})
        return entries, arrays

    @classmethod
    def _from_member_state(cls, params: Mapping[str, Any],
                             arrays: Mapping[str, np.ndarray]) -> Self:
        """The shared start of ``from_state``: the configured object, checked, with its fitted
        members and ``dims_`` restored; subclasses add their own fitted attributes."""
        v = cls.from_config(params["params"])
        v.check_params()
        v.restore_members(params["members"], arrays)
        v.dims_ = int(params["dims"])
        return v

    def restore_members(self, entries: list[dict[str, Any]],
                        arrays: Mapping[str, np.ndarray]) -> None:
        """Inverse of ``member_states``: the stored kinds must be the member names in order."""
        if [e["kind"] for e in entries] != self.member_names():
            raise ValueError("stored member models do not match the member list")
        out = []
        for k, entry in enumerate(entries):
            prefix = f"m{k}__"
            sub = {key[len(prefix):]: a for key, a in arrays.items() if key.startswith(prefix)}
            out.append(VERIFIERS.cls(entry["kind"]).from_state(entry["state"], sub))
        self.members_ = out
