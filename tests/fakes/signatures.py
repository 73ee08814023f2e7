"""Synthetic "signatures" for verifier tests: each writer has a base curve, each sample a variation.

A writer's base curve is a sum of a few random sinusoids per axis; a sample of it adds a smooth
time warp, a small amplitude change, a spatial offset and jitter, so samples of one writer
resemble each other far more than samples of two writers -- the property every verifier must
detect -- while being quick to make.
"""

from __future__ import annotations

import numpy as np

from capture.trajectory import Label, Trajectory, TrajectoryMeta


def base_curve(writer: int, dims: int = 3, n_terms: int = 4) -> np.ndarray:
    """(n_terms, dims, 3) frequency, amplitude and phase of a writer's curve."""
    rng = np.random.default_rng(1000 + writer)
    freq = rng.uniform(0.5, 3.0, size=(n_terms, dims))
    amp = rng.uniform(10.0, 40.0, size=(n_terms, dims))
    phase = rng.uniform(0, 2 * np.pi, size=(n_terms, dims))
    return np.stack([freq, amp, phase], axis=-1)


def sample(writer: int, k: int, dims: int = 3, n: int = 200, duration: float = 2.0,
           variation: float = 1.0, pseudo: str | None = None) -> Trajectory:
    """Sample ``k`` of ``writer``: a varied copy of the writer's base curve."""
    rng = np.random.default_rng([writer, k, dims, int(variation * 1000)])
    params = base_curve(writer, dims)
    t = np.linspace(0.0, duration * rng.uniform(0.9, 1.1), n)
    u = np.linspace(0.0, 1.0, n)
    warp = u + variation * 0.03 * np.sin(np.pi * u * rng.uniform(1, 3)) * rng.normal()
    pos = np.zeros((n, dims))
    for d in range(dims):
        for term in range(params.shape[0]):
            f, a, p = params[term, d]
            pos[:, d] += a * (1 + variation * 0.05 * rng.normal()) * np.sin(
                2 * np.pi * f * warp * 2.0 + p)
    pos += rng.normal(0, 20, size=dims) + rng.normal(0, 0.3 * variation, size=pos.shape)
    extra = {"pseudo": pseudo, "generator": "test"} if pseudo else {}
    meta = TrajectoryMeta(user=f"w{writer}", content="name", label=Label.GENUINE,
                          device="synthetic", source=f"w{writer}_{k}", extra=extra)
    return Trajectory(t=t, positions=pos, meta=meta)


def samples(writer: int, count: int, dims: int = 3, start: int = 0, **kw) -> list[Trajectory]:
    return [sample(writer, start + k, dims, **kw) for k in range(count)]
