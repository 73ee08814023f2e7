"""The one data type that flows through AirAuth: a validated fingertip trajectory.

Capture produces it, models consume it, the app stores it. Validation happens once, at
construction, so everything downstream may assume finite values, strictly increasing time
and consistent shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

import numpy as np

from core.errors import TrajectoryError

MIN_FRAMES = 8
"""Fewest frames a trajectory may have: fewer cannot carry a signature's shape."""


class Label(str, Enum):
    """What a recording is with respect to the identity it claims."""

    GENUINE = "genuine"
    IMPOSTOR = "impostor"
    SKILLED_FORGERY = "skilled_forgery"
    UNKNOWN = "unknown"


MAX_SESSION = 10_000


def _session(value: Any) -> int | None:
    """A stored session number (int, or a whole float from JSON), or a ``TrajectoryError``."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TrajectoryError(f"session must be an integer, got {value!r}")
    return value


@dataclass(frozen=True)
class TrajectoryMeta:
    """Who wrote what, with which device, from which file. JSON-able by ``to_dict``."""

    user: str = ""
    content: str = ""
    label: Label = Label.UNKNOWN
    device: str = ""
    source: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    session: int | None = None
    """Which sitting the recording was written in (1 = the first; None: not known, a
    single-session data set). Writing drifts between sittings days apart, so the harness
    enrolls from the earliest session and tests on later ones where sessions are known."""

    def __post_init__(self) -> None:
        if self.session is not None and (isinstance(self.session, bool)
                                         or not isinstance(self.session, int)
                                         or not 1 <= self.session <= MAX_SESSION):
            raise TrajectoryError(f"session must be an integer from 1 to {MAX_SESSION} or "
                                  f"absent, got {self.session!r}")

    def to_dict(self) -> dict[str, Any]:
        out = {
            "user": self.user,
            "content": self.content,
            "label": self.label.value,
            "device": self.device,
            "source": self.source,
            "extra": dict(self.extra),
        }
        if self.session is not None:  # absent, not null: older files stay byte-identical
            out["session"] = self.session
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrajectoryMeta:
        try:
            label = Label(d.get("label", Label.UNKNOWN.value))
        except ValueError as exc:
            raise TrajectoryError(f"unknown label {d.get('label')!r}") from exc
        return cls(
            user=str(d.get("user", "")),
            content=str(d.get("content", "")),
            label=label,
            device=str(d.get("device", "")),
            source=str(d.get("source", "")),
            extra=dict(d.get("extra", {}) or {}),
            session=_session(d.get("session")),
        )


@dataclass(frozen=True, eq=False)
class Trajectory:
    """Fingertip positions over time.

    ``t``: (N,) seconds, starting at 0, strictly increasing.
    ``positions``: (N, D) millimetres, D = 3 for in-air data and 2 for pen signatures.
    ``channels``: optional extra per-frame data, each (N,) or (N, k): e.g. ``palm`` (N, 3),
    ``confidence`` (N,), ``pen_down`` (N,) for pen data, ``pressure`` (N,).
    """

    t: np.ndarray
    positions: np.ndarray
    channels: Mapping[str, np.ndarray] = field(default_factory=dict)
    meta: TrajectoryMeta = field(default_factory=TrajectoryMeta)

    def __post_init__(self) -> None:
        t = np.asarray(self.t, dtype=np.float64)
        pos = np.asarray(self.positions, dtype=np.float64)
        if t.ndim != 1:
            raise TrajectoryError(f"time must be one-dimensional, got shape {t.shape}")
        if pos.ndim != 2 or pos.shape[1] not in (2, 3):
            raise TrajectoryError(f"positions must be N x 2 or N x 3, got shape {pos.shape}")
        if pos.shape[0] != t.shape[0]:
            raise TrajectoryError(
                f"{t.shape[0]} timestamps but {pos.shape[0]} positions: lengths must match"
            )
        if t.shape[0] < MIN_FRAMES:
            raise TrajectoryError(
                f"trajectory too short: {t.shape[0]} frames, at least {MIN_FRAMES} needed"
            )
        if not np.all(np.isfinite(t)) or not np.all(np.isfinite(pos)):
            raise TrajectoryError("trajectory contains NaN or infinite values")
        if np.any(np.diff(t) <= 0):
            raise TrajectoryError("timestamps must be strictly increasing")
        t = t - t[0]
        channels: dict[str, np.ndarray] = {}
        for name, values in dict(self.channels).items():
            arr = np.asarray(values, dtype=np.float64)
            if arr.ndim not in (1, 2) or arr.shape[0] != t.shape[0]:
                raise TrajectoryError(
                    f"channel {name!r} has shape {arr.shape}, expected ({t.shape[0]},) or "
                    f"({t.shape[0]}, k)"
                )
            if not np.all(np.isfinite(arr)):
                raise TrajectoryError(f"channel {name!r} contains NaN or infinite values")
            arr.setflags(write=False)
            channels[str(name)] = arr
        t.setflags(write=False)
        pos.setflags(write=False)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "positions", pos)
        object.__setattr__(self, "channels", channels)
        if not isinstance(self.meta, TrajectoryMeta):
            raise TrajectoryError("meta must be a TrajectoryMeta")

    # -- derived facts -------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def dims(self) -> int:
        """Spatial dimensionality: 3 for in-air, 2 for pen data."""
        return int(self.positions.shape[1])

    @property
    def duration(self) -> float:
        return float(self.t[-1])

    @property
    def sampling_rate(self) -> float:
        """Median frame rate in Hz (robust to dropped frames)."""
        return float(1.0 / np.median(np.diff(self.t)))

    def bounding_box(self) -> tuple[np.ndarray, np.ndarray]:
        return self.positions.min(axis=0), self.positions.max(axis=0)

    def with_meta(self, **changes: Any) -> Trajectory:
        """A copy with some metadata fields replaced."""
        return replace(self, meta=replace(self.meta, **changes))

    def slice(self, start: int, stop: int) -> Trajectory:
        """Frames [start, stop) as a new trajectory (time restarts at 0)."""
        return Trajectory(
            t=self.t[start:stop],
            positions=self.positions[start:stop],
            channels={k: v[start:stop] for k, v in self.channels.items()},
            meta=self.meta,
        )


# -- frames lost by the tracker ---------------------------------------------------------------
MAX_GAP_FRAMES = 12
"""Longest run of frames without a position that is bridged (about 0.1 s at the Leap's
~120 Hz): the resampler draws a straight line across it, and within 0.1 s a writing finger
barely changes direction; across a longer gap that line would be invented writing."""
MAX_MISSING_FRACTION = 0.5
"""A recording that lost tracking in more than half of its frames is mostly missing."""


@dataclass(frozen=True)
class TrackingGaps:
    """Frames without a position in a recording: ``bridged`` interior gaps (each at most
    ``MAX_GAP_FRAMES``) holding ``bridged_frames`` frames, ``longest`` of them; ``edge_frames``
    missing at the start/end (the hand entering or leaving) are simply not part of it."""

    bridged: int
    bridged_frames: int
    longest: int
    edge_frames: int

    def as_extra(self) -> dict[str, int]:
        """The facts ``meta.extra`` keeps so that ``authapp info`` can say what was done
        (nothing for a recording without interior gaps)."""
        if not self.bridged:
            return {}
        return {"gaps_interpolated": self.bridged, "gap_frames_interpolated": self.bridged_frames,
                "longest_gap_frames": self.longest}


def tracking_gaps(usable: np.ndarray, max_gap: int = MAX_GAP_FRAMES,
                  max_missing: float = MAX_MISSING_FRACTION) -> TrackingGaps:
    """Check the runs of unusable frames (``usable`` is a per-frame bool mask).

    Short interior gaps are bridged by interpolation; a longer one, or a recording that is
    mostly missing, raises ``TrajectoryError`` saying where and how much was lost.
    """
    ok = np.asarray(usable, dtype=bool)
    n = ok.size
    missing = int(n - np.count_nonzero(ok))
    if n and missing > max_missing * n:
        raise TrajectoryError(f"tracking was lost in {missing} of {n} frames (at most "
                              f"{max_missing:.0%} may be missing)")
    if missing == 0 or not ok.any():
        return TrackingGaps(0, 0, 0, missing)
    first, last = int(np.argmax(ok)), n - 1 - int(np.argmax(ok[::-1]))
    inner = ~ok[first:last + 1]
    edges = np.diff(np.concatenate([[0], inner.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = stops - starts
    if lengths.size and lengths.max() > max_gap:
        k = int(np.argmax(lengths))
        raise TrajectoryError(
            f"tracking was lost for {lengths[k]} frames in the middle of the recording "
            f"(frames {first + starts[k] + 1}-{first + stops[k]}); gaps of at most {max_gap} "
            "frames are interpolated")
    return TrackingGaps(int(lengths.size), int(lengths.sum()),
                        int(lengths.max()) if lengths.size else 0,
                        missing - int(lengths.sum()))
