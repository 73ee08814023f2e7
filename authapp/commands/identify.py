"""``authapp identify FILE``: who wrote this? (1:N over enrolled users, with rejection).

An identification is a login without a typed user id: the user it would name must pass the
same lockout and replay rules. When it names nobody the answer is one neutral line (no
"locked", no margins), the failure counts against the store's own identification limit and
never against the closest user (``authapp.services.identification``). When it names someone it lists
that account (the only one ever shown); ``-v`` adds its margin, and nobody else's.
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
    verbose,
)
from authapp.service_results import IdentifyResult, accepting_candidates
from core.errors import AirAuthError


def _top(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--top wants a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"--top must be at least 1, got {n}")
    return n


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("identify", help="find the enrolled user who wrote FILE "
                                               "(exit 0 identified, 1 no match)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--top", type=_top, default=5, metavar="N",
                   help="how many accepting accounts to list when one is named (default 5; "
                        "only the user it names is ever listed; -v adds the margin)")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.top < 1:  # (argparse checks it; a programmatic caller might not)
        raise AirAuthError(f"--top must be at least 1, got {args.top}")
    served = forward_to_service(args, "identify", {"file": args.file, "top": args.top})
    if served is not None:
        return served
    recording = read_recording(args.file)
    service = open_local_service(args)
    result = service.identify(recording)
    print(printable(result.reason))
    if verbose(args):
        for name, value in result.candidates[: args.top]:
            print(printable(f"  {name:<24} margin {value:+.4g} "
                            f"{'(accepts)' if value >= 0 else ''}".rstrip()))
    elif result.identified:
        for line in candidate_lines(result, args.top):
            print(printable(line))
    after_answer(args, service)
    return 0 if result.identified else 1


def candidate_lines(result: IdentifyResult, top: int) -> list[str]:
    """``accepting_candidates``, at most ``top`` of them, as lines."""
    accepting = accepting_candidates(result)
    if not accepting:
        return []
    shown = accepting[:top]
    head = (f"candidates that accept it, best first ({len(shown)} of {len(accepting)}):"
            if len(accepting) > len(shown) else "candidates that accept it, best first:")
    return [head] + [f"  {i}. {name}" for i, name in enumerate(shown, 1)]
