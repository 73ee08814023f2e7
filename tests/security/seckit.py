"""Shared pieces of the security suite: real recordings, altered copies, small stores."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from capture.trajectory import Trajectory

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


class Clock:
    """A settable clock for lockout timing."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def rotation(deg: float, axis: int) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    r = np.eye(3)
    r[i, i] = r[j, j] = c
    r[i, j], r[j, i] = -s, s
    return r


def issue_variants(t: Trajectory, seed: int = 0) -> dict[str, Trajectory]:
    """Issue 14's altered replays of ``t`` (3-D, mm), and combinations of them."""
    rng = np.random.default_rng(seed)
    p = t.positions
    c = p.mean(axis=0)

    def copy(pos: np.ndarray, times: np.ndarray | None = None) -> Trajectory:
        return Trajectory(t.t if times is None else times, pos)

    def noise(sigma: float) -> np.ndarray:
        return rng.normal(0.0, sigma, p.shape)

    out = {f"scale x{f}": copy(c + (p - c) * f) for f in (1.02, 1.05, 1.1, 1.3, 0.97)}
    out["x axis x1.1"] = copy(c + (p - c) * [1.1, 1.0, 1.0])
    out["z axis x1.1"] = copy(c + (p - c) * [1.0, 1.0, 1.1])
    for deg in (2, 3, 5):
        out[f"rotate {deg} deg"] = copy(c + (p - c) @ rotation(deg, 1).T)
    for sigma in (1.0, 1.2, 1.5):
        out[f"noise {sigma} mm"] = copy(p + noise(sigma))
    out["scale x1.02 + noise 0.5 mm"] = copy(c + (p - c) * 1.02 + noise(0.5))
    out["scale x1.05 + rotate 3 deg + noise 1 mm"] = copy(
        c + ((p - c) * 1.05) @ rotation(3, 0).T + noise(1.0))
    out["x axis x1.1 + rotate 5 deg + noise 1.5 mm, slower"] = copy(
        c + ((p - c) * [1.1, 1.0, 1.0]) @ rotation(5, 2).T + noise(1.5), t.t * 1.3 + 2.0)
    return out


def time_variants(t: Trajectory) -> dict[str, Trajectory]:
    """Copies that differ only in time: shifted, faster/slower, warped, resampled."""
    def resampled(rate: float) -> Trajectory:
        grid = np.arange(0.0, t.duration, 1.0 / rate)
        return Trajectory(grid, np.column_stack([np.interp(grid, t.t, t.positions[:, k])
                                                 for k in range(t.dims)]))

    return {
        "re-timed (slower, offset)": Trajectory(t.t * 1.25 + 17.0, t.positions),
        "faster x2": Trajectory(t.t * 0.5, t.positions),
        "re-timed (warped)": Trajectory(t.t + 0.05 * np.sin(t.t * 2.0), t.positions),
        "resampled at 90 Hz": resampled(90.0),
        "resampled at 200 Hz": resampled(200.0),
        "moved 3 mm": Trajectory(t.t, t.positions + np.array([3.0, -2.0, 1.0])),
    }


@cache
def leap_people(n: int = 50) -> tuple[tuple[str, tuple[Trajectory, ...]], ...]:
    """(identity, recordings) of the first ``n`` people of the Leap in-air signatures."""
    from capture.datasets import load_dataset

    ds = load_dataset(DATA / "leap_air_signatures", "leapcsv")
    return tuple((i, tuple(ds.genuine(i))) for i in ds.identities[:n])
