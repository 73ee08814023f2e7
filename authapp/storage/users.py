"""Enrolled users: looking them up, saving an enrollment crash-safely (files first, then
the rows in one transaction, then garbage) and deleting a user.

A repository over the store's ``Database`` (``authapp.store.EnrollmentStore`` fronts it).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from authapp.storage import keyed
from authapp.storage.database import Database
from authapp.storage.errors import (
    DuplicateUserError,
    StaleEnrollmentError,
    StoreError,
    UnknownUserError,
)
from authapp.storage.garbage import GarbageCollection
from authapp.storage.history import LoginHistory
from authapp.storage.layout import (
    USERS_DIR,
    _crash_point,
    _make_private_dir,
    _sha256,
    _write_private_file,
)
from authapp.storage.records import RecordingRow, UserInfo
from authapp.storage.seals import Seals
from authapp.userid import (
    ConfusableUserIdError,
    find_confusable,
    normalize_user_id,
    user_dirname,
    user_key,
)
from capture.container import json_default
from capture.trajectory import Trajectory
from core.files import fsync_dir

USER_SQL = (
    "SELECT u.name AS name, u.key AS key, u.dirname AS dirname, u.created AS created, "
    "u.updated AS updated, m.id AS model_id, m.verifier_kind AS verifier_kind, "
    "m.file AS model_file, m.sha256 AS model_sha256, m.metadata AS metadata, "
    "(SELECT COUNT(*) FROM recordings r WHERE r.model_id = m.id) AS n_recordings, "
    "m.mac AS mac FROM users u JOIN models m ON m.id = u.model_id"
)
"""An enrolled user's row: ``user_from_row`` reads it, ``keyed.check_model_row`` checks it."""


def user_from_row(row: sqlite3.Row) -> UserInfo:
    try:
        metadata = json.loads(row["metadata"])
    except (TypeError, ValueError):
        metadata = {}
    return UserInfo(name=row["name"], key=row["key"], dirname=row["dirname"],
                    created=row["created"], updated=row["updated"], model_id=row["model_id"],
                    verifier_kind=row["verifier_kind"], model_file=row["model_file"],
                    model_sha256=row["model_sha256"], n_recordings=int(row["n_recordings"]),
                    metadata=metadata if isinstance(metadata, dict) else {})


