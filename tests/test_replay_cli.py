"""``authapp replay FILE --user U --admin``: an administrator's offline check of a recording.

A real FMKit user ("luduo" writing his name) is enrolled in a temporary store with the default
verifier; a held-out genuine recording must be accepted (exit 0), the same person writing a
different word must be rejected (exit 1), and an unknown user or unreadable file is a one-line
error (exit 2). Replay records no attempt (only an audit entry) and needs --admin.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from storekit import snapshot

from authapp.cli import main


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def store(fmkit_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with 'luduo' enrolled from the first five of his ten recordings."""
    path = tmp_path_factory.mktemp("replay") / "store"
    files = [str(fmkit_dir / f"luduo_luduo_{i:02d}.txt") for i in range(1, 6)]
    assert main(["enroll", "luduo", *files, "--pseudo", "off", "--store", str(path)]) == 0
    return path


def test_genuine_accepted_impostor_rejected(store: Path, fmkit_dir: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    before = snapshot(store)
    for k in (6, 8, 10):  # held-out genuine repetitions
        code, out, err = run(capsys, "replay", str(fmkit_dir / f"luduo_luduo_{k:02d}.txt"),
                             "--user", "luduo", "--admin", "--store", str(store))
        assert code == 0, (k, out, err)
        assert "decision:  accept" in out and "user:      luduo" in out
        assert "threshold" in out and "the score is the sum of these parts" in out
    for k in (1, 7):  # the same hand writing another word: a different identity
        code, out, err = run(capsys, "replay", str(fmkit_dir / f"luduo_jisuanji_{k:02d}.txt"),
                             "--user", "luduo", "--admin", "--store", str(store))
        assert code == 1, (k, out, err)
        assert "decision:  reject" in out
    code, out, _ = run(capsys, "replay", str(fmkit_dir / "fmcode_fmcode_01.txt"),
                       "--user", "luduo", "--admin", "--store", str(store))
    assert code == 1 and "decision:  reject" in out
    after = snapshot(store)  # no attempt or lockout record, one audit entry per check
    assert after["tables"]["attempts"] == before["tables"]["attempts"] == []
    assert [r[2] for r in after["tables"]["audit"][len(before["tables"]["audit"]):]] == \
        ["offline_check"] * 6


def _value(out: str, label: str) -> float:
    return float(next(line for line in out.splitlines()
                      if line.strip().startswith(label)).split()[-1])


def test_one_score_convention_accept_never_beside_unexplained_negatives(
        store: Path, fmkit_dir: Path, capsys: pytest.CaptureFixture) -> None:
    """The issue's case (luduo_09 accepted while every member's own score is negative):
    replay and login -v show the score, its threshold and margin, and parts on the same
    scale that add up to the score, so the verdict follows from the numbers shown."""
    capsys.readouterr()
    code, out, _ = run(capsys, "replay", str(fmkit_dir / "luduo_luduo_09.txt"), "--user",
                       "luduo", "--admin", "--store", str(store))
    assert code == 0 and "decision:  accept" in out
    score, threshold = _value(out, "fusion score"), _value(out, "threshold")
    margin = _value(out, "margin")
    assert margin == pytest.approx(score - threshold, abs=0.02) and margin >= 0
    parts = [float(line.split()[-1]) for line in out.splitlines() if "(part of the score)" in line]
    assert len(parts) >= 2 and sum(parts) == pytest.approx(score, abs=0.02)  # 4 digits each
    from authapp.services import Actor, AuthService
    from authapp.store import EnrollmentStore
    from capture.formats import load_recording

    with EnrollmentStore(store) as st:  # exactly, before rounding
        r = AuthService(st).offline_check(
            Actor.admin(), "luduo", load_recording(fmkit_dir / "luduo_luduo_09.txt"))
    *exact, (kind, margin) = r.per_verifier.items()
    assert kind == "fusion" and margin == pytest.approx(r.score)
    assert sum(v for _, v in exact) == pytest.approx(r.raw_score, rel=1e-9)
    assert "normalised" not in out and "per verifier" not in out
    code, verbose, _ = run(capsys, "-v", "login", "luduo",
                           str(fmkit_dir / "luduo_jisuanji_02.txt"), "--store", str(store))
    assert code == 1 and "rejected: score" in verbose
    assert verbose.count("(part of the score)") == len(parts)  # the same table as replay
    assert _value(verbose, "margin") < 0


def test_unknown_user_and_bad_file_exit_2(store: Path, fmkit_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    capsys.readouterr()
    genuine = str(fmkit_dir / "luduo_luduo_07.txt")
    cases = [
        (("replay", genuine, "--user", "nobody"), "no user"),
        (("replay", str(tmp_path / "missing.txt"), "--user", "luduo"), "no such file"),
        (("replay", __file__, "--user", "luduo"), "unrecognised file format"),
    ]
    for argv, msg in cases:
        code, _, err = run(capsys, *argv, "--admin", "--store", str(store))
        assert code == 2, argv
        assert msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "replay", genuine, "--user", "luduo", "--admin",
                       "--store", str(tmp_path / "no_store"))
    assert code == 2 and "no enrollment store" in err
