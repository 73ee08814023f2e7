"""Public people's recordings shipped with the package: a cohort for a store's first users.

The cohort guard (``models.calibrated``) raises an account's threshold until at most 1 % of
other people's recordings would be accepted: it is what catches a "lamb", an enrollment that
would let in many strangers. A store's first users have no other people to be checked
against, so they were not guarded at all. ``background.npz`` (next to the shipped
calibration, made by ``scripts/make_background.py`` from public research data in
``../shared/data``) holds a few samples of a few dozen people, in-air (3-D) and pen (2-D);
while a store holds fewer than ``MIN_STORE_PEOPLE`` other users of the same kind, these people
join the cohort, so every enrollment is checked against at least that many strangers.

Each recording's ``meta.extra["background"]`` says where it came from (``data set/identity``),
so an experiment on the same data sets can exclude those people (never both a test impostor
and a cohort member).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from capture.container import unpack_npz
from capture.trajectory import Trajectory, TrajectoryMeta
from core.errors import AirAuthError

BACKGROUND_FILE = Path(__file__).resolve().parent / "calibration_data" / "background.npz"
FORMAT = "airauth-background"
VERSION = 1
MIN_STORE_PEOPLE = 20
"""Below this many other enrolled people (same kind of data), the shipped people join the
cohort."""
MAX_BYTES = 4 << 20


class BackgroundError(AirAuthError, ValueError):
    """The shipped background file is missing or damaged."""


def pack(recordings: Sequence[Trajectory], provenance: dict) -> tuple[dict, dict]:
    """(header, arrays) of ``recordings`` for ``capture.container.pack_npz`` (float32 is
    plenty for millimetres and seconds, and halves the file)."""
    header = {"format": FORMAT, "version": VERSION, "provenance": provenance, "recordings": []}
    arrays: dict[str, np.ndarray] = {}
    for k, r in enumerate(recordings):
        header["recordings"].append({"meta": r.meta.to_dict(), "channels": sorted(r.channels)})
        arrays[f"r{k}_t"] = r.t.astype(np.float32)
        arrays[f"r{k}_pos"] = r.positions.astype(np.float32)
        for name, v in r.channels.items():
            arrays[f"r{k}_ch_{name}"] = np.asarray(v).astype(np.float32)
    return header, arrays


def read(path: str | Path) -> list[Trajectory]:
    """Every recording of a background file (``BackgroundError`` if it is not one)."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_BYTES:
            raise BackgroundError(f"{p} is too large to be the shipped background")
    except FileNotFoundError:
        raise BackgroundError(f"background file not found: {p}") from None
    header, arrays = unpack_npz(str(p), "AirAuth background", BackgroundError)
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise BackgroundError(f"{p} is not an AirAuth background file of version {VERSION}")
    out = []
    try:
        for k, entry in enumerate(header["recordings"]):
            t = arrays[f"r{k}_t"].astype(np.float64)
            t = t - t[0]
            channels = {c: arrays[f"r{k}_ch_{c}"].astype(np.float64) for c in entry["channels"]}
            out.append(Trajectory(t, arrays[f"r{k}_pos"].astype(np.float64), channels,
                                  TrajectoryMeta.from_dict(entry["meta"])))
    except (KeyError, TypeError, ValueError, AirAuthError) as exc:
        raise BackgroundError(f"{p} is damaged ({exc})") from None
    return out


@functools.lru_cache(maxsize=2)
def _shipped(path: str) -> tuple[Trajectory, ...]:
    return tuple(read(path))


def shipped_background(dims: int, path: str | Path = BACKGROUND_FILE) -> list[Trajectory]:
    """The shipped people's recordings of ``dims``-D data (read once per process)."""
    return [r for r in _shipped(str(path)) if r.dims == dims]


def people(recordings: Sequence[Trajectory]) -> int:
    return len({r.meta.user for r in recordings})


def with_background(others: Sequence[Trajectory], dims: int,
                    minimum: int = MIN_STORE_PEOPLE,
                    path: str | Path = BACKGROUND_FILE) -> list[Trajectory]:
    """``others`` (the store's other users' recordings), joined by the shipped people while
    they are fewer than ``minimum`` people."""
    mine = [r for r in others if r.dims == dims]
    if people(mine) >= minimum:
        return list(others)
    return list(others) + shipped_background(dims, path)
