"""How enrollment and login are configured: ``Settings``, from the store and from flags.

Kept apart from ``authapp.services`` because the policy (defaults, the store's saved values)
is read by more than the service: ``authapp.services.admin`` and the GUI show and change it without
enrolling or scoring anything. Every value is checked by ``authapp.settings_schema`` (the
one check of each setting) on its way into a ``Settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from authapp.security import LockoutPolicy
from authapp.settings_schema import DEFAULT_VERIFIER, SPECS, SettingError, check, parse
from authapp.store import EnrollmentStore
from core.errors import AirAuthError
from models.adaptation import AdaptationPolicy
from models.enrollment import EnrollmentSettings
from models.quality import QualityConfig
from models.score_calibration import (
    DEFAULT_LEVEL,
    CalibrationSet,
    load_calibrations,
    shipped_calibrations,
)

__all__ = ["DEFAULT_VERIFIER", "Settings"]

FIELD_OF_SETTING = {"security": "security_level"}
"""Store settings whose ``Settings`` field has another name (the rest share theirs)."""
ADAPTATION_PARTS = {"adaptation": "enabled", "adapt_margin": "margin",
                    "max_adapted": "max_adapted"}
"""Store settings that are parts of ``Settings.adaptation``."""


@dataclass(frozen=True)
class Settings:
    """How enrollment and login behave. ``verifier=None`` picks ``DEFAULT_VERIFIER``.

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
    ``login_service``: a login or identification run in its own process starts the store's
    login service afterwards (``resident_wire.start_service``), which stops after
    ``service_idle_s`` without a request.
    Store-wide values saved with ``authapp.services.admin.save`` (keys: "verifier",
    "verifier_params", "pseudo", "security", "calibration", "lockout", "replay_threshold",
    "adaptation", "adapt_margin", "max_adapted", "login_service", "service_idle_s";
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
    login_service: bool = True
    service_idle_s: float = 1800.0

    @property
    def verifier_kind(self) -> str:
        return self.verifier or DEFAULT_VERIFIER

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
        try:
            return cls().with_values(store.get_settings())
        except SettingError as exc:
            raise AirAuthError(f"store {exc}; change it with authapp settings") from exc

    def with_text(self, typed: Mapping[str, str]) -> Settings:
        """These settings with some replaced by what a person typed or picked (command-line
        flags, the GUI's choices; store setting names), each parsed and checked as
        ``authapp settings`` does (``settings_schema.parse``)."""
        return self.with_values({name: parse(name, text) for name, text in typed.items()})

    def with_values(self, values: Mapping[str, Any]) -> Settings:
        """These settings with some replaced by store setting values (JSON, names as in
        ``settings_schema.SPECS`` plus "lockout"), each checked (``settings_schema.check``);
        the verifier parameters must suit the verifier then in effect. ``SettingError``
        names a bad one. Settings another module owns are left to it."""
        kw: dict[str, Any] = {}
        adapt: dict[str, Any] = {}
        for name, value in values.items():
            if name == "verifier_params":
                continue  # checked below, against the verifier in effect
            value = check(name, value)
            if name == "lockout":
                kw["lockout"] = LockoutPolicy(**value)
            elif name in ADAPTATION_PARTS:
                adapt[ADAPTATION_PARTS[name]] = value
            elif name in SPECS:  # (the lockout parts were refused by check)
                kw[FIELD_OF_SETTING.get(name, name)] = value
        if adapt:
            kw["adaptation"] = replace(self.adaptation, **adapt)
        if "verifier_params" in values or "verifier" in kw:
            kind = kw.get("verifier", self.verifier) or DEFAULT_VERIFIER
            params = values.get("verifier_params", self.verifier_params)
            # (no parameters suit every verifier: its module is not imported for them)
            kw["verifier_params"] = check("verifier_params", params, kind if params else None)
        return replace(self, **kw)
