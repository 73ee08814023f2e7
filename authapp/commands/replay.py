"""``authapp replay FILE --user U``: score one recording against an enrolled user.

For researchers checking a recording offline: prints the decision and each verifier's score.
Unlike ``authapp login`` it has no side effects: no attempt or audit record, no lockout check,
and a replay-attack match is only reported, not enforced. Exit 0 accepted, 1 rejected, 2 error.
"""

from __future__ import annotations

import argparse

from authapp.cli_store import add_store_argument, open_service, read_recording


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "replay", help="verify one recording against an enrolled user, printing per-verifier "
                       "scores (no login side effects)")
    p.add_argument("file", metavar="FILE", help="recording to score")
    p.add_argument("--user", required=True, metavar="U", help="enrolled user to verify against")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    recording = read_recording(args.file)
    service = open_service(args)
    r = service.verify(args.user, recording, record_attempt=False)
    print(f"user:      {r.user}")
    print(f"decision:  {'accept' if r.decision else 'reject'}")
    print(f"score:     {r.raw_score:.6g} (threshold {r.threshold:.6g}, margin {r.score:+.6g})")
    print("per verifier (fusion members: normalised score, higher = more genuine; "
          "the verifier itself: margin, >= 0 accepts):")
    for name, value in r.per_verifier.items():
        print(f"  {name:<10} {value:+.6g}")
    if r.replay_of is not None:
        print(f"replay check: near-exact copy of {r.replay_of.ref} "
              f"({r.replay_of.distance_mm:.3f} mm); a login would be rejected")
    return 0 if r.decision else 1
