"""``authapp identify FILE``: who wrote this? (1:N over enrolled users, with rejection)."""

from __future__ import annotations

import argparse

from authapp.cli_store import add_store_argument, open_service, read_recording


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("identify", help="find the enrolled user who wrote FILE "
                                               "(exit 0 identified, 1 no match)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--top", type=int, default=5, help="candidates to list (default 5)")
    add_store_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    recording = read_recording(args.file)
    result = open_service(args).identify(recording)
    print(result.reason)
    for name, value in result.candidates[: max(args.top, 0)]:
        print(f"  {name:<24} margin {value:+.4g} {'(accepts)' if value >= 0 else ''}".rstrip())
    return 0 if result.identified else 1
