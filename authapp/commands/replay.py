"""``authapp replay FILE --user U --admin``: an administrator's offline check of a recording.

For researchers and administrators checking a recording against an enrolled account: prints
the decision and each verifier's score. It is not a login (nothing is recorded but an audit
entry), yet it applies the login's rules, so it never says "accept" for a locked account or
a replayed copy. Because it shows scores on an enrolled account, the service refuses it
without ``--admin`` (``AuthService.offline_check``): otherwise it would be an unlimited oracle
for tuning a forgery. Offline scoring of research data belongs to ``authapp experiment``.
Exit 0 accepted, 1 rejected, 2 error.
"""

from __future__ import annotations

import argparse

from authapp.cli import printable
from authapp.cli_store import (
    actor,
    add_store_argument,
    open_service,
    read_recording,
    score_lines,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "replay", help="administrator's offline check of a recording against an enrolled "
                       "user, with per-verifier scores (not a login; audited)")
    p.add_argument("file", metavar="FILE", help="recording to score")
    p.add_argument("--user", required=True, metavar="U", help="enrolled user to verify against")
    p.add_argument("--admin", action="store_true",
                   help="required: scores of an enrolled account are for its administrator")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    recording = read_recording(args.file)
    service = open_service(args)
    r = service.offline_check(actor(args), args.user, recording, file=str(args.file))
    print("offline check by the administrator, not a login: nothing recorded but an audit "
          "entry; the login's lockout and replay rules apply")
    print(printable(f"user:      {r.user}"))
    print(f"decision:  {'accept' if r.decision else 'reject'} ({r.outcome})")
    print(printable(f"reason:    {r.reason}"))
    for line in score_lines(r):
        print(printable(line))
    return 0 if r.decision else 1

