"""User ids: validation, canonical form, and the directory name a user's files live under.

A user id is typed by people (CLI, GUI), so it is Unicode-normalised (NFKC) and compared
case-insensitively ("Alice", "alice" and full-width "Ａｌｉｃｅ" are the same person). It is
never used raw in a path: the on-disk directory name is an ASCII slug plus a hash of the
canonical key, so ``../../x``, ``CON``, ``a/b`` or names differing only in case can neither
escape the store nor clash with each other.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from capture.errors import AirAuthError

MAX_LENGTH = 64
"""Longest allowed user id, in characters after normalisation."""

_ALLOWED_PUNCT = frozenset("._-@+' ")
_ALLOWED_CATEGORIES = ("L", "N", "M")  # letters, digits, combining marks (needed by many scripts)


class UserIdError(AirAuthError, ValueError):
    """A user id is empty, too long or contains characters that are not allowed."""


def normalize_user_id(raw: object) -> str:
    """The display form of a user id: NFKC-normalised, outer whitespace stripped, validated.

    Raises ``UserIdError`` with a message saying what is wrong.
    """
    if not isinstance(raw, str):
        raise UserIdError(f"user id must be text, got {type(raw).__name__}")
    name = unicodedata.normalize("NFKC", raw).strip()
    if not name:
        raise UserIdError("user id is empty")
    if len(name) > MAX_LENGTH:
        raise UserIdError(f"user id is too long ({len(name)} characters, at most {MAX_LENGTH})")
    for ch in name:
        if ch in _ALLOWED_PUNCT or unicodedata.category(ch)[0] in _ALLOWED_CATEGORIES:
            continue
        raise UserIdError(
            f"user id {_printable(name)} contains {_describe(ch)}, which is not allowed "
            "(use letters, digits, spaces and . _ - @ + ')"
        )
    if "  " in name:
        raise UserIdError(f"user id {_printable(name)} contains consecutive spaces")
    if name[0] in ".-'":
        raise UserIdError(f"user id {_printable(name)} must not start with {name[0]!r}")
    return name


def user_key(raw: object) -> str:
    """Canonical key used for uniqueness: normalised and case-folded."""
    name = normalize_user_id(raw)
    return unicodedata.normalize("NFKC", name.casefold())


def user_dirname(raw: object) -> str:
    """Directory name for a user's files: ``<ascii slug>-<hash of the key>``.

    The slug only helps people browsing the store; the hash makes the name unique per key.
    The result matches ``[a-z0-9_]{1,24}-[0-9a-f]{24}`` and is never a reserved device name.
    """
    key = user_key(raw)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    ascii_part = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_part).strip("_")[:24] or "user"
    return f"{slug}-{digest}"


DIRNAME_RE = re.compile(r"^[a-z0-9_]{1,24}-[0-9a-f]{24}$")
"""Every name ``user_dirname`` can return matches this (used to spot foreign entries)."""


def _printable(name: str) -> str:
    return repr(name)  # repr escapes NUL, newlines and other invisible characters


def _describe(ch: str) -> str:
    cat = unicodedata.category(ch)
    uname = unicodedata.name(ch, "")
    if cat[0] == "C":
        return f"a control/invisible character U+{ord(ch):04X}"
    return f"{ch!r} (U+{ord(ch):04X}{' ' + uname if uname else ''})"
