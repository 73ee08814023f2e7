"""Issue 14 items 2, 7, 8, 9 and issue 15's lockout administration, through the CLI on real
recordings: every path that announces a decision applies lockout and replay rules; settings
are checked and keyed; output is escaped and quiet about scores; accounts cannot be taken
over; administrators can see, unlock and configure lockouts."""

from __future__ import annotations

from pathlib import Path

import pytest
from seckit import rotation
from storekit import STORE_KIND, fmkit

from authapp.cli import main
from authapp.services import AuthService, Settings
from authapp.store import EnrollmentStore
from capture.formats import save_recording
from capture.trajectory import Trajectory


def _run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def st(tmp_path: Path, fmkit_dir: Path) -> list[str]:
    """A store with luduo (his name) and ji (the other word) enrolled from 4 files each."""
    root = tmp_path / "store"
    with EnrollmentStore(root) as store:
        svc = AuthService(store, Settings(verifier=STORE_KIND))
        svc.enroll("luduo", fmkit("luduo")[:4])
        svc.enroll("ji", fmkit("jisuanji")[:4])
    return ["--store", str(root)]


def _file(fmkit_dir: Path, word: str, k: int) -> str:
    return str(fmkit_dir / f"luduo_{word}_{k:02d}.txt")


def _rotated_copy(tmp_path: Path, k: int = 0) -> str:
    t = fmkit("luduo")[k]
    c = t.positions.mean(axis=0)
    path = tmp_path / f"rotated{k}.npz"
    save_recording(Trajectory(t.t, c + (t.positions - c) @ rotation(3, 1).T), path)
    return str(path)


def _lock(capsys, st: list[str], fmkit_dir: Path) -> None:
    for k in range(5, 10):
        code, _, _ = _run(capsys, "login", "luduo", _file(fmkit_dir, "jisuanji", k), *st)
        assert code == 1


# -- item 2: every path that says accept / identified ----------------------------------------
def test_identify_names_no_locked_user_and_no_rotated_replay(st, capsys, fmkit_dir: Path,
                                                             tmp_path: Path) -> None:
    """(Issue 22: the answer is the neutral one in both cases, and the locked user's attempts
    are not touched by the identification.)"""
    code, out, _ = _run(capsys, "identify", _rotated_copy(tmp_path), *st)
    assert code == 1 and "no enrolled user accepts" in out and "luduo" not in out
    _lock(capsys, st, fmkit_dir)
    with EnrollmentStore(st[1]) as store:
        before = store.attempts("luduo")
    code, out, _ = _run(capsys, "identify", _file(fmkit_dir, "luduo", 8), *st)
    assert code == 1 and "no enrolled user accepts" in out and "locked" not in out
    assert "luduo" not in out and "''s" not in out  # (issue 15: "'u01''s" in a message)
    with EnrollmentStore(st[1]) as store:
        assert store.attempts("luduo") == before


def test_replay_command_is_for_administrators_and_applies_the_rules(st, capsys,
                                                                    fmkit_dir: Path,
                                                                    tmp_path: Path) -> None:
    code, _, err = _run(capsys, "replay", _file(fmkit_dir, "luduo", 8), "--user", "luduo", *st)
    assert code == 2 and "--admin" in err
    code, out, _ = _run(capsys, "replay", _rotated_copy(tmp_path), "--user", "luduo", "--admin",
                        *st)
    assert code == 1 and "decision:  reject (replay)" in out
    _lock(capsys, st, fmkit_dir)
    code, out, _ = _run(capsys, "replay", _file(fmkit_dir, "luduo", 8), "--user", "luduo",
                        "--admin", *st)
    assert code == 1 and "decision:  reject (locked)" in out


def test_top_must_be_positive(st, capsys, fmkit_dir: Path) -> None:
    for bad in ("0", "-3", "x"):
        with pytest.raises(SystemExit) as exc:
            main(["identify", _file(fmkit_dir, "luduo", 8), "--top", bad, *st])
        assert exc.value.code == 2
        assert "--top" in capsys.readouterr().err


# -- item 7: settings and keyed checksums ---------------------------------------------------------
@pytest.mark.parametrize("key,value", [("replay_threshold", "-1"), ("replay_threshold", "nan"),
                                       ("max_failures", "1e999"), ("max_failures", "2.5"),
                                       ("window_s", "0"), ("lockout_s", "inf"),
                                       ("background", "maybe"), ("verifier", "best"),
                                       ("bogus", "1")])
def test_settings_are_range_checked_on_write(st, capsys, key: str, value: str) -> None:
    code, _, err = _run(capsys, "settings", key, value, *st)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    code, out, _ = _run(capsys, "settings", *st)
    assert "max_failures      5" in out and "replay_threshold  default" in out


