"""Store-wide settings an administrator may change: names, help, and the one check of each.

Every way a value arrives goes through here, so that a value one way accepts, every way
accepts: text a person typed (``authapp settings``, a command-line flag such as ``enroll
--pseudo``, the GUI's settings table) through ``parse``; a value about to be stored
(``authapp.services.admin.save``) and a stored one on its way in (``Settings.from_store``) through
``check``. The store keeps each value as opaque JSON with a keyed checksum and checks
nothing, so a hand-edited database cannot switch the lockout off with ``1e999`` failures
or silence the replay check with a threshold of -1 or NaN: the bad value stops with a
message naming it when it is read. Verifier and generator names are the registries' own
(``models.registry``, ``models.pseudo``): one wheel ships every one of them.

A setting not listed in ``SPECS`` (one that another module owns and checks) is stored as
given; ``authapp settings`` only changes the listed ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import AirAuthError

DEFAULT_VERIFIER = "fusion"
"""The verifier new enrollments use unless the store's "verifier" setting names another."""

MIN_IDLE_S, MAX_IDLE_S = 10.0, 7 * 24 * 3600.0
"""Bounds of "service_idle_s": a service that stops at once helps nobody, one that never
stops by itself is ``authapp serve``'s to run."""

LOCKOUT_KEYS = ("max_failures", "window_s", "lockout_s")
"""Parts of the stored "lockout" policy, set one by one from the command line."""


class SettingError(AirAuthError, ValueError):
    """A setting name or value that is not allowed."""


@dataclass(frozen=True)
class SettingSpec:
    name: str
    kind: str  # a key of _CHECKS
    help: str


SPECS: dict[str, SettingSpec] = {s.name: s for s in (
    SettingSpec("verifier", "verifier", "verifier kind new enrollments use"),
    SettingSpec("verifier_params", "json-object",
                "constructor parameters of that verifier (a JSON object)"),
    SettingSpec("pseudo", "generator", "pseudo-data generator for enrollment, or off"),
    SettingSpec("background", "bool",
                "verifiers that learn from other people get the other users' samples"),
    SettingSpec("shipped_background", "bool",
                "while the store has fewer than 20 other users, the package's public people "
                "join the cohort that guards new enrollments against lenient thresholds"),
    SettingSpec("max_failures", "int", "failed logins within window_s that lock an account "
                "(0 = no lockout)"),
    SettingSpec("window_s", "seconds", "window in which failures are counted"),
    SettingSpec("lockout_s", "seconds", "how long a locked account stays locked"),
    SettingSpec("security", "level", "security level of new enrollments' thresholds: low, "
                "normal or high"),
    SettingSpec("calibration", "calibration", "threshold calibration of new enrollments: "
                "shipped (the package's), a calibration file, or none (each verifier's own "
                "per-user threshold; research only)"),
    SettingSpec("replay_threshold", "fraction",
                "replay check threshold (residual as a fraction of the writing's size), or "
                "default"),
    SettingSpec("adaptation", "bool", "template adaptation: a login accepted with at least "
                "adapt_margin above the threshold joins the user's references"),
    SettingSpec("adapt_margin", "margin", "calibrated margin above the threshold a login needs "
                "to be adapted (0 to 50)"),
    SettingSpec("max_adapted", "count", "adapted samples kept per user besides the enrollment "
                "samples (1 to 100, oldest out)"),
    SettingSpec("login_service", "bool", "a login or identification run in its own process "
                "starts the store's login service (authapp serve) in the background once it "
                "has answered, so that the next ones answer from a warm process"),
    SettingSpec("service_idle_s", "idle", "seconds without a request after which a login "
                f"service started that way stops ({MIN_IDLE_S:g} to {MAX_IDLE_S:g})"),
)}


def verifier_choices() -> list[str]:
    """The verifiers a store may name: the registry's, less "calibrated" (the product wraps
    the chosen one in it)."""
    from models.registry import VERIFIERS

    return [k for k in VERIFIERS if k != "calibrated"]


def generator_choices() -> list[str]:
    """The pseudo-data generators a store may name: the registry's (no torch imported)."""
    from models.pseudo import GENERATORS

    return list(GENERATORS)


# -- the one check ------------------------------------------------------------------------------
def parse(name: str, text: str) -> Any:
    """The checked value of ``name`` from the text a person typed (a command-line flag,
    ``authapp settings NAME VALUE``, the GUI), else ``SettingError``. A lockout part
    (``max_failures``, ...) is checked as a lockout policy with the other parts' defaults;
    ``authapp.services.admin.change`` checks the whole policy again."""
    spec = SPECS.get(name)
    if spec is None:
        raise SettingError(f"unknown setting {name!r} (known: {', '.join(SPECS)})")
    value = _from_text(spec, str(text).strip())
    if name in LOCKOUT_KEYS:
        check_lockout({name: value})
        return value
    return check(name, value)


def check(name: str, value: Any, verifier_kind: str | None = None) -> Any:
    """``value`` (JSON: stored, or about to be) for the setting ``name`` when allowed, else
    ``SettingError`` naming it.

    ``verifier_kind``: the verifier that ``verifier_params`` are for (checked by building
    one, which does no work); ``Settings.with_values`` passes the one in effect.
    """
    if name == "lockout":
        return check_lockout(value)
    if name == "replay_threshold_mm":  # written by stores before version 3: no longer used
        return None
    if name in LOCKOUT_KEYS:
        raise SettingError(f"setting {name!r} is part of 'lockout' (authapp settings {name} "
                           "VALUE sets it)")
    spec = SPECS.get(name)
    if spec is None:  # a setting another module owns (and checks): stored as given
        if not isinstance(name, str) or not name.isidentifier():
            raise SettingError(f"a setting name must be an identifier, got {_show(name)}")
        return value
    if spec.kind == "json-object":
        return _check_params(value, verifier_kind)
    return _CHECKS[spec.kind](name, value)


