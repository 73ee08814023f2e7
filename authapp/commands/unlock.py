"""``authapp unlock USER``: end a lockout now (an administrator's action, audited)."""

from __future__ import annotations

import argparse

from authapp.cli import printable
from authapp.cli_store import add_store_argument, open_service


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("unlock", help="end USER's lockout now; earlier failed logins "
                                             "stop counting (audited)")
    p.add_argument("user", metavar="USER")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    service = open_service(args)
    name = service.store.get_user(args.user).name
    before = service.unlock(name, actor="admin")
    if before.locked:
        print(printable(f"unlocked user {name!r} (was locked after {before.recent_failures} "
                        "failed attempts)"))
    else:
        print(printable(f"user {name!r} was not locked; its failed-attempt count is reset"))
    return 0
