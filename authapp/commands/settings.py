"""``authapp settings [KEY [VALUE]]``: show or change the store-wide settings.

Without arguments every setting with its value; with KEY one; with KEY VALUE it sets it,
after checking type and range (``authapp.settings_schema``), and the change goes to the
audit log. VALUE ``default`` returns a setting to its default.
"""

from __future__ import annotations

import argparse

from authapp.cli import printable
from authapp.cli_store import add_store_argument, open_service
from authapp.services.actor import Actor
from authapp.services.admin import current
from authapp.settings_schema import SPECS, SettingError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "settings", help="show or change store-wide settings (lockout policy, verifier, "
                         "security level, calibration, replay threshold); changes are checked "
                         "and audited",
        epilog="settings: " + "; ".join(f"{k}: {s.help}" for k, s in SPECS.items()))
    p.add_argument("key", metavar="KEY", nargs="?", help="a setting (see below)")
    p.add_argument("value", metavar="VALUE", nargs="?",
                   help="new value (JSON object for verifier_params; 'default' resets)")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    service = open_service(args, create=args.value is not None)
    if args.key is not None and args.key not in SPECS:
        raise SettingError(f"unknown setting {args.key!r} (known: {', '.join(SPECS)})")
    if args.value is not None:
        # whoever runs `authapp settings` on a store administers it (no --admin, as before)
        service.change_setting(Actor.admin(), args.key, args.value)
        service = open_service(args)
        print(printable(f"{args.key} = {current(service)[args.key]} (recorded in the audit "
                        "log)"))
        return 0
    for key, value in current(service).items():
        if args.key is None or key == args.key:
            print(printable(f"{key:<17} {value}"))
    return 0
