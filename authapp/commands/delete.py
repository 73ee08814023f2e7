"""``authapp delete USER``: remove a user's enrollment, attempts and fingerprints.

Deleting an account needs ``--proof FILE`` (a fresh recording that passes that user's login
now: users may delete themselves) or ``--admin`` (recorded in the audit log).
"""

from __future__ import annotations

import argparse

from authapp.cli import printable
from authapp.cli_store import actor, add_authority_arguments, add_store_argument, open_service


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("delete", help="delete an enrolled user and their data (needs "
                                             "--proof FILE or --admin)")
    p.add_argument("user", metavar="USER")
    add_authority_arguments(p, "delete")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    service = open_service(args)
    name = service.delete(actor(args, args.user), args.user)
    print(printable(f"deleted user {name!r}"))
    return 0
