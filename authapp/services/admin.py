"""Administration shown by the CLI and the GUI: lock status, settings shown and changed."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from authapp import security
from authapp.service_settings import default_verifier_kind
from authapp.settings_schema import (
    LOCKOUT_KEYS,
    SPECS,
    SettingError,
    check_value,
    parse_cli_value,
)

if TYPE_CHECKING:
    from authapp.services import AuthService


def lock_status(service: AuthService, name: str) -> str:
    """"locked until HH:MM:SS", "N failed" (recent failures) or "ok" (also for the GUI)."""
    state = service.lock_state(name)
    if state.locked:
        return "locked until " + time.strftime("%Y-%m-%d %H:%M:%S",
                                               time.localtime(state.until or 0))
    return f"{state.recent_failures} failed" if state.recent_failures else "ok"


def current(service: AuthService) -> dict[str, Any]:
    """Every setting's effective value (also for the GUI): one entry per ``SPECS`` key."""
    s = service.settings
    return {
        "verifier": s.verifier or f"{_kind()} (default)",
        "verifier_params": json.dumps(dict(s.verifier_params)),
        "pseudo": s.pseudo or "off",
        "background": str(s.background).lower(),
        "security": s.security_level,
        "calibration": s.calibration,
        "max_failures": s.lockout.max_failures,
        "window_s": f"{s.lockout.window_s:g}",
        "lockout_s": f"{s.lockout.lockout_s:g}",
        "replay_threshold": (f"{s.replay_threshold:g}" if s.replay_threshold is not None else
                             "default (" + ", ".join(
                                 f"{d}-D {v:g}" for d, v in
                                 sorted(security.DEFAULT_REPLAY_THRESHOLDS.items(),
                                        reverse=True)) + ")"),
        "adaptation": "on" if s.adaptation.enabled else "off",
        "adapt_margin": f"{s.adaptation.margin:g}",
        "max_adapted": s.adaptation.max_adapted,
        "shipped_background": str(s.shipped_background).lower(),
    }


def _kind() -> str:
    try:
        return default_verifier_kind()
    except Exception:  # noqa: BLE001 - shown, not needed
        return "none installed"


def change(service: AuthService, key: str, text: str) -> None:
    """Set ``key`` from the text an administrator typed (``default`` resets); audited by the
    store. Reached through ``AuthService.change_setting``, which authorises it."""
    store = service.store
    if key not in SPECS:
        raise SettingError(f"unknown setting {key!r} (known: {', '.join(SPECS)})")
    if text.strip().lower() == "default" and key not in LOCKOUT_KEYS:
        store.unset_setting(key)
        return
    if key in LOCKOUT_KEYS:
        policy = service.settings.lockout
        saved = {k: getattr(policy, k) for k in LOCKOUT_KEYS}
        if text.strip().lower() == "default":
            saved[key] = getattr(security.LockoutPolicy(), key)
        else:
            saved[key] = parse_cli_value(key, text)
        store.set_setting("lockout", saved)
        return
    value = parse_cli_value(key, text)
    kind = value if key == "verifier" else (service.settings.verifier or _kind())
    if key == "verifier":  # the saved parameters must suit the new verifier
        check_value("verifier", value)
        check_value("verifier_params", dict(service.settings.verifier_params), kind)
    store.set_setting(key, value, verifier_kind=kind)
