"""How enrollment and login are configured: ``Settings`` and the installed verifier choices.

Kept apart from ``authapp.services`` because the policy (defaults, the store's saved values,
what is installed) is read by more than the service: ``authapp.admin`` and the GUI show and
change it without enrolling or scoring anything.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from authapp.security import LockoutPolicy
from authapp.settings_schema import SettingError, check_value
from authapp.store import EnrollmentStore
from capture.errors import AirAuthError
from models.adaptation import AdaptationPolicy
from models.enrollment import EnrollmentSettings
from models.quality import QualityConfig
from models.registry import VERIFIERS
from models.score_calibration import (
    DEFAULT_LEVEL,
    CalibrationSet,
    load_calibrations,
    shipped_calibrations,
)

__all__ = ["Settings", "available_verifiers", "default_verifier_kind", "pseudo_available"]


def available_verifiers() -> list[str]:
    """Registered verifier names whose module can be imported in this installation."""
    out = []
    for name, target in VERIFIERS.items():
        module = target.partition(":")[0]
        try:
            if importlib.util.find_spec(module) is not None:
                out.append(name)
        except (ImportError, ValueError):
            pass
    return out


def default_verifier_kind() -> str:
    """"fusion" when installed, else the first available of dtw, ss-svm, svm, subspace."""
    avail = available_verifiers()
    for name in ("fusion", "dtw", "ss-svm", "svm", "subspace"):
        if name in avail:
            return name
    raise AirAuthError("no verifier is installed (models.registry lists none importable)")


def pseudo_available() -> bool:
    """Is a pseudo-data generator (``models.pseudo.make_generator``) installed?"""
    try:
        module = importlib.import_module("models.pseudo")
    except ImportError:
        return False
    return hasattr(module, "make_generator")


@dataclass(frozen=True)
class Settings:
    """How enrollment and login behave. ``verifier=None`` picks ``default_verifier_kind()``.

    ``pseudo``: name for ``models.pseudo.make_generator`` or None (no pseudo data).
    ``security_level``: the security level of the calibrated threshold (low, normal, high;
    store setting "security").
    ``calibration``: "shipped" (the package's writer-independent calibration), a path to a
    calibration file (``scripts/make_calibration.py``), or "none": each verifier's own
    per-user threshold (a research configuration; not recommended).
    Calibrated models get the other enrolled users' enrollment recordings as their cohort
    (the cohort guard and, from 20 recordings of 4 people, the cohort feature).
    ``background``: uncalibrated only -- give verifiers that learn from other people the other
    users' recordings as training negatives.
    ``shipped_background``: calibrated only -- while the store holds fewer than 20 other
    users, the package's public people (``models.background``) join the cohort.
    Store-wide values saved with ``EnrollmentStore.set_setting`` (keys: "verifier",
    "verifier_params", "pseudo", "security", "calibration", "lockout", "replay_threshold",
    "adaptation", "adapt_margin", "max_adapted";
    ``authapp settings``) override the defaults via ``Settings.from_store``, so an
    administrator's policy is not a command-line flag. ``replay_threshold`` None: the default
    per kind of data (``security.DEFAULT_REPLAY_THRESHOLDS``). ``adaptation``: template
    adaptation of accepted logins (``models.adaptation``).
    """

    verifier: str | None = None
    verifier_params: Mapping[str, Any] = field(default_factory=dict)
    pseudo: str | None = None
    security_level: str = DEFAULT_LEVEL
    calibration: str = "shipped"
    background: bool = False
    shipped_background: bool = True
    seed: int = 0
    check_quality: bool = True
    quality: QualityConfig = field(default_factory=QualityConfig)
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    replay_threshold: float | None = None
    adaptation: AdaptationPolicy = field(default_factory=AdaptationPolicy)

    @property
    def verifier_kind(self) -> str:
        return self.verifier or default_verifier_kind()

    def enrollment(self) -> EnrollmentSettings:
        """The pipeline settings (``models.enrollment``) -- the ones the harness uses too."""
        try:
            return EnrollmentSettings(
                verifier=self.verifier_kind, verifier_params=dict(self.verifier_params),
                calibrated=self.calibration != "none", security=self.security_level,
                background_negatives=self.background, pseudo=self.pseudo,
                check_quality=self.check_quality, quality=self.quality, seed=self.seed)
        except AirAuthError as exc:
            raise AirAuthError(f"enrollment settings are invalid: {exc}") from exc

    def calibrations(self) -> CalibrationSet:
        """The calibrations this store's models are calibrated with."""
        if self.calibration == "shipped":
            return shipped_calibrations()
        return load_calibrations(self.calibration)

    @classmethod
    def from_store(cls, store: EnrollmentStore) -> Settings:
        """The store's saved settings over the defaults; each value checked on the way in
        (``authapp.settings_schema``), a bad one is an ``AirAuthError`` naming it."""
        saved = store.get_settings()
        kw: dict[str, Any] = {}
        if isinstance(saved.get("verifier"), str):
            kw["verifier"] = saved["verifier"]
        if isinstance(saved.get("verifier_params"), dict):
            kw["verifier_params"] = saved["verifier_params"]
            kind = kw.get("verifier") or default_verifier_kind()
            try:
                check_value("verifier_params", saved["verifier_params"], kind)
            except SettingError as exc:
                raise AirAuthError(f"store {exc}; change it with authapp settings") from exc
        if saved.get("pseudo") is None or isinstance(saved.get("pseudo"), str):
            kw["pseudo"] = saved.get("pseudo")
        for key in ("background", "shipped_background"):
            if isinstance(saved.get(key), bool):
                kw[key] = saved[key]
        for key, field_name in (("security", "security_level"), ("calibration", "calibration")):
            if key in saved:
                try:
                    kw[field_name] = check_value(key, saved[key])
                except SettingError as exc:
                    raise AirAuthError(f"store {exc}; change it with authapp settings") from exc
        if isinstance(saved.get("lockout"), dict):
            kw["lockout"] = LockoutPolicy(**saved["lockout"])
        if isinstance(saved.get("replay_threshold"), float):
            kw["replay_threshold"] = saved["replay_threshold"]
        adapt: dict[str, Any] = {}
        for key, part in (("adaptation", "enabled"), ("adapt_margin", "margin"),
                          ("max_adapted", "max_adapted")):
            if key in saved:
                try:
                    adapt[part] = check_value(key, saved[key])
                except SettingError as exc:
                    raise AirAuthError(f"store {exc}; change it with authapp settings") from exc
        if adapt:
            kw["adaptation"] = AdaptationPolicy(**adapt)
        return cls(**kw)

