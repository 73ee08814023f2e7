"""Importer of FMKit's raw Leap Motion text files (github.com/duolu/fmkit).

One frame per line, comma-separated (tabs/spaces around values), 93 or 133 columns:
column 0 the device timestamp in microseconds (a 32-bit counter that can wrap, or a 16-digit
epoch value), 1-3 the index fingertip (mm), 7-9 the palm centre (mm), and the last two the
tracking confidence and a valid flag (0 = hand lost). Frames with the hand lost and frames
whose time does not advance are dropped, and how many were dropped is kept in ``meta.extra``.
"""

from __future__ import annotations

import os
import re

import numpy as np

from capture.formats._text import parse_table, read_lines, require_file
from capture.trajectory import MIN_FRAMES, Label, Trajectory, TrajectoryMeta, tracking_gaps
from core.errors import RecordingFormatError, TrajectoryError

LAYOUTS = (93, 133)
"""Column counts of the older and the current FMKit client."""
DEVICE = "leap-motion (FMKit)"
NAME_RE = re.compile(r"^(?P<user>[^_]+)_(?P<content>.+)_(?P<sample>\d+)\.txt$", re.IGNORECASE)
"""``<user>_<content>_<nn>.txt``: FMKit's naming of one repetition of one string by one user."""

_WRAP = 2**32
_COUNTER_MAX = 2**32  # timestamps below this are the 32-bit counter, above it epoch values
_MAX_TIMESTAMP = 2.0**62
"""Larger timestamps cannot be microseconds of any clock (and would overflow int64)."""


def looks_like_fmkit(first_line: str) -> bool:
    """A comma-separated numeric line with one of the known column counts."""
    parts = first_line.split(",")
    if len(parts) not in LAYOUTS:
        return False
    try:
        [float(p) for p in parts]
    except ValueError:
        return False
    return True


def parse_name(name: str) -> tuple[str, str, int] | None:
    """(user, content, sample number) from an FMKit file name, or None if it does not match."""
    m = NAME_RE.match(name)
    if not m:
        return None
    return m.group("user"), m.group("content"), int(m.group("sample"))


def unwrap_counter(ts: np.ndarray) -> np.ndarray:
    """Undo wrap-arounds of the unsigned 32-bit microsecond counter (a drop by > 2^31)."""
    ts = np.asarray(ts, dtype=np.int64)
    if ts.size == 0 or ts.max() >= _COUNTER_MAX:
        return ts  # epoch microseconds: no counter to unwrap
    wraps = np.concatenate([[0], np.cumsum(np.diff(ts) < -(_WRAP // 2))])
    return ts + wraps * _WRAP


def read_fmkit(path: str | os.PathLike[str]) -> Trajectory:
    """Load one FMKit raw Leap recording as a 3-D fingertip trajectory (device axes, mm)."""
    p = require_file(path)
    lines = read_lines(p)
    table = parse_table(lines, p, delimiter=",", first_line_no=1)
    ncols = table.shape[1]
    if ncols not in LAYOUTS:
        raise RecordingFormatError(
            f"{p}: {ncols} columns per frame; FMKit files have {' or '.join(map(str, LAYOUTS))}"
        )
    if (not np.all(np.isfinite(table[:, 0])) or np.any(table[:, 0] < 0)
            or np.any(table[:, 0] > _MAX_TIMESTAMP)):
        raise RecordingFormatError(f"{p}: timestamps must be finite non-negative numbers "
                                   "(microseconds)")
    ts = unwrap_counter(np.rint(table[:, 0]))
    valid = table[:, -1]
    if not np.all(np.isin(valid, (0.0, 1.0))):
        raise RecordingFormatError(f"{p}: the valid flag (last column) must be 0 or 1")
    keep = valid == 1.0
    n_invalid = int(np.count_nonzero(~keep))
    if not keep.any():
        raise RecordingFormatError(
            f"{p}: no usable frame: the hand was never tracked (all {len(table)} frames have "
            "valid flag 0)"
        )
    idx = np.flatnonzero(keep)
    # keep only frames whose time advances past every earlier kept frame
    running_max = np.maximum.accumulate(ts[idx])
    advancing = np.concatenate([[True], ts[idx][1:] > running_max[:-1]])
    n_stale = int(np.count_nonzero(~advancing))
    idx = idx[advancing]
    if idx.size < MIN_FRAMES:
        raise RecordingFormatError(
            f"{p}: only {idx.size} usable frames ({n_invalid} with the hand lost, {n_stale} "
            f"with non-increasing time); at least {MIN_FRAMES} needed"
        )
    try:
        gaps = tracking_gaps(keep)
    except TrajectoryError as exc:
        raise RecordingFormatError(f"{p}: {exc} (valid flag 0)") from exc
    rows = table[idx]
    t = (ts[idx] - ts[idx][0]).astype(np.float64) * 1e-6
    parsed = parse_name(p.name)
    user, content, sample = parsed if parsed else ("", "", None)
    extra: dict = {
        "format": "fmkit",
        "layout": ncols,
        "dropped_invalid": n_invalid,
        "dropped_nonincreasing": n_stale,
        **gaps.as_extra(),
        "axes": "leap device (x right, y up, z toward user)",
    }
    if sample is not None:
        extra["sample"] = sample
    meta = TrajectoryMeta(
        user=user, content=content, label=Label.GENUINE, device=DEVICE, source=str(p), extra=extra
    )
    try:
        return Trajectory(
            t=t,
            positions=rows[:, 1:4],
            channels={"palm": rows[:, 7:10], "confidence": rows[:, -2]},
            meta=meta,
        )
    except TrajectoryError as exc:
        raise RecordingFormatError(f"{p}: {exc}") from exc
