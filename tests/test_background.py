"""The shipped background people: a small file, a cohort for a young store's users, a note
for lamb enrollments, and left out of experiments on their own data sets."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from authapp.harness.protocol import ExperimentConfig, plan_experiment, shipped_people
from authapp.harness.run_description import describe
from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore
from capture.trajectory import Trajectory, TrajectoryMeta
from models.background import (
    BACKGROUND_FILE,
    MIN_STORE_PEOPLE,
    BackgroundError,
    people,
    read,
    shipped_background,
    with_background,
)
from models.enrollment import lamb_notes


def test_shipped_file_is_small_and_holds_enough_people() -> None:
    assert BACKGROUND_FILE.stat().st_size < 2_000_000
    air, pen = shipped_background(3), shipped_background(2)
    assert people(air) >= MIN_STORE_PEOPLE and len(air) >= 3 * MIN_STORE_PEOPLE
    assert people(pen) >= 4 and len(pen) >= 20  # enough for the cohort feature
    for r in air + pen:
        assert r.meta.user.startswith("background:") and "/" in r.meta.extra["background"]
        assert np.all(np.diff(r.t) > 0) and r.t[0] == 0.0


def test_a_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bg.npz"
    bad.write_bytes(BACKGROUND_FILE.read_bytes()[:5000])
    with pytest.raises(BackgroundError):
        read(bad)
    with pytest.raises(BackgroundError, match="not found"):
        read(tmp_path / "missing.npz")


def _rec(user: str) -> Trajectory:
    t = np.linspace(0, 1, 30)
    return Trajectory(t, np.column_stack([t, t ** 2, t]), meta=TrajectoryMeta(user=user))


def test_background_joins_only_while_the_store_is_young() -> None:
    few = [_rec(f"u{k}") for k in range(3)]
    assert len(with_background(few, 3)) == 3 + len(shipped_background(3))
    many = [_rec(f"u{k}") for k in range(MIN_STORE_PEOPLE)]
    assert with_background(many, 3) == many


def test_a_store_s_first_user_is_guarded_by_the_shipped_people(shared_data: Path,
                                                               tmp_path: Path) -> None:
    from capture.datasets import load_dataset

    data = load_dataset(shared_data / "leap_air_signatures", "leapcsv")
    shipped = shipped_people("leap_air_signatures")
    user = next(i for i in sorted(data.identities) if i not in shipped)
    with EnrollmentStore(tmp_path / "store") as store:
        svc = AuthService(store, Settings(verifier="dtw"))
        svc.enroll("first", data.genuine(user)[:5])
        info, verifier = store.load_verifier("first")
        assert info.metadata["cohort_recordings"] == len(shipped_background(3))
        assert verifier.cohort_people_ == people(shipped_background(3))
        assert verifier.calibration_.cohort  # the calibration made for a cohort


def test_lamb_note_says_why_the_threshold_was_raised() -> None:
    cal = SimpleNamespace(transform=lambda raw, cohort: raw[:, 0])
    cohort = np.array([[3.0], [2.5], [0.0], [-4.0]])
    lamb = SimpleNamespace(guard_threshold_=2.8, level_threshold_=1.0, cohort_raw_=cohort,
                           calibration_=cal, cohort_people_=4)
    (note,) = lamb_notes(lamb)
    assert "would accept 2 of 4 recordings of 4 other people" in note
    assert "enroll again" in note
    fine = SimpleNamespace(guard_threshold_=-np.inf, level_threshold_=1.0,
                           cohort_raw_=cohort, calibration_=cal, cohort_people_=4)
    assert lamb_notes(fine) == []


@pytest.mark.parametrize("mode", ["on", "left-out"])
def test_experiments_leave_the_shipped_people_of_their_data_set_out(shared_data: Path,
                                                                    mode: str) -> None:
    shipped = shipped_people("leap_air_signatures")
    assert len(shipped) == people(shipped_background(3))
    cfg = ExperimentConfig(data_dir=shared_data / "leap_air_signatures", format="leapcsv",
                           methods=("dtw",), shipped_background=mode)
    plan = plan_experiment(cfg)
    assert not shipped & set(plan.fold_of) and len(plan.fold_of) == 50 - len(shipped)
    for job in plan.jobs:
        assert not shipped & (set(job.impostor_ids) | set(job.background_ids))
    assert set(describe(plan).protocol.fold_of) == set(plan.fold_of)
    off = plan_experiment(ExperimentConfig(data_dir=shared_data / "leap_air_signatures",
                                           format="leapcsv", methods=("dtw",)))
    assert shipped <= set(off.fold_of)
