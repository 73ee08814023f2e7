"""The store commands end to end on real FMKit files: enroll, login, replay, identify, users,
delete; exit codes 0 accept / 1 reject / 2 error with a one-line message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from storekit import STORE_KIND, snapshot

from authapp.cli import main
from authapp.store import EnrollmentStore


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def files(fmkit_dir: Path) -> dict[str, list[str]]:
    return {c: [str(fmkit_dir / f"luduo_{c}_{i:02d}.txt") for i in range(1, 11)]
            for c in ("luduo", "jisuanji")}


def test_store_commands(tmp_path: Path, files: dict, capsys: pytest.CaptureFixture,
                        fmkit_dir: Path) -> None:
    st = ["--store", str(tmp_path / "store")]
    lu, ji = files["luduo"], files["jisuanji"]

    code, out, err = run(capsys, "users", *st)
    assert code == 2 and "no enrollment store" in err and len(err.strip().splitlines()) == 1

    code, out, _ = run(capsys, "enroll", "luduo", *lu[:5], "--verifier", STORE_KIND, *st)
    assert code == 0 and "enrolled 'luduo': 5 samples" in out
    code, out, _ = run(capsys, "enroll", "ji", *ji[:4], "--verifier", STORE_KIND, *st)
    assert code == 0

    code, _, err = run(capsys, "enroll", "LUDUO", *lu[5:8], "--verifier", STORE_KIND, *st)
    assert code == 2 and "already enrolled" in err and "--re-enroll" in err
    code, _, err = run(capsys, "enroll", "LUDUO", *lu[:5], "--re-enroll", "--verifier",
                       STORE_KIND, *st)  # taking over an account needs proof or an admin
    assert code == 2 and "--proof FILE" in err and "--admin" in err
    code, out, _ = run(capsys, "enroll", "LUDUO", *lu[:5], "--re-enroll", "--admin",
                       "--verifier", STORE_KIND, *st)
    assert code == 0 and "authorised by the administrator" in out

    code, out, _ = run(capsys, "users", *st)
    assert code == 0 and "LUDUO" in out and "ji " in out and STORE_KIND in out

    code, out, _ = run(capsys, "login", "luduo", lu[6], *st)
    assert code == 0 and out.startswith("accepted")
    code, out, _ = run(capsys, "login", "luduo", ji[6], *st)
    assert code == 1 and out.startswith("rejected")
    code, out, _ = run(capsys, "login", "luduo", lu[0], *st)  # an enrollment file: replay
    assert code == 1 and "replay attack" in out

    before = snapshot(tmp_path / "store")
    code, _, err = run(capsys, "replay", lu[7], "--user", "luduo", *st)
    assert code == 2 and "--admin" in err  # scores of an account: no oracle for anyone
    code, out, _ = run(capsys, "replay", lu[7], "--user", "luduo", "--admin", *st)
    assert code == 0 and "decision:  accept" in out and STORE_KIND in out
    assert "not a login" in out
    code, out, _ = run(capsys, "replay", ji[7], "--user", "luduo", "--admin", *st)
    assert code == 1 and "decision:  reject" in out
    after = snapshot(tmp_path / "store")  # an offline check records only an audit entry
    assert after["tables"]["attempts"] == before["tables"]["attempts"]
    assert [r[2] for r in after["tables"]["audit"][-2:]] == ["offline_check"] * 2
    code, out, _ = run(capsys, "identify", lu[8], *st)
    assert code == 0 and out.startswith("identified as 'LUDUO'")
    code, out, _ = run(capsys, "identify", str(fmkit_dir / "fmcode_fmcode_01.txt"), *st)
    assert code == 1 and "no enrolled user accepts" in out

    for argv, msg in [(("login", "nobody", lu[6]), "no user 'nobody'"),
                      (("login", "luduo", str(tmp_path / "missing.txt")), "no such file"),
                      (("login", "luduo", __file__), "unrecognised file format"),
                      (("login", "../x", lu[6]), "not allowed"),
                      (("replay", lu[6], "--user", "nobody", "--admin"), "no user"),
                      (("enroll", "few", lu[0]), "too few samples"),
                      (("enroll", "LUDU0", *lu[:4]), "looks like the enrolled user 'LUDUO'"),
                      (("delete", "nobody"), "no user 'nobody'")]:
        code, out, err = run(capsys, *argv, *st)
        assert code == 2, argv
        assert msg in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err

    code, _, err = run(capsys, "delete", "luduo", *st)
    assert code == 2 and "--proof FILE" in err
    code, out, _ = run(capsys, "delete", "luduo", "--admin", *st)
    assert code == 0 and "deleted user 'LUDUO'" in out
    code, out, _ = run(capsys, "users", *st)
    assert "LUDUO" not in out and "ji" in out

    # a damaged artifact: a one-line error naming the user, exit 2, never a wrong decision
    with EnrollmentStore(tmp_path / "store") as store:
        info = store.get_user("ji")
    model = tmp_path / "store" / "users" / info.dirname / info.model_file
    data = bytearray(model.read_bytes())
    data[-100] ^= 0xFF
    model.write_bytes(bytes(data))
    code, out, err = run(capsys, "login", "ji", ji[6], *st)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "stored data of user 'ji' is damaged" in err and "--re-enroll" in err


def test_console_script_exit_codes(tmp_path: Path, files: dict) -> None:
    """The installed ``authapp`` entry point (a real process) gives the documented codes."""
    exe = Path(sys.executable).with_name("authapp")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "authapp.cli"]
    st = ["--store", str(tmp_path / "s")]
    lu, ji = files["luduo"], files["jisuanji"]

    def call(*a: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cmd, *a, *st], capture_output=True, text=True, timeout=120, check=False)

    assert main(["enroll", "luduo", *lu[:4], "--verifier", STORE_KIND, *st]) == 0
    assert call("login", "luduo", ji[5]).returncode == 1
    bad = call("login", "luduo", "/nonexistent/file.txt")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
