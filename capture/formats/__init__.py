"""Recording files: the native format and importers of the three real-data formats.

``load_recording(path)`` recognises the format from the file's content (not its name), so a
researcher can point any command at any recording; ``save_recording`` always writes the
native format, atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from capture.formats._text import MAX_TEXT_BYTES
from capture.formats.fmkit import looks_like_fmkit, read_fmkit
from capture.formats.leapcsv import looks_like_leapcsv, read_leapcsv
from capture.formats.native import RecordingWriteError, is_native, read_native, save_native
from capture.formats.svc2004 import looks_like_svc2004, read_svc2004
from capture.trajectory import Trajectory
from core.errors import RecordingFormatError

FORMATS = ("native", "fmkit", "leapcsv", "svc2004")

READERS: dict[str, Callable[[str | os.PathLike[str]], Trajectory]] = {
    "native": read_native,
    "fmkit": read_fmkit,
    "leapcsv": read_leapcsv,
    "svc2004": read_svc2004,
}

_SNIFF_BYTES = 8192


def detect_format(path: str | os.PathLike[str]) -> str:
    """Name of the format of ``path`` (one of ``FORMATS``), judged by its first bytes."""
    p = Path(path)
    if not p.exists():
        raise RecordingFormatError(f"{p}: no such file")
    if not p.is_file():
        raise RecordingFormatError(f"{p}: not a file")
    try:
        size = p.stat().st_size
        if size > MAX_TEXT_BYTES:
            raise RecordingFormatError(
                f"{p}: file is {size / 2**20:.0f} MiB, larger than any recording (at most "
                f"{MAX_TEXT_BYTES >> 20} MiB)")
        with open(p, "rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise RecordingFormatError(f"{p}: cannot read ({exc.strerror or exc})") from exc
    if not head.strip():
        raise RecordingFormatError(f"{p}: file is empty")
    if is_native(head):
        return "native"
    if b"\x00" in head:
        raise RecordingFormatError(f"{p}: unrecognised binary file (not a recording)")
    text = head.decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:  # only separators/control characters that str.splitlines treats as breaks
        raise RecordingFormatError(f"{p}: no readable text lines (not a recording)")
    if len(lines) > 1 or len(head) < _SNIFF_BYTES:
        first = lines[0]
        second = lines[1] if len(lines) > 1 else ""
        if looks_like_leapcsv(first):
            return "leapcsv"
        if looks_like_fmkit(first):
            return "fmkit"
        if looks_like_svc2004(first, second):
            return "svc2004"
    raise RecordingFormatError(
        f"{p}: unrecognised file format (expected one of: {', '.join(FORMATS)})"
    )


def load_recording(path: str | os.PathLike[str], format: str | None = None) -> Trajectory:
    """Read a recording of any supported format (auto-detected when ``format`` is None)."""
    fmt = detect_format(path) if format is None else format
    if fmt not in READERS:
        raise RecordingFormatError(
            f"unknown recording format {fmt!r} (expected one of: {', '.join(FORMATS)})"
        )
    return READERS[fmt](path)


def save_recording(traj: Trajectory, path: str | os.PathLike[str]) -> None:
    """Write ``traj`` in the native format (versioned ``.npz``), all-or-nothing."""
    save_native(traj, path)


__all__ = [
    "FORMATS",
    "READERS",
    "RecordingWriteError",
    "detect_format",
    "load_recording",
    "read_fmkit",
    "read_leapcsv",
    "read_native",
    "read_svc2004",
    "save_recording",
]
