"""Issue 22 item 4: rows deleted or rolled back are noticed. Settings are one sealed set with
a version (a missing row, an older row or an older set is refused); a model's checksum covers
its recordings list (deleting a row is detected, and hides no sample from the replay check);
audit rows are chained (a deleted or edited row is reported by ``authapp users`` and
``authapp verify-store``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from storekit import STORE_KIND, fmkit

from authapp.cli import main
from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore, StoreError


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def st(tmp_path: Path) -> Path:
    root = tmp_path / "store"
    with EnrollmentStore(root) as store:
        AuthService(store, Settings(verifier=STORE_KIND)).enroll("luduo", fmkit("luduo")[:4])
    return root


def _db(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / "store.sqlite3")


def test_an_older_setting_row_put_back_is_refused(st: Path, capsys, fmkit_dir: Path) -> None:
    """The issue: max_failures 0 (no lockout), then 5; putting the old (value, MAC) pair
    back gave 7 wrong logins and no lock."""
    store = ["--store", str(st)]
    assert _run(capsys, "settings", "max_failures", "0", *store)[0] == 0
    with _db(st) as conn:
        old = conn.execute("SELECT key, value, mac FROM settings").fetchall()
    assert _run(capsys, "settings", "max_failures", "5", *store)[0] == 0
    with _db(st) as conn:
        conn.execute("DELETE FROM settings")
        conn.executemany("INSERT INTO settings (key, value, mac) VALUES (?, ?, ?)", old)
    code, _, err = _run(capsys, "login", "luduo", str(fmkit_dir / "luduo_jisuanji_05.txt"),
                        *store)
    assert code == 2 and "lockout" in err and "outside AirAuth" in err, err
    code, out, _ = _run(capsys, "verify-store", *store)
    assert code == 1 and "lockout" in out


def test_a_deleted_setting_row_is_refused(st: Path, capsys) -> None:
    store = ["--store", str(st)]
    assert _run(capsys, "settings", "max_failures", "3", *store)[0] == 0
    with _db(st) as conn:
        conn.execute("DELETE FROM settings WHERE key = 'lockout'")
        assert conn.total_changes == 1
    with EnrollmentStore(st) as s, pytest.raises(StoreError, match="lockout"):
        s.get_settings()


def test_a_whole_older_settings_set_is_refused(st: Path, capsys) -> None:
    """Rows and seal of an earlier version put back together: the audit log recorded a
    later version."""
    store = ["--store", str(st)]
    assert _run(capsys, "settings", "max_failures", "0", *store)[0] == 0
    with _db(st) as conn:
        rows = conn.execute("SELECT key, value, mac FROM settings").fetchall()
        seal = conn.execute("SELECT body, mac FROM seals WHERE name = 'settings'").fetchone()
    assert _run(capsys, "settings", "max_failures", "5", *store)[0] == 0
    with _db(st) as conn:
        conn.execute("DELETE FROM settings")
        conn.executemany("INSERT INTO settings (key, value, mac) VALUES (?, ?, ?)", rows)
        conn.execute("UPDATE seals SET body = ?, mac = ? WHERE name = 'settings'", seal)
    with EnrollmentStore(st) as s, pytest.raises(StoreError, match="older set"):
        s.get_settings()
    # and a missing set
    with _db(st) as conn:
        conn.execute("DELETE FROM seals WHERE name = 'settings'")
    with EnrollmentStore(st) as s, pytest.raises(StoreError, match="settings record is missing"):
        s.get_settings()


def test_a_deleted_recordings_row_is_detected(st: Path, capsys, fmkit_dir: Path) -> None:
    """The issue: deleting one recordings row hid that enrollment sample from the replay
    check, and its exact copy logged in."""
    with _db(st) as conn:
        conn.execute("DELETE FROM recordings WHERE idx = 0")
    code, _, err = _run(capsys, "login", "luduo", str(fmkit_dir / "luduo_luduo_01.txt"),
                        "--store", str(st))
    assert code == 2 and "recordings of user 'luduo' were removed or changed" in err
    code, out, _ = _run(capsys, "verify-store", "--store", str(st))
    assert code == 1 and "recordings of user 'luduo'" in out


@pytest.mark.parametrize("how", ["delete middle", "edit", "delete last"])
def test_audit_rows_deleted_or_edited_are_reported(st: Path, capsys, how: str) -> None:
    store = ["--store", str(st)]
    assert _run(capsys, "settings", "max_failures", "4", *store)[0] == 0
    code, out, err = _run(capsys, "verify-store", *store)
    assert code == 0 and "verified" in out, out
    assert _run(capsys, "users", *store)[2] == ""
    with _db(st) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM audit ORDER BY id")]
        assert len(ids) >= 3
        if how == "delete middle":
            conn.execute("DELETE FROM audit WHERE id = ?", (ids[len(ids) // 2],))
        elif how == "edit":
            conn.execute("UPDATE audit SET detail = '{}' WHERE id = ?", (ids[1],))
        else:
            conn.execute("DELETE FROM audit WHERE id = ?", (ids[-1],))
    code, out, _ = _run(capsys, "verify-store", *store)
    assert code == 1 and "audit" in out, out
    code, out, err = _run(capsys, "users", *store)
    if how == "delete last":  # the settings change it recorded is gone: settings refused
        assert code == 2 and "audit log recorded version" in err, err
    else:
        assert code == 0 and "warning:" in err and "audit" in err and "luduo" in out
