"""The skilled-forgery ablation script stays runnable and its baseline stays the real verifier.

The README's "what did not close the gap" figures come from it, so its baseline must keep
scoring exactly like ``DTWVerifier`` and its protocol like the harness's reference draws.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scriptkit import load_script

from authapp.harness.experiment import ExperimentConfig, run_experiment

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "ablate_dtw_scores.py"


@pytest.fixture(scope="module")
def ablation():
    return load_script(SCRIPT)


@pytest.fixture(scope="module")
def svc_users(ablation, shared_data: Path):
    return ablation.load_users(shared_data / "svc2004_task1", jobs=1, window=0.15, limit=3)


def test_baseline_scores_like_the_dtw_verifier(ablation, svc_users, shared_data: Path) -> None:
    assert ablation.check_baseline(shared_data / "svc2004_task1", svc_users) < 1e-12


def test_baseline_eer_matches_the_harness(ablation, svc_users, shared_data: Path,
                                          tmp_path: Path) -> None:
    """Same draws, same scores: the per-user EERs equal ``authapp experiment``'s (run on the
    same users, linked into a folder of their own)."""
    for user in svc_users:
        for f in (shared_data / "svc2004_task1").glob(f"{user}S*.TXT"):
            (tmp_path / f.name).symlink_to(f)
    cfg = ExperimentConfig(data_dir=tmp_path, format="svc2004", seeds=(0, 1),
                           methods=("dtw",), folds=1, split="random", adaptation=False)
    per_user = run_experiment(cfg, progress=False).results.scored.per_user["dtw"]
    assert sorted(per_user) == sorted(svc_users)
    for user, data in svc_users.items():
        _, user_eer = ablation.evaluate({user: data}, ablation.baseline, range(2))
        assert user_eer == pytest.approx(100 * per_user[user].skilled, abs=1e-9)


def test_every_variant_gives_an_eer(ablation, svc_users) -> None:
    for name, scorer in ablation.scorers(svc_users).items():
        pooled, user = ablation.evaluate(svc_users, scorer, range(2))
        assert 0.0 <= pooled <= 100.0 and 0.0 <= user <= 100.0, name
    pooled, user = ablation.learned(svc_users, range(2))
    assert np.isfinite(pooled) and 0.0 <= user <= 100.0


def test_writing_facts_are_finite(ablation, svc_users) -> None:
    for u in svc_users.values():
        assert u.facts.shape == (len(u.frames), 11)
        assert np.all(np.isfinite(u.facts))
