"""Names of estimators (verifiers, pseudo-data generators) mapped to their classes.

Used by the CLI, settings, the harness and saved files (a file names its class by registry
name). Imports are lazy so that asking for one verifier does not import every model (and
torch). One ``Registry`` type serves both tables: ``VERIFIERS`` here, ``GENERATORS`` in
``models.pseudo.registry``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from core.errors import AirAuthError


class UnknownVerifierError(AirAuthError, KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; users should not see quotes
        return str(self.args[0]) if self.args else "unknown verifier"


class Registry(MutableMapping[str, str]):
    """name -> "module:Class", importing a class on first use (a mapping, so that a plug-in
    or a test can register a class: ``VERIFIERS["mine"] = "pkg.mod:MyVerifier"``).

    ``what`` names the kind in messages ("verifier"); ``error`` is raised for a name that is
    not registered (a ``KeyError`` subclass of ``AirAuthError``).
    """

    def __init__(self, what: str, targets: Mapping[str, str], error: type[Exception]) -> None:
        self.what = what
        self._targets = dict(targets)
        self.error = error
        self._defaults: dict[str, dict[str, Any]] = {}  # (``_plain_defaults``)

    def __getitem__(self, name: str) -> str:
        return self._targets[name]

    def __setitem__(self, name: str, target: str) -> None:
        if not isinstance(target, str) or ":" not in target:
            raise ValueError(f"a {self.what} is registered as 'module:Class', not {target!r}")
        self._targets[name] = target
        self._defaults.pop(name, None)

    def __delitem__(self, name: str) -> None:
        del self._targets[name]
        self._defaults.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    def cls(self, name: str) -> type:
        """The class registered as ``name``."""
        try:
            target = self._targets[name]
        except (KeyError, TypeError):
            raise self.error(f"unknown {self.what} {name!r}; known: "
                             f"{', '.join(sorted(self._targets))}") from None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def make(self, name: str, **params: Any) -> Any:
        """A new, unfitted instance from JSON-able parameters (``Estimator.from_config``)."""
        return self.cls(name).from_config(params)

    def name_of(self, obj: Any) -> str:
        """The registry name of ``obj``'s class."""
        cls = type(obj)
        path = f"{cls.__module__}:{cls.__qualname__}"
        for name, target in self._targets.items():
            if target == path:
                return name
        raise self.error(f"{path} is not a registered {self.what}")

    def non_default(self, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` without the entries equal to ``name``'s constructor defaults: what
        identifies a configured member (calibrations are matched by it)."""
        defaults = self._plain_defaults(name)
        return {k: v for k, v in params.items()
                if k not in defaults or _plain(v) != defaults[k]}

    def _plain_defaults(self, name: str) -> dict[str, Any]:
        """``name``'s constructor defaults as JSON gives them back, worked out once (a fresh
        instance per question made loading a stored model slow)."""
        cached = self._defaults.get(name)
        if cached is None:
            defaults = self.cls(name)().get_params(deep=False)
            cached = self._defaults[name] = {k: _plain(v) for k, v in defaults.items()}
        return cached


def _plain(value: Any) -> Any:
    """``value`` as JSON would give it back (tuples become lists)."""
    return json.loads(json.dumps(value, default=str))


_CLASSES: dict[str, str] = {
    "dtw": "models.dtw_verifier:DTWVerifier",
    "subspace": "models.subspace:SubspaceVerifier",
    "svm": "models.svm:SVMVerifier",
    "ss-svm": "models.svm:SubspaceSVMVerifier",
    "fusion": "models.fusion:FusionVerifier",
    "calibrated": "models.calibrated:CalibratedVerifier",
    "ganomaly": "models.oneclass.verifiers:GANomalyVerifier",
    "fanogan": "models.oneclass.verifiers:FAnoGANVerifier",
    "anogan": "models.oneclass.verifiers:AnoGANVerifier",
    "egbad": "models.oneclass.verifiers:EGBADVerifier",
    "alad": "models.oneclass.verifiers:ALADVerifier",
    "ocgan": "models.oneclass.verifiers:OCGANVerifier",
    "fencegan": "models.oneclass.verifiers:FenceGANVerifier",
    "skip-ganomaly": "models.oneclass.verifiers:SkipGANomalyVerifier",
    "autoencoder": "models.oneclass.verifiers:AutoEncoderVerifier",
    "berg": "models.oneclass.verifiers:BergVerifier",
}
VERIFIERS = Registry("verifier", _CLASSES, UnknownVerifierError)

verifier_class = VERIFIERS.cls
make_verifier = VERIFIERS.make
name_of = VERIFIERS.name_of
