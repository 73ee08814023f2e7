"""The enrollment store's secret key and the keyed checksums (HMAC-SHA256) made with it.

A plain sha256 in the database only tells damaged files apart: whoever can write the
database can also write a matching checksum, point a user at another user's model, or
rewrite a replay fingerprint. Rows that decide a login (model and recording rows, replay
fingerprints, settings) therefore carry an HMAC made with a random per-store key that lives
in its own owner-only file (``secret.key``, 0600), outside the database: changing those rows
needs the key as well.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import stat
from pathlib import Path

from core.files import atomic_write

KEY_NAME = "secret.key"
KEY_BYTES = 32


class KeyFileError(OSError):
    """The key file is not a plain owner-only file of the right size (the store says why)."""


def read_key(path: Path) -> bytes | None:
    """The key in ``path``; None when there is no such file. Never follows a symlink."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyFileError(f"cannot read the store key {path}: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise KeyFileError(f"the store key {path} is not a regular file")
        data = os.read(fd, KEY_BYTES + 1)
        if stat.S_IMODE(st.st_mode) != 0o600:
            with contextlib.suppress(OSError):
                os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    if len(data) != KEY_BYTES:
        raise KeyFileError(f"the store key {path} is damaged ({len(data)} bytes, expected "
                           f"{KEY_BYTES})")
    return data


def create_key(path: Path) -> bytes:
    """Write a new random key to ``path`` (0600, all-or-nothing, never over an existing
    file) and return it."""
    key = os.urandom(KEY_BYTES)
    try:
        atomic_write(path, key, mode=0o600, exclusive=True)
    except FileExistsError:  # another process created the key meanwhile
        existing = read_key(path)
        if existing is None:
            raise
        return existing
    return key


def mac(key: bytes, *parts: object) -> str:
    """HMAC-SHA256 (hex) over ``parts`` (text, numbers or bytes), unambiguously joined."""
    h = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        data = part if isinstance(part, bytes) else repr(part).encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def same(a: str | None, b: str) -> bool:
    """Constant-time comparison of two MACs (a missing one never matches)."""
    return a is not None and hmac.compare_digest(a, b)
