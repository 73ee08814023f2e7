"""Importer of the Leap CSV files of ``leap_air_signatures`` (Ultraleap Python binding).

The files hold no timestamps, only the tracking service's ``frame_id``. Time is rebuilt from
the recorded fingertip velocities instead: the recording script stored
``index_velocity = (position - previous position) / elapsed time``, so for every row whose
three axes agree, ``elapsed = displacement / velocity`` recovers the true interval. Measured
over all 513 shared files these intervals are 8.375 ms (median; 1st-99th percentile
8.36-8.40 ms) whether ``frame_id`` stepped by 1, 2 or 3, so ``frame_id`` is not a clock:
scaling it would halve the time of every 1-step row (~15 % of rows). Rows where the
velocity does not explain the displacement (after a dropped frame or a tracking gap) get
``max(row period, frame-id step x period per frame id)``, both estimated per file as robust
medians, or the nominal values below when a file has too few usable rows.
"""

from __future__ import annotations

import os

import numpy as np

from capture.formats._text import parse_table, read_lines, require_file
from capture.trajectory import MIN_FRAMES, Label, Trajectory, TrajectoryMeta, tracking_gaps
from core.errors import RecordingFormatError, TrajectoryError

DEVICE = "leap-motion (Ultraleap)"
HEADER_START = "frame_id"
INDEX_COLS = ("index_x_coor", "index_y_coor", "index_z_coor")
PALM_COLS = ("palm_x_coor", "palm_y_coor", "palm_z_coor")
VELOCITY_COLS = ("index_x_velocity", "index_y_velocity", "index_z_velocity")
CONFIDENCE_COL = "confidence"

NOMINAL_ROW_PERIOD = 1.0 / 119.4
"""Seconds between rows when a file cannot tell: the 8.375 ms measured on the shared data."""
NOMINAL_ID_PERIOD = NOMINAL_ROW_PERIOD / 2
"""Seconds per frame-id step when a file cannot tell (ids usually step by 2 per row)."""
PLAUSIBLE_ROW_PERIOD = (1.0 / 400, 1.0 / 20)
"""Row periods outside this range (Leap trackers run at ~30-240 Hz) are rejected as estimates."""
MIN_ESTIMATE_ROWS = 10
AXIS_AGREEMENT = 1e-3
"""Relative spread of the per-axis intervals below which a row's velocity explains its motion."""
MIN_AXIS_SPEED = 1e-3
"""mm/s; slower axes carry no timing information (division by ~0)."""


def looks_like_leapcsv(first_line: str) -> bool:
    names = [c.strip() for c in first_line.split(",")]
    return bool(names) and names[0] == HEADER_START and all(c in names for c in INDEX_COLS)


