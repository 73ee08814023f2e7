"""``capture.filtering`` against scipy.signal (which it replaces on the login path)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

from capture.filtering import butter_lowpass, lowpass_filtfilt, sosfiltfilt


@pytest.mark.parametrize("order,cutoff,fs", [(4, 8.0, 100.0), (4, 5.0, 512.0), (3, 10.0, 120.0),
                                             (2, 0.3, 4.0), (5, 40.0, 100.0),
                                             (4, 0.45 * 512, 512.0), (1, 3.0, 50.0)])
def test_matches_scipy(order: int, cutoff: float, fs: float) -> None:
    ours, theirs = butter_lowpass(order, cutoff, fs), ss.butter(order, cutoff, fs=fs,
                                                                 output="sos")
    assert ours.shape == theirs.shape
    x = np.cumsum(np.random.default_rng(order).normal(size=(300, 3)), axis=0)
    for pad in (0, 1, 5, 15, 27):
        want = ss.sosfiltfilt(theirs, x, axis=0, padlen=pad)
        got = sosfiltfilt(ours, x, pad)
        assert np.max(np.abs(got - want)) <= 1e-10 * np.max(np.abs(want))
    got1 = sosfiltfilt(ours, x[:, 0], 15)
    assert np.allclose(got1, ss.sosfiltfilt(theirs, x[:, 0], padlen=15), rtol=0, atol=1e-9)
    assert np.allclose(lowpass_filtfilt(x, cutoff, fs, order),
                       ss.sosfiltfilt(theirs, x, axis=0), rtol=0, atol=1e-9)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        butter_lowpass(4, 60.0, 100.0)
    with pytest.raises(ValueError):
        sosfiltfilt(butter_lowpass(4, 5.0, 100.0), np.zeros((10, 2)), 10)