def check_lockout(value: object) -> dict[str, float]:
    """A stored "lockout" policy (a JSON object of ``LOCKOUT_KEYS``), checked."""
    from authapp import security

    if not isinstance(value, Mapping) or not set(value) <= set(LOCKOUT_KEYS):
        raise SettingError(f"setting 'lockout' must be an object with keys "
                           f"{', '.join(LOCKOUT_KEYS)}, got {_show(value)}")
    try:
        policy = security.LockoutPolicy(**dict(value))
    except (TypeError, ValueError) as exc:
        raise SettingError(f"setting 'lockout' is invalid: {exc}") from exc
    return {k: getattr(policy, k) for k in LOCKOUT_KEYS}


# -- each kind's check (a JSON value in, the checked value out) ---------------------------------
def _verifier(name: str, value: Any) -> str:
    kinds = verifier_choices()
    if value not in kinds:
        raise SettingError(f"setting {name!r} must be one of {', '.join(kinds)}, "
                           f"got {_show(value)}")
    return value


def _generator(name: str, value: Any) -> str | None:
    names = generator_choices()
    if value is not None and value not in names:
        raise SettingError(f"setting {name!r} must be one of {', '.join(names)} or off, "
                           f"got {_show(value)}")
    return value


def _level(name: str, value: Any) -> str:
    from models.score_calibration import SECURITY_LEVELS

    if value not in SECURITY_LEVELS:
        raise SettingError(f"setting {name!r} must be one of {', '.join(SECURITY_LEVELS)}, "
                           f"got {_show(value)}")
    return value


def _calibration(name: str, value: Any) -> str:
    if value in ("shipped", "none"):
        return value
    if not isinstance(value, str) or not value:
        raise SettingError(f"setting {name!r} must be shipped, none or a calibration file, "
                           f"got {_show(value)}")
    from models.score_calibration import load_calibrations

    try:
        load_calibrations(value)
    except AirAuthError as exc:
        raise SettingError(f"setting {name!r}: {exc}") from exc
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SettingError(f"setting {name!r} must be true or false, got {_show(value)}")
    return value


def _fraction(name: str, value: Any) -> float | None:
    if value is None:
        return None
    from authapp.security import REPLAY_THRESHOLD_RANGE

    lo, hi = REPLAY_THRESHOLD_RANGE
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or not lo <= value <= hi:
        raise SettingError(f"setting {name!r} must be a number from {lo:g} to {hi:g} (or "
                           f"default), got {_show(value)}")
    return float(value)


def _adaptation_part(name: str, value: Any) -> float | int:
    from models.adaptation import AdaptationPolicy
    from models.base import ParameterError

    count = SPECS[name].kind == "count"
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or (count and value != int(value)):
        raise SettingError(f"setting {name!r} must be a {'whole ' * count}number, "
                           f"got {_show(value)}")
    try:
        AdaptationPolicy(**{name.replace("adapt_", ""): value})
    except ParameterError as exc:
        raise SettingError(f"setting {name!r}: {exc}") from exc
    return int(value) if count else float(value)


def _idle(name: str, value: Any) -> float:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not MIN_IDLE_S <= value <= MAX_IDLE_S):
        raise SettingError(f"setting {name!r} must be seconds from {MIN_IDLE_S:g} to "
                           f"{MAX_IDLE_S:g}, got {_show(value)}")
    return float(value)


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "verifier": _verifier, "generator": _generator, "level": _level,
    "calibration": _calibration, "bool": _bool, "fraction": _fraction,
    "margin": _adaptation_part, "count": _adaptation_part, "idle": _idle,
}


def _check_params(value: Any, kind: str | None) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise SettingError(f"setting 'verifier_params' must be a JSON object, "
                           f"got {_show(value)}")
    params = dict(value)
    if kind is None:
        return params
    from models.ensemble import FUSION_MEMBERS
    from models.registry import make_verifier

    try:
        if kind == "fusion" and set(params) <= set(FUSION_MEMBERS):  # {member: its params}
            for member, member_params in params.items():
                make_verifier(member, **dict(member_params)).check_params()
        else:
            make_verifier(kind, **params).check_params()
    except (AirAuthError, TypeError, ValueError) as exc:
        raise SettingError(f"setting 'verifier_params' does not suit verifier {kind!r}: "
                           f"{exc}") from exc
    return params


# -- text a person typed, as the JSON value it stands for -----------------------------------------
def _from_text(spec: SettingSpec, word: str) -> Any:
    name, kind = spec.name, spec.kind
    if kind == "json-object":
        try:
            return json.loads(word)
        except (ValueError, RecursionError) as exc:
            raise SettingError(f"setting {name!r} wants a JSON object such as "
                               f"'{{\"window\": 0.2}}', got {_show(word)}") from exc
    if kind == "generator":
        return None if word.lower() in ("off", "none", "") else word
    if kind == "bool":
        if word.lower() in ("true", "yes", "on", "1"):
            return True
        if word.lower() in ("false", "no", "off", "0"):
            return False
        raise SettingError(f"setting {name!r} wants true or false, got {_show(word)}")
    if kind in ("int", "seconds", "fraction", "margin", "count", "idle"):
        if kind == "fraction" and word.lower() in ("default", "none"):
            return None
        try:
            number = float(word)
        except ValueError:
            raise SettingError(f"setting {name!r} wants a number, got {_show(word)}") from None
        if kind in ("int", "count"):
            if not math.isfinite(number) or not number.is_integer():
                raise SettingError(f"setting {name!r} wants a whole number, got {_show(word)}")
            return int(number)
        return number
    return word  # verifier, level, calibration: the name itself


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
