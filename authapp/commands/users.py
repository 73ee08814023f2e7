"""``authapp users``: list enrolled users with their lock status."""

from __future__ import annotations

import argparse
import sys
import time

from authapp.admin import lock_status
from authapp.cli import printable
from authapp.cli_store import add_store_argument, open_service


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("users", help="list enrolled users and who is locked out")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    service = open_service(args)
    for problem in service.store.audit_problems():  # (issue 22: deleted or edited rows)
        print(printable(f"warning: {problem} (authapp verify-store)"), file=sys.stderr)
    users = service.users()
    if not users:
        print("no users enrolled")
        return 0
    print(f"{'user':<24} {'samples':>7}  {'verifier':<9} {'enrolled':<16} status")
    for u in users:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(u.updated))
        print(printable(f"{u.name:<24} {u.n_recordings:>7}  {u.verifier_kind:<9} {when:<16} "
                        f"{lock_status(service, u.name)}"))
    return 0
