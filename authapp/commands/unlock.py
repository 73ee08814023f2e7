"""``authapp unlock USER --admin``: end a lockout now (an administrator's action, audited;
``--admin`` is required, as for deleting or re-enrolling someone else's account)."""

from __future__ import annotations

import argparse

from authapp.cli import printable
from authapp.cli_store import actor, add_store_argument, open_service


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("unlock", help="end USER's lockout now; earlier failed logins "
                                             "stop counting (audited)")
    p.add_argument("user", metavar="USER")
    p.add_argument("--admin", action="store_true",
                   help="required: unlocking is the store administrator's action (recorded "
                        "in the audit log)")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    service = open_service(args)
    before = service.unlock(actor(args), args.user)  # refused without --admin
    name = service.user(args.user).name
    if before.locked:
        print(printable(f"unlocked user {name!r} (was locked after {before.recent_failures} "
                        "failed attempts)"))
    else:
        print(printable(f"user {name!r} was not locked; its failed-attempt count is reset"))
    return 0