def row_intervals(disp: np.ndarray, vel: np.ndarray) -> np.ndarray:
    """Elapsed time of each row implied by displacement / velocity; NaN where axes disagree."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_axis = np.where(np.abs(vel) > MIN_AXIS_SPEED, disp / vel, np.nan)
    finite = np.isfinite(per_axis)
    hi = np.where(finite, per_axis, -np.inf).max(axis=1)
    lo = np.where(finite, per_axis, np.inf).min(axis=1)
    with np.errstate(invalid="ignore"):
        mid = 0.5 * (hi + lo)
        ok = (finite.sum(axis=1) >= 2) & (mid > 0) & ((hi - lo) < AXIS_AGREEMENT * mid)
    return np.where(ok, mid, np.nan)


def estimate_periods(dt: np.ndarray, id_steps: np.ndarray) -> tuple[float, float, str]:
    """(row period, period per frame id, "velocity" | "nominal") from the measured intervals."""
    good = np.isfinite(dt)
    if np.count_nonzero(good) >= MIN_ESTIMATE_ROWS:
        row = float(np.median(dt[good]))
        per_id = float(np.median(dt[good] / id_steps[good]))
        lo, hi = PLAUSIBLE_ROW_PERIOD
        if lo <= row <= hi and per_id > 0:
            return row, per_id, "velocity"
    return NOMINAL_ROW_PERIOD, NOMINAL_ID_PERIOD, "nominal"


def read_leapcsv(path: str | os.PathLike[str]) -> Trajectory:
    """Load one Leap CSV recording as a 3-D index-fingertip trajectory (device axes, mm)."""
    p = require_file(path)
    lines = read_lines(p)
    names = [c.strip() for c in lines[0].split(",")]
    if not names or names[0] != HEADER_START:
        raise RecordingFormatError(f"{p}: not a Leap CSV file (header must start with frame_id)")
    missing = [c for c in INDEX_COLS + PALM_COLS if c not in names]
    if missing:
        raise RecordingFormatError(f"{p}: Leap CSV header lacks columns {missing}")
    if len(lines) < 2 or not any(line.strip() for line in lines[1:]):
        raise RecordingFormatError(f"{p}: Leap CSV file has a header but no frames")
    table = parse_table(lines[1:], p, delimiter=",", first_line_no=2)
    if table.shape[1] != len(names):
        raise RecordingFormatError(
            f"{p}: rows have {table.shape[1]} values but the header names {len(names)} columns"
        )
    col = {n: i for i, n in enumerate(names)}
    fid = table[:, col[HEADER_START]]
    pos = table[:, [col[c] for c in INDEX_COLS]]
    palm = table[:, [col[c] for c in PALM_COLS]]
    has_conf = CONFIDENCE_COL in col
    has_vel = all(c in col for c in VELOCITY_COLS)
    conf = table[:, col[CONFIDENCE_COL]] if has_conf else None

    if (not np.all(np.isfinite(fid)) or np.any(fid != np.rint(fid))
            or np.any(np.abs(fid) > 2.0**53)):
        raise RecordingFormatError(f"{p}: frame_id must be whole numbers")
    # rows with lost tracking (NaN position) cannot be used
    usable = np.all(np.isfinite(pos), axis=1) & np.all(np.isfinite(palm), axis=1)
    if conf is not None:
        usable &= np.isfinite(conf)
    n_nonfinite = int(np.count_nonzero(~usable))
    idx = np.flatnonzero(usable)
    # a frame id that does not advance past every earlier one is a repeat or out of order
    if idx.size:
        running_max = np.maximum.accumulate(fid[idx])
        advancing = np.concatenate([[True], fid[idx][1:] > running_max[:-1]])
    else:
        advancing = np.zeros(0, dtype=bool)
    n_stale = int(np.count_nonzero(~advancing))
    idx = idx[advancing]
    if idx.size < MIN_FRAMES:
        raise RecordingFormatError(
            f"{p}: only {idx.size} usable frames ({n_nonfinite} without a position, {n_stale} "
            f"with a repeated or out-of-order frame_id); at least {MIN_FRAMES} needed"
        )
    try:
        gaps = tracking_gaps(usable)
    except TrajectoryError as exc:
        raise RecordingFormatError(f"{p}: {exc}") from exc
    fid, pos, palm = fid[idx], pos[idx], palm[idx]
    steps = np.diff(fid)
    if has_vel:
        vel = table[idx][:, [col[c] for c in VELOCITY_COLS]]
        dt = row_intervals(np.diff(pos, axis=0), vel[1:])
        dropped_before = np.diff(idx) > 1  # the velocity then refers to a row we dropped
        dt[dropped_before] = np.nan
    else:
        dt = np.full(steps.shape, np.nan)
    row_period, id_period, source = estimate_periods(dt, steps)
    lo, hi = 0.2 * row_period, 5.0 * row_period
    measured = np.isfinite(dt) & (dt >= lo) & (dt <= hi)
    fallback = np.maximum(row_period, steps * id_period)
    t = np.concatenate([[0.0], np.cumsum(np.where(measured, dt, fallback))])

    folder = p.parent.name
    try:
        sample = int(p.stem)
    except ValueError:
        sample = None
    extra: dict = {
        "format": "leapcsv",
        "frame_id_start": int(fid[0]),
        "time_from": source,
        "row_period_s": row_period,
        "frame_id_period_s": id_period,
        "rows_timed_by_velocity": int(np.count_nonzero(measured)),
        "dropped_nonfinite": n_nonfinite,
        "dropped_nonincreasing": n_stale,
        **gaps.as_extra(),
        "axes": "leap device (x right, y up, z toward user)",
    }
    if sample is not None:
        extra["sample"] = sample
    channels = {"palm": palm}
    if conf is not None:
        channels["confidence"] = conf[idx]
    meta = TrajectoryMeta(
        user=folder, content="", label=Label.GENUINE, device=DEVICE, source=str(p), extra=extra
    )
    try:
        return Trajectory(t=t, positions=pos, channels=channels, meta=meta)
    except TrajectoryError as exc:
        raise RecordingFormatError(f"{p}: {exc}") from exc
