"""``authapp record OUT``: record one writing gesture (live Leap Motion or a replayed file).

The gesture is cut out of the stream by the segmenter (start on motion, end on rest or when
the hand leaves) and saved in the native format. ``--replay FILE`` runs the same path on a
recording, so the command works, and can be tried, without a device.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from capture.formats import FORMATS, load_recording, save_recording
from capture.leap_adapter import HAND_PREFERENCES, LeapSource
from capture.segmentation import SegmenterConfig, record_gesture
from capture.sources import FrameSource, ReplaySource
from capture.trajectory import Label, Trajectory, TrajectoryMeta
from core.errors import AirAuthError, RecordingFormatError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "record", help="record one writing gesture from the Leap Motion (or --replay FILE)"
    )
    p.add_argument("output", metavar="OUT", help="native recording to write (.npz)")
    p.add_argument("--replay", metavar="FILE", help="replay a recording instead of the device")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="format of the --replay file (default: detect)")
    p.add_argument("--realtime", action="store_true",
                   help="with --replay: play at the recording's real speed")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="give up if no gesture is complete after S seconds (default 30)")
    p.add_argument("--connect-timeout", type=float, default=5.0, metavar="S",
                   help="seconds to wait for the Ultraleap service (default 5)")
    p.add_argument("--user", help="user id stored in the recording")
    p.add_argument("--content", help="what was written")
    p.add_argument("--hand", choices=HAND_PREFERENCES, default="right",
                   help="hand to track when two are in view (default right)")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.add_argument("--store", metavar="DIR", default=None,
                   help="with --user: also check the new sample against that user's enrolled "
                        "samples in this enrollment store (the enrollment quality check), so "
                        "a badly written sample is noticed before it is used")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.exists() and not args.force:
        raise RecordingFormatError(f"{out} already exists (use --force to overwrite)")
    if args.timeout <= 0:
        raise AirAuthError("--timeout must be positive")
    if args.realtime and not args.replay:
        raise AirAuthError("--realtime only applies to --replay")
    enrolled = _enrolled_samples(args) if args.store is not None else None
    config = SegmenterConfig()
    extra: dict = {"recorded_by": "authapp record", "segmenter": config.to_dict()}
    source: FrameSource
    if args.replay:
        original = load_recording(args.replay, args.format)
        source = ReplaySource(original, realtime=args.realtime)
        base = original.meta
        extra["replayed_from"] = str(args.replay)
        meta = TrajectoryMeta(user=base.user, content=base.content, label=base.label,
                              device=base.device or source.device, source=str(args.replay),
                              extra=extra)
    else:
        source = LeapSource(hand=args.hand, connect_timeout=args.connect_timeout)
        meta = TrajectoryMeta(label=Label.UNKNOWN, device=source.device, source="live",
                              extra={**extra, "hand_preference": args.hand})
        source.start()  # fails fast (binding missing, service down) before the prompt
        print(f"write now (waiting up to {args.timeout:g} s; hold still to finish)",
              file=sys.stderr)
    if args.user is not None:
        meta = replace(meta, user=args.user)
    if args.content is not None:
        meta = replace(meta, content=args.content)
    try:
        traj = record_gesture(source, timeout=args.timeout, config=config, meta=meta)
    finally:
        source.stop()
    save_recording(traj, out)
    print(f"wrote {out} ({len(traj)} frames, {traj.duration:.2f} s)")
    if enrolled is not None:
        _report_fit(args.user, enrolled, traj)
    return 0


def _enrolled_samples(args: argparse.Namespace) -> list[Trajectory]:
    """The enrollment recordings of ``--user`` (checked before recording, not after)."""
    from authapp.cli_store import open_service

    if args.user is None:
        raise AirAuthError("--store needs --user: whose enrolled samples to compare with")
    service = open_service(args)
    try:
        return service.recordings(args.user)
    finally:
        service.close()


def _report_fit(user: str, enrolled: list[Trajectory], traj: Trajectory) -> None:
    from models.quality import check_enrollment

    mine = check_enrollment([*enrolled, traj]).samples[-1]
    if mine.accepted:
        print(f"consistent with {user}'s {len(enrolled)} enrolled samples")
    else:
        print(f"does not fit {user}'s enrolled samples: {'; '.join(mine.reasons)}")

