"""``authapp enroll-batch DIR``: enroll a folder of users, one subfolder of recordings each.

The subfolder's name is the user id; every readable recording in it is an enrollment
sample. Users already enrolled are skipped (re-enrolling needs ``authapp enroll --re-enroll``
with proof or the administrator, one account at a time); a user whose recordings are
refused (unreadable files, the quality check, copies of one another, a look-alike id) is
reported and the batch goes on. A progress bar runs on stderr; the summary lists every
refusal with its reason. Exit status 0 when every new user was enrolled, 1 when some were
refused, 2 when the folder itself is unusable. The identification index is brought up to
date once, at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from authapp.cli import printable
from authapp.cli_store import add_store_argument, open_service
from core.errors import AirAuthError

EXIT_OK, EXIT_SOME_REFUSED = 0, 1


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "enroll-batch",
        help="enroll every user of a folder (one subfolder of recordings per user)",
        description="Enroll every subfolder of DIR as one user (the subfolder's name is the "
                    "user id, its recordings the samples). Enrolled users are skipped; "
                    "refusals are listed at the end (exit 1 when there are any).")
    p.add_argument("folder", metavar="DIR", type=Path, help="folder of user folders")
    p.add_argument("--verifier", default=None,
                   help="verifier kind (default: the store's setting, else fusion)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_store_argument(p)
    p.set_defaults(func=run)


def user_folders(folder: Path) -> list[Path]:
    """The subfolders of ``folder`` in name order (``AirAuthError`` if it is no folder)."""
    if not folder.is_dir():
        raise AirAuthError(f"{folder} is not a folder of user folders")
    subs = sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)
    if not subs:
        raise AirAuthError(f"{folder} holds no user folders (one subfolder per user)")
    return subs


def _recordings(sub: Path) -> list:
    from capture.formats import load_recording

    files = sorted(p for p in sub.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise AirAuthError("no recordings in the folder")
    out = []
    for f in files:
        try:
            out.append(load_recording(f))
        except AirAuthError as exc:
            raise AirAuthError(f"{f.name}: {exc}") from None
    return out


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    subs = user_folders(args.folder)
    service = open_service(args, create=True,
                           flags={"verifier": args.verifier} if args.verifier else None)
    enrolled: list[str] = []
    skipped: list[str] = []
    refused: list[tuple[str, str]] = []
    t0 = time.perf_counter()
    bar = tqdm(subs, desc="enroll-batch", unit="user", file=sys.stderr,
               disable=args.no_progress)
    try:
        for sub in bar:
            user = sub.name
            try:
                if service.has_user(user):
                    skipped.append(user)
                    continue
                service.enroll(user, _recordings(sub), update_index=False)
                enrolled.append(user)
            except AirAuthError as exc:
                refused.append((user, str(exc)))
    finally:
        bar.close()
        service.update_index()
    wall = time.perf_counter() - t0
    print(f"enrolled {len(enrolled)} user(s), skipped {len(skipped)} already enrolled, "
          f"refused {len(refused)}, of {len(subs)} folders in {wall:.1f} s")
    for user, why in refused:
        print(printable(f"  refused {user}: {why}"))
    return EXIT_SOME_REFUSED if refused else EXIT_OK
