"""Verifier names used by the CLI, the harness and model files, mapped to their classes.

Imports are lazy so that asking for one verifier does not import every model (and torch).
"""

from __future__ import annotations

import importlib
from typing import Any

from capture.errors import AirAuthError
from models.base import Verifier

VERIFIERS: dict[str, str] = {
    "dtw": "models.dtw_verifier:DTWVerifier",
    "subspace": "models.subspace:SubspaceVerifier",
    "svm": "models.svm:SVMVerifier",
    "ss-svm": "models.svm:SubspaceSVMVerifier",
    "fusion": "models.fusion:FusionVerifier",
    "calibrated": "models.calibrated:CalibratedVerifier",
    "ganomaly": "models.oneclass.verifiers:GANomalyVerifier",
    "fanogan": "models.oneclass.verifiers:FAnoGANVerifier",
}


class UnknownVerifierError(AirAuthError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; users should not see quotes
        return str(self.args[0]) if self.args else "unknown verifier"


def verifier_class(name: str) -> type[Verifier]:
    try:
        target = VERIFIERS[name]
    except KeyError:
        raise UnknownVerifierError(
            f"unknown verifier {name!r}; known: {', '.join(sorted(VERIFIERS))}"
        ) from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_verifier(name: str, **params: Any) -> Verifier:
    """A new, unfitted verifier by name."""
    return verifier_class(name)(**params)


def name_of(verifier: Verifier) -> str:
    cls = type(verifier)
    path = f"{cls.__module__}:{cls.__qualname__}"
    for name, target in VERIFIERS.items():
        if target == path:
            return name
    raise UnknownVerifierError(f"{path} is not a registered verifier")


def member_states(members: list[Verifier]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """([{"kind", "state"}, ...], arrays prefixed ``m<k>__``) of a combination's members,
    for verifiers made of other verifiers (fusion, calibrated)."""
    entries: list[dict[str, Any]] = []
    arrays: dict[str, Any] = {}
    for k, member in enumerate(members):
        params, member_arrays = member.get_state()
        entries.append({"kind": name_of(member), "state": params})
        arrays.update({f"m{k}__{key}": value for key, value in member_arrays.items()})
    return entries, arrays


def restore_members(entries: list[dict[str, Any]], arrays: dict[str, Any],
                    names: Any) -> list[Verifier]:
    """Inverse of ``member_states``; the stored kinds must be ``names`` in order."""
    if [e["kind"] for e in entries] != list(names):
        raise ValueError("stored member models do not match the member list")
    out = []
    for k, entry in enumerate(entries):
        prefix = f"m{k}__"
        sub = {key[len(prefix):]: a for key, a in arrays.items() if key.startswith(prefix)}
        out.append(verifier_class(entry["kind"]).from_state(entry["state"], sub))
    return out
