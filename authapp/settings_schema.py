"""Store-wide settings an administrator may change: names, types, ranges, defaults.

Checked when a value is written (``EnrollmentStore.set_setting``, ``authapp settings``) and
again when it is read (``Settings.from_store``), so that neither a typo nor a hand-edited
database can switch the lockout off with ``1e999`` failures or silence the replay check with
a threshold of -1 or NaN: a bad stored value stops with a message naming it instead. A
setting not listed in ``SPECS`` (one that another module owns and checks) is stored as given;
``authapp settings`` only changes the listed ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from capture.errors import AirAuthError


class SettingError(AirAuthError, ValueError):
    """A setting name or value that is not allowed."""


LOCKOUT_KEYS = ("max_failures", "window_s", "lockout_s")
"""Parts of the stored "lockout" policy, set one by one from the command line."""


@dataclass(frozen=True)
class SettingSpec:
    name: str
    kind: str  # "verifier" | "json-object" | "generator" | "bool" | "int" | "seconds" | "fraction"
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
)}


def check_lockout(value: object) -> dict[str, float]:
    """A stored "lockout" policy (a JSON object of ``LOCKOUT_KEYS``), checked."""
    from authapp import security  # (lazily: the store imports this module, and it is light)

    if not isinstance(value, Mapping) or not set(value) <= set(LOCKOUT_KEYS):
        raise SettingError(f"setting 'lockout' must be an object with keys "
                           f"{', '.join(LOCKOUT_KEYS)}, got {_show(value)}")
    try:
        policy = security.LockoutPolicy(**dict(value))
    except (TypeError, ValueError) as exc:
        raise SettingError(f"setting 'lockout' is invalid: {exc}") from exc
    return {k: getattr(policy, k) for k in LOCKOUT_KEYS}


def check_value(name: str, value: Any, verifier_kind: str | None = None) -> Any:
    """``value`` for the stored setting ``name`` when allowed, else ``SettingError``.

    ``verifier_kind``: the verifier that ``verifier_params`` are for (checked by building
    one, which does no work).
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
    if spec.kind == "verifier":
        from models.registry import VERIFIERS

        kinds = [k for k in VERIFIERS if k != "calibrated"]  # the product wraps the others
        if value not in kinds:
            raise SettingError(f"setting 'verifier' must be one of {', '.join(kinds)}, "
                               f"got {_show(value)}")
        return value
    if spec.kind == "level":
        from models.score_calibration import SECURITY_LEVELS

        if value not in SECURITY_LEVELS:
            raise SettingError(f"setting 'security' must be one of "
                               f"{', '.join(SECURITY_LEVELS)}, got {_show(value)}")
        return value
    if spec.kind == "calibration":
        if value in ("shipped", "none"):
            return value
        if not isinstance(value, str) or not value:
            raise SettingError(f"setting 'calibration' must be shipped, none or a calibration "
                               f"file, got {_show(value)}")
        from models.score_calibration import load_calibrations

        try:
            load_calibrations(value)
        except AirAuthError as exc:
            raise SettingError(f"setting 'calibration': {exc}") from exc
        return value
    if spec.kind == "json-object":
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise SettingError(f"setting {name!r} must be a JSON object, got {_show(value)}")
        if verifier_kind is not None:
            _check_params(verifier_kind, dict(value))
        return dict(value)
    if spec.kind == "generator":
        from models.pseudo import GENERATORS  # the registry only: no torch

        if value is not None and value not in GENERATORS:
            raise SettingError(f"setting 'pseudo' must be one of {', '.join(GENERATORS)} or "
                               f"off, got {_show(value)}")
        return value
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise SettingError(f"setting {name!r} must be true or false, got {_show(value)}")
        return value
    if spec.kind == "fraction":
        if value is None:
            return None
        from authapp.security import REPLAY_THRESHOLD_RANGE

        lo, hi = REPLAY_THRESHOLD_RANGE
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or not lo <= value <= hi:
            raise SettingError(f"setting {name!r} must be a number from {lo:g} to {hi:g} (or "
                               f"default), got {_show(value)}")
        return float(value)
    if spec.kind in ("margin", "count"):
        from models.adaptation import AdaptationPolicy
        from models.base import ParameterError

        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or (spec.kind == "count" and value != int(value)):
            raise SettingError(f"setting {name!r} must be a {'whole ' * (spec.kind == 'count')}"
                               f"number, got {_show(value)}")
        try:
            AdaptationPolicy(**{name.replace("adapt_", ""): value})
        except ParameterError as exc:
            raise SettingError(f"setting {name!r}: {exc}") from exc
        return float(value) if spec.kind == "margin" else int(value)
    raise SettingError(f"setting {name!r} is set through 'lockout'")  # pragma: no cover


def _check_params(kind: str, params: dict[str, Any]) -> None:
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


def parse_cli_value(name: str, text: str) -> Any:
    """The value an administrator typed for ``name`` (``authapp settings NAME VALUE``)."""
    spec = SPECS.get(name)
    if spec is None:
        raise SettingError(f"unknown setting {name!r} (known: {', '.join(SPECS)})")
    word = text.strip()
    if spec.kind == "json-object":
        try:
            return json.loads(word)
        except (ValueError, RecursionError) as exc:
            raise SettingError(f"setting {name!r} wants a JSON object such as "
                               f"'{{\"window\": 0.2}}', got {_show(word)}") from exc
    if spec.kind == "generator":
        return None if word.lower() in ("off", "none", "") else word
    if spec.kind in ("level", "calibration", "verifier"):
        return word
    if spec.kind == "bool":
        if word.lower() in ("true", "yes", "on", "1"):
            return True
        if word.lower() in ("false", "no", "off", "0"):
            return False
        raise SettingError(f"setting {name!r} wants true or false, got {_show(word)}")
    if spec.kind in ("int", "seconds", "fraction", "margin", "count"):
        if spec.kind == "fraction" and word.lower() in ("default", "none"):
            return None
        try:
            number = float(word)
        except ValueError:
            raise SettingError(f"setting {name!r} wants a number, got {_show(word)}") from None
        if spec.kind in ("int", "count"):
            if not math.isfinite(number) or not number.is_integer():
                raise SettingError(f"setting {name!r} wants a whole number, got {_show(word)}")
            return int(number)
        return number
    return word


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
