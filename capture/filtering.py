"""Zero-phase Butterworth low-pass filtering without importing ``scipy.signal``.

Why not scipy: importing ``scipy.signal`` pulls in ``scipy.stats`` and costs 0.3-3 s, which
every ``authapp login`` paid before it looked at a single frame (issue 24). The filter
itself is small: the Butterworth design (analog prototype, pre-warped bilinear transform,
second-order sections) and ``sosfiltfilt`` (odd extension, steady-state initial conditions,
forward and backward pass in transposed direct form II), written here as scipy writes them.
``tests/test_filtering.py`` checks both against scipy to 1e-10.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=64)
def _butter_cached(order: int, cutoff: float, fs: float) -> np.ndarray:
    wn = 2.0 * cutoff / fs  # normalised to Nyquist, as scipy's ``butter(..., fs=fs)``
    if not 0.0 < wn < 1.0:
        raise ValueError(f"cutoff {cutoff} must lie between 0 and fs/2 = {fs / 2}")
    # analog prototype poles on the unit circle (scipy.signal.buttap)
    m = np.arange(-order + 1, order, 2)
    poles = -np.exp(1j * np.pi * m / (2 * order))
    warped = 4.0 * np.tan(np.pi * wn / 2.0)  # pre-warp for the bilinear transform, fs = 2
    poles = poles * warped
    gain = warped ** order
    fs2 = 4.0  # 2 * fs of the normalised bilinear transform
    zpoles = (fs2 + poles) / (fs2 - poles)
    gain = gain * np.real(1.0 / np.prod(fs2 - poles))
    # sections: conjugate pole pairs (and one real pole for odd orders), all zeros at -1
    upper = sorted((p for p in zpoles if p.imag > 1e-14), key=lambda p: -abs(p))
    real = [p.real for p in zpoles if abs(p.imag) <= 1e-14]
    sections = [[1.0, 2.0, 1.0, 1.0, -2.0 * p.real, abs(p) ** 2] for p in upper]
    sections += [[1.0, 1.0, 0.0, 1.0, -r, 0.0] for r in real]
    sos = np.array(sections[::-1], dtype=np.float64)  # the pair nearest the circle last
    sos[0, :3] *= gain
    sos.setflags(write=False)
    return sos


def butter_lowpass(order: int, cutoff: float, fs: float) -> np.ndarray:
    """Second-order sections (n, 6) of an ``order``-th order digital Butterworth low-pass at
    ``cutoff`` (same unit as the sampling rate ``fs``): ``scipy.signal.butter(order, cutoff,
    fs=fs, output="sos")``. Read-only (designs are cached)."""
    return _butter_cached(int(order), float(cutoff), float(fs))


def _sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Initial states (n, 2) for a unit step's steady state (``scipy.signal.sosfilt_zi``);
    solved once per design (a login filters hundreds of paths with a few designs)."""
    sos = np.asarray(sos, dtype=np.float64)
    return _sosfilt_zi_cached(sos.tobytes(), sos.shape[0])


@functools.lru_cache(maxsize=64)
def _sosfilt_zi_cached(sos_bytes: bytes, n: int) -> np.ndarray:
    sos = np.frombuffer(sos_bytes, dtype=np.float64).reshape(n, 6)
    zi = np.empty((sos.shape[0], 2))
    scale = 1.0
    for s, (b0, b1, b2, _, a1, a2) in enumerate(sos):
        # lfilter_zi of one section: solve (I - A^T) z = b[1:] - a[1:] b0 (A: companion of a)
        lhs = np.array([[1.0 + a1, -1.0], [a2, 1.0]])
        zi[s] = scale * np.linalg.solve(lhs, np.array([b1 - a1 * b0, b2 - a2 * b0]))
        scale *= (b0 + b1 + b2) / (1.0 + a1 + a2)
    zi.setflags(write=False)
    return zi


def _sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """Filter the rows of ``x`` (n, k) through the sections, per column, from states ``zi``
    (sections, 2, k); transposed direct form II, the arithmetic of scipy's ``sosfilt``."""
    y = np.array(x, dtype=np.float64, copy=True)
    z = np.array(zi, dtype=np.float64, copy=True)
    for s in range(sos.shape[0]):
        b0, b1, b2, _, a1, a2 = (float(v) for v in sos[s])
        y = _section(y, z[s, 0], z[s, 1], b0, b1, b2, a1, a2)
    return y


def _section(x: np.ndarray, z0: np.ndarray, z1: np.ndarray, b0: float, b1: float, b2: float,
             a1: float, a2: float) -> np.ndarray:
    """One second-order section over the rows of ``x``: the recursion needs a loop, which
    numba compiles (cached on disk, like ``models.dtw``); numba is imported on first use."""
    from capture._filter_kernel import section

    return section(np.ascontiguousarray(x), np.array(z0), np.array(z1), b0, b1, b2, a1, a2)


def sosfiltfilt(sos: np.ndarray, x: np.ndarray, padlen: int) -> np.ndarray:
    """Zero-phase filtering of ``x`` (n, k) along its rows: ``scipy.signal.sosfiltfilt(sos,
    x, axis=0, padtype="odd", padlen=padlen)``."""
    x = np.asarray(x, dtype=np.float64)
    one_d = x.ndim == 1
    if one_d:
        x = x[:, None]
    n = x.shape[0]
    if padlen >= n:
        raise ValueError(f"padlen {padlen} must be smaller than the signal's length {n}")
    if padlen > 0:
        ext = np.concatenate([2 * x[0] - x[padlen:0:-1], x,
                              2 * x[-1] - x[-2:-(padlen + 2):-1]], axis=0)
    else:
        ext = x
    zi = _sosfilt_zi(sos)[:, :, None]  # (sections, 2, 1)
    y = _sosfilt(sos, ext, zi * ext[0][None, None, :])
    y = _sosfilt(sos, y[::-1], zi * y[-1][None, None, :])[::-1]
    if padlen > 0:
        y = y[padlen:-padlen]
    y = np.ascontiguousarray(y)
    return y[:, 0] if one_d else y


def lowpass_filtfilt(x: np.ndarray, cutoff: float, fs: float, order: int = 4,
                     padlen: int | None = None) -> np.ndarray:
    """``sosfiltfilt(butter_lowpass(order, cutoff, fs), x, padlen)`` with scipy's default
    ``padlen`` unless given: 3 x the taps, 2 per section + 1, less the first-order ones."""
    sos = butter_lowpass(order, cutoff, fs)
    if padlen is None:
        first_order = min(int(np.sum(sos[:, 2] == 0)), int(np.sum(sos[:, 5] == 0)))
        padlen = 3 * (2 * len(sos) + 1 - first_order)
    return sosfiltfilt(sos, x, padlen)