class UserRecords:
    """Users and their enrollments: the rows, the files a save writes, their clean-up."""

    def __init__(self, db: Database, seals: Seals, history: LoginHistory,
                 garbage: GarbageCollection) -> None:
        self.db = db
        self.seals = seals
        self.history = history
        self.garbage = garbage

    def users(self) -> list[UserInfo]:
        """Every enrolled user, sorted by canonical key."""
        with self.db.read() as c:
            rows = c.execute(USER_SQL + " ORDER BY u.key").fetchall()
        return [user_from_row(r) for r in rows]

    def user_versions(self) -> dict[str, float]:
        """{canonical key: time of the current enrollment} of every enrolled user: what an
        index derived from the enrollments compares to see what changed (one light query,
        no metadata parsed, also at 10,000 users)."""
        with self.db.read() as c:
            cur = c.cursor()
            cur.row_factory = None  # plain tuples: a third of the time at 10,000 rows
            rows = cur.execute("SELECT key, updated FROM users WHERE model_id IS NOT NULL"
                               ).fetchall()
        return {str(k): float(u) for k, u in rows}

    def count_users(self) -> int:
        """How many users are enrolled."""
        with self.db.read() as c:
            return int(c.execute("SELECT COUNT(*) AS n FROM users WHERE model_id IS NOT NULL"
                                 ).fetchone()["n"])

    def users_page(self, offset: int, limit: int) -> list[UserInfo]:
        """``limit`` enrolled users from position ``offset`` in canonical-key order (the order
        of ``users``), for listings that page."""
        with self.db.read() as c:
            rows = c.execute(USER_SQL + " ORDER BY u.key LIMIT ? OFFSET ?",
                             (max(0, int(limit)), max(0, int(offset)))).fetchall()
        return [user_from_row(r) for r in rows]

    def get_user(self, user: str) -> UserInfo:
        """The enrolled user ``user`` (any case / normal form); ``UnknownUserError`` if absent."""
        key = user_key(user)
        with self.db.read() as c:
            row = c.execute(USER_SQL + " WHERE u.key = ?", (key,)).fetchone()
        if row is None:
            raise UnknownUserError(f"no user {normalize_user_id(user)!r} is enrolled in "
                                   f"{self.db.path}")
        return user_from_row(row)

    def has_user(self, user: str) -> bool:
        key = user_key(user)
        with self.db.read() as c:
            return c.execute("SELECT 1 FROM users WHERE key = ? AND model_id IS NOT NULL",
                             (key,)).fetchone() is not None

    def check_new_user_id(self, user: str) -> None:
        """Raise ``ConfusableUserIdError`` if ``user`` is not enrolled but looks like someone who
        is (Unicode look-alikes: an attacker enrolling "аlice" in Cyrillic next to "alice")."""
        name = normalize_user_id(user)
        with self.db.read() as c:
            if c.execute("SELECT 1 FROM users WHERE key = ?", (user_key(name),)).fetchone():
                return
            names = [r["name"] for r in c.execute("SELECT name FROM users")]
        other = find_confusable(name, names)
        if other is not None:
            raise ConfusableUserIdError(
                f"user id {name!r} looks like the enrolled user {other!r} (look-alike "
                "characters); choose a clearly different id")

    # -- saving -------------------------------------------------------------------------------
    def save_enrollment(self, user: str, recordings: Sequence[Trajectory], model: bytes,
                        verifier_kind: str, metadata: dict[str, Any] | None = None, *,
                        re_enroll: bool = False,
                        fingerprints: Sequence[np.ndarray] | None = None,
                        actor: str | None = None, event: str | None = None,
                        audit_detail: dict[str, Any] | None = None,
                        replaces: int | None = None) -> UserInfo:
        """Store (or atomically replace) a user's enrollment: recordings, model bytes, metadata.

        ``fingerprints`` (one per recording, from ``authapp.security.fingerprint``) are kept for
        replay detection. Raises ``DuplicateUserError`` if the user exists and not ``re_enroll``.
        A re-enrollment resets the failed-login count. ``actor``: who authorised it (for the
        audit log, e.g. "admin" or "proof"). ``event``: the audit event of a replacement
        other than a re-enrollment (e.g. "adapt": template adaptation after a login).
        ``replaces``: the model id the save was computed from; if the user's current model is
        another one by the time the rows switch, ``StaleEnrollmentError`` and nothing changes
        (an adaptation must not undo a re-enrollment that came first).
        """
        from capture.formats.native import encode_recording

        name = normalize_user_id(user)
        key = user_key(name)
        dirname = user_dirname(name)
        if not recordings:
            raise StoreError("an enrollment needs at least one recording")
        if fingerprints is not None and len(fingerprints) != len(recordings):
            raise ValueError("one fingerprint per recording is needed")
        meta_json = json.dumps(metadata or {}, sort_keys=True, default=json_default)
        blobs = [encode_recording(r) for r in recordings]
        now = self.db.clock()
        with self.db.writer_lock():
            if not re_enroll and self.has_user(key):
                raise DuplicateUserError(
                    f"user {name!r} is already enrolled; re-enroll explicitly to replace the "
                    "enrollment (authapp enroll --re-enroll)"
                )
            self.check_new_user_id(name)
            folder = self.db.path / USERS_DIR / dirname
            model_sha = _sha256(model)
            model_file = f"model-{model_sha}.npz"
            rec_rows = [RecordingRow(i, f"rec-{_sha256(b)}.npz", _sha256(b))
                        for i, b in enumerate(blobs)]
            # 0. register the files about to be written: deletable if the save never commits
            with self.db.write() as c:
                c.executemany("INSERT OR IGNORE INTO garbage (path, since) VALUES (?, ?)",
                              [(f"{dirname}/", now), (f"{dirname}/{model_file}", now)]
                              + [(f"{dirname}/{r.file}", now) for r in rec_rows])
            if not folder.is_dir() or folder.is_symlink():
                _make_private_dir(folder)
                fsync_dir(folder.parent)  # the new folder's entry survives a power loss
            # 1. new files under content-addressed names (old ones untouched)
            _write_private_file(folder, model_file, model)
            for r, blob in zip(rec_rows, blobs):
                _write_private_file(folder, r.file, blob)
            _crash_point("files-written")
            # 2. switch the rows in one transaction
            with self.db.write() as c:
                row = c.execute("SELECT id, model_id FROM users WHERE key = ?", (key,)).fetchone()
                if row is not None and row["model_id"] is not None and not re_enroll:
                    raise DuplicateUserError(f"user {name!r} is already enrolled")
                if replaces is not None and (row is None or row["model_id"] != replaces):
                    raise StaleEnrollmentError(
                        f"the enrollment of {name!r} changed while this save was prepared; "
                        "nothing was saved")
                if row is None:
                    cur = c.execute(
                        "INSERT INTO users (key, name, dirname, created, updated) "
                        "VALUES (?, ?, ?, ?, ?)", (key, name, dirname, now, now))
                    user_id, old_model = cur.lastrowid, None
                else:
                    user_id, old_model = row["id"], row["model_id"]
                cur = c.execute(
                    "INSERT INTO models (user_id, verifier_kind, file, sha256, size, created, "
                    "metadata, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (user_id, verifier_kind, model_file, model_sha, len(model), now, meta_json,
                     keyed.model_mac(self.db.key, key, dirname, model_file, model_sha, verifier_kind,
                                     meta_json)))
                model_id = cur.lastrowid
                c.executemany(
                    "INSERT INTO recordings (model_id, idx, file, sha256, size, mac) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [(model_id, r.idx, r.file, r.sha256, len(blob),
                      keyed.rec_mac(self.db.key, key, model_id, r.idx, r.file, r.sha256))
                     for r, blob in zip(rec_rows, blobs)])
                self.seals.seal_recordings(c, key, model_id)
                c.execute("UPDATE users SET model_id = ?, updated = ?, name = ? WHERE id = ?",
                          (model_id, now, name, user_id))
                # the new files are referenced from now on: no longer garbage
                c.executemany("DELETE FROM garbage WHERE path = ?",
                              [(f"{dirname}/",), (f"{dirname}/{model_file}",)]
                              + [(f"{dirname}/{r.file}",) for r in rec_rows])
                if old_model is not None:
                    old_files = c.execute(
                        "SELECT file FROM models WHERE id = ? UNION SELECT file FROM "
                        "recordings WHERE model_id = ?", (old_model, old_model)).fetchall()
                    c.executemany("INSERT OR IGNORE INTO garbage (path, since) VALUES (?, ?)",
                                  [(f"{dirname}/{r['file']}", now) for r in old_files])
                    c.execute("DELETE FROM models WHERE id = ?", (old_model,))
                    # a new enrollment starts with a clean slate: earlier failures no longer
                    # count towards a lockout (the attempts stay, for the audit trail)
                    c.execute("INSERT INTO attempts (user_key, time, outcome, score, reason) "
                              "VALUES (?, ?, 'reset', NULL, ?)",
                              (key, now, "re-enrolled" if event is None else event))
                for i, fp in enumerate(fingerprints or []):
                    self.history.insert_fingerprint(c, key, "enroll", f"enrollment sample {i + 1}",
                                             now, fp)
                what = event or ("re_enroll" if old_model is not None else "enroll")
                self.seals.insert_audit(c, now, what,
                                   key, name, {"verifier": verifier_kind,
                                               "samples": len(recordings),
                                               **({"by": actor} if actor else {}),
                                               **(audit_detail or {})})
            _crash_point("committed")
            # 3. drop files nothing references any more (this user's folder: O(1) in users)
            self.garbage.collect_locked(only=[dirname])
        return self.get_user(key)

    def delete_user(self, user: str, actor: str | None = None) -> None:
        """Remove a user: rows (model, recordings, attempts, fingerprints) and then files.

        ``actor``: who authorised it (for the audit log)."""
        name = normalize_user_id(user)
        key = user_key(name)
        # the user's lock first: a login in progress finishes (and records) before the rows go
        with self.db.user_lock(name), self.db.writer_lock():
            with self.db.write() as c:
                row = c.execute("SELECT id, name, dirname FROM users WHERE key = ?",
                                (key,)).fetchone()
                if row is None:
                    raise UnknownUserError(f"no user {name!r} is enrolled in {self.db.path}")
                user_id, dirname = row["id"], row["dirname"]
                files = c.execute(
                    "SELECT m.file AS file FROM models m WHERE m.user_id = ? UNION SELECT r.file "
                    "FROM recordings r JOIN models m ON r.model_id = m.id WHERE m.user_id = ?",
                    (user_id, user_id)).fetchall()
                now = self.db.clock()
                c.executemany("INSERT OR IGNORE INTO garbage (path, since) VALUES (?, ?)",
                              [(f"{dirname}/{r['file']}", now) for r in files]
                              + [(f"{dirname}/", now)])
                c.execute("DELETE FROM models WHERE user_id = ?", (user_id,))
                c.execute("DELETE FROM users WHERE id = ?", (user_id,))
                c.execute("DELETE FROM attempts WHERE user_key = ?", (key,))
                c.execute("DELETE FROM fingerprints WHERE user_key = ?", (key,))
                self.seals.insert_audit(c, now, "delete", key, row["name"],
                                   {"by": actor} if actor else {})
            _crash_point("committed")
            self.garbage.collect_locked(only=[dirname])
