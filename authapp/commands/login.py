"""``authapp login USER FILE``: one login attempt; exit 0 accepted, 1 rejected, 2 error.

A login is recorded (attempt, fingerprint, audit log), counts towards the lockout and is
checked for replay attacks. A rejection says why without the score, threshold or replay
residual (they tell an attacker how far to go); ``-v`` shows them, and the score's parts.
"""

from __future__ import annotations

import argparse

from authapp.cli import printable
from authapp.cli_store import (
    add_store_argument,
    after_answer,
    forward_to_service,
    open_local_service,
    read_recording,
    score_lines,
    verbose,
)

EXIT_ACCEPT, EXIT_REJECT = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("login", help="log USER in with a recording (exit 0 accept, "
                                            "1 reject, 2 error)")
    p.add_argument("user", metavar="USER")
    p.add_argument("file", metavar="FILE", help="login recording")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    served = forward_to_service(args, "login", {"user": args.user, "file": args.file})
    if served is not None:
        return served
    recording = read_recording(args.file)
    service = open_local_service(args)
    result = service.verify(args.user, recording)
    print(printable(result.reason if verbose(args) else result.message))
    if verbose(args):  # the scores in the one form every command and the GUI show
        for line in score_lines(result):
            print(printable(line))
    after_answer(args, service)
    return EXIT_ACCEPT if result.decision else EXIT_REJECT
