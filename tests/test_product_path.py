"""The product decides exactly as the harness says: enroll through the CLI, compare decisions.

The harness (default settings, fold protocol) learns fold 0's calibration on fold 1 and gives
every fold-0 account the other fold's people as its cohort. Here the same people enter a real
store the way a deployment would see them: fold 1's people are enrolled users (their first K
samples, the harness's cohort), the store is told to use fold 0's calibration, and fold-0
users enroll through ``authapp enroll`` with the references the harness drew. Their stored
models must give every attempt the harness scored the same decision, so the operating-point
figures the harness reports are the product's own.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from authapp.cli import main
from authapp.harness.experiment import ExperimentConfig, run_experiment
from authapp.harness.operating_point import account_rates
from authapp.store import EnrollmentStore
from capture.formats import load_recording
from models.score_calibration import CalibrationSet, ScoreCalibration

K = 5
CHECKED_USERS = 3


@pytest.fixture(scope="module")
def harness(shared_data):
    # every attempt against the enrollment model (no adaptive replay), so that each harness
    # decision can be compared with the product model's on the same recording
    cfg = ExperimentConfig(data_dir=shared_data / "svc2004_task1", format="svc2004",
                           references=K, seeds=(0,), methods=("fusion",), jobs=2,
                           adaptation=False)
    return run_experiment(cfg, progress=False)


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_cli_enrollment_decides_like_the_harness(harness, shared_data, tmp_path, capsys):
    data = shared_data / "svc2004_task1"
    res = harness.results
    fold_of = res.protocol.fold_of
    cal = res.calibration.variants["fusion"][0]
    assert "other fold" in cal["source"]
    cal_file = tmp_path / "fold0_calibration.json"
    CalibrationSet((ScoreCalibration.from_dict({k: v for k, v in cal.items()
                                                if k != "source"}),)).save(cal_file)

    base = tmp_path / "base"
    files = {i: sorted(data.glob(f"{i}S*.TXT"), key=lambda p: int(p.stem.split("S")[1]))
             for i in fold_of}
    for ident, fold in sorted(fold_of.items()):
        if fold == 1:  # the harness's cohort: the other fold's first K samples
            code, out = _cli(capsys, "enroll", ident.lower(), *map(str, files[ident][:K]),
                             "--store", str(base))
            assert code == 0, out
    with EnrollmentStore(base) as store:  # fold 0's users are calibrated as the harness did
        store.set_setting("calibration", str(cal_file))
        store.set_setting("shipped_background", False)  # the harness ran without it
        store.set_setting("adaptation", False)  # and without adaptation (see the fixture)

    checked = [i for i in sorted(fold_of, key=lambda i: int(i[1:])) if fold_of[i] == 0][:CHECKED_USERS]
    for ident in checked:
        trial = harness.trials[ident][0]
        store_dir = tmp_path / f"user{ident}"
        shutil.copytree(base, store_dir)
        refs = [str(data / f) for f in trial.reference_files]
        code, out = _cli(capsys, "enroll", ident.lower(), *refs, "--store", str(store_dir))
        assert code == 0, out
        with EnrollmentStore(store_dir) as store:
            info, verifier = store.load_verifier(ident.lower())
            assert info.metadata["calibration"]["cohort_feature"] is True
            attempts = [load_recording(data / f, "svc2004") for f in trial.attempt_files]
            product = verifier.decision_function(attempts)
        np.testing.assert_allclose(product, trial.decisions, rtol=0, atol=1e-9)
        assert verifier.threshold_ == pytest.approx(trial.threshold, abs=1e-12)
        # the same account's error rates, then a real login of one genuine and one forgery
        mine = account_rates([(ident, trial)])[0]
        assert mine["frr"] == pytest.approx(np.mean(product[trial.types == "genuine"] < 0))
        for kind in ("genuine", "skilled"):
            k = int(np.flatnonzero(trial.types == kind)[0])
            code, out = _cli(capsys, "login", ident.lower(), str(data / trial.attempt_files[k]),
                             "--store", str(store_dir))
            assert code == (0 if trial.decisions[k] >= 0 else 1), out


def test_harness_reports_the_operating_point_it_measured(harness):
    op = harness.results.scored.operating_point["fusion"]
    pairs = [(i, t) for i, ts in harness.trials.items() for t in ts]
    later = np.concatenate([t.decisions[(t.types == "genuine")
                                        & (np.asarray(t.sessions) == "later")] for _, t in pairs])
    dec = np.concatenate([t.decisions[t.types == "genuine"] for _, t in pairs])
    assert op.frr == pytest.approx(np.mean(later < 0))  # the returning user's FRR
    assert op.n_genuine == later.size and op.frr_all == pytest.approx(np.mean(dec < 0))
    assert 0.0 <= op.accounts_far_over_5pct <= 1.0
    assert len(op.worst_far_skilled) == 5
    assert set(op.levels) == {"low", "normal", "high"}
    assert op.levels["high"].frr >= op.levels["low"].frr
    ident = harness.results.scored.identification["fusion"]
    assert ident is not None and ident.never_enrolled_probes > 0
