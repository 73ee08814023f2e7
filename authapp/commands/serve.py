"""``authapp serve``: run the store's login service until stopped (``authapp.resident``).

While it runs, ``authapp login`` and ``authapp identify`` on that store are answered by it
(same rules, records and messages, without each process's start-up); without it they run
in their own process. Run it as the store's owner, e.g. from a systemd user unit or a
terminal; Ctrl-C or SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from authapp.cli_store import add_store_argument, store_path


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--idle-exit wants seconds, got {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"--idle-exit must be >= 0, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the login service: login and identify on "
                                            "this store answer from one warm process")
    add_store_argument(p)
    p.add_argument("--idle-exit", type=_seconds, default=0.0, metavar="SECONDS",
                   help="stop after this long without a request (default 0: never)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from authapp.resident import LoginService

    store = store_path(args)

    def ready(path: Path) -> None:
        print(f"login service for {store} listening on {path}; Ctrl-C stops it",
              file=sys.stderr, flush=True)

    LoginService(store, idle_exit_s=args.idle_exit or None).serve(ready)
    return 0