def test_settings_are_shown_set_audited_and_used(st, capsys, fmkit_dir: Path) -> None:
    code, out, _ = _run(capsys, "settings", "max_failures", "2", *st)
    assert code == 0 and "max_failures = 2" in out and "audit" in out
    code, out, _ = _run(capsys, "settings", "max_failures", *st)
    assert out.strip() == "max_failures      2"
    for k in (5, 6):
        _run(capsys, "login", "luduo", _file(fmkit_dir, "jisuanji", k), *st)
    code, out, _ = _run(capsys, "users", *st)
    luduo_line = next(line for line in out.splitlines() if line.startswith("luduo"))
    assert "locked until" in luduo_line and "ok" in out.splitlines()[1]  # ji is fine
    with EnrollmentStore(st[1]) as store:
        assert {"setting"} <= {e.event for e in store.audit_log()}
    code, out, _ = _run(capsys, "settings", "max_failures", "default", *st)
    assert code == 0 and "max_failures = 5" in out


def test_database_only_writer_cannot_swap_models_or_silence_replays(st, capsys,
                                                                    fmkit_dir: Path) -> None:
    """Someone who can write the database but not read secret.key."""
    import sqlite3

    db = Path(st[1]) / "store.sqlite3"
    genuine_ji = _file(fmkit_dir, "jisuanji", 7)
    # point luduo's account at ji's model and recordings: ji could then log in as luduo
    conn = sqlite3.connect(db)
    ji_model = conn.execute("SELECT model_id FROM users WHERE key = 'ji'").fetchone()[0]
    conn.execute("UPDATE users SET model_id = ? WHERE key = 'luduo'", (ji_model,))
    conn.commit()
    code, out, err = _run(capsys, "login", "luduo", genuine_ji, *st)
    assert code == 2 and "changed outside AirAuth" in err and out == ""
    conn.execute("UPDATE users SET model_id = (SELECT id FROM models WHERE user_id = "
                 "users.id) WHERE key = 'luduo'")
    conn.commit()
    # silence the replay check: raise the threshold, or blank out the stored fingerprints
    conn.execute("INSERT INTO settings (key, value) VALUES ('replay_threshold', '0.0')")
    conn.commit()
    code, _, err = _run(capsys, "login", "luduo", _file(fmkit_dir, "luduo", 1), *st)
    assert code == 2 and "changed outside AirAuth" in err
    conn.execute("DELETE FROM settings")
    conn.commit()
    # steer the replay prefilter (keep a stolen recording's original off the shortlist the
    # exact check aligns): edit or drop the stored descriptions
    kept = conn.execute("SELECT id, description FROM fingerprints "
                        "WHERE description IS NOT NULL").fetchall()
    assert kept
    others = ("(SELECT f2.description FROM fingerprints f2 WHERE f2.id != fingerprints.id "
              "AND f2.description IS NOT NULL LIMIT 1)")  # another row's, valid in itself
    for edit in ("zeroblob(length(description))", "NULL", "randomblob(256)", others):
        conn.execute(f"UPDATE fingerprints SET description = {edit} "
                     "WHERE description IS NOT NULL")
        conn.commit()
        code, _, err = _run(capsys, "login", "luduo", _file(fmkit_dir, "luduo", 1), *st)
        assert code == 2 and "replay history" in err, edit
        conn.executemany("UPDATE fingerprints SET description = ? WHERE id = ?",
                         [(d, i) for i, d in kept])
        conn.commit()
    conn.execute("UPDATE fingerprints SET data = zeroblob(length(data))")
    conn.commit()
    code, _, err = _run(capsys, "login", "luduo", _file(fmkit_dir, "luduo", 1), *st)
    assert code == 2 and "replay history" in err
    # deleting the rows does not hide the enrollment samples: they come from the files
    conn.execute("DELETE FROM fingerprints")
    conn.commit()
    conn.close()
    code, out, _ = _run(capsys, "login", "luduo", _file(fmkit_dir, "luduo", 1), *st)
    assert code == 1 and "replay attack" in out


# -- item 8: output ------------------------------------------------------------------------------
def test_info_escapes_control_characters_in_metadata(tmp_path: Path, capsys) -> None:
    t = fmkit("luduo")[0].with_meta(user="eve\n\x1b[31mACCEPTED\x1b[0m", content="a\rb")
    path = tmp_path / "evil.npz"
    save_recording(t, path)
    code, out, _ = _run(capsys, "info", str(path))
    assert code == 0 and "\x1b" not in out and "\r" not in out
    assert "user:          eve\\n\\x1b[31mACCEPTED" in out
    assert len(out.splitlines()) == len([ln for ln in out.splitlines() if ln])


def test_rejections_do_not_show_scores_unless_verbose(st, capsys, fmkit_dir: Path,
                                                      tmp_path: Path) -> None:
    code, out, _ = _run(capsys, "login", "luduo", _file(fmkit_dir, "jisuanji", 6), *st)
    assert code == 1 and out.startswith("rejected") and "score" not in out
    assert "threshold" not in out
    code, out, _ = _run(capsys, "-v", "login", "luduo", _file(fmkit_dir, "jisuanji", 7), *st)
    assert code == 1 and "score" in out and "threshold" in out
    code, out, _ = _run(capsys, "login", "luduo", _rotated_copy(tmp_path, 2), *st)
    assert code == 1 and "replay attack" in out and "residual" not in out
    code, out, _ = _run(capsys, "login", "luduo", _rotated_copy(tmp_path, 3), "-v", *st)
    assert code == 1 and "residual" in out


