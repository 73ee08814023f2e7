"""``authapp settings [KEY [VALUE]]``: show or change the store-wide settings.

Without arguments every setting with its value; with KEY one; with KEY VALUE it sets it,
after checking type and range (``authapp.settings_schema``), and the change goes to the
audit log. VALUE ``default`` returns a setting to its default.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from authapp import security
from authapp.cli import printable
from authapp.cli_store import add_store_argument, open_service
from authapp.services import AuthService, default_verifier_kind
from authapp.settings_schema import (
    LOCKOUT_KEYS,
    SPECS,
    SettingError,
    check_value,
    parse_cli_value,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "settings", help="show or change store-wide settings (lockout policy, verifier, "
                         "replay threshold); changes are checked and audited",
        epilog="settings: " + "; ".join(f"{k}: {s.help}" for k, s in SPECS.items()))
    p.add_argument("key", metavar="KEY", nargs="?", help="a setting (see below)")
    p.add_argument("value", metavar="VALUE", nargs="?",
                   help="new value (JSON object for verifier_params; 'default' resets)")
    add_store_argument(p)
    p.set_defaults(func=run)


def current(service: AuthService) -> dict[str, Any]:
    """Every setting's effective value (also for the GUI)."""
    s = service.settings
    return {
        "verifier": s.verifier or f"{_kind()} (default)",
        "verifier_params": json.dumps(dict(s.verifier_params)),
        "pseudo": s.pseudo or "off",
        "background": str(s.background).lower(),
        "max_failures": s.lockout.max_failures,
        "window_s": f"{s.lockout.window_s:g}",
        "lockout_s": f"{s.lockout.lockout_s:g}",
        "replay_threshold": (f"{s.replay_threshold:g}" if s.replay_threshold is not None else
                             "default (" + ", ".join(
                                 f"{d}-D {v:g}" for d, v in
                                 sorted(security.DEFAULT_REPLAY_THRESHOLDS.items(),
                                        reverse=True)) + ")"),
    }


def _kind() -> str:
    try:
        return default_verifier_kind()
    except Exception:  # noqa: BLE001 - shown, not needed
        return "none installed"


def change(service: AuthService, key: str, text: str) -> None:
    """Set ``key`` from the text an administrator typed (``default`` resets); audited."""
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


def run(args: argparse.Namespace) -> int:
    service = open_service(args, create=args.value is not None)
    if args.key is not None and args.key not in SPECS:
        raise SettingError(f"unknown setting {args.key!r} (known: {', '.join(SPECS)})")
    if args.value is not None:
        change(service, args.key, args.value)
        service = open_service(args)
        print(printable(f"{args.key} = {current(service)[args.key]} (recorded in the audit "
                        "log)"))
        return 0
    values = current(service)
    for key, value in values.items():
        if args.key is None or key == args.key:
            print(printable(f"{key:<17} {value}"))
    return 0
