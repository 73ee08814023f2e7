"""Schema migrations of the enrollment store, frozen: each reproduces what that version stored.

``MIGRATIONS[i]`` upgrades schema version i to i + 1 (``PRAGMA user_version``); the store
runs them in one write transaction when it opens an older store.

Migrations are frozen. Each one holds its own copy of every computation it does (the SQL,
the version-1 replay fingerprint, reading a stored recording, the keyed-checksum layout, the
audit row), exactly as it was when that version was written, so that what an old store
upgrades to can never change when live code (``authapp.security``, ``authapp.storekey``,
``capture.formats.native``, the store's own helpers) evolves later. Never import live code
that may evolve: only stable infrastructure (sqlite3, numpy, hashlib/hmac, json, the
store's exception classes). If a later version must store something else, add a migration
to the end; never edit one that shipped.

These copies duplicate live code on purpose: that is the one place where repeating logic is
right (a duplicate finder will list them; do not merge them back).
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import io
import json
import os
import re
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from authapp.storage.errors import StoreIntegrityError


@dataclass(frozen=True)
class MigrationContext:
    """What a migration may use besides the database: the store folder, its HMAC key
    (already loaded or made) and its clock."""

    path: Path
    key: bytes
    clock: Callable[[], float]


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _audit(conn: sqlite3.Connection, when: float, event: str, detail: dict) -> None:
    """An audit row as schema 3 wrote it (no user; the details are plain JSON)."""
    conn.execute("INSERT INTO audit (time, event, user_key, user_name, detail) "
                 "VALUES (?, ?, ?, ?, ?)",
                 (when, event, None, None, json.dumps(detail, sort_keys=True)))


# -- version 1: the tables ----------------------------------------------------------------------
_V1 = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    dirname TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    model_id INTEGER
);
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    verifier_kind TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    metadata TEXT NOT NULL
);
CREATE TABLE recordings (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (model_id, idx)
);
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    user_key TEXT NOT NULL,
    time REAL NOT NULL,
    outcome TEXT NOT NULL,
    score REAL,
    reason TEXT NOT NULL
);
CREATE INDEX attempts_user_time ON attempts(user_key, time);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    event TEXT NOT NULL,
    user_key TEXT,
    user_name TEXT,
    detail TEXT NOT NULL
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _migrate_v1(conn: sqlite3.Connection, ctx: MigrationContext) -> None:
    for stmt in _split_sql(_V1):
        conn.execute(stmt)


# -- version 2: replay fingerprints, back-filled from the enrollment recordings ------------------
_V2 = """
CREATE TABLE fingerprints (
    id INTEGER PRIMARY KEY,
    user_key TEXT NOT NULL,
    source TEXT NOT NULL,
    ref TEXT NOT NULL,
    created REAL NOT NULL,
    rows INTEGER NOT NULL,
    cols INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX fingerprints_user ON fingerprints(user_key, source, created);
"""

_V2_POINTS = 512
"""Points of a version-1 fingerprint (``authapp.security.LEGACY_POINTS`` when written)."""
_V2_USERS_DIR = "users"


def _v1_fingerprint(positions: np.ndarray) -> np.ndarray:
    """The replay fingerprint schema 2 stored (fingerprint version 1): the raw positions at
    512 equal arc-length steps, float32. Frozen copy of ``authapp.security``'s
    ``arc_length_resample(positions, LEGACY_POINTS)`` as it was."""
    pts = np.asarray(positions, dtype=np.float64)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    if s[-1] <= 0:
        s = np.linspace(0.0, 1.0, pts.shape[0])
    else:  # keep it strictly increasing where the hand stood still
        s = s + np.arange(pts.shape[0]) * (s[-1] * 1e-12)
    grid = np.linspace(s[0], s[-1], _V2_POINTS)
    resampled = np.column_stack([np.interp(grid, s, pts[:, j]) for j in range(pts.shape[1])])
    return resampled.astype(np.float32)


def _v2_recording_positions(root: Path, user: str, dirname: str, fname: str,
                            sha: str) -> np.ndarray:
    """Positions of one stored enrollment recording (native format version 1: an npz with a
    JSON ``header`` and a ``positions`` array), checked against its sha256 and never read
    through a symbolic link; errors as the store reported them then."""
    folder = root / _V2_USERS_DIR / dirname
    try:
        if os.path.islink(folder):
            raise OSError(errno.ELOOP, "the user's folder is a symbolic link")
        fd = os.open(folder / fname, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise StoreIntegrityError(
            user, f"cannot read stored data of user {user!r} ({fname}: "
            f"{exc.strerror or exc})") from exc
    if hashlib.sha256(data).hexdigest() != sha:
        raise StoreIntegrityError(
            user, f"stored data of user {user!r} is damaged: {fname} does not match its "
            "checksum; re-enroll the user (--re-enroll) or delete it")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes().decode("utf-8"))
            positions = np.asarray(npz["positions"], dtype=np.float64)
        if not isinstance(header, dict) or header.get("format") != "airauth-recording" \
                or header.get("version") != 1:
            raise ValueError("not a version-1 AirAuth recording")
        if positions.ndim != 2 or positions.shape[1] not in (2, 3) or positions.shape[0] < 2 \
                or not np.all(np.isfinite(positions)):
            raise ValueError(f"unusable positions {positions.shape}")
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise StoreIntegrityError(
            user, f"stored recording of user {user!r} is unreadable ({exc})") from exc
    return positions


def _migrate_v2(conn: sqlite3.Connection, ctx: MigrationContext) -> None:
    """Add replay fingerprints and back-fill them from every stored enrollment recording."""
    for stmt in _split_sql(_V2):
        conn.execute(stmt)
    rows = conn.execute(
        "SELECT u.key, u.name, u.dirname, r.idx, r.file, r.sha256 FROM users u "
        "JOIN recordings r ON r.model_id = u.model_id ORDER BY u.key, r.idx"
    ).fetchall()
    now = ctx.clock()
    for key, name, dirname, idx, fname, sha in rows:
        fp = _v1_fingerprint(_v2_recording_positions(ctx.path, name, dirname, fname, sha))
        conn.execute(
            "INSERT INTO fingerprints (user_key, source, ref, created, rows, cols, data) "
            "VALUES (?, 'enroll', ?, ?, ?, ?, ?)",
            (key, f"enrollment sample {idx + 1}", now, fp.shape[0], fp.shape[1], fp.tobytes()),
        )


# -- version 3: keyed checksums, fingerprint versions, the garbage registry ---------------------
_V3 = """
ALTER TABLE models ADD COLUMN mac TEXT;
ALTER TABLE recordings ADD COLUMN mac TEXT;
ALTER TABLE fingerprints ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE fingerprints ADD COLUMN mac TEXT;
ALTER TABLE settings ADD COLUMN mac TEXT;
CREATE TABLE garbage (path TEXT PRIMARY KEY, since REAL NOT NULL);
"""

_V3_ARTIFACT_RE = re.compile(r"^(model|rec)-[0-9a-f]{64}\.npz$")
"""Names schema 3 gave the files it wrote into a user folder."""


def _v3_mac(key: bytes, *parts: object) -> str:
    """HMAC-SHA256 (hex) over ``parts``, joined as schema 3 joined them (each part's length,
    8 bytes little-endian, then its bytes; text and numbers as their ``repr``). Frozen copy
    of ``authapp.storekey.mac`` as it was."""
    h = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        data = part if isinstance(part, bytes) else repr(part).encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _migrate_v3(conn: sqlite3.Connection, ctx: MigrationContext) -> None:
    """Keyed checksums on the rows that decide a login, fingerprint versions, and the
    registry of files the store may delete (``garbage``).

    The rows found here are trusted (their keys are made now). Unreferenced files that
    version 2 left in user folders (crash leftovers it would have deleted) are registered
    as garbage; the unused setting ``replay_threshold_mm`` is dropped (audited).
    """
    for stmt in _split_sql(_V3):
        conn.execute(stmt)
    k = ctx.key
    now = ctx.clock()
    users = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, key, dirname FROM users")}
    for mid, uid, kind, fname, sha, meta in conn.execute(
            "SELECT id, user_id, verifier_kind, file, sha256, metadata FROM models").fetchall():
        key, dirname = users.get(uid, ("", ""))
        conn.execute("UPDATE models SET mac = ? WHERE id = ?",
                     (_v3_mac(k, "model", key, dirname, fname, sha, kind, meta), mid))
        for idx, rfile, rsha in conn.execute(
                "SELECT idx, file, sha256 FROM recordings WHERE model_id = ?", (mid,)).fetchall():
            conn.execute("UPDATE recordings SET mac = ? WHERE model_id = ? AND idx = ?",
                         (_v3_mac(k, "recording", key, int(mid), int(idx), rfile, rsha),
                          mid, idx))
    for fid, key, source, ref, created, n, d, version, data in conn.execute(
            "SELECT id, user_key, source, ref, created, rows, cols, version, data "
            "FROM fingerprints").fetchall():
        conn.execute("UPDATE fingerprints SET mac = ? WHERE id = ?",
                     (_v3_mac(k, "fingerprint", key, source, ref, float(created), int(n), int(d),
                              int(version), bytes(data)), fid))
    old = conn.execute("SELECT value FROM settings WHERE key = 'replay_threshold_mm'").fetchone()
    if old is not None:
        conn.execute("DELETE FROM settings WHERE key = 'replay_threshold_mm'")
        _audit(conn, now, "setting_dropped",
               {"replay_threshold_mm": old[0], "why": "the replay check now "
                "measures a residual relative to the writing's size "
                "(setting replay_threshold)"})
    for name, value in conn.execute("SELECT key, value FROM settings").fetchall():
        conn.execute("UPDATE settings SET mac = ? WHERE key = ?",
                     (_v3_mac(k, "setting", name, value), name))
    referenced = set(conn.execute(
        "SELECT u.dirname, m.file FROM users u JOIN models m ON m.user_id = u.id"))
    referenced |= set(conn.execute(
        "SELECT u.dirname, r.file FROM users u JOIN models m ON m.user_id = u.id "
        "JOIN recordings r ON r.model_id = m.id"))
    for dirname, _ in users.values():
        folder = ctx.path / _V2_USERS_DIR / dirname
        if not folder.is_dir() or folder.is_symlink():
            continue
        for f in folder.iterdir():
            if (dirname, f.name) not in referenced and (_V3_ARTIFACT_RE.match(f.name)
                                                        or f.name.startswith(".tmp-")):
                conn.execute("INSERT OR IGNORE INTO garbage (path, since) VALUES (?, ?)",
                             (f"{dirname}/{f.name}", now))
    _audit(conn, now, "migrate", {"schema": 3})


# -- version 4: tamper evidence for deleted and rolled-back rows ---------------------------------
_V4 = """
CREATE TABLE seals (name TEXT PRIMARY KEY, body TEXT NOT NULL, mac TEXT NOT NULL);
ALTER TABLE audit ADD COLUMN chain TEXT;
ALTER TABLE models ADD COLUMN recs_mac TEXT
"""


def _migrate_v4(conn: sqlite3.Connection, ctx: MigrationContext) -> None:
    """Seals (keyed checksums over sets of rows) where one row's checksum cannot tell that
    another row was deleted or an older one put back:

    * every model's recordings list (``models.recs_mac``: idx, file, sha256 of each);
    * the settings as one set with a version counter (seal "settings"), the version also
      written into the audit log, so an older set is told from the current one;
    * the audit log as a chain (``audit.chain``: each row's keyed checksum covers the one
      before it) and its last row (seal "audit"), so deleted, edited or cut-off rows show.

    The rows found here are trusted (the seals are made now); the layout of each checksum
    is this version's, frozen (``_v3_mac`` joins the parts).
    """
    for stmt in _split_sql(_V4):
        conn.execute(stmt)
    k = ctx.key
    now = ctx.clock()
    users = {r[0]: r[1] for r in conn.execute("SELECT id, key FROM users")}
    for mid, uid in conn.execute("SELECT id, user_id FROM models").fetchall():
        rows = conn.execute("SELECT idx, file, sha256 FROM recordings WHERE model_id = ? "
                            "ORDER BY idx", (mid,)).fetchall()
        conn.execute("UPDATE models SET recs_mac = ? WHERE id = ?",
                     (_v3_mac(k, "model recordings", users.get(uid, ""), int(mid),
                              json.dumps([[int(i), f, h] for i, f, h in rows])), mid))
    values = dict(conn.execute("SELECT key, value FROM settings ORDER BY key").fetchall())
    body = json.dumps({"version": 1, "values": values}, sort_keys=True)
    conn.execute("INSERT INTO seals (name, body, mac) VALUES ('settings', ?, ?)",
                 (body, _v3_mac(k, "seal", "settings", body)))
    _audit(conn, now, "migrate", {"schema": 4, "settings_version": 1})
    prev = ""
    last = 0
    for rid, t, ev, ukey, uname, detail in conn.execute(
            "SELECT id, time, event, user_key, user_name, detail FROM audit "
            "ORDER BY id").fetchall():
        prev = _v3_mac(k, "audit", prev, int(rid), float(t), ev, ukey, uname, detail)
        conn.execute("UPDATE audit SET chain = ? WHERE id = ?", (prev, rid))
        last = int(rid)
    body = json.dumps({"id": last, "chain": prev}, sort_keys=True)
    conn.execute("INSERT INTO seals (name, body, mac) VALUES ('audit', ?, ?)",
                 (body, _v3_mac(k, "seal", "audit", body)))


# -- version 5: each fingerprint's prefilter description kept with it ----------------------------
def _migrate_v5(conn: sqlite3.Connection, ctx: MigrationContext) -> None:
    """``fingerprints.description``: ``authapp.replay_prefilter.describe_one`` of the row,
    written with it and covered by its keyed checksum, so that a login no longer describes
    the whole history (about 20 ms at 200 attempts). Rows written before stay without one
    (their checksums are unchanged); they are described when a login needs them and leave
    the history as new attempts come."""
    conn.execute("ALTER TABLE fingerprints ADD COLUMN description BLOB")


# -- the list ------------------------------------------------------------------------------------
MIGRATIONS: tuple[Callable[[sqlite3.Connection, MigrationContext], None], ...] = (
    _migrate_v1,
    _migrate_v2,
    _migrate_v3,
    _migrate_v4,
    _migrate_v5,
)
"""MIGRATIONS[i] upgrades schema version i to i + 1 (``PRAGMA user_version``)."""

SCHEMA_VERSION = len(MIGRATIONS)
