"""User ids: validation, canonical form, and the directory name a user's files live under.

A user id is typed by people (CLI, GUI), so it is Unicode-normalised (NFKC) and compared
case-insensitively ("Alice", "alice" and full-width "Ａｌｉｃｅ" are the same person). It is
never used raw in a path: the on-disk directory name is an ASCII slug plus a hash of the
canonical key, so ``../../x``, ``CON``, ``a/b`` or names differing only in case can neither
escape the store nor clash with each other.

Look-alikes (Unicode confusables, UTS #39): an id may not mix letters of Latin, Cyrillic,
Greek or another alphabet that shares glyphs with them ("pаypal" with a Cyrillic "а" is
refused), and ``confusable_skeleton`` maps look-alike characters ("а", "ο", "0", "1", "I", ...)
to one representative so the store can refuse a NEW id that looks like an enrolled one
(whole-script "аlех" in Cyrillic vs "alex", "AIice" with a capital i vs "Alice"). The skeleton
is TR39-like, built from ``unicodedata`` (NFKD, non-spacing marks dropped) and a small map of
confusables written here (``_SKELETON_MAP``; not Unicode's full confusables.txt), so "luduᴏ"
with a small capital O, "lu̶duo" with a strike-through mark and "luduó" all look like "luduo".

Invisible characters are refused outright: format and control characters, and the
default-ignorable code points that render as nothing (variation selectors such as U+FE0F and
U+E0100, the combining grapheme joiner U+034F, zero-width spaces and joiners, ``_INVISIBLE``);
so is a combining mark with no base letter (at the start, or after a space or punctuation).
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable

from core.errors import AirAuthError

MAX_LENGTH = 64
"""Longest allowed user id, in characters after normalisation."""

_ALLOWED_PUNCT = frozenset("._-@+' ")
ALLOWED_DESCRIPTION = ("letters, digits, single spaces and . _ - @ + ' (not starting with . - "
                       f"or '); at most {MAX_LENGTH} characters")
"""What a user id may hold, in the words of the CLI help and of every refusal."""
_ALLOWED_CATEGORIES = ("L", "N", "M")  # letters, digits, combining marks (needed by many scripts)


class UserIdError(AirAuthError, ValueError):
    """A user id is empty, too long or contains characters that are not allowed."""


class ConfusableUserIdError(UserIdError):
    """A new user id looks like (but is not) an already enrolled one."""


_CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE",
                                 "COPTIC"})
"""Alphabets with many glyphs identical to each other's: an id may use only one of them."""

_SMALL_CAPITALS_MAP = dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘǫʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnopqrstuvwyz"))
"""Small capitals and other Latin letter forms that look like a lowercase letter (from
Unicode's confusables.txt; NFKC leaves them alone)."""

# Look-alikes mapped to one Latin representative (a small subset of Unicode's confusables.txt
# covering the Cyrillic, Greek and digit/letter look-alikes of Latin letters). Applied to the
# NFKC form BEFORE case folding, so that capital I and small l stay confusable.
_SKELETON_MAP = str.maketrans({
    # Cyrillic
    "а": "a", "А": "a", "В": "b", "в": "b", "Ь": "b", "с": "c", "С": "c", "ԁ": "d",
    "е": "e", "Е": "e", "ё": "e", "Ё": "e", "һ": "h", "Н": "h", "н": "h", "і": "i", "І": "l",
    "ӏ": "l", "Ӏ": "l", "ј": "j", "Ј": "j", "К": "k", "к": "k", "М": "m", "м": "m",
    "о": "o", "О": "o", "р": "p", "Р": "p", "ԛ": "q", "ѕ": "s", "Ѕ": "s", "Т": "t", "т": "t",
    "у": "y", "У": "y", "х": "x", "Х": "x", "ԝ": "w", "Ԝ": "w", "ү": "y", "Ү": "y",
    # Greek
    "α": "a", "Α": "a", "Β": "b", "β": "b", "ε": "e", "Ε": "e", "Ζ": "z", "Η": "h",
    "ι": "i", "Ι": "l", "κ": "k", "Κ": "k", "Μ": "m", "ν": "v", "Ν": "n", "ο": "o",
    "Ο": "o", "ρ": "p", "Ρ": "p", "Τ": "t", "τ": "t", "υ": "u", "Υ": "y", "χ": "x",
    "Χ": "x", "ϲ": "c", "Ϲ": "c", "ϳ": "j",
    # Latin and digits
    "I": "l", "1": "l", "|": "l", "ı": "i", "0": "o", "ɑ": "a", "ɡ": "g", "ʏ": "y",
    **_SMALL_CAPITALS_MAP,
})


