"""Seals: keyed checksums over *sets* of rows, so that a deleted row, or an older row put
back, shows (one row's own checksum cannot tell either).

* A model's recordings: ``models.recs_mac`` covers the list (idx, file, sha256) of the
  model's recordings rows, so deleting one hides no enrollment sample from the replay check.
* The settings: one set with a version counter (seal "settings"); each change writes the
  new version into the audit log too, so a whole older set (values and seal) is refused.
* The audit log: a chain (``audit.chain``: each row's keyed checksum covers the row before),
  and its last row (seal "audit"): a deleted, edited or cut-off row is found by
  ``audit_problems`` (``authapp verify-store``, ``authapp users``).

Not defended: putting back a copy of the whole database file (every row, chain and seal
of an earlier day agree with each other). The repositories that write those rows share one
``Seals`` over the store's ``Database``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from authapp import storekey
from authapp.storage import keyed
from authapp.storage.database import Database
from authapp.storage.errors import StoreIntegrityError, StoreTamperedError
from authapp.storage.records import RecordingRow
from capture.container import json_default


class Seals:
    """Seals over sets of rows, and the audit log's chain."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the checksums ------------------------------------------------------------------------
    def recs_mac(self, key: str, model_id: int, rows: Sequence[RecordingRow]) -> str:
        """Keyed checksum of a model's recordings list: (idx, file, sha256) rows by idx."""
        listing = json.dumps([[int(r.idx), r.file, r.sha256] for r in sorted(rows)])
        return storekey.mac(self.db.key, "model recordings", key, int(model_id), listing)

    def chain_mac(self, prev: str, rid: int, when: float, event: str, key: str | None,
                   name: str | None, detail: str) -> str:
        return storekey.mac(self.db.key, "audit", prev, int(rid), float(when), event, key, name,
                            detail)

    def seal(self, c: sqlite3.Connection, name: str) -> dict[str, Any] | None:
        """The sealed JSON object ``name``; None if it is missing (a store from before
        schema 4 has none); ``StoreTamperedError`` if its checksum does not match."""
        row = c.execute("SELECT body, mac FROM seals WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        if not storekey.same(row["mac"], storekey.mac(self.db.key, "seal", name, row["body"])):
            raise StoreTamperedError(f"the store's {name} seal was changed outside AirAuth "
                                     "(keyed checksum does not match)")
        return json.loads(row["body"])

    def write_seal(self, c: sqlite3.Connection, name: str, value: dict[str, Any]) -> None:
        body = json.dumps(value, sort_keys=True)
        c.execute("INSERT INTO seals (name, body, mac) VALUES (?, ?, ?) ON CONFLICT(name) DO "
                  "UPDATE SET body = excluded.body, mac = excluded.mac",
                  (name, body, storekey.mac(self.db.key, "seal", name, body)))

    # -- model recordings ---------------------------------------------------------------------
    def seal_recordings(self, c: sqlite3.Connection, key: str, model_id: int) -> None:
        rows = [RecordingRow(r["idx"], r["file"], r["sha256"]) for r in c.execute(
            "SELECT idx, file, sha256 FROM recordings WHERE model_id = ?", (model_id,))]
        c.execute("UPDATE models SET recs_mac = ? WHERE id = ?",
                  (self.recs_mac(key, model_id, rows), model_id))

    def check_recordings_seal(self, c: sqlite3.Connection, name: str, key: str,
                               model_id: int, rows: Sequence[RecordingRow]) -> None:
        """Refuse a model whose recordings rows are not the ones it was saved with."""
        row = c.execute("SELECT recs_mac FROM models WHERE id = ?", (model_id,)).fetchone()
        if row is None or not storekey.same(row["recs_mac"],
                                            self.recs_mac(key, model_id, rows)):
            raise StoreIntegrityError(
                name, f"the stored recordings of user {name!r} were removed or changed "
                "outside AirAuth (the model's list of recordings does not match); re-enroll "
                "the user (--re-enroll --admin)")

    # -- the audit chain ----------------------------------------------------------------------
    def insert_audit(self, c: sqlite3.Connection, when: float, event: str, key: str | None,
                      name: str | None, detail: dict[str, Any]) -> None:
        """Append one audit row, chained to the one before it, and move the seal."""
        text = json.dumps(detail, sort_keys=True, default=json_default)
        last = c.execute("SELECT chain FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        cur = c.execute("INSERT INTO audit (time, event, user_key, user_name, detail) "
                        "VALUES (?, ?, ?, ?, ?)", (when, event, key, name, text))
        rid = int(cur.lastrowid)
        chain = self.chain_mac(last["chain"] if last and last["chain"] else "", rid, when,
                                event, key, name, text)
        c.execute("UPDATE audit SET chain = ? WHERE id = ?", (chain, rid))
        self.write_seal(c, "audit", {"id": rid, "chain": chain})

    def audit_problems(self) -> list[str]:
        """What is wrong with the audit log: rows deleted, edited or inserted outside AirAuth,
        or its end cut off (empty when the chain and its seal agree)."""
        with self.db.read() as c:
            rows = c.execute("SELECT id, time, event, user_key, user_name, detail, chain "
                             "FROM audit ORDER BY id").fetchall()
            try:
                head = self.seal(c, "audit")
            except StoreTamperedError as exc:
                return [str(exc)]
        problems = []
        prev = ""
        for r in rows:
            expected = self.chain_mac(prev, r["id"], r["time"], r["event"], r["user_key"],
                                       r["user_name"], r["detail"])
            if not storekey.same(r["chain"], expected):
                problems.append(f"audit row {r['id']} ({r['event']}) was changed, or a row "
                                "before it deleted, outside AirAuth")
                expected = r["chain"] or ""  # go on from the stored value: each break once
            prev = expected
        last = rows[-1] if rows else None
        if head is None:
            problems.append("the audit log's seal is missing")
        elif last is None or head.get("id") != last["id"] or head.get("chain") != last["chain"]:
            problems.append(f"the audit log ends at row {last['id'] if last else 0}, but it "
                            f"was sealed at row {head.get('id')}: rows were deleted or added "
                            "at its end outside AirAuth")
        return problems

    # -- settings -----------------------------------------------------------------------------
    def settings_seal(self, c: sqlite3.Connection) -> dict[str, Any]:
        seal = self.seal(c, "settings")
        if seal is None or not isinstance(seal.get("values"), dict):
            raise StoreTamperedError("the store's settings record is missing (deleted outside "
                                     "AirAuth): the settings cannot be trusted; restore the "
                                     "store from a backup")
        return seal

    def check_settings_set(self, c: sqlite3.Connection, rows: dict[str, str]) -> None:
        """Refuse settings rows that are not the sealed set, or a sealed set older than the
        latest version the audit log recorded."""
        seal = self.settings_seal(c)
        sealed = seal["values"]
        differ = sorted(k for k in set(sealed) | set(rows) if sealed.get(k) != rows.get(k))
        if differ:
            raise StoreTamperedError(
                f"store setting(s) {', '.join(differ)} were changed, deleted or put back "
                "outside AirAuth (not the sealed set of settings); set them again with "
                "authapp settings")
        logged = self.logged_settings_version(c)
        if logged is not None and seal.get("version") != logged:
            raise StoreTamperedError(
                f"the store's settings are version {seal.get('version')}, but the audit log "
                f"recorded version {logged}: an older set was put back outside AirAuth")

    def logged_settings_version(self, c: sqlite3.Connection) -> int | None:
        """The settings version of the audit log's latest row that records one (whether the
        log itself was edited is ``audit_problems``' question)."""
        row = c.execute("SELECT detail FROM audit WHERE event IN ('setting', 'migrate') AND "
                        "detail LIKE '%settings_version%' ORDER BY id DESC LIMIT 1").fetchone()
        try:
            version = json.loads(row["detail"]).get("settings_version") if row else None
        except (ValueError, AttributeError):
            return None
        return version if isinstance(version, int) else None

    def change_settings(self, c: sqlite3.Connection, key: str, text: str | None) -> int:
        """Set (``text``) or unset (None) one setting, starting from the sealed set, and
        seal the result as the next version; returns it (for the audit row).

        The rows are rewritten from the seal: rows deleted, edited or put back outside
        AirAuth are replaced by the sealed values (an administrator setting a value again
        repairs them), and the version moves past any the audit log recorded."""
        seal = self.settings_seal(c)
        values = dict(seal["values"])
        if text is None:
            values.pop(key, None)
        else:
            values[key] = text
        version = max(int(seal.get("version", 0)), self.logged_settings_version(c) or 0) + 1
        c.execute("DELETE FROM settings")
        c.executemany("INSERT INTO settings (key, value, mac) VALUES (?, ?, ?)",
                      [(k, v, keyed.setting_mac(self.db.key, k, v)) for k, v in sorted(values.items())])
        self.write_seal(c, "settings", {"version": version, "values": values})
        return version
