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
        assert "threshold" in out and "per verifier" in out
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
