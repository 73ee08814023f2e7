"""User ids: validation, Unicode normalisation, case-insensitive uniqueness, safe directories."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from storekit import fmkit, save_user

from authapp.store import DuplicateUserError, EnrollmentStore
from authapp.userid import (
    DIRNAME_RE,
    MAX_LENGTH,
    ConfusableUserIdError,
    UserIdError,
    confusable_skeleton,
    normalize_user_id,
    user_dirname,
    user_key,
)

WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)),
                    *(f"lpt{i}" for i in range(10))}


@pytest.mark.parametrize("raw", ["", "   ", "../../x", "..", ".hidden", "a/b", "a\\b", "a\x00b",
                                 "tab\there", "line\nbreak", "x" * (MAX_LENGTH + 1), "a:b",
                                 "-rf", "C:", "evil\u202eexe", "zero\u200bwidth", "a  b",
                                 "<script>", "~root", "a*b", "$(whoami)"])
def test_invalid_ids_are_rejected_with_a_message(raw: str) -> None:
    with pytest.raises(UserIdError) as err:
        normalize_user_id(raw)
    assert str(err.value)


def test_non_text_is_rejected() -> None:
    for bad in (None, 42, b"bytes", ["x"]):
        with pytest.raises(UserIdError, match="must be text"):
            normalize_user_id(bad)


def test_normalisation_and_case_insensitive_key() -> None:
    assert normalize_user_id("  Alice ") == "Alice"
    same = ["Alice", "alice", "ALICE", "\uff21\uff4c\uff49\uff43\uff45"]  # full-width Alice
    assert {user_key(s) for s in same} == {"alice"}
    assert {user_dirname(s) for s in same} == {user_dirname("alice")}
    assert user_key("Stra\u00dfe") == user_key("STRASSE")  # ß case-folds to ss
    assert user_key("Jos\u00e9") == user_key("Jose\u0301")  # composed vs combining accent
    assert user_key("Jos\u00e9") != user_key("Jose")
    assert normalize_user_id("\u674e\u5c0f\u9f99") == "\u674e\u5c0f\u9f99"  # CJK is fine
    assert normalize_user_id("o'brien.j-x_1@lab+a b") == "o'brien.j-x_1@lab+a b"


@pytest.mark.parametrize("raw", ["CON", "con", "NUL", "aux", "LPT1", "com1", "x", "A" * 64,
                                 "\u674e\u5c0f\u9f99", "a..", "a.b.c", "a..b"])
def test_dirnames_are_safe(raw: str) -> None:
    name = user_dirname(raw)
    assert DIRNAME_RE.match(name)
    assert "/" not in name and "\\" not in name and ".." not in name
    assert name.split(".")[0].lower() not in WINDOWS_RESERVED
    assert len(name) <= 49


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_dirnames_match_pattern_and_differ_for_different_keys(a: str, b: str) -> None:
    try:
        ka, da = user_key(a), user_dirname(a)
        kb, db = user_key(b), user_dirname(b)
    except UserIdError:
        return
    assert DIRNAME_RE.match(da) and DIRNAME_RE.match(db)
    assert (ka == kb) == (da == db)


def test_store_keeps_strange_names_inside_and_apart(tmp_path: Path) -> None:
    root = tmp_path / "s"
    recs = fmkit("luduo")[:3]
    with EnrollmentStore(root) as store:
        for name in ["CON", "Jos\u00e9", "\u674e\u5c0f\u9f99", "a.b"]:
            save_user(store, name, recs)
        with pytest.raises(DuplicateUserError):
            save_user(store, "con", recs)
        with pytest.raises(DuplicateUserError):
            save_user(store, "Jose\u0301", recs)
        with pytest.raises(UserIdError):
            save_user(store, "../../escape", recs)
        assert sorted(u.name for u in store.users()) == sorted(
            ["CON", "Jos\u00e9", "\u674e\u5c0f\u9f99", "a.b"])
    users_dir = root / "users"
    dirs = list(users_dir.iterdir())
    assert len(dirs) == 4 and all(DIRNAME_RE.match(d.name) for d in dirs)
    assert {p.resolve().parent for p in dirs} == {users_dir.resolve()}
    assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize("raw,scripts", [("p\u0430ypal", "Cyrillic and Latin"),  # Cyrillic a
                                         ("\u03a9mega", "Greek and Latin"),
                                         ("\u0430lic\u0435 smith", "Cyrillic and Latin")])
def test_mixed_script_look_alikes_are_rejected(raw: str, scripts: str) -> None:
    with pytest.raises(UserIdError, match=f"mixes {scripts} letters"):
        normalize_user_id(raw)


def test_confusable_skeletons() -> None:
    assert confusable_skeleton("\u0441\u043e\u0440") == confusable_skeleton("cop")  # Cyrillic
    assert confusable_skeleton("AIice") == confusable_skeleton("alice")  # capital i vs l
    assert confusable_skeleton("a1ice") == confusable_skeleton("Alice")
    assert confusable_skeleton("\u03bf\u03c1\u03b1") == confusable_skeleton("opa")  # Greek
    assert confusable_skeleton("alicia") != confusable_skeleton("alice")
    # issue 22: marks are folded (an accent or an overlay stroke is easy to miss)
    assert confusable_skeleton("Jos\u00e9") == confusable_skeleton("Jose")


def test_store_refuses_a_new_id_that_looks_like_an_enrolled_one(tmp_path: Path) -> None:
    recs = fmkit("luduo")[:3]
    with EnrollmentStore(tmp_path / "s") as store:
        save_user(store, "alice", recs)
        save_user(store, "cop", recs)
        for fake, real in [("AIice", "alice"), ("a1ice", "alice"),
                           ("\u0441\u043e\u0440", "cop")]:
            with pytest.raises(ConfusableUserIdError, match=f"looks like the enrolled user "
                                                            f"'{real}'"):
                save_user(store, fake, recs)
        save_user(store, "ALICE", recs, re_enroll=True)  # the same user, not a look-alike
        save_user(store, "alicia", recs)
        assert sorted(u.name for u in store.users()) == ["ALICE", "alicia", "cop"]
