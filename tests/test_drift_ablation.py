"""The drift ablation script stays runnable and its variants stay honest comparisons.

README's "A drift model in the DTW member" table comes from it: its baseline must be the
real DTW member on the harness's session draw, and its own re-implementation of the
verifier's score (used by the affine and extra-channel variants) must equal
``DTWVerifier``'s when the variant changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scriptkit import load_script

from capture.datasets import load_dataset
from models.dtw_verifier import DTWVerifier

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "drift_ablation.py"


@pytest.fixture(scope="module")
def ablation():
    return load_script(SCRIPT)


@pytest.fixture(scope="module")
def task2_user(shared_data: Path):
    ds = load_dataset(shared_data / "svc2004_task2", "svc2004")
    user = ds.identities[0]
    return user, ds.genuine(user), ds.forgeries(user)


def test_session_draw_splits_sittings_like_the_harness(ablation, task2_user) -> None:
    user, genuine, forgeries = task2_user
    out = ablation.one_user(user, genuine, forgeries, {"baseline": ablation.plain({})}, 1)
    scores = out["baseline"]
    assert (len(scores["same"]), len(scores["later"]), len(scores["forgery"])) == (5, 10, 20)
    refs, tests, _ = ablation.draw_trial(ablation._PROTOCOL, user, 0, genuine, [])
    expected = DTWVerifier().fit(refs).score_samples(tests)
    np.testing.assert_allclose(scores["same"] + scores["later"], expected, rtol=0, atol=1e-12)


def test_unchanged_variants_score_like_the_verifier(ablation, task2_user) -> None:
    """A zero-strength affine map and channels the data do not have are the baseline."""
    _, genuine, forgeries = task2_user
    refs, tests = genuine[:5], genuine[5:8] + forgeries[:3]
    expected = DTWVerifier().fit(refs).score_samples(tests)
    np.testing.assert_allclose(ablation.affine(0.0)(refs, tests), expected, atol=1e-9)
    np.testing.assert_allclose(ablation.extra_channels(["no such channel"], 1.0)(refs, tests),
                               expected, atol=1e-12)


def test_changing_variants_change_the_scores(ablation, task2_user) -> None:
    _, genuine, forgeries = task2_user
    refs, tests = genuine[:5], genuine[10:13] + forgeries[:3]
    base = DTWVerifier().fit(refs).score_samples(tests)
    for scorer in (ablation.affine(1.0), ablation.extra_channels(["pressure"], 1.0)):
        s = scorer(refs, tests)
        assert s.shape == base.shape and np.all(np.isfinite(s))
        assert not np.allclose(s, base)


def test_frr_at_far(ablation) -> None:
    forged = np.arange(100, dtype=float)  # the threshold accepting 10 % of them is 89.1
    genuine = np.array([50.0, 95.0, 99.0, 120.0])
    assert ablation.frr_at_far(genuine, forged, 0.10) == 0.25
