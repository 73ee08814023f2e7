"""Shared helpers of the text importers: strict numeric parsing and file-name facts."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from capture.errors import RecordingFormatError

_NUM_RE = re.compile(r"(\d+)")


def require_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.exists():
        raise RecordingFormatError(f"{p}: no such file")
    if not p.is_file():
        raise RecordingFormatError(f"{p}: not a file")
    return p


def read_text(path: Path) -> str:
    """The file as text; binary bytes are a format error, not a crash."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordingFormatError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise RecordingFormatError(f"{path}: file is empty")
    if b"\x00" in data:
        raise RecordingFormatError(f"{path}: binary data where text was expected")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordingFormatError(f"{path}: not a text file ({exc.reason})") from exc


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
