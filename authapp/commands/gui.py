"""``authapp gui [--store DIR] [--replay FILE...]``: the desktop GUI (needs the gui extra).

Qt is imported only when the command runs, so the rest of the CLI works without PyQt5.
"""

from __future__ import annotations

import argparse
import os

from authapp.cli_store import add_store_argument, open_service
from authapp.storage.layout import DEFAULT_STORE_ENV
from capture.formats import detect_format
from core.errors import AirAuthError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("gui", help="open the desktop GUI (enroll, log in, manage users)")
    p.add_argument("--replay", nargs="+", metavar="FILE", default=[],
                   help="recordings to preload as the replay source (no device needed)")
    add_store_argument(p)
    p.epilog = ("without --store (and $AIRAUTH_STORE) the window reopens the store it had "
                "open last time; it also remembers its size")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for path in args.replay:
        detect_format(path)  # a missing or unreadable file fails now, with its name
    try:
        from authapp.gui.app import check_display, run_gui
    except ImportError as exc:
        raise AirAuthError(f"the GUI needs PyQt5 and pyqtgraph ({exc}): install them with "
                           "pip install 'airauth[gui]'") from exc
    check_display()  # before the store is created: a failed start leaves nothing behind
    if args.store is None and not os.environ.get(DEFAULT_STORE_ENV):
        from authapp.gui.preferences import last_store

        last = last_store()  # the window reopens the store it had open last time
        args.store = str(last) if last is not None else None
    service = open_service(args, create=True)
    try:
        return run_gui(service, args.replay)
    finally:
        service.close()
