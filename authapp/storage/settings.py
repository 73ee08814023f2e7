"""Store-wide settings (e.g. the lockout policy): opaque JSON values with keyed checksums.

The store keeps what it is given and refuses what was changed outside AirAuth; whether a
value makes sense is the settings layer's question (``authapp.settings_schema``), asked
before a value is written (``authapp.services.admin.save``) and after it is read
(``Settings.from_store``), not here.

A repository over the store's ``Database`` (``authapp.store.EnrollmentStore`` fronts it).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from authapp import storekey
from authapp.storage import keyed
from authapp.storage.database import Database
from authapp.storage.errors import StoreError, StoreTamperedError
from authapp.storage.seals import Seals


class StoreSettings:
    """Store-wide settings, each kept with its keyed checksum, the set under a seal."""

    def __init__(self, db: Database, seals: Seals) -> None:
        self.db = db
        self.seals = seals

    def get_settings(self) -> dict[str, Any]:
        """Store-wide settings (JSON values), e.g. the lockout policy an administrator chose.

        Every value's keyed checksum is checked: a value written outside AirAuth is an error
        naming it (whether a value is in range is ``authapp.settings_schema``'s question,
        asked where the settings are used). The rows must
        be the sealed set, and the set the latest version the audit log recorded
        (``authapp.storage.seals``): a deleted row or an older one put back is tampering."""
        with self.db.read() as c:
            rows = c.execute("SELECT key, value, mac FROM settings").fetchall()
            self._check_rows(rows)  # each row's own checksum first (the message names it)
            self.seals.check_settings_set(c, {r["key"]: r["value"] for r in rows})
        out = {}
        for r in rows:
            try:
                out[r["key"]] = json.loads(r["value"])
            except (ValueError, RecursionError) as exc:
                raise StoreError(f"store setting {r['key']!r} is unreadable") from exc
        return out

    def _check_rows(self, rows: list[sqlite3.Row]) -> None:
        for r in rows:
            k = r["key"]
            if not storekey.same(r["mac"], keyed.setting_mac(self.db.key, k, r["value"])):
                raise StoreTamperedError(f"store setting {k!r} was changed outside AirAuth "
                                         "(keyed checksum does not match); set it again with "
                                         "authapp settings")

    def set_setting(self, key: str, value: Any) -> None:
        """Store one setting (a JSON value, already checked: ``authapp.services.admin.save``);
        audited."""
        text = json.dumps(value)
        with self.db.write() as c:
            version = self.seals.change_settings(c, key, text)
            self.seals.insert_audit(c, self.db.clock(), "setting", None, None,
                               {key: value, "settings_version": version})

    def unset_setting(self, key: str) -> None:
        """Return one setting to its default; audited."""
        with self.db.write() as c:
            version = self.seals.change_settings(c, key, None)
            self.seals.insert_audit(c, self.db.clock(), "setting", None, None,
                               {key: "default", "settings_version": version})
