"""``authapp convert IN OUT``: import a foreign recording into the native format."""

from __future__ import annotations

import argparse
from pathlib import Path

from capture.formats import FORMATS, detect_format, load_recording, save_recording
from capture.trajectory import Label
from core.errors import RecordingFormatError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert", help="import a recording (fmkit, leapcsv, svc2004) into the native format"
    )
    p.add_argument("input", help="recording to import")
    p.add_argument("output", help="native recording to write (.npz)")
    p.add_argument("--format", choices=FORMATS, default=None, help="input format (default: detect)")
    p.add_argument("--user", help="set the user id")
    p.add_argument("--content", help="set what was written")
    p.add_argument("--label", choices=[label.value for label in Label], help="set the label")
    p.add_argument("--force", action="store_true", help="overwrite OUTPUT if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    src, dst = Path(args.input), Path(args.output)
    if dst.exists() and not args.force:
        raise RecordingFormatError(f"{dst} already exists (use --force to overwrite)")
    if dst.exists() and src.exists() and dst.resolve() == src.resolve():
        raise RecordingFormatError("input and output are the same file")
    fmt = args.format or detect_format(src)
    traj = load_recording(src, fmt)
    changes: dict = {}
    if args.user is not None:
        changes["user"] = args.user
    if args.content is not None:
        changes["content"] = args.content
    if args.label is not None:
        changes["label"] = Label(args.label)
    if changes:
        traj = traj.with_meta(**changes)
    save_recording(traj, dst)
    print(f"wrote {dst} ({fmt} -> native, {len(traj)} frames, {traj.duration:.2f} s)")
    return 0
