"""Issue 14 item 4: opening the store never destroys data, follows no symlink out of it, and
repairs modes below the top. Real enrollments (FMKit), real CLI commands."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from storekit import STORE_KIND, age_full_sweep, check_consistent, fmkit

from authapp.cli import main
from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore, StoreError


def _tree(root: Path) -> dict[str, str]:
    """Every file below ``root`` (not following links) -> sha256."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            if not p.is_symlink():
                out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture()
def two_users(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    with EnrollmentStore(root) as store:
        svc = AuthService(store, Settings(verifier=STORE_KIND))
        svc.enroll("luduo", fmkit("luduo")[:4])
        svc.enroll("ji", fmkit("jisuanji")[:4])
    return root


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_an_emptied_database_is_refused_and_nothing_is_deleted(two_users: Path, capsys) -> None:
    users_before = _tree(two_users / "users")
    for name in ("store.sqlite3-wal", "store.sqlite3-shm"):
        (two_users / name).unlink(missing_ok=True)
    (two_users / "store.sqlite3").write_bytes(b"")
    code, _, err = _run(capsys, "users", "--store", str(two_users))
    assert code == 2 and "lists no users" in err and "backup" in err
    assert len(err.strip().splitlines()) == 1
    assert _tree(two_users / "users") == users_before


def test_a_deleted_database_is_refused_before_enrolling(two_users: Path, capsys,
                                                        fmkit_dir: Path) -> None:
    users_before = _tree(two_users / "users")
    for name in ("store.sqlite3", "store.sqlite3-wal", "store.sqlite3-shm"):
        (two_users / name).unlink(missing_ok=True)
    files = [str(fmkit_dir / f"luduo_luduo_{i:02d}.txt") for i in range(5, 9)]
    code, _, err = _run(capsys, "enroll", "other", *files, "--verifier", STORE_KIND,
                        "--store", str(two_users))
    assert code == 2 and "lost or replaced" in err
    assert _tree(two_users / "users") == users_before
    assert not (two_users / "store.sqlite3").exists()  # not even an empty one was created


def test_tmp_or_users_as_symlinks_are_refused_and_their_targets_untouched(
        two_users: Path, tmp_path: Path, capsys) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    os.chmod(victim, 0o755)
    tmp = two_users / "tmp"
    tmp.rmdir()
    tmp.symlink_to(victim)
    code, _, err = _run(capsys, "users", "--store", str(two_users))
    assert code == 2 and "symbolic link" in err and "tmp" in err
    assert (victim / "precious.txt").read_text() == "keep me"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o755
    tmp.unlink()
    tmp.mkdir()
    users = two_users / "users"
    users.rename(tmp_path / "real_users")
    users.symlink_to(tmp_path / "real_users")
    os.chmod(tmp_path / "real_users", 0o755)
    code, _, err = _run(capsys, "users", "--store", str(two_users))
    assert code == 2 and "symbolic link" in err
    assert stat.S_IMODE((tmp_path / "real_users").stat().st_mode) == 0o755


def test_a_symlinked_user_folder_or_artifact_is_never_followed(two_users: Path,
                                                               tmp_path: Path) -> None:
    with EnrollmentStore(two_users) as store:
        info = store.get_user("ji")
    folder = two_users / "users" / info.dirname
    outside = tmp_path / "outside"
    folder.rename(outside)
    folder.symlink_to(outside)
    with EnrollmentStore(two_users) as store:
        from authapp.store import StoreIntegrityError

        with pytest.raises(StoreIntegrityError, match="symbolic link"):
            store.load_verifier("ji")
        assert store.load_verifier("luduo")  # the other user is unaffected
    assert all(p.is_file() for p in outside.iterdir())  # nothing moved or deleted outside


def test_modes_are_repaired_below_the_top(two_users: Path) -> None:
    with EnrollmentStore(two_users) as store:
        info = store.get_user("luduo")
    folder = two_users / "users" / info.dirname
    os.chmod(folder, 0o777)
    for f in folder.iterdir():
        os.chmod(f, 0o644)
    os.chmod(two_users / "users", 0o755)
    age_full_sweep(two_users)  # (the full sweep repairs them: at most a day later)
    with EnrollmentStore(two_users):
        pass
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((two_users / "users").stat().st_mode) == 0o700
    assert {stat.S_IMODE(f.stat().st_mode) for f in folder.iterdir()} == {0o600}
    assert stat.S_IMODE((two_users / "secret.key").stat().st_mode) == 0o600


def test_unknown_folders_and_files_are_quarantined_not_deleted(two_users: Path) -> None:
    users = two_users / "users"
    with EnrollmentStore(two_users) as store:
        info = store.get_user("luduo")
    stray = users / "stray_user-0123456789abcdef01234567"  # named like a user folder
    stray.mkdir()
    (stray / "notes.txt").write_text("whose is this?")
    odd = users / info.dirname / ("rec-" + "ab" * 32 + ".npz")
    odd.write_bytes(b"not registered by the store")
    foreign = users / "README.txt"  # not named like the store's: left where it is
    foreign.write_text("hello")
    age_full_sweep(two_users)  # (found by the full sweep: at most a day later)
    with EnrollmentStore(two_users) as store:
        events = [e for e in store.audit_log() if e.event == "quarantine"]
        assert len(events) == 1 and len(events[0].detail["moved"]) == 2
    assert not stray.exists() and not odd.exists() and foreign.read_text() == "hello"
    kept = _tree(two_users / "quarantine")
    assert any(k.endswith("notes.txt") for k in kept) and len(kept) == 2
    foreign.unlink()
    check_consistent(two_users, {"luduo", "ji"})


def test_a_missing_key_file_is_refused(two_users: Path) -> None:
    (two_users / "secret.key").unlink()
    with pytest.raises(StoreError, match="secret.key is missing"):
        EnrollmentStore(two_users)
