"""Issue 22 item 6: look-alike user ids. Invisible characters and bare combining marks are
refused; an id that differs from an enrolled one only by marks, small capitals or other
confusables is refused as a look-alike (TR39-like skeleton)."""

from __future__ import annotations

from pathlib import Path

import pytest
from storekit import fmkit

from authapp.store import EnrollmentStore
from authapp.userid import (
    ConfusableUserIdError,
    UserIdError,
    confusable_skeleton,
    normalize_user_id,
)

INVISIBLE = ["luduo\ufe0f", "luduo\u034f", "luduo\U000e0100", "lu\u200bduo", "lu\u2060duo",
             "luduo\u00ad", "lu\u180educo"]
BARE_MARKS = ["\u0300", "\u0300\u0301", " \u0336luduo", "luduo-\u0301x"]
LOOK_ALIKES = ["lu\u0336duo", "lu\u0335duo", "ludu\u1d0f", "l\u1d1cduo", "lúduo", "LUDUO\u0308",
               "1uduo", "ludu0"]


@pytest.mark.parametrize("name", INVISIBLE)
def test_invisible_characters_are_refused(name: str) -> None:
    with pytest.raises(UserIdError, match="invisible character"):
        normalize_user_id(name)


@pytest.mark.parametrize("name", BARE_MARKS)
def test_combining_marks_without_a_base_are_refused(name: str) -> None:
    with pytest.raises(UserIdError, match="without a letter"):
        normalize_user_id(name)


def test_marks_on_letters_stay_allowed() -> None:
    """Scripts that need marks keep working: an accented Latin name, Hindi, Vietnamese."""
    for name in ("José", "Jose\u0301", "नमस्ते", "Nguyễn"):
        assert normalize_user_id(name)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    """A store with ``luduo`` enrolled (the model bytes do not matter to the id check)."""
    s = EnrollmentStore(tmp_path_factory.mktemp("ids") / "s")
    s.save_enrollment("luduo", fmkit("luduo")[:2], b"model", "dtw")
    yield s
    s.close()


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_look_alikes_of_an_enrolled_id_are_refused(store: EnrollmentStore, name: str) -> None:
    assert confusable_skeleton(name) == confusable_skeleton("luduo")
    with pytest.raises(ConfusableUserIdError, match="looks like the enrolled user 'luduo'"):
        store.check_new_user_id(name)
    with pytest.raises(ConfusableUserIdError):
        store.save_enrollment(name, fmkit("luduo")[:2], b"model", "dtw")


def test_the_issue_ids_none_is_enrolled_beside_luduo(store: EnrollmentStore) -> None:
    """Every id of the issue's list is refused, one way or the other; luduo itself (any case)
    and a clearly different id are fine."""
    issue = ["luduo\ufe0f", "luduo\u034f", "luduo\U000e0100", "lu\u0336duo", "ludu\u1d0f",
             "\u0300"]
    for name in issue:
        with pytest.raises(UserIdError):
            store.check_new_user_id(name)
    store.check_new_user_id("LUDUO")
    store.check_new_user_id("luduo2")
    assert [u.name for u in store.users()] == ["luduo"]


def test_existing_ids_keep_their_keys(tmp_path: Path) -> None:
    """The canonical key (and so the on-disk folder) of an id is unchanged: existing stores
    find their users."""
    from authapp.userid import user_dirname, user_key

    assert user_key("Ａｌｉｃｅ") == "alice"
    assert user_dirname("alice") == user_dirname("ALICE")
