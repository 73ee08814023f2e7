"""Helpers for the store/services tests: real FMKit recordings, store snapshots, consistency.

Also the body of the child processes the crash and concurrency tests start
(``python tests/storekit.py crash-child ...``), kept here so that they import as little as
possible and start fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # when run as a child script
    sys.path.insert(0, str(REPO))

FMKIT = Path(os.environ.get("AIRAUTH_SHARED_DATA", REPO.parent / "shared" / "data")) / "fmkit_leap"

STORE_KIND = "subspace"
"""Verifier the store-mechanics tests fit: fast, and its module exists in every checkout."""


@cache
def fmkit(content: str) -> tuple:
    """The ten real FMKit recordings of user luduo writing ``content`` ("luduo"/"jisuanji")."""
    from capture.formats.fmkit import read_fmkit

    files = sorted(FMKIT.glob(f"luduo_{content}_*.txt"))
    assert len(files) == 10, f"expected 10 FMKit recordings for {content!r} in {FMKIT}"
    return tuple(read_fmkit(f) for f in files)


def snapshot(store_dir: Path) -> dict:
    """Everything observable in a store: every table's rows and every file's sha256."""
    out: dict = {"files": {}, "tables": {}}
    for path in sorted(store_dir.rglob("*")):
        if path.is_file() and not path.name.startswith(("store.sqlite3", ".lock")) \
                and path.parent.name != "locks":  # (empty per-user lock files)
            out["files"][str(path.relative_to(store_dir))] = hashlib.sha256(
                path.read_bytes()).hexdigest()
    conn = sqlite3.connect(store_dir / "store.sqlite3")
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            out["tables"][name] = conn.execute(f"SELECT * FROM {name} ORDER BY 1").fetchall()
    finally:
        conn.close()
    return out


def age_full_sweep(store_dir: Path, days: float = 2.0) -> None:
    """Make the store's last full sweep ``days`` old: its next opening sweeps every folder
    (``authapp.storage.opening.sweep_on_open``), as it would a day later."""
    import os
    import time

    from authapp.storage.opening import SWEEP_MARK

    mark = Path(store_dir) / "locks" / SWEEP_MARK
    then = time.time() - days * 86400
    os.utime(mark, (then, then))


def check_consistent(store_dir: Path, expect_users: set[str] | None = None) -> dict[str, int]:
    """Open the store (cleaning up after crashes) and check it fully; returns user -> subset.

    Every user's model and recordings load with matching checksums, the recordings are exactly
    the subset the model's metadata names (so rows, model and files come from ONE save), no
    unreferenced files remain and SQLite's own integrity check passes.
    """
    import numpy as np

    from authapp.store import EnrollmentStore

    with EnrollmentStore(store_dir) as store:
        conn = store.db.connection()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        seen: dict[str, int] = {}
        referenced: set[str] = set()
        for info in store.users():
            _, verifier = store.load_verifier(info.key)
            recs = store.load_recordings(info.key)
            subset = info.metadata.get("subset", -1)
            assert [r.meta.source for r in recs] == info.metadata["sources"], info.name
            assert len(recs) == info.n_recordings == len(info.metadata["sources"])
            scores = verifier.score_samples(recs)
            assert np.all(np.isfinite(scores)), "non-finite score from a stored model"
            seen[info.name] = subset
            referenced.add(f"users/{info.dirname}/{info.model_file}")
            for _, f, _ in conn.execute(
                    "SELECT idx, file, sha256 FROM recordings WHERE model_id = ?",
                    (info.model_id,)):
                referenced.add(f"users/{info.dirname}/{f}")
        on_disk = {str(p.relative_to(store_dir)) for p in (store_dir / "users").rglob("*")
                   if p.is_file()}
        assert on_disk == referenced, f"orphans {on_disk - referenced}, missing " \
                                      f"{referenced - on_disk}"
        assert not any((store_dir / "tmp").iterdir())
    if expect_users is not None:
        assert set(seen) <= expect_users
    return seen


# -- child processes ------------------------------------------------------------------------------
def prepare_subsets(work: Path, n_subsets: int = 6) -> None:
    """Write model bytes + native recordings for a few enrollment subsets (done once, in the
    parent, so the children do no fitting and start fast)."""
    import numpy as np

    from authapp.security import fingerprint
    from capture.formats.native import save_native
    from models.registry import make_verifier
    from models.serialization import dump_verifier

    lu = fmkit("luduo")
    rng = np.random.default_rng(0)
    work.mkdir(parents=True, exist_ok=True)
    manifest = []
    for sid in range(n_subsets):
        idx = sorted(rng.choice(len(lu), size=3 + sid % 3, replace=False).tolist())
        recs = [lu[i].with_meta(source=f"luduo_{i + 1:02d}") for i in idx]
        files = []
        for i, r in zip(idx, recs):
            path = work / f"rec{i}.npz"
            if not path.exists():
                save_native(r, path)
            files.append(path.name)
        model = dump_verifier(make_verifier(STORE_KIND).fit(recs))
        (work / f"model{sid}.npz").write_bytes(model)
        np.save(work / f"fps{sid}.npy", np.stack([fingerprint(r) for r in recs]))
        manifest.append({"sid": sid, "recs": files, "model": f"model{sid}.npz"})
    (work / "manifest.json").write_text(json.dumps(manifest))


def crash_child(store_dir: str, work: str, seed: int, crash_at: str = "", log: str = "") -> None:
    """Enroll / re-enroll / delete users in a loop until killed (or a crash point fires).

    With ``log``, every operation is announced there before it starts ("begin enroll USER
    SUBSET" / "begin delete USER") and confirmed after it returns ("end"), with unbuffered
    appends that survive a SIGKILL, so the parent knows the old and the new state of the
    operation the kill interrupted (see ``expected_states``).
    """
    import signal

    import numpy as np

    import authapp.storage.layout as store_layout
    import authapp.store as st
    from capture.formats.native import read_native

    wd = Path(work)
    manifest = json.loads((wd / "manifest.json").read_text())
    subsets = []
    for m in manifest:
        recs = [read_native(wd / f) for f in m["recs"]]
        fps = list(np.load(wd / f"fps{m['sid']}.npy"))
        subsets.append((m["sid"], recs, (wd / m["model"]).read_bytes(), fps))
    rng = np.random.default_rng(seed)
    store = st.EnrollmentStore(store_dir)
    users = ["alice", "Bob", "carol"]
    target, _, after = crash_at.partition("@")
    if target:  # deterministic fault injection: die at the n-th time a step is reached
        hits = {"n": 0}

        def hook(name: str) -> None:
            if name == target:
                hits["n"] += 1
                if hits["n"] > int(after or 0):
                    os.kill(os.getpid(), signal.SIGKILL)

        store_layout._CRASH_HOOK = hook
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if log else None

    def note(line: str) -> None:
        if log_fd is not None:
            os.write(log_fd, (line + "\n").encode())

    print("ready", flush=True)
    while True:
        user = users[int(rng.integers(len(users)))]
        if rng.random() < 0.1 and store.has_user(user):
            note(f"begin delete {user}")
            store.delete_user(user)
            note("end")
            continue
        sid, recs, model, fps = subsets[int(rng.integers(len(subsets)))]
        note(f"begin enroll {user} {sid}")
        store.save_enrollment(user, recs, model, STORE_KIND,
                              {"subset": sid, "sources": [r.meta.source for r in recs]},
                              re_enroll=True, fingerprints=fps)
        note("end")


def expected_states(before: dict[str, int], log: Path) -> tuple[list[dict[str, int]], int]:
    """(the states the store may be in after a kill, operations completed) from a child's log.

    ``before`` is the state (user -> enrolled subset) when the child started. Completed
    operations are applied in order; if the last one began but never ended, the store must be
    in the state before it (old) or after it (new), nothing else.
    """
    state = dict(before)
    done = 0
    pending = None
    for line in log.read_text().splitlines() if log.exists() else []:
        if line == "end":
            assert pending is not None, "log: 'end' without 'begin'"
            _apply(state, pending)
            pending = None
            done += 1
        else:
            assert pending is None, "log: 'begin' while an operation was still running"
            pending = line.split()[1:]
    if pending is None:
        return [state], done
    new = dict(state)
    _apply(new, pending)
    return [state, new], done


def _apply(state: dict[str, int], op: list[str]) -> None:
    if op[0] == "delete":
        state.pop(op[1], None)
    else:
        state[op[1]] = int(op[2])


def _wait_for(go_file: str) -> None:
    """Block until the parent creates ``go_file`` (so all children work at the same time)."""
    import time

    print("ready", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(go_file):
        if time.monotonic() > deadline:
            raise SystemExit("parent never said go")
        time.sleep(0.01)


MIN_OPERATIONS = 2
"""Each child works at least this many times, however loaded the machine (a throughput floor
measured in seconds alone failed on a busy CI box without any lock or consistency fault)."""


def verify_child(store_dir: str, seconds: float, seed: int, go_file: str) -> None:
    """Log in repeatedly (recording attempts) for ``seconds`` and at least ``MIN_OPERATIONS``
    times; print the attempt count."""
    import time

    import numpy as np

    from authapp.security import LockoutPolicy
    from authapp.services import Actor, AuthService, Settings
    from authapp.store import EnrollmentStore
    from models.adaptation import AdaptationPolicy

    lu = fmkit("luduo")
    rng = np.random.default_rng(seed)
    # logins only (no template adaptation, which replaces the model like a re-enrollment):
    # the test counts re-enrollments and checks each model against its enrollment metadata
    svc = AuthService(EnrollmentStore(store_dir, create=False),
                      Settings(verifier=STORE_KIND, lockout=LockoutPolicy(max_failures=0),
                               adaptation=AdaptationPolicy(enabled=False)))
    svc.offline_check(Actor.admin(), "bob", lu[9])  # warm up (imports, JIT) before timing
    n = 0
    _wait_for(go_file)
    end = time.monotonic() + seconds
    while time.monotonic() < end or n < MIN_OPERATIONS:
        user = ["alice", "bob"][int(rng.integers(2))]
        svc.verify(user, lu[int(rng.integers(len(lu)))])
        n += 1
    print(f"attempts {n}", flush=True)


def enroll_child(store_dir: str, seconds: float, seed: int, go_file: str) -> None:
    """Re-enroll user alice (services path: quality check, fit, save) for ``seconds`` and at
    least ``MIN_OPERATIONS`` times."""
    import time

    import numpy as np

    from authapp.services import Actor, AuthService, Settings
    from authapp.store import EnrollmentStore

    lu = fmkit("luduo")
    rng = np.random.default_rng(seed)
    svc = AuthService(EnrollmentStore(store_dir, create=False), Settings(verifier=STORE_KIND))
    from models.quality import check_enrollment

    check_enrollment(lu[:3])  # warm up (imports, JIT) before timing
    n = 0
    _wait_for(go_file)
    end = time.monotonic() + seconds
    while time.monotonic() < end or n < MIN_OPERATIONS:
        idx = sorted(rng.choice(len(lu), size=4, replace=False).tolist())
        svc.enroll("alice", [lu[i] for i in idx], re_enroll=True, actor=Actor.admin())
        n += 1
    print(f"enrollments {n}", flush=True)


def save_user(store, user: str, recs, kind: str = STORE_KIND, re_enroll: bool = False):
    """Fit ``kind`` on ``recs`` and save it directly through the store (no services)."""
    from authapp.security import fingerprint
    from models.registry import make_verifier
    from models.serialization import dump_verifier

    verifier = make_verifier(kind).fit(list(recs))
    return store.save_enrollment(
        user, list(recs), dump_verifier(verifier), kind,
        {"sources": [r.meta.source for r in recs], "dims": recs[0].dims},
        re_enroll=re_enroll, fingerprints=[fingerprint(r) for r in recs])


def make_legacy_store(root: Path, users: dict[str, list], version: int = 2) -> None:
    """A store as AirAuth wrote it before schema 3 (no keyed checksums, no ``garbage``, no
    ``secret.key``; version 1 also without fingerprints): the same SQL, files and rows the
    earlier ``save_enrollment`` produced, so that opening it tests the real upgrade path."""
    import time

    from authapp.storage.migrations import _V1, _V2, _split_sql, _v1_fingerprint
    from authapp.userid import normalize_user_id, user_dirname, user_key
    from capture.formats.native import encode_recording
    from models.registry import make_verifier
    from models.serialization import dump_verifier

    for sub in ("", "users", "tmp"):
        (root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    conn = sqlite3.connect(root / "store.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for script in (_V1, _V2)[:version]:
        for stmt in _split_sql(script):
            conn.execute(stmt)
    now = time.time()
    for name, recs in users.items():
        name = normalize_user_id(name)
        key, dirname = user_key(name), user_dirname(name)
        folder = root / "users" / dirname
        folder.mkdir(mode=0o700)
        model = dump_verifier(make_verifier(STORE_KIND).fit(list(recs)))
        msha = hashlib.sha256(model).hexdigest()
        (folder / f"model-{msha}.npz").write_bytes(model)
        uid = conn.execute("INSERT INTO users (key, name, dirname, created, updated) VALUES "
                           "(?, ?, ?, ?, ?)", (key, name, dirname, now, now)).lastrowid
        meta = json.dumps({"sources": [r.meta.source for r in recs], "dims": recs[0].dims},
                          sort_keys=True)
        mid = conn.execute("INSERT INTO models (user_id, verifier_kind, file, sha256, size, "
                           "created, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (uid, STORE_KIND, f"model-{msha}.npz", msha, len(model), now,
                            meta)).lastrowid
        conn.execute("UPDATE users SET model_id = ? WHERE id = ?", (mid, uid))
        for i, rec in enumerate(recs):
            blob = encode_recording(rec)
            sha = hashlib.sha256(blob).hexdigest()
            (folder / f"rec-{sha}.npz").write_bytes(blob)
            conn.execute("INSERT INTO recordings (model_id, idx, file, sha256, size) VALUES "
                         "(?, ?, ?, ?, ?)", (mid, i, f"rec-{sha}.npz", sha, len(blob)))
            if version >= 2:
                fp = _v1_fingerprint(rec.positions)  # what schema 2 stored (frozen)
                conn.execute("INSERT INTO fingerprints (user_key, source, ref, created, rows, "
                             "cols, data) VALUES (?, 'enroll', ?, ?, ?, ?, ?)",
                             (key, f"enrollment sample {i + 1}", now, fp.shape[0],
                              fp.shape[1], fp.tobytes()))
    conn.execute(f"PRAGMA user_version = {version}")
    conn.close()


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    if cmd == "crash-child":
        crash_child(rest[0], rest[1], int(rest[2]), *rest[3:5])
    elif cmd == "verify-child":
        verify_child(rest[0], float(rest[1]), int(rest[2]), rest[3])
    elif cmd == "enroll-child":
        enroll_child(rest[0], float(rest[1]), int(rest[2]), rest[3])
    else:
        raise SystemExit(f"unknown command {cmd}")

