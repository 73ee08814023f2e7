"""Login history: attempts, replay fingerprints (capped per user) and the audit log.

A repository over the store's ``Database`` (``authapp.store.EnrollmentStore`` fronts it).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from authapp import replay_prefilter, storekey
from authapp.storage import keyed
from authapp.storage.database import Database
from authapp.storage.errors import StoreTamperedError, UnknownUserError
from authapp.storage.records import FINGERPRINT_VERSION, Attempt, AuditEntry, StoredFingerprint
from authapp.storage.seals import Seals
from authapp.userid import normalize_user_id, user_key

IDENTIFY_KEY = "#identify"
"""Attempts rows of identifications that named nobody: counted for the store (their own rate
limit), never against a user ("#" is not allowed in user ids, so no user has this key)."""

MAX_ATTEMPT_FINGERPRINTS = 200
"""Fingerprints of past login attempts kept per user (oldest dropped first); each login is
compared with all of them (about 4 ms each)."""


class LoginHistory:
    """Attempts, fingerprints and audit entries."""

    def __init__(self, db: Database, seals: Seals) -> None:
        self.db = db
        self.seals = seals

    def insert_fingerprint(self, c: sqlite3.Connection, key: str, source: str, ref: str,
                            created: float, fp: np.ndarray, version: int | None = None) -> None:
        arr = np.ascontiguousarray(fp, dtype=np.float32)
        if arr.ndim != 2:
            raise ValueError("a fingerprint is a 2-D array")
        version = FINGERPRINT_VERSION if version is None else int(version)
        data = arr.tobytes()
        # its prefilter description, kept with it so that no login describes it again
        desc = replay_prefilter.describe_one(arr) if version >= 2 else None
        desc_bytes = None if desc is None else desc.tobytes()
        c.execute("INSERT INTO fingerprints (user_key, source, ref, created, rows, cols, data, "
                  "version, description, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (key, source, ref, created, arr.shape[0], arr.shape[1], data, version,
                   desc_bytes,
                   keyed.fp_mac(self.db.key, key, source, ref, created, arr.shape[0], arr.shape[1], version,
                                data, desc_bytes)))

    def record_attempt(self, user: str, *, outcome: str, score: float | None, reason: str,
                       fingerprint: np.ndarray | None = None,
                       audit: Sequence[tuple[str, dict[str, Any]]] = (),
                       when: float | None = None) -> None:
        """Record one login attempt (+ its fingerprint and audit events) in one transaction.

        ``outcome`` "reset" marks the point from which failures count again (an unlock)."""
        name = normalize_user_id(user)
        key = user_key(name)
        now = self.db.clock() if when is None else when
        with self.db.write() as c:
            if c.execute("SELECT 1 FROM users WHERE key = ?", (key,)).fetchone() is None:
                # deleted meanwhile (a delete racing a login): leave no orphan rows
                raise UnknownUserError(f"no user {name!r} is enrolled in {self.db.path}")
            c.execute("INSERT INTO attempts (user_key, time, outcome, score, reason) "
                      "VALUES (?, ?, ?, ?, ?)", (key, now, outcome, score, reason))
            if fingerprint is not None:
                self.insert_fingerprint(c, key, "attempt",
                                         f"login attempt at {_fmt_time(now)}", now, fingerprint)
                c.execute(
                    "DELETE FROM fingerprints WHERE user_key = ? AND source = 'attempt' AND id "
                    "NOT IN (SELECT id FROM fingerprints WHERE user_key = ? AND source = "
                    "'attempt' ORDER BY created DESC, id DESC LIMIT ?)",
                    (key, key, MAX_ATTEMPT_FINGERPRINTS))
            for event, detail in audit:
                self.seals.insert_audit(c, now, event, key, name, detail)

    def record_identification(self, outcome: str, reason: str,
                              when: float | None = None) -> None:
        """Record an identification that named nobody, for the store's own rate limit
        (``IDENTIFY_KEY``), with an audit event that names no user."""
        now = self.db.clock() if when is None else when
        with self.db.write() as c:
            c.execute("INSERT INTO attempts (user_key, time, outcome, score, reason) "
                      "VALUES (?, ?, ?, NULL, ?)", (IDENTIFY_KEY, now, outcome, reason))
            self.seals.insert_audit(c, now, "identify_" + outcome, None, None, {})

    def identifications(self, since: float | None = None) -> list[Attempt]:
        """Identifications that named nobody (oldest first), optionally from ``since``."""
        with self.db.read() as c:
            rows = c.execute(
                "SELECT id, user_key, time, outcome, score, reason FROM attempts "
                "WHERE user_key = ? AND (? IS NULL OR time >= ?) ORDER BY time, id",
                (IDENTIFY_KEY, since, since)).fetchall()
        return [_attempt(r) for r in rows]

    def audit(self, event: str, user: str | None = None, detail: dict[str, Any] | None = None,
              when: float | None = None) -> None:
        """Append one event to the audit log."""
        name = normalize_user_id(user) if user is not None else None
        key = user_key(name) if name is not None else None
        with self.db.write() as c:
            self.seals.insert_audit(c, self.db.clock() if when is None else when, event, key, name,
                               detail or {})

    def attempts(self, user: str, since: float | None = None) -> list[Attempt]:
        """Login attempts of ``user`` (oldest first), optionally only those at/after ``since``."""
        key = user_key(user)
        with self.db.read() as c:
            rows = c.execute(
                "SELECT id, user_key, time, outcome, score, reason FROM attempts "
                "WHERE user_key = ? AND (? IS NULL OR time >= ?) ORDER BY time, id",
                (key, since, since)).fetchall()
        return [_attempt(r) for r in rows]

    def fingerprints(self, user: str) -> list[StoredFingerprint]:
        """Fingerprints of the user's enrollment recordings and past login attempts.

        Each row's keyed checksum is checked: a damaged or rewritten fingerprint would
        silently weaken the replay check, so it is an error (``StoreTamperedError``).
        """
        key = user_key(user)
        with self.db.read() as c:
            rows = c.execute("SELECT source, ref, created, rows, cols, version, data, "
                             "description, mac FROM fingerprints WHERE user_key = ? ORDER BY id",
                             (key,)).fetchall()
        out = []
        for r in rows:
            source, ref, created, version = r["source"], r["ref"], r["created"], r["version"]
            n, d, blob, desc = r["rows"], r["cols"], r["data"], r["description"]
            if not isinstance(blob, bytes) or not isinstance(desc, (bytes, type(None))) \
                    or not storekey.same(r["mac"], keyed.fp_mac(self.db.key, key, source, ref, created, n, d,
                                                           version, blob, desc)):
                raise StoreTamperedError(
                    f"the replay history of user {normalize_user_id(user)!r} was changed "
                    f"outside AirAuth ({ref}: keyed checksum does not match); logins are "
                    "refused until an administrator re-enrolls or deletes the user")
            if n <= 0 or d not in (2, 3) or len(blob) != n * d * 4 or \
                    (desc is not None and len(desc) != replay_prefilter.POINTS * 4):
                raise StoreTamperedError(f"stored fingerprint {ref} of user "
                                         f"{normalize_user_id(user)!r} is damaged")
            arr = np.frombuffer(blob, dtype=np.float32).reshape(n, d)
            out.append(StoredFingerprint(
                source, ref, created, arr, int(version),
                None if desc is None else np.frombuffer(desc, dtype=np.float32)))
        return out

    def audit_log(self, user: str | None = None) -> list[AuditEntry]:
        """Audit entries (oldest first), optionally of one user."""
        with self.db.read() as c:
            if user is None:
                rows = c.execute("SELECT id, time, event, user_name, detail FROM audit "
                                 "ORDER BY id").fetchall()
            else:
                rows = c.execute("SELECT id, time, event, user_name, detail FROM audit "
                                 "WHERE user_key = ? ORDER BY id", (user_key(user),)).fetchall()
        out = []
        for r in rows:
            try:
                d = json.loads(r["detail"])
            except ValueError:
                d = {}
            out.append(AuditEntry(r["id"], r["time"], r["event"], r["user_name"],
                                  d if isinstance(d, dict) else {}))
        return out


def _attempt(r: sqlite3.Row) -> Attempt:
    return Attempt(id=r["id"], user_key=r["user_key"], time=r["time"], outcome=r["outcome"],
                   score=r["score"], reason=r["reason"])


def _fmt_time(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
