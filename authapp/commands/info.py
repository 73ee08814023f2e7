"""``authapp info FILE``: what a recording holds (who, what, how long, how fast, how big)."""

from __future__ import annotations

import argparse

from authapp.cli import printable
from capture.formats import FORMATS, detect_format, load_recording
from capture.trajectory import Trajectory

AXES = "xyz"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "info", help="show a recording's metadata, length, duration, rate and bounding box"
    )
    p.add_argument("file", help="recording file (native, fmkit, leapcsv or svc2004)")
    p.add_argument("--format", choices=FORMATS, default=None, help="skip auto-detection")
    p.set_defaults(func=run)


def describe(traj: Trajectory, fmt: str) -> list[str]:
    """Human-readable lines describing ``traj`` (also used by other commands)."""
    m = traj.meta
    units = str(m.extra.get("units", "mm"))
    lo, hi = traj.bounding_box()
    channels = ", ".join(
        f"{name} {'x'.join(map(str, values.shape[1:])) or '1'}"
        for name, values in traj.channels.items()
    )
    lines = [
        f"format:        {fmt}",
        f"user:          {m.user or '-'}",
        f"content:       {m.content or '-'}",
        f"label:         {m.label.value}",
        f"device:        {m.device or '-'}",
        f"source:        {m.source or '-'}",
        f"frames:        {len(traj)}",
        f"duration:      {traj.duration:.3f} s",
        f"sampling rate: {traj.sampling_rate:.1f} Hz",
        f"dims:          {traj.dims}",
        f"channels:      {channels or '-'}",
        f"bounding box ({units}):",
    ]
    for axis, a, b in zip(AXES, lo, hi):
        lines.append(f"  {axis}: {a:10.2f} .. {b:10.2f}  (extent {b - a:.2f})")
    dropped = {k: v for k, v in m.extra.items() if k.startswith("dropped_") and v}
    if dropped:
        lines.append("dropped:       " + ", ".join(f"{k[8:]} {v}" for k, v in dropped.items()))
    gaps = m.extra.get("gaps_interpolated")
    if gaps:
        lines.append(f"gaps:          {gaps} short tracking gap(s), "
                     f"{m.extra.get('gap_frames_interpolated')} frame(s), interpolated "
                     f"(longest {m.extra.get('longest_gap_frames')} frames)")
    return [printable(line) for line in lines]


def run(args: argparse.Namespace) -> int:
    fmt = args.format or detect_format(args.file)
    traj = load_recording(args.file, fmt)
    print("\n".join(describe(traj, fmt)))
    return 0
