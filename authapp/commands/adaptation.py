"""``authapp adaptation USER [--revert --admin]``: the logins a user's model has adapted to.

Template adaptation (``models.adaptation``, store setting ``adaptation``) adds confident
logins to a user's references. This shows how many there are, and ``--revert`` (an
administrator's action, audited) drops them all: the model goes back to the enrollment
samples, e.g. when an account may have adapted to someone else.
"""

from __future__ import annotations

import argparse

from authapp.cli import printable
from authapp.cli_store import actor, add_store_argument, open_service


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("adaptation", help="show USER's adapted samples; --revert drops "
                                                 "them (administrator, audited)")
    p.add_argument("user", metavar="USER")
    p.add_argument("--revert", action="store_true",
                   help="drop every adapted sample and refit on the enrollment samples")
    p.add_argument("--admin", action="store_true",
                   help="act as the store's administrator (needed by --revert; audited)")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    service = open_service(args)
    info = service.user(args.user)
    if args.revert:
        dropped = service.revert_adaptation(actor(args), info.name)  # refused without --admin
        print(printable(f"user {info.name!r}: {dropped} adapted sample(s) dropped; the model "
                        "is back to its enrollment samples"))
        return 0
    n_enr = int(info.metadata.get("n_enrollment", info.n_recordings))
    policy = service.settings.adaptation
    print(printable(f"user {info.name!r}: {n_enr} enrollment sample(s), "
                    f"{max(0, info.n_recordings - n_enr)} adapted from logins "
                    f"(adaptation {'on' if policy.enabled else 'off'}, margin "
                    f"{policy.margin:g}, at most {policy.max_adapted} kept)"))
    return 0