_INVISIBLE = ((0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
              (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
              (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
              (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
              (0xE0000, 0xE0FFF))
"""Unicode's default-ignorable code points (DerivedCoreProperties.txt,
Default_Ignorable_Code_Point): they render as nothing, so an id holding one looks like the
id without it."""


def _invisible(ch: str) -> bool:
    o = ord(ch)
    return any(lo <= o <= hi for lo, hi in _INVISIBLE)


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
    for i, ch in enumerate(name):
        if _invisible(ch):
            raise UserIdError(f"user id {_printable(name)} contains an invisible character "
                              f"U+{ord(ch):04X}, which is not allowed (use "
                              f"{ALLOWED_DESCRIPTION})")
        if unicodedata.category(ch)[0] == "M" and (
                i == 0 or unicodedata.category(name[i - 1])[0] not in "LNM"):
            raise UserIdError(f"user id {_printable(name)} contains the combining mark "
                              f"U+{ord(ch):04X} without a letter to combine with")
        if ch in _ALLOWED_PUNCT or unicodedata.category(ch)[0] in _ALLOWED_CATEGORIES:
            continue
        raise UserIdError(
            f"user id {_printable(name)} contains {_describe(ch)}, which is not allowed "
            f"(use {ALLOWED_DESCRIPTION})"
        )
    scripts = sorted({_script(ch) for ch in name} & _CONFUSABLE_SCRIPTS)
    if len(scripts) > 1:
        raise UserIdError(
            f"user id {_printable(name)} mixes {' and '.join(s.title() for s in scripts)} "
            "letters (look-alike characters are not allowed; use one alphabet)"
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


def confusable_skeleton(raw: object) -> str:
    """Look-alike-insensitive form of a user id: equal skeletons render (nearly) alike.

    Decomposed (NFKD) with its non-spacing and enclosing marks dropped (accents, overlays
    such as U+0336), look-alikes mapped to one representative, case-folded."""
    if isinstance(raw, str):
        return _skeleton(raw)
    return _skeleton_uncached(raw)


@functools.lru_cache(maxsize=1 << 16)
def _skeleton(name: str) -> str:
    """Memoised: every new enrollment compares its id with every enrolled one, so a store of
    10,000 users would otherwise normalise 10,000 names per enrollment."""
    return _skeleton_uncached(name)


def _skeleton_uncached(raw: object) -> str:
    name = normalize_user_id(raw)
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", name.translate(_SKELETON_MAP))
                   if unicodedata.category(ch) not in ("Mn", "Me"))
    mapped = unicodedata.normalize("NFKC", bare.translate(_SKELETON_MAP)).casefold()
    return mapped.translate(_SKELETON_MAP)  # case folding can produce mapped letters again


def find_confusable(raw: object, enrolled: Iterable[str]) -> str | None:
    """The first of ``enrolled`` (display names) that looks like ``raw`` but is another user."""
    key, skel = user_key(raw), confusable_skeleton(raw)
    for other in enrolled:
        if confusable_skeleton(other) == skel and user_key(other) != key:
            return other
    return None


def _script(ch: str) -> str:
    """First word of a letter's Unicode name ("LATIN", "CYRILLIC", "CJK", ...); "" otherwise."""
    if not unicodedata.category(ch).startswith("L"):
        return ""
    return unicodedata.name(ch, "").split(" ", 1)[0]


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
