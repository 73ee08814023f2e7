"""Sessions (sittings) as recording metadata, and the protocol that enrolls from the first.

SVC2004's genuine signatures were written in two sittings about a week apart (S1-S10, then
S11-S20): the importer says so, the native format keeps it, and the harness enrolls from the
earliest session and reports same-session and later-session FRR apart, the later one being
THE FRR.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from authapp.harness import experiment
from authapp.harness.draws import attempt_sessions, has_sessions, session_groups
from authapp.harness.operating_point import operating_point
from capture.datasets import load_dataset
from capture.formats.native import read_native, save_native
from capture.formats.svc2004 import read_svc2004, session_of
from capture.trajectory import Trajectory, TrajectoryMeta
from core.errors import TrajectoryError


def test_svc2004_importer_sets_the_sitting(shared_data: Path) -> None:
    d = shared_data / "svc2004_task1"
    assert read_svc2004(d / "U1S1.TXT").meta.session == 1
    assert read_svc2004(d / "U1S10.TXT").meta.session == 1
    assert read_svc2004(d / "U1S11.TXT").meta.session == 2
    assert read_svc2004(d / "U1S20.TXT").meta.session == 2
    assert read_svc2004(d / "U1S21.TXT").meta.session is None  # forgeries: not documented
    assert [session_of(n) for n in (1, 10, 11, 20, 21, None)] == [1, 1, 2, 2, None, None]


def test_native_format_keeps_the_session(shared_data: Path, tmp_path: Path) -> None:
    t = read_svc2004(shared_data / "svc2004_task1" / "U3S14.TXT")
    save_native(t, tmp_path / "a.npz")
    assert read_native(tmp_path / "a.npz").meta.session == 2
    plain = Trajectory(t.t, t.positions)  # no session: stays absent, not null
    assert "session" not in plain.meta.to_dict()
    save_native(plain, tmp_path / "b.npz")
    assert read_native(tmp_path / "b.npz").meta.session is None


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, 10**9])
def test_a_bad_session_is_a_clear_error(bad: object) -> None:
    with pytest.raises(TrajectoryError, match="session"):
        if isinstance(bad, int) and not isinstance(bad, bool):
            TrajectoryMeta(session=bad)
        else:
            TrajectoryMeta.from_dict({"session": bad})


def test_single_session_data_sets_say_so(shared_data: Path) -> None:
    svc = load_dataset(shared_data / "svc2004_task1", "svc2004")
    fm = load_dataset(shared_data / "fmkit_leap", "fmkit")
    assert has_sessions(svc) and not has_sessions(fm)
    groups = session_groups(svc.genuine("U2"))
    assert [len(g) for g in groups] == [10, 10]
    assert [t.meta.extra["sample"] for t in groups[1]] == list(range(11, 21))  # in order
    assert len(session_groups(fm.genuine(fm.identities[0]))) == 1


def _stub(session: int | None) -> Trajectory:
    t = np.linspace(0, 1, 20)
    return Trajectory(t, np.c_[t, t], meta=TrajectoryMeta(session=session))


def test_attempt_sessions_tags() -> None:
    refs = [_stub(1), _stub(1)]
    assert attempt_sessions(refs, [_stub(1), _stub(2), _stub(None)]) == ["same", "later",
                                                                         "later"]
    assert attempt_sessions([_stub(None)], [_stub(None), _stub(None)]) == ["same", "same"]


def test_operating_point_reports_later_session_frr_as_the_frr() -> None:
    from authapp.harness.runner import Trial

    types = np.array(["genuine"] * 4 + ["random"] * 2)
    t = Trial("m", 0, ["f"] * 6, ["u"] * 6, types, np.zeros(6), 0.0,
              np.array([1.0, -1.0, -1.0, -1.0, -1.0, -1.0]), 0, 0, 0, [],
              sessions=["same", "same", "later", "later", "", ""])
    op = operating_point([("u", t)])
    assert op["frr_same"] == 0.5 and op["frr_later"] == 1.0
    assert op["frr"] == 1.0 and op["frr_all"] == 0.75 and op["n_genuine"] == 2
    single = replace(t, sessions=["same"] * 4 + ["", ""])
    op = operating_point([("u", single)])
    assert op["frr"] == 0.75 and op["frr_later"] is None and "frr_all" not in op


def test_harness_enrolls_from_the_first_session(shared_data: Path) -> None:
    """Default split on SVC2004 is "sessions": references from S1-S10, the rest of session 1
    tagged same, S11-S20 tagged later, all in recorded order; FRR is the later one."""
    cfg = experiment.ExperimentConfig(data_dir=shared_data / "svc2004_task1",
                                      format="svc2004", references=5, seeds=(0,),
                                      methods=("dtw",), calibration="none")
    result = experiment.run_experiment(cfg, progress=False)
    assert result.results.protocol.split == "sessions"
    assert "earliest session" in result.results.protocol.references
    for trials in result.trials.values():
        (t,) = trials
        refs = [int(f.rsplit("S", 1)[1].split(".")[0]) for f in t.reference_files]
        assert all(1 <= n <= 10 for n in refs)
        gen = [int(f.rsplit("S", 1)[1].split(".")[0])
               for f, k in zip(t.attempt_files, t.types) if k == "genuine"]
        assert gen == sorted(gen) and set(gen) == set(range(1, 21)) - set(refs)
        tags = [s for s, k in zip(t.sessions, t.types) if k == "genuine"]
        assert tags == ["same" if n <= 10 else "later" for n in gen]
    op = result.results.scored.operating_point["dtw"]
    assert op.n_genuine_later == 20 * 10 and op.n_genuine_same == 20 * 5
    assert op.frr == op.frr_later
    # the random-draw protocol stays, labelled
    rnd = experiment.run_experiment(replace(cfg, split="random"), progress=False)
    assert "from all sessions alike" in rnd.results.protocol.references
    assert rnd.results.scored.operating_point["dtw"].frr_later is None  # mixed sittings
