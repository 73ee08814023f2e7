"""Store-wide settings (e.g. the lockout policy): opaque JSON values with keyed checksums.

What a value may be is ``authapp.settings_schema``'s question, asked before a value is
written (``authapp.services.admin.save``) and after it is read (``Settings.from_store``), not here.

Part of ``authapp.store.EnrollmentStore`` (a mixin).
"""

from __future__ import annotations

import json
from typing import Any

from authapp import storekey
from authapp.storage.errors import StoreError, StoreTamperedError


class StoreSettings:
    """Settings (part of ``EnrollmentStore``)."""

    def get_settings(self) -> dict[str, Any]:
        """Store-wide settings (JSON values), e.g. the lockout policy an administrator chose.

        Every value's keyed checksum is checked: a value written outside AirAuth is an
        error naming it (its range is ``authapp.settings_schema``'s). The rows must
        be the sealed set, and the set the latest version the audit log recorded
        (``authapp.storage.seals``): a deleted row or an older one put back is tampering."""
        with self._read() as c:
            rows = c.execute("SELECT key, value, mac FROM settings").fetchall()
            self._check_rows(rows)  # each row's own checksum first (the message names it)
            self._check_settings_set(c, {k: v for k, v, _ in rows})
        out = {}
        for k, v, _ in rows:
            try:
                out[k] = json.loads(v)
            except (ValueError, RecursionError) as exc:
                raise StoreError(f"store setting {k!r} is unreadable") from exc
        return out

    def _check_rows(self, rows: list) -> None:
        for k, v, mac in rows:
            if not storekey.same(mac, self._setting_mac(k, v)):
                raise StoreTamperedError(f"store setting {k!r} was changed outside AirAuth "
                                         "(keyed checksum does not match); set it again with "
                                         "authapp settings")

    def set_setting(self, key: str, value: Any) -> None:
        """Store one setting (a JSON value, already checked: ``authapp.services.admin.save``);
        audited."""
        text = json.dumps(value)
        with self._write() as c:
            version = self._change_settings(c, key, text)
            self._insert_audit(c, self.clock(), "setting", None, None,
                               {key: value, "settings_version": version})

    def unset_setting(self, key: str) -> None:
        """Return one setting to its default; audited."""
        with self._write() as c:
            version = self._change_settings(c, key, None)
            self._insert_audit(c, self.clock(), "setting", None, None,
                               {key: "default", "settings_version": version})
