"""Issue 25: authority and audit live in the service, not in the front ends.

A front end that forgets the administrator's step (a GUI path that calls the offline check,
unlock, adaptation revert or a setting change without it, or any caller of the library) is
refused by ``AuthService`` itself: nothing is scored, unlocked, reverted or changed, and the
refusal is audited. Replacing or deleting an account needs the owner's proof or the
administrator inside the service too; the audit rows of the allowed actions are as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from storekit import STORE_KIND, fmkit

from authapp.guard import AuthorizationError
from authapp.security import LockoutPolicy
from authapp.services import Actor, AuthService, Settings
from authapp.store import EnrollmentStore

NOBODY = [Actor.anyone(), Actor.user("luduo"), Actor.user("luduo", proof=fmkit("luduo")[8:])]


@pytest.fixture(scope="module")
def svc(tmp_path_factory: pytest.TempPathFactory):
    store = EnrollmentStore(tmp_path_factory.mktemp("authority") / "store")
    service = AuthService(store, Settings(verifier=STORE_KIND,
                                          lockout=LockoutPolicy(3, 600.0, 900.0)))
    service.enroll("luduo", fmkit("luduo")[:5])
    yield service
    store.close()


def _rows(svc: AuthService) -> tuple[int, int]:
    return len(svc.store.audit_log()), len(svc.store.attempts("luduo"))


@pytest.mark.parametrize("who", range(len(NOBODY)))
def test_offline_check_without_the_administrator_is_refused_by_the_service(
        svc: AuthService, who: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The attack: a GUI path that shows an account's scores without the administrator's
    step would be an unlimited oracle for tuning a forgery."""
    actor = NOBODY[who]
    audit, attempts = _rows(svc)

    def scored(*a, **k):
        raise AssertionError("a refused offline check must not score")

    monkeypatch.setattr(svc, "_score", scored)
    with pytest.raises(AuthorizationError, match="administrator"):
        svc.offline_check(actor, "luduo", fmkit("luduo")[6])
    log = svc.store.audit_log()
    assert len(log) == audit + 1 and len(svc.store.attempts("luduo")) == attempts
    assert (log[-1].event, log[-1].user, log[-1].detail) == \
        ("refused", "luduo", {"action": "offline check", "by": actor.label})


def test_the_administrators_offline_check_is_audited_by_the_service(svc: AuthService) -> None:
    audit, attempts = _rows(svc)
    r = svc.offline_check(Actor.admin("admin (GUI)"), "luduo", fmkit("luduo")[6])
    assert r.outcome == "accept"
    r = svc.offline_check(Actor.admin(), "LUDUO", fmkit("luduo")[0], file="x.txt")
    assert r.outcome == "replay"  # the login's rules apply
    log = svc.store.audit_log()[audit:]
    assert [(e.event, e.user, e.detail) for e in log] == [
        ("offline_check", "luduo", {"outcome": "accept", "by": "admin (GUI)"}),
        ("offline_check", "luduo", {"outcome": "replay", "by": "admin", "file": "x.txt"})]
    assert len(svc.store.attempts("luduo")) == attempts  # not a login


def test_unlock_revert_and_settings_need_the_administrator(svc: AuthService) -> None:
    for actor in NOBODY:
        audit, attempts = _rows(svc)
        with pytest.raises(AuthorizationError, match="administrator"):
            svc.unlock(actor, "luduo")
        with pytest.raises(AuthorizationError, match="administrator"):
            svc.revert_adaptation(actor, "luduo")
        with pytest.raises(AuthorizationError, match="administrator"):
            svc.change_setting(actor, "max_failures", "100")
        assert len(svc.store.attempts("luduo")) == attempts
        assert svc.settings.lockout.max_failures == 3
        assert [(e.event, e.detail["action"]) for e in svc.store.audit_log()[audit:]] == [
            ("refused", "unlock"), ("refused", "adaptation revert"),
            ("refused", "setting max_failures")]
    with pytest.raises(AuthorizationError):  # an unknown account: refused all the same
        svc.unlock(Actor.anyone(), "nobody")
    assert svc.store.audit_log()[-1].user is None
    svc.unlock(Actor.admin("admin (GUI)"), "luduo")
    entry = svc.store.audit_log("luduo")[-1]
    assert (entry.event, entry.detail["by"]) == ("unlock", "admin (GUI)")
    assert svc.store.attempts("luduo")[-1].reason == "unlocked by admin (GUI)"


def test_taking_over_an_account_needs_proof_or_the_administrator_in_the_service(
        svc: AuthService, tmp_path: Path) -> None:
    before = svc.store.get_user("luduo").model_sha256
    for actor in (None, Actor.anyone(), Actor.user("luduo")):
        with pytest.raises(AuthorizationError, match="needs proof"):
            svc.enroll("luduo", fmkit("jisuanji")[:5], re_enroll=True, actor=actor)
        with pytest.raises(AuthorizationError, match="needs proof"):
            svc.delete(actor or Actor.anyone(), "luduo")
    with pytest.raises(AuthorizationError, match="did not pass the login"):
        svc.enroll("luduo", fmkit("jisuanji")[:5], add=True,
                   actor=Actor.user("luduo", proof=fmkit("jisuanji")[8:]))
    with pytest.raises(AuthorizationError, match="own account"):  # someone else's proof
        svc.delete(Actor.user("ji", proof=fmkit("luduo")[8:]), "luduo")
    assert svc.store.get_user("luduo").model_sha256 == before
    report = svc.enroll("luduo", fmkit("luduo")[:5], re_enroll=True, actor=Actor.admin())
    assert report.authorised_by == "admin"
    assert ("admin_action", {"action": "re-enrollment"}) in [
        (e.event, e.detail) for e in svc.store.audit_log("luduo")]
