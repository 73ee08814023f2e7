"""``authapp users``: list enrolled users with their lock status, a page at a time."""

from __future__ import annotations

import argparse
import sys
import time

from authapp.cli import printable
from authapp.cli_store import add_store_argument, open_service
from authapp.services.admin import lock_status
from core.errors import AirAuthError

DEFAULT_LIMIT = 50


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"wants a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("users", help="list enrolled users and who is locked out")
    p.add_argument("--page", type=_positive, default=1, metavar="N",
                   help="which page of the list (default 1)")
    p.add_argument("--limit", type=_positive, default=DEFAULT_LIMIT, metavar="L",
                   help=f"users per page (default {DEFAULT_LIMIT})")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    service = open_service(args)
    for problem in service.audit_problems():  # (issue 22: deleted or edited rows)
        print(printable(f"warning: {problem} (authapp verify-store)"), file=sys.stderr)
    total = service.count_users()
    if not total:
        print("no users enrolled")
        return 0
    pages = -(-total // args.limit)
    if args.page > pages:
        raise AirAuthError(f"--page {args.page}: there are {pages} page(s) of {args.limit} "
                           f"({total} users)")
    users = service.users_page((args.page - 1) * args.limit, args.limit)
    print(f"{'user':<24} {'samples':>7}  {'verifier':<9} {'enrolled':<16} status")
    for u in users:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(u.updated))
        print(printable(f"{u.name:<24} {u.n_recordings:>7}  {u.verifier_kind:<9} {when:<16} "
                        f"{lock_status(service, u.name)}"))
    if pages > 1:
        print(f"page {args.page} of {pages} ({total} users; --page N --limit {args.limit})")
    return 0
