"""``authapp verify-store``: check the whole store for changes made outside AirAuth.

Checks every keyed checksum and seal (``authapp.storage.seals``): the audit log's chain and
its end, the settings set and its version, and each user's model, recordings list and files.
Exit 0 when everything verifies, 1 with one line per problem otherwise. Putting back a copy
of the whole database file is not detected (README, security).
"""

from __future__ import annotations

import argparse

from authapp.cli import printable
from authapp.cli_store import add_store_argument, store_path
from authapp.store import EnrollmentStore
from core.errors import AirAuthError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("verify-store", help="check the store for rows or files changed, "
                                                   "deleted or put back outside AirAuth "
                                                   "(exit 0 intact, 1 problems found)")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from authapp.service_settings import Settings

    # the store alone, not the service: its settings are among what is checked
    with EnrollmentStore(store_path(args)) as store:
        problems = store.verify_store()
        try:  # each setting's value too (the store checks only its keyed checksum)
            Settings.from_store(store)
        except AirAuthError as exc:
            problems += [str(exc)] if str(exc) not in problems else []
        for line in problems:
            print(printable(f"problem: {line}"))
        if problems:
            print(printable(f"{len(problems)} problem(s) found in {store.path}"))
            return 1
        print(printable(f"store {store.path} verified: {len(store.users())} user(s), "
                        f"{len(store.audit_log())} audit rows, settings and recordings intact"))
    return 0
