"""Administration shown by the CLI and the GUI: lock status, settings shown and changed."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from authapp import security
from authapp.settings_schema import (
    DEFAULT_VERIFIER,
    LOCKOUT_KEYS,
    SPECS,
    SettingError,
    check,
    parse,
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
        "verifier": s.verifier or f"{DEFAULT_VERIFIER} (default)",
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
        "login_service": "on" if s.login_service else "off",
        "service_idle_s": f"{s.service_idle_s:g}",
    }


def change(service: AuthService, key: str, text: str) -> None:
    """Set ``key`` from the text an administrator typed (``default`` resets); audited by the
    store. Reached through ``AuthService.change_setting``, which authorises it."""
    if key not in SPECS:
        raise SettingError(f"unknown setting {key!r} (known: {', '.join(SPECS)})")
    reset = text.strip().lower() == "default"
    if key in LOCKOUT_KEYS:  # one part of the stored "lockout" policy
        policy = service.settings.lockout
        saved = {k: getattr(policy, k) for k in LOCKOUT_KEYS}
        saved[key] = getattr(security.LockoutPolicy(), key) if reset else parse(key, text)
        save(service, "lockout", saved)
    elif reset:
        service.store.unset_setting(key)
    else:
        save(service, key, parse(key, text))


def save(service: AuthService, key: str, value: Any) -> None:
    """Store one setting's JSON value once it passes the one check
    (``settings_schema.check``) and suits the others (the verifier parameters the
    verifier: ``Settings.with_values``); audited. Every write of a setting comes here."""
    value = check(key, value)
    service.settings.with_values({key: value})
    service.store.set_setting(key, value)

