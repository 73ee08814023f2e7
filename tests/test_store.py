"""EnrollmentStore: round trips, owner-only modes, re-enrollment, deletion, integrity checks,
orphan clean-up, schema migration and no-pickle loading, on real FMKit recordings."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest
from storekit import STORE_KIND, age_full_sweep, check_consistent, fmkit, save_user

from authapp import store as store_mod
from authapp.storage import history as store_history
from authapp.storage import keyed
from authapp.storage import layout as store_layout
from authapp.store import (
    SCHEMA_VERSION,
    DuplicateUserError,
    EnrollmentStore,
    StoreError,
    StoreIntegrityError,
    StoreVersionError,
    UnknownUserError,
    default_store_path,
)
from models.serialization import dump_verifier


@pytest.fixture()
def store(tmp_path: Path):
    with EnrollmentStore(tmp_path / "store") as st:
        yield st


def _sources(recs):
    return [r.meta.source for r in recs]


def test_round_trip_keeps_recordings_and_model(store: EnrollmentStore) -> None:
    lu = fmkit("luduo")[:4]
    info = save_user(store, "luduo", lu)
    assert info.name == "luduo" and info.n_recordings == 4 and info.verifier_kind == STORE_KIND
    assert [u.name for u in store.users()] == ["luduo"]
    loaded = store.load_recordings("LUDUO")  # ids are case-insensitive
    for a, b in zip(lu, loaded):
        np.testing.assert_array_equal(a.t, b.t)
        np.testing.assert_array_equal(a.positions, b.positions)
        assert a.meta.source == b.meta.source
    _, verifier = store.load_verifier("luduo")
    from models.registry import make_verifier

    fresh = make_verifier(STORE_KIND).fit(list(lu))
    probe = list(fmkit("luduo")[5:8])
    np.testing.assert_allclose(verifier.score_samples(probe), fresh.score_samples(probe))
    assert len(store.fingerprints("luduo")) == 4
    from authapp.replay_prefilter import describe_one

    for f in store.fingerprints("luduo"):  # each kept with its prefilter description
        np.testing.assert_array_equal(f.description, describe_one(f.points))
    assert store.schema_version == SCHEMA_VERSION
    mode = store.db.connection().execute("PRAGMA journal_mode").fetchone()["journal_mode"]
    assert mode.lower() == "wal"


def test_files_and_dirs_are_owner_only_even_with_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        with EnrollmentStore(tmp_path / "s") as st:
            save_user(st, "luduo", fmkit("luduo")[:3])
            st.record_attempt("luduo", outcome="reject", score=-1.0, reason="test")
            root = tmp_path / "s"
            entries = [root, *root.rglob("*")]
            assert (root / "store.sqlite3-wal").exists() and (root / "store.sqlite3-shm").exists()
            for p in entries:
                mode = stat.S_IMODE(p.stat().st_mode)
                want = 0o700 if p.is_dir() else 0o600
                assert mode == want, f"{p} has mode {oct(mode)}"
    finally:
        os.umask(old)


def test_duplicate_enrollment_needs_re_enroll_and_replaces_atomically(
        store: EnrollmentStore) -> None:
    lu = fmkit("luduo")
    first = save_user(store, "Luduo", lu[:3])
    with pytest.raises(DuplicateUserError, match="already enrolled"):
        save_user(store, "LUDUO", lu[3:6])
    second = save_user(store, "luduo", lu[3:7], re_enroll=True)
    assert second.model_id != first.model_id and second.n_recordings == 4
    assert _sources(store.load_recordings("luduo")) == _sources(lu[3:7])
    folder = store.path / "users" / second.dirname
    assert len(list(folder.glob("model-*.npz"))) == 1  # the old model was collected
    assert len(list(folder.glob("rec-*.npz"))) == 4
    assert [e.event for e in store.audit_log("luduo")] == ["enroll", "re_enroll"]
    check_consistent(store.path)


def test_delete_removes_rows_and_files_but_keeps_audit(store: EnrollmentStore) -> None:
    info = save_user(store, "luduo", fmkit("luduo")[:3])
    save_user(store, "other", fmkit("jisuanji")[:3])
    store.record_attempt("luduo", outcome="reject", score=-2.0, reason="x",
                         fingerprint=np.zeros((4, 3)))
    store.delete_user("LUDUO")
    assert not (store.path / "users" / info.dirname).exists()
    assert [u.name for u in store.users()] == ["other"]
    assert store.attempts("luduo") == [] and store.fingerprints("luduo") == []
    assert store.audit_log("luduo")[-1].event == "delete"
    with pytest.raises(UnknownUserError, match="no user 'luduo'"):
        store.load_verifier("luduo")
    with pytest.raises(UnknownUserError):
        store.delete_user("luduo")
    assert store.load_recordings("other")


@pytest.mark.parametrize("which", ["model", "recording"])
def test_flipped_byte_gives_integrity_error_naming_the_user(store: EnrollmentStore,
                                                            which: str) -> None:
    info = save_user(store, "luduo", fmkit("luduo")[:3])
    save_user(store, "intact", fmkit("jisuanji")[:3])
    folder = store.path / "users" / info.dirname
    victim = folder / info.model_file if which == "model" else sorted(folder.glob("rec-*"))[1]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    load = store.load_verifier if which == "model" else store.load_recordings
    with pytest.raises(StoreIntegrityError, match="user 'luduo' is damaged") as err:
        load("luduo")
    assert err.value.user == "luduo" and victim.name in str(err.value)
    problems = store.check_integrity()
    assert len(problems) == 1 and "'luduo'" in problems[0]
    store.load_verifier("intact")  # other users are unaffected


def test_missing_file_is_reported_not_retried_forever(store: EnrollmentStore) -> None:
    info = save_user(store, "luduo", fmkit("luduo")[:3])
    (store.path / "users" / info.dirname / info.model_file).unlink()
    with pytest.raises(StoreIntegrityError, match="is missing"):
        store.load_verifier("luduo")


def test_pickled_model_is_never_unpickled(store: EnrollmentStore, tmp_path: Path) -> None:
    """A model file carrying a pickle payload with a valid checksum fails cleanly, runs nothing."""
    info = save_user(store, "luduo", fmkit("luduo")[:3])
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buf = io.BytesIO()
    np.savez(buf, __header__=np.frombuffer(b'{"format": "airauth-verifier"}', np.uint8),
             payload=np.array([Evil()], dtype=object))
    data = buf.getvalue()
    name = f"model-{store_layout._sha256(data)}.npz"
    (store.path / "users" / info.dirname / name).write_bytes(data)
    with store.db.write() as c:
        c.execute("UPDATE models SET file = ?, sha256 = ? WHERE id = ?",
                  (name, store_layout._sha256(data), info.model_id))
        meta = c.execute("SELECT metadata FROM models WHERE id = ?", (info.model_id,)).fetchone()
        # even with the store's key (the keyed checksum made to match), no pickle runs
        c.execute("UPDATE models SET mac = ? WHERE id = ?",
                  (keyed.model_mac(store.db.key, info.key, info.dirname, name,
                                   store_layout._sha256(data), info.verifier_kind,
                                   meta["metadata"]), info.model_id))
    with pytest.raises(StoreIntegrityError, match="cannot be loaded"):
        store.load_verifier("luduo")
    assert not marker.exists()


def test_open_cleans_orphans_but_not_foreign_files(tmp_path: Path) -> None:
    root = tmp_path / "s"
    with EnrollmentStore(root) as st:
        info = save_user(st, "luduo", fmkit("luduo")[:3])
    folder = root / "users" / info.dirname
    (folder / "rec-deadbeef.npz").write_bytes(b"left by a crash")
    (folder / ".tmp-123").write_bytes(b"half written")
    orphan = root / "users" / "ghost-0123456789abcdef01234567"
    orphan.mkdir()
    (orphan / "model-x.npz").write_bytes(b"x")
    (root / "tmp" / "scratch").write_bytes(b"x")
    foreign = root / "users" / "Not Ours"
    foreign.mkdir()
    (root / "README.md").write_text("store readme")
    # the next opening clears tmp/ and the folders with registered garbage (a crash's
    # leftovers are there); files put elsewhere by hand wait for the full sweep
    with EnrollmentStore(root) as st:
        assert st.load_recordings("luduo")
    assert not any((root / "tmp").iterdir())
    assert (folder / ".tmp-123").exists() and orphan.exists()
    age_full_sweep(root)  # a day later: the full sweep
    with EnrollmentStore(root) as st:
        assert st.load_recordings("luduo")
    assert not (folder / "rec-deadbeef.npz").exists() and not (folder / ".tmp-123").exists()
    assert not orphan.exists() and not any((root / "tmp").iterdir())
    assert foreign.is_dir() and (root / "README.md").exists()
    (folder / ".tmp-456").write_bytes(b"half written")
    with EnrollmentStore(root) as st:  # swept just now: not again
        pass
    assert (folder / ".tmp-456").exists()
    with EnrollmentStore(root) as st:  # (an explicit clean-up is always a full one)
        st.collect_garbage()
    assert not (folder / ".tmp-456").exists()


def test_a_save_sweeps_its_own_folder_and_opening_sweeps_all(tmp_path: Path) -> None:
    """A save or delete cleans the folder it touched (so its cost does not grow with the
    number of users); leftovers elsewhere wait for the next full sweep (an opening a day
    later)."""
    root = tmp_path / "s"
    recs = fmkit("luduo")[:3]
    with EnrollmentStore(root) as st:
        a = save_user(st, "alice", recs)
        b = save_user(st, "bob", recs)
        (root / "users" / a.dirname / ".tmp-aaa").write_bytes(b"half written")
        (root / "users" / b.dirname / ".tmp-bbb").write_bytes(b"half written")
        (root / "users" / a.dirname / "rec-feed.npz").write_bytes(b"left by a crash")
        save_user(st, "bob", recs, re_enroll=True)
        assert not (root / "users" / b.dirname / ".tmp-bbb").exists()
        assert (root / "users" / a.dirname / ".tmp-aaa").exists()
        assert (root / "users" / a.dirname / "rec-feed.npz").exists()
        st.delete_user("bob")
        assert not (root / "users" / b.dirname).exists()
        assert (root / "users" / a.dirname / ".tmp-aaa").exists()
    age_full_sweep(root)
    with EnrollmentStore(root) as st:
        assert st.load_recordings("alice")
    assert not (root / "users" / a.dirname / ".tmp-aaa").exists()
    assert not (root / "users" / a.dirname / "rec-feed.npz").exists()  # quarantined
    assert any("rec-feed.npz" in q.name for q in (root / "quarantine").iterdir())
    check_consistent(root, {"alice"})


def test_migration_from_v0_empty_database(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    sqlite3.connect(root / "store.sqlite3").close()  # an empty, unversioned database
    with EnrollmentStore(root) as st:
        assert st.schema_version == SCHEMA_VERSION
        assert st.users() == []
        save_user(st, "luduo", fmkit("luduo")[:3])
    check_consistent(root)


@pytest.mark.parametrize("version", [1, 2])
def test_stores_of_earlier_versions_open_and_upgrade(tmp_path: Path, version: int) -> None:
    """A store written by an earlier AirAuth (schema 1: no fingerprints; schema 2: no keyed
    checksums, no key file) opens, upgrades to the current schema, loads its model and
    recordings, and replay detection knows its enrollment samples."""
    from storekit import make_legacy_store

    from authapp.security import find_replay, fingerprint, legacy_fingerprint

    root = tmp_path / "s"
    lu = fmkit("luduo")[:3]
    make_legacy_store(root, {"luduo": list(lu)}, version=version)
    assert not (root / "secret.key").exists()
    with EnrollmentStore(root) as st:
        assert st.schema_version == SCHEMA_VERSION == 5
        assert (root / "secret.key").stat().st_mode & 0o777 == 0o600
        after = st.fingerprints("luduo")
        assert [f.ref for f in after] == [f"enrollment sample {i}" for i in (1, 2, 3)]
        assert all(f.version == 1 for f in after)  # kept as the earlier version stored them
        assert all(f.description is None for f in after)  # (schema 5 describes new rows)
        assert _sources(st.load_recordings("luduo")) == _sources(lu)
        _, verifier = st.load_verifier("luduo")
        assert np.all(np.isfinite(verifier.score_samples(list(lu))))
        stored = [(f.ref, f.points, f.version) for f in after]
        match = find_replay(fingerprint(lu[1]), stored, legacy_query=legacy_fingerprint(lu[1]))
        assert match.ref == "enrollment sample 2" and match.legacy
        late = fmkit("luduo")[7]
        assert find_replay(fingerprint(late), stored,
                           legacy_query=legacy_fingerprint(late)) is None
        assert "migrate" in [e.event for e in st.audit_log()]
        assert st.verify_store() == []  # (schema 4: the upgrade sealed what it found)
    check_consistent(root, {"luduo"})


def test_newer_schema_and_garbage_database_are_clear_errors(tmp_path: Path) -> None:
    root = tmp_path / "new"
    root.mkdir()
    conn = sqlite3.connect(root / "store.sqlite3")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreVersionError, match="newer"):
        EnrollmentStore(root)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "store.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="damaged or not a database"):
        EnrollmentStore(bad)
    with pytest.raises(StoreError, match="no enrollment store"):
        EnrollmentStore(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()


def test_default_path_and_closed_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRAUTH_STORE", str(tmp_path / "env_store"))
    assert default_store_path() == tmp_path / "env_store"
    monkeypatch.delenv("AIRAUTH_STORE")
    assert default_store_path() == Path("enrollment_data")
    st = EnrollmentStore(tmp_path / "env_store")
    st.close()
    with pytest.raises(StoreError, match="closed"):
        st.users()


def test_attempts_fingerprints_are_capped(store: EnrollmentStore,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    save_user(store, "luduo", fmkit("luduo")[:3])
    monkeypatch.setattr(store_history, "MAX_ATTEMPT_FINGERPRINTS", 5)
    for i in range(8):
        store.record_attempt("luduo", outcome="reject", score=-1.0, reason="r",
                             fingerprint=np.full((4, 3), float(i)), when=1000.0 + i)
    fps = [f for f in store.fingerprints("luduo") if f.source == "attempt"]
    assert [int(f.points[0, 0]) for f in fps] == [3, 4, 5, 6, 7]
    assert len(store.attempts("luduo")) == 8
    assert len(store.attempts("luduo", since=1006.0)) == 2


def test_no_pickle_in_store_code() -> None:
    """Nothing on the store's load path can unpickle: no pickle module, and every ``np.load``
    passes ``allow_pickle=False`` explicitly (the store and its parts in ``authapp.storage``,
    native recordings, model files)."""
    import importlib
    import pkgutil
    import re

    import authapp.replay_align
    import authapp.replay_fingerprint
    import authapp.security
    import authapp.service_results
    import authapp.service_settings
    import authapp.services
    import authapp.storage
    import capture.container
    import capture.formats.native
    import models.serialization

    storage = [importlib.import_module(f"authapp.storage.{m.name}")
               for m in pkgutil.iter_modules(authapp.storage.__path__)]
    assert len(storage) >= 5
    mods = (store_mod, *storage, authapp.security, authapp.replay_fingerprint,
            authapp.replay_align, authapp.services, authapp.service_results,
            authapp.service_settings, capture.formats.native, capture.container,
            models.serialization, models.persistence)
    loads = 0
    for mod in mods:
        src = Path(mod.__file__).read_text()
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|dill|joblib|shelve)\b", src, re.MULTILINE), \
            mod.__name__
        assert "allow_pickle=True" not in src and "pickle.load" not in src, mod.__name__
        for call in re.findall(r"(?:np\.load|read_array)\((.*)$", src, re.MULTILINE):
            assert "allow_pickle=False" in call, f"{mod.__name__}: np.load({call})"
            loads += 1
    assert loads >= 2  # native recordings and verifier models are both loaded this way


def test_model_bytes_written_are_exactly_the_serialized_verifier(store: EnrollmentStore) -> None:
    from models.registry import make_verifier

    lu = list(fmkit("luduo")[:3])
    data = dump_verifier(make_verifier(STORE_KIND).fit(lu))
    store.save_enrollment("luduo", lu, data, STORE_KIND, {})
    info, loaded = store.load_model_bytes("luduo")
    assert loaded == data and info.model_sha256 == store_layout._sha256(data)
