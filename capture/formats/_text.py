"""Shared helpers of the text importers: bounded reading, strict numeric parsing, file names.

Files come from anywhere, so size is checked before anything is parsed: a file larger than
``MAX_TEXT_BYTES`` is refused from its directory entry, and lines are read one at a time up to
``MAX_ROWS`` (a recording of two minutes has ~15,000 frames) so that a huge or endless file
costs neither memory nor minutes before it is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from core.errors import RecordingFormatError

_NUM_RE = re.compile(r"(\d+)")

MAX_TEXT_BYTES = 64 << 20
"""Largest text recording read (64 MiB): the largest real one is 1.2 MB."""
MAX_ROWS = 100_000
"""Most data lines read: 14 minutes at 120 Hz, far beyond any signature."""
MAX_LINE_CHARS = 64 << 10
"""Longest line accepted: a 133-column FMKit row is ~1.5 kB."""


def require_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.exists():
        raise RecordingFormatError(f"{p}: no such file")
    if not p.is_file():
        raise RecordingFormatError(f"{p}: not a file")
    return p


def read_lines(path: Path, max_rows: int = MAX_ROWS,
               max_bytes: int = MAX_TEXT_BYTES) -> list[str]:
    """The file's lines (without line ends), refused early when it is too large to be a
    recording; binary bytes are a format error, not a crash."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RecordingFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if size > max_bytes:
        raise RecordingFormatError(
            f"{path}: file is {size / 2**20:.0f} MiB, larger than any recording (at most "
            f"{max_bytes >> 20} MiB)")
    lines: list[str] = []
    try:
        with open(path, "rb") as fh:
            for raw in fh:
                if len(raw) > MAX_LINE_CHARS:
                    raise RecordingFormatError(
                        f"{path}: line {len(lines) + 1} is {len(raw)} bytes long (at most "
                        f"{MAX_LINE_CHARS}): not a recording")
                if b"\x00" in raw:
                    raise RecordingFormatError(f"{path}: binary data where text was expected")
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise RecordingFormatError(
                        f"{path}: not a text file ({exc.reason})") from exc
                lines.extend(text.splitlines() or [""])
                if len(lines) > max_rows + 1:  # + a header line
                    raise RecordingFormatError(
                        f"{path}: more than {max_rows} lines, longer than any recording")
    except OSError as exc:
        raise RecordingFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not any(line.strip() for line in lines):
        raise RecordingFormatError(f"{path}: file is empty")
    return lines


def parse_table(
    lines: list[str], path: Path, delimiter: str | None, first_line_no: int
) -> np.ndarray:
    """Parse numeric rows strictly: every row must have the same number of numbers.

    Blank lines (e.g. a trailing newline) are tolerated; anything else that does not parse
    is an error naming the line, because silently skipping garbage hides corrupt files.
    """
    lines = [line if line.strip() else "" for line in lines]  # keeps numbering for messages
    if not any(lines):
        raise RecordingFormatError(f"{path}: no data rows")
    try:
        table = np.loadtxt(lines, delimiter=delimiter, comments=None, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise RecordingFormatError(
            f"{path}: malformed data, {_explain(lines, delimiter, first_line_no, exc)}"
        ) from exc
    if table.size == 0:
        raise RecordingFormatError(f"{path}: no data rows")
    return table


def _explain(lines: list[str], delimiter: str | None, first_line_no: int, exc: Exception) -> str:
    """Name the first offending line (numpy's own row numbers are not reliable for this)."""
    ncols = None
    for i, line in enumerate(lines):
        if not line:
            continue
        fields = line.split(delimiter)
        if ncols is None:
            ncols = len(fields)
        where = f"line {i + first_line_no}"
        if len(fields) != ncols:
            return f"{where}: {len(fields)} values where earlier lines have {ncols}"
        for field in fields:
            try:
                float(field)
            except ValueError:
                return f"{where}: {field.strip()[:40]!r} is not a number"
    return str(exc).split(";")[0]


def natural_key(name: str) -> tuple:
    """Sort key that orders 'S2' before 'S10' (numbers compared as numbers)."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in _NUM_RE.split(name))
