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
