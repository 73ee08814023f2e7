"""``authapp enroll USER FILE...``: enroll a user from a few recordings of their writing.

Replacing an existing enrollment (``--re-enroll``) takes over the account, so it needs
``--proof FILE`` (a fresh recording that passes that user's login now) or ``--admin``
(recorded in the audit log). A re-enrollment resets the failed-login count. ``--add`` keeps
the enrolled samples and adds the new ones (e.g. written at a later sitting, when the writing
has drifted); it needs the same authority.
"""

from __future__ import annotations

import argparse

from authapp.cli import printable
from authapp.cli_store import (
    actor,
    add_authority_arguments,
    add_store_argument,
    open_service,
    read_recording,
)
from authapp.guard import AuthorizationError
from authapp.userid import ALLOWED_DESCRIPTION


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("enroll", help="enroll USER from recordings (at least 2; 5 recommended)")
    p.add_argument("user", metavar="USER", help=f"user id ({ALLOWED_DESCRIPTION})")
    p.add_argument("files", metavar="FILE", nargs="+", help="enrollment recordings")
    p.add_argument("--re-enroll", action="store_true",
                   help="replace the enrollment of an already enrolled user (needs --proof "
                        "or --admin)")
    p.add_argument("--add", action="store_true",
                   help="add these samples (e.g. from a later sitting) to the user's "
                        "enrollment and refit (needs --proof or --admin, like --re-enroll)")
    add_authority_arguments(p, "re-enroll (or add samples to)")
    p.add_argument("--verifier", default=None,
                   help="verifier kind (dtw, subspace, svm, ss-svm, fusion; default: the "
                        "store's setting, else fusion)")
    p.add_argument("--pseudo", default=None, metavar="NAME",
                   help="expand the samples with this pseudo-data generator ('off' for none)")
    p.add_argument("--security", default=None, metavar="LEVEL",
                   help="security level of the account's threshold: low, normal or high "
                        "(default: the store's setting, else normal: about 0.1 %% of other "
                        "people and 5 %% of skilled forgers accepted on the development data; "
                        "high: 0.01 %% / 2 %%; low: 1 %% / 10 %%)")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    recordings = [read_recording(f) for f in args.files]
    if (args.proof or args.admin) and not (args.re_enroll or args.add):
        raise AuthorizationError("--proof and --admin only apply with --re-enroll or --add")
    if args.add and args.re_enroll:
        raise AuthorizationError("--add and --re-enroll exclude each other: --add keeps the "
                                 "enrolled samples, --re-enroll replaces them")
    flags = {"verifier": args.verifier or None, "pseudo": args.pseudo,
             "security": args.security}  # parsed and checked as `authapp settings` does
    service = open_service(args, create=True,
                           flags={k: v for k, v in flags.items() if v is not None})
    report = service.enroll(args.user, recordings, re_enroll=args.re_enroll, add=args.add,
                            actor=actor(args, args.user))
    if report.authorised_by is not None:
        what = "adding samples" if args.add else "re-enrollment"
        by = "a passing login" if report.authorised_by == "proof" else "the administrator"
        print(printable(f"{what} of {report.user!r} authorised by {by}"))
    for line in report.lines():
        print(printable(line))
    return 0
