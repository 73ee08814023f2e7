"""Importer of SVC2004 online signatures (First International Signature Verification Competition).

Line 1 is the number of points, then one point per line: ``X Y T BUTTON`` (Task1) or
``X Y T BUTTON AZIMUTH ALTITUDE PRESSURE`` (Task2), T in ms. Positions stay in tablet units
(the competition does not state the tablet's resolution); ``meta.extra["units"]`` says so.
The tablet clock sometimes repeats a time or steps back a few ms while the pen keeps moving
(in ~35 % of the files, 1-4 times each): those samples are real, so instead of dropping them
the step is replaced by the file's median sampling interval (counted in ``time_repairs``).
"""

from __future__ import annotations

import os
import re

import numpy as np

from capture.formats._text import MAX_ROWS, parse_table, read_lines, require_file
from capture.trajectory import MIN_FRAMES, Label, Trajectory, TrajectoryMeta
from core.errors import RecordingFormatError, TrajectoryError

COLUMNS = {4: 1, 7: 2}
"""Values per point -> SVC2004 task number."""
NAME_RE = re.compile(r"^U(?P<user>\d+)S(?P<sample>\d+)\.TXT$", re.IGNORECASE)
GENUINE_SAMPLES = range(1, 21)
FORGERY_SAMPLES = range(21, 41)
FIRST_SESSION_SAMPLES = range(1, 11)
"""The genuine signatures were written in two sittings about a week apart: S1-S10 in the
first, S11-S20 in the second (the competition enrolled from the first, tested on the second).
The forgeries' sittings are not documented, so they carry no session."""


def session_of(sample: int | None) -> int | None:
    """SVC2004's sitting of a genuine sample number (1 or 2), None for forgeries/unknown."""
    if sample is None or sample not in GENUINE_SAMPLES:
        return None
    return 1 if sample in FIRST_SESSION_SAMPLES else 2
NOMINAL_STEP_MS = 10.0


def looks_like_svc2004(first_line: str, second_line: str) -> bool:
    """A point-count line followed by a line of 4 or 7 whitespace-separated numbers."""
    if not first_line.strip().isdigit():
        return False
    parts = second_line.split()
    if len(parts) not in COLUMNS:
        return False
    try:
        [float(x) for x in parts]
    except ValueError:
        return False
    return True


def parse_name(name: str) -> tuple[str, int, Label] | None:
    """(user id "U<u>", sample number, label) from ``U<u>S<n>.TXT``, or None."""
    m = NAME_RE.match(name)
    if not m:
        return None
    sample = int(m.group("sample"))
    if sample in GENUINE_SAMPLES:
        label = Label.GENUINE
    elif sample in FORGERY_SAMPLES:
        label = Label.SKILLED_FORGERY
    else:
        label = Label.UNKNOWN
    return f"U{int(m.group('user'))}", sample, label


def repair_times(t_ms: np.ndarray) -> tuple[np.ndarray, int]:
    """Strictly increasing times: non-advancing steps become the median positive step."""
    steps = np.diff(t_ms)
    positive = steps[steps > 0]
    nominal = float(np.median(positive)) if positive.size else NOMINAL_STEP_MS
    bad = steps <= 0
    steps = np.where(bad, nominal, steps)
    return np.concatenate([[0.0], np.cumsum(steps)]), int(np.count_nonzero(bad))


def read_svc2004(path: str | os.PathLike[str]) -> Trajectory:
    """Load one SVC2004 signature as a 2-D pen trajectory (tablet units) with pen channels."""
    p = require_file(path)
    lines = read_lines(p)
    head = lines[0].strip()
    if not head.isdigit():
        raise RecordingFormatError(
            f"{p}: first line must be the number of points, got {head[:40]!r}")
    if len(head) > len(str(MAX_ROWS)):
        raise RecordingFormatError(
            f"{p}: header announces {head[:12]}... points, more than any recording "
            f"(at most {MAX_ROWS})")
    expected = int(head)
    table = parse_table(lines[1:], p, delimiter=None, first_line_no=2)
    ncols = table.shape[1]
    if ncols not in COLUMNS:
        raise RecordingFormatError(
            f"{p}: {ncols} values per point; SVC2004 has 4 (Task1) or 7 (Task2)"
        )
    if table.shape[0] != expected:
        raise RecordingFormatError(
            f"{p}: header announces {expected} points but the file holds {table.shape[0]} "
            "(truncated or corrupt file)"
        )
    if not np.all(np.isfinite(table)):
        raise RecordingFormatError(f"{p}: contains NaN or infinite values")
    t_ms, repairs = repair_times(table[:, 2])
    channels = {"pen_down": (table[:, 3] > 0).astype(np.float64)}
    if ncols == 7:
        channels["azimuth"] = table[:, 4]
        channels["altitude"] = table[:, 5]
        channels["pressure"] = table[:, 6]
    task = COLUMNS[ncols]
    parsed = parse_name(p.name)
    user, sample, label = parsed if parsed else ("", None, Label.UNKNOWN)
    extra: dict = {
        "format": "svc2004",
        "task": task,
        "units": "tablet",
        "time_repairs": repairs,
        "t0_ms": float(table[0, 2]),
    }
    if sample is not None:
        extra["sample"] = sample
    meta = TrajectoryMeta(
        user=user,
        content="",
        label=label,
        device=f"pen tablet (SVC2004 Task{task}; positions in tablet units, not mm)",
        source=str(p),
        extra=extra,
        session=session_of(sample),
    )
    if len(table) < MIN_FRAMES:
        raise RecordingFormatError(f"{p}: only {len(table)} points; at least {MIN_FRAMES} needed")
    try:
        return Trajectory(t=t_ms * 1e-3, positions=table[:, 0:2], channels=channels, meta=meta)
    except TrajectoryError as exc:
        raise RecordingFormatError(f"{p}: {exc}") from exc
