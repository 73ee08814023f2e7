"""The fixed-size arrays the mask-and-inpaint networks see, their masks, and the way back.

Representation: a trajectory is resampled to ``length`` points uniformly in *time* (so speed
shows), centred and divided by its RMS size; the channels are the positions and their
velocities (per resampled step, divided by the background's RMS velocity), (2 * dims, length).
A mask marks one or more segments at random places (``sample_mask``).

Back to a trajectory: the regenerated positions minus the original's resampled positions is a
displacement that is zero outside the mask; it is tapered at the segment ends, interpolated onto
the sample's own timestamps and added to its positions (``fill_displacement``). So timestamps,
frame count, extra channels (pen state, pressure) and the unmasked writing stay the user's; only
the masked stretch follows the foreign, generated path (its shape and, through the time-uniform
resampling, its speed profile).

Plain numpy, apart from the generators (``models.pseudo.inpaint``) and their networks: both
inpainting generators train on these arrays and masks, and the geometry can be tested without
torch.
"""

from __future__ import annotations

import numpy as np

from capture.trajectory import Trajectory


def time_grid(traj: Trajectory, length: int) -> np.ndarray:
    """``length`` instants spread uniformly over the trajectory's duration."""
    return np.linspace(0.0, traj.duration, length)


def resample_time(traj: Trajectory, length: int) -> np.ndarray:
    """(length, dims) positions at ``time_grid`` instants (linear interpolation)."""
    grid = time_grid(traj, length)
    return np.column_stack([np.interp(grid, traj.t, traj.positions[:, j])
                            for j in range(traj.dims)])


def centre_size(pos: np.ndarray) -> tuple[np.ndarray, float]:
    """Centroid and RMS distance from it (the unit a shape is divided by)."""
    centre = pos.mean(axis=0)
    size = float(np.sqrt(np.mean(np.sum((pos - centre) ** 2, axis=1))))
    return centre, (size if size > 0 else 1.0)


def encode(traj: Trajectory, length: int, vel_scale: float = 1.0
           ) -> tuple[np.ndarray, np.ndarray, float]:
    """(channels, length) float32 array [positions; velocities], centroid, size."""
    pos = resample_time(traj, length)
    centre, size = centre_size(pos)
    p = (pos - centre) / size
    v = np.gradient(p, axis=0) / vel_scale
    return np.concatenate([p, v], axis=1).T.astype(np.float32), centre, size


def raw_velocity_rms(trajs: list[Trajectory], length: int) -> float:
    """RMS of the unscaled velocity channels over a corpus: the velocity unit."""
    v = np.concatenate([encode(t, length)[0][t.dims:].ravel() for t in trajs])
    rms = float(np.sqrt(np.mean(v**2)))
    return rms if rms > 0 else 1.0


def sample_mask(rng: np.random.Generator, length: int, frac: tuple[float, float],
                max_segments: int = 2) -> np.ndarray:
    """(length,) 0/1 mask: 1..max_segments disjoint segments covering a fraction in ``frac``
    of the length in total, at random places (never the whole sample)."""
    lo, hi = frac
    total = int(np.clip(round(rng.uniform(lo, hi) * length), 2, length - 4))
    k = int(rng.integers(1, max_segments + 1))
    k = max(1, min(k, total // 2))
    sizes = np.maximum(2, np.floor(rng.dirichlet(np.ones(k)) * total).astype(int))
    mask = np.zeros(length, dtype=np.float32)
    for s in sizes:
        for _ in range(20):  # a free place, not touching another segment
            a = int(rng.integers(0, length - s + 1))
            if not mask[max(0, a - 1):min(length, a + s + 1)].any():
                mask[a:a + s] = 1.0
                break
    if not mask.any():  # pathological draw: one segment in the middle
        a = (length - sizes[0]) // 2
        mask[a:a + sizes[0]] = 1.0
    return mask


def segments(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the runs of ones."""
    d = np.diff(np.concatenate([[0], (mask > 0).astype(int), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def taper(mask: np.ndarray) -> np.ndarray:
    """The mask with raised-cosine ramps inside each segment's ends: a filled segment joins the
    kept writing without a step even where the network's fill does not meet it exactly."""
    w = np.zeros(len(mask))
    for a, b in segments(mask):
        m = b - a
        r = max(1, m // 4)
        seg = np.ones(m)
        ramp = 0.5 * (1 - np.cos(np.pi * (np.arange(1, r + 1) / (r + 1))))
        seg[:r] = ramp
        seg[m - r:] = np.minimum(seg[m - r:], ramp[::-1])
        w[a:b] = seg
    return w


def fill_displacement(ref: Trajectory, filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(frames, dims) displacement of ``ref``'s positions that the regenerated (normalised)
    array ``filled`` asks for inside ``mask``, on ``ref``'s own timestamps."""
    length = filled.shape[1]
    pos = resample_time(ref, length)
    centre, size = centre_size(pos)
    gen = filled[:ref.dims].T.astype(np.float64) * size + centre
    delta = (gen - pos) * taper(mask)[:, None]
    grid = time_grid(ref, length)
    return np.column_stack([np.interp(ref.t, grid, delta[:, j]) for j in range(ref.dims)])