# -- item 9 and issue 15: account takeover, lockout administration ---------------------------------
def test_re_enroll_and_delete_need_proof_or_an_administrator(st, capsys,
                                                             fmkit_dir: Path) -> None:
    mine = [_file(fmkit_dir, "jisuanji", k) for k in (5, 6, 7, 8)]
    code, _, err = _run(capsys, "enroll", "luduo", *mine, "--re-enroll", *st)
    assert code == 2 and "--proof FILE" in err
    code, _, err = _run(capsys, "enroll", "luduo", *mine, "--re-enroll", "--proof",
                        _file(fmkit_dir, "jisuanji", 9), *st)  # one writing is no proof
    assert code == 2 and "2 fresh writings" in err
    code, _, err = _run(capsys, "enroll", "luduo", *mine, "--re-enroll", "--proof",
                        _file(fmkit_dir, "jisuanji", 9), _file(fmkit_dir, "jisuanji", 10),
                        *st)  # an impostor's "proof"
    assert code == 2 and "did not pass the login" in err
    with EnrollmentStore(st[1]) as store:
        assert store.get_user("luduo").metadata["sources"][0].endswith("luduo_luduo_01.txt")
        assert store.attempts("luduo")[-1].outcome == "reject"  # it counted as a login
    code, _, err = _run(capsys, "delete", "luduo", "--proof", _file(fmkit_dir, "jisuanji", 10),
                        _file(fmkit_dir, "jisuanji", 8), *st)
    assert code == 2 and "did not pass" in err
    # the owner proves it is them with two fresh samples: allowed (and they are logins)
    own = [_file(fmkit_dir, "luduo", k) for k in (5, 6, 7, 8)]
    code, out, _ = _run(capsys, "enroll", "luduo", *own, "--re-enroll", "--proof",
                        _file(fmkit_dir, "luduo", 9), _file(fmkit_dir, "luduo", 10), *st)
    assert code == 0 and "authorised by a passing login" in out
    code, out, _ = _run(capsys, "delete", "ji", "--admin", *st)
    assert code == 0
    with EnrollmentStore(st[1]) as store:
        events = [(e.event, e.user, e.detail) for e in store.audit_log()]
    assert ("admin_action", "ji", {"action": "deletion"}) in events
    assert any(ev == "delete" and d.get("by") == "admin" for ev, _, d in events)
    assert any(ev == "re_enroll" and u == "luduo" for ev, u, _ in events)


def test_unlock_and_re_enroll_reset_the_failures(st, capsys, fmkit_dir: Path) -> None:
    _lock(capsys, st, fmkit_dir)
    code, out, _ = _run(capsys, "login", "luduo", _file(fmkit_dir, "luduo", 8), *st)
    assert code == 1 and "locked" in out
    code, _, err = _run(capsys, "unlock", "luduo", *st)  # (issue 22: an admin's action)
    assert code == 2 and "--admin" in err
    code, out, _ = _run(capsys, "unlock", "luduo", "--admin", *st)
    assert code == 0 and "unlocked user 'luduo'" in out
    code, out, _ = _run(capsys, "users", *st)
    assert "locked" not in out
    code, out, _ = _run(capsys, "login", "luduo", _file(fmkit_dir, "luduo", 9), *st)
    assert code == 0 and out.startswith("accepted")
    for k in range(5, 9):  # four failures: one short of the lock
        _run(capsys, "login", "ji", _file(fmkit_dir, "luduo", k), *st)
    code, out, _ = _run(capsys, "users", *st)
    assert "4 failed" in out
    new = [_file(fmkit_dir, "jisuanji", k) for k in (5, 6, 7, 8)]
    code, _, _ = _run(capsys, "enroll", "ji", *new, "--re-enroll", "--admin", "--verifier",
                      STORE_KIND, *st)
    assert code == 0
    code, out, _ = _run(capsys, "users", *st)
    assert "failed" not in out  # a new enrollment starts clean
    with EnrollmentStore(st[1]) as store:
        assert "unlock" in [e.event for e in store.audit_log("luduo")]


def test_user_id_help_and_validation_agree(capsys) -> None:
    from authapp.userid import ALLOWED_DESCRIPTION, normalize_user_id

    with pytest.raises(SystemExit):
        main(["enroll", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert ALLOWED_DESCRIPTION in help_text and "spaces" in help_text
    assert normalize_user_id("a b") == "a b"
    for bad in ("a  b", "a\tb", ".a"):
        with pytest.raises(ValueError, match="not|must not|consecutive"):
            normalize_user_id(bad)


def test_fingerprints_of_locked_attempts_are_kept(st, capsys, fmkit_dir: Path) -> None:
    """A genuine sample written while the account was locked can be replayed later: it is
    remembered like any attempt."""
    _lock(capsys, st, fmkit_dir)
    _run(capsys, "login", "luduo", _file(fmkit_dir, "luduo", 9), *st)  # locked: unscored
    _run(capsys, "unlock", "luduo", "--admin", *st)
    code, out, _ = _run(capsys, "login", "luduo", _file(fmkit_dir, "luduo", 9), *st)
    assert code == 1 and "replay attack" in out
