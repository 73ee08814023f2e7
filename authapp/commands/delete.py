"""``authapp delete USER``: remove a user's enrollment, attempts and fingerprints."""

from __future__ import annotations

import argparse

from authapp.cli_store import add_store_argument, open_service


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("delete", help="delete an enrolled user and their data")
    p.add_argument("user", metavar="USER")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    service = open_service(args)
    name = service.store.get_user(args.user).name
    service.delete(name)
    print(f"deleted user {name!r}")
    return 0
