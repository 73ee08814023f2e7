"""Template adaptation: confident logins join the references, bounded, audited, revertible;
``enroll --add`` needs authority; an imitator's accepted forgeries do not pull the account."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA

from authapp.guard import AuthorizationError
from authapp.services import Actor, AuthService, Settings
from authapp.settings_schema import SettingError, check, parse
from authapp.store import EnrollmentStore, UnknownUserError
from capture.datasets import load_dataset
from models.adaptation import AdaptationPolicy, mark_adapted
from models.base import ParameterError
from models.calibration import is_adapted

ADMIN = Actor.admin()
"""The tests' administrator (the service audits what they do)."""

SVC = SHARED_DATA / "svc2004_task1"
USERS = ("U2", "U3", "U6", "U7", "U8", "U11")
"""SVC2004 Task1 users who are not among the package's shipped background people
(``models.background``): a user must never be in their own cohort."""


@cache
def svc() -> object:
    return load_dataset(SVC, "svc2004")


def genuine(user: str) -> list:
    return sorted(svc().genuine(user), key=lambda t: t.meta.extra["sample"])


def test_policy_rules_and_bounds() -> None:
    p = AdaptationPolicy(margin=1.0, max_adapted=3)
    assert not p.qualifies(0.5, 5.0)  # not confident enough
    assert p.qualifies(1.5, 0.1) and not p.qualifies(1.5, -0.1)  # anchored
    assert not p.qualifies(1.5, None)
    assert AdaptationPolicy(anchor=False).qualifies(1.5, None)
    assert not AdaptationPolicy(enabled=False).qualifies(9.0, 9.0)
    assert not p.qualifies(float("nan"), 1.0)
    # the service and the harness decide through admits: the anchor is scored only when
    # the login is confident enough, and then decides
    calls = []

    def anchor(v: float):
        return lambda: calls.append(v) or v

    assert p.admits(0.5, anchor(5.0)) == (False, None) and not calls
    assert p.admits(1.5, anchor(0.1)) == (True, 0.1) and calls == [0.1]
    assert p.admits(1.5, anchor(-0.1)) == (False, -0.1)
    assert AdaptationPolicy(anchor=False).admits(1.5, anchor(-9.0)) == (True, None)
    assert AdaptationPolicy(enabled=False).admits(9.0, anchor(9.0)) == (False, None)
    assert calls == [0.1, -0.1]
    a, b, c, d = genuine("U3")[:4]
    kept = p.updated(p.updated(p.updated(p.updated([], a), b), c), d)  # oldest out
    assert [t.meta.source for t in kept] == [t.meta.source for t in (b, c, d)]
    assert all(t.meta.extra["adapted"] for t in kept) and not a.meta.extra.get("adapted")
    assert is_adapted(kept[0]) and mark_adapted(kept[0]) is kept[0]
    for bad in ({"margin": -1}, {"margin": float("nan")}, {"max_adapted": 0},
                {"max_adapted": 101}):
        with pytest.raises(ParameterError):
            AdaptationPolicy(**bad)


def test_adaptation_settings_are_checked() -> None:
    assert check("adaptation", False) is False
    assert check("adapt_margin", 2) == 2.0 and check("max_adapted", 5) == 5
    assert parse("adaptation", "off") is False
    assert parse("max_adapted", "4") == 4
    for name, value in (("adaptation", "yes"), ("adapt_margin", -2), ("adapt_margin", 1e999),
                        ("max_adapted", 2.5), ("max_adapted", 1000), ("adapt_margin", True)):
        with pytest.raises(SettingError):
            check(name, value)


@pytest.fixture(scope="module")
def adapted_store(tmp_path_factory: pytest.TempPathFactory):
    """Six SVC2004 users enrolled from session 1 (S1-S5) with the product's defaults."""
    store = EnrollmentStore(tmp_path_factory.mktemp("adapt") / "store")
    service = AuthService(store, Settings(adaptation=AdaptationPolicy(max_adapted=3)))
    for u in USERS:
        service.enroll(u, genuine(u)[:5])
    yield service
    store.close()


def test_confident_logins_join_the_references_bounded_and_audited(adapted_store) -> None:
    service = adapted_store
    user = "U7"
    before = service.store.get_user(user)
    results = [service.verify(user, t) for t in genuine(user)[10:20]]  # a week later
    adapted = [r for r in results if r.adapted]
    assert adapted, [r.reason for r in results]
    assert all(r.decision and r.score >= service.settings.adaptation.margin for r in adapted)
    assert not any(r.adapted for r in results if not r.decision)
    info = service.store.get_user(user)
    assert info.metadata["n_enrollment"] == 5
    assert info.metadata["n_adapted"] == min(3, len(adapted)) == info.n_recordings - 5
    recs = service.store.load_recordings(user)
    src = [r.meta.source for r in recs]
    assert src[:5] == [t.meta.source for t in genuine(user)[:5]]  # enrollment samples stay
    last = [r.meta.source for r, res in zip(genuine(user)[10:20], results) if res.adapted][-3:]
    assert src[5:] == last  # the most recent adapted ones, oldest out
    assert info.metadata["sources"] == src  # the account says what its references are now
    events = service.store.audit_log(user)
    assert sum(e.event == "adapt" for e in events) == len(adapted)
    assert all(e.detail["margin"] >= 1.0 for e in events if e.event == "adapt")
    assert info.model_sha256 != before.model_sha256
    # an adapted sample is a stored recording: replaying it is caught
    again = service.verify(user, genuine(user)[10:20][results.index(adapted[-1])])
    assert again.outcome == "replay" and not again.adapted


def test_offline_checks_and_rejections_never_adapt(adapted_store) -> None:
    service = adapted_store
    info = service.store.get_user("U3")
    r = service.offline_check(ADMIN, "U3", genuine("U3")[12])
    assert not r.adapted and service.store.get_user("U3").model_sha256 == info.model_sha256
    r = service.verify("U3", genuine("U8")[8])  # someone else: rejected, never adapted
    assert not r.decision and not r.adapted
    assert service.store.get_user("U3").model_sha256 == info.model_sha256


def test_an_administrator_reverts_adaptation(adapted_store) -> None:
    service = adapted_store
    user = "U6"
    for t in genuine(user)[10:16]:
        service.verify(user, t)
    n = service.store.get_user(user).metadata.get("n_adapted", 0)
    assert n >= 1
    dropped = service.revert_adaptation(ADMIN, user)
    assert dropped == n
    info = service.store.get_user(user)
    assert info.n_recordings == 5 and info.metadata["n_adapted"] == 0
    assert info.metadata["sources"] == [r.meta.source for r in genuine(user)[:5]]
    assert [e.event for e in service.store.audit_log(user)][-1] == "adapt_revert"
    assert service.revert_adaptation(ADMIN, user) == 0


def test_adaptation_off_leaves_the_model(tmp_path: Path) -> None:
    with EnrollmentStore(tmp_path / "s") as store:
        service = AuthService(store, Settings(adaptation=AdaptationPolicy(enabled=False)))
        for u in USERS[:5]:
            service.enroll(u, genuine(u)[:5])
        sha = store.get_user("U2").model_sha256
        assert not any(service.verify("U2", t).adapted for t in genuine("U2")[5:12])
        assert store.get_user("U2").model_sha256 == sha


def test_enroll_add_needs_authority_and_keeps_the_samples(tmp_path: Path, capsys) -> None:
    from authapp.cli import main
    from capture.formats.native import save_native

    files = []
    for t in genuine("U6")[:5] + genuine("U6")[10:13]:
        f = tmp_path / f"{Path(t.meta.source).stem}.npz"
        save_native(t, f)
        files.append(str(f))
    store = str(tmp_path / "store")
    for u in USERS[:5]:
        if u != "U6":
            ff = []
            for t in genuine(u)[:5]:
                f = tmp_path / f"{u}_{Path(t.meta.source).stem}.npz"
                save_native(t, f)
                ff.append(str(f))
            assert main(["enroll", u, *ff, "--store", store]) == 0
    assert main(["enroll", "U6", *files[:5], "--store", store]) == 0
    capsys.readouterr()
    assert main(["enroll", "U6", *files[5:], "--add", "--store", store]) == 2
    assert "--proof" in capsys.readouterr().err
    assert main(["enroll", "U6", *files[5:], "--add", "--re-enroll", "--admin",
                 "--store", store]) == 2
    assert main(["enroll", "U6", *files[5:], "--add", "--admin", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "adding samples of 'U6' authorised by the administrator" in out
    with EnrollmentStore(tmp_path / "store") as s:
        info = s.get_user("U6")
        assert info.n_recordings == 8 and info.metadata["n_enrollment"] == 8
    assert main(["adaptation", "U6", "--store", store]) == 0
    assert "8 enrollment sample(s), 0 adapted" in capsys.readouterr().out
    assert main(["adaptation", "U6", "--revert", "--store", store]) == 2
    assert "--admin" in capsys.readouterr().err
    service = AuthService(EnrollmentStore(tmp_path / "store"))
    with pytest.raises(AuthorizationError):
        service.authorize(Actor.anyone(), "U6", "add samples")


def poisoning_rounds(service: AuthService, user: str, rounds: int = 20
                     ) -> tuple[float, float, int]:
    """An imitator interleaves skilled forgeries with the user's genuine logins (a week
    later) for ``rounds`` rounds; (skilled FAR before, after, forgeries accepted)."""
    forgeries = sorted(svc().forgeries(user), key=lambda t: t.meta.extra["sample"])
    _, model = service.store.load_verifier(user)
    before = float(np.sum(model.predict(forgeries)))
    later = genuine(user)[5:]
    accepted = 0
    for k in range(rounds):
        r = service.verify(user, forgeries[k % len(forgeries)])
        accepted += r.decision and r.outcome == "accept"
        if k < len(later):
            service.verify(user, later[k])
    _, model = service.store.load_verifier(user)
    return before, float(np.sum(model.predict(forgeries))), accepted


@pytest.mark.slow
def test_poisoning_sequence_interleaving_accepted_forgeries(tmp_path: Path) -> None:
    """At level low (skilled FAR 10 % on the development data) some forgeries of U18 and U20
    get in. Over 20 rounds of forgeries interleaved with the users' genuine logins a week
    later, nothing is adapted below the policy's margin or without the enrollment model's
    acceptance, and the accounts' skilled FAR stays within 2.5x of before. The issue asks
    for 1.5x: measured 4 -> 8 of 40 forgeries (2.0x), NOT met (README, "Returning users");
    this test guards the measured bound against getting worse."""
    from authapp.security import LockoutPolicy

    with EnrollmentStore(tmp_path / "s") as store:
        service = AuthService(store, Settings(security_level="low", shipped_background=False,
                                              lockout=LockoutPolicy(max_failures=0)))
        for u in USERS + ("U18", "U20"):
            service.enroll(u, genuine(u)[:5])
        totals = np.zeros(3)
        for u in ("U18", "U20"):
            totals += poisoning_rounds(service, u)
            for e in store.audit_log(u):
                if e.event == "adapt":
                    assert e.detail["margin"] >= service.settings.adaptation.margin
                    assert e.detail["anchor_margin"] >= 0.0
        before, after, accepted = totals
        assert accepted >= 1, "the attack needs accepted forgeries to mean anything"
        assert after <= 2.5 * before + 1e-9, (before, after, accepted)


def _refit_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.exc_info or r.levelno >= logging.ERROR]


def test_a_young_store_adapts_with_the_shipped_background(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    """A new installation (two users, default settings: the shipped people join the cohort):
    the refit takes the cohort enrollment took, so confident logins do adapt."""
    caplog.set_level(logging.INFO)
    with EnrollmentStore(tmp_path / "s") as store:
        service = AuthService(store, Settings())
        for u in ("U7", "U3"):
            service.enroll(u, genuine(u)[:5])
        assert store.get_user("U7").metadata["calibration"]["cohort_feature"]
        results = [service.verify("U7", t) for t in genuine("U7")[10:20]]  # a week later
        margin = service.settings.adaptation.margin
        confident = [r for r in results if r.decision and r.score >= margin]
        assert confident, [r.score for r in results]
        assert confident[0].adapted  # the first one: nothing adapted yet, so it anchors
        adapted = [r for r in results if r.adapted]
        info = store.get_user("U7")
        assert info.metadata["n_adapted"] == min(len(adapted),
                                                 service.settings.adaptation.max_adapted)
        assert info.n_recordings == 5 + info.metadata["n_adapted"]
        assert sum(e.event == "adapt" for e in store.audit_log("U7")) == len(adapted)
    assert not _refit_failures(caplog)


def test_a_cohort_too_small_skips_adaptation_cleanly(tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """An account calibrated with the cohort feature whose cohort is now too small (the
    shipped people switched off, one user): the login is accepted, the account is left as it
    was, and the log says why -- no traceback."""
    caplog.set_level(logging.INFO)
    with EnrollmentStore(tmp_path / "s") as store:
        AuthService(store, Settings()).enroll("U7", genuine("U7")[:5])
        before = store.get_user("U7")
        assert before.metadata["calibration"]["cohort_feature"]
        service = AuthService(store, Settings(shipped_background=False))
        results = [service.verify("U7", t) for t in genuine("U7")[10:14]]
        confident = [r for r in results
                     if r.decision and r.score >= service.settings.adaptation.margin]
        assert confident and not any(r.adapted for r in results)
        info = store.get_user("U7")
        assert info.model_sha256 == before.model_sha256 and info.n_recordings == 5
        assert not any(e.event == "adapt" for e in store.audit_log("U7"))
    assert not _refit_failures(caplog)
    skipped = [r for r in caplog.records if r.name == "authapp.services.adaptation"]
    assert len(skipped) == len(confident), [r.getMessage() for r in skipped]
    for r in skipped:
        assert r.levelno == logging.WARNING and "skipped" in r.getMessage()
        assert "needs a cohort" in r.getMessage() and "'U7'" in r.getMessage()
        assert "shipped_background on" in r.getMessage()


def test_adaptation_never_overwrites_a_re_enrollment_that_came_first(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A login scored by the old model adapts after an administrator re-enrolled the account
    (the re-enrollment landed between the login's load and its save): the adaptation is
    dropped, not saved over the new enrollment with the old samples."""
    from authapp.services import adaptation

    caplog.set_level(logging.INFO)
    with EnrollmentStore(tmp_path / "s") as store:
        service = AuthService(store, Settings())
        for u in ("U7", "U3"):
            service.enroll(u, genuine(u)[:5])
        old_info, old_verifier = store.load_verifier("U7")  # what the login scored with
        login = genuine("U7")[12]
        value = float(old_verifier.decision_function([login])[0])
        assert value >= service.settings.adaptation.margin  # confident: it would adapt
        service.enroll("U7", genuine("U7")[5:10], re_enroll=True, actor=Actor.admin())
        fresh = store.get_user("U7")
        assert not adaptation.maybe_adapt(service, old_info, old_verifier, login, value)
        now = store.get_user("U7")
        assert (now.model_id, now.model_sha256) == (fresh.model_id, fresh.model_sha256)
        assert [r.meta.source for r in store.load_recordings("U7")] == \
            [t.meta.source for t in genuine("U7")[5:10]]
        assert not any(e.event == "adapt" for e in store.audit_log("U7"))
    assert not _refit_failures(caplog)
    assert any("changed" in r.getMessage() for r in caplog.records
               if r.name == "authapp.services.adaptation")


def test_a_stale_adaptation_is_dropped_after_a_deletion_or_a_parallel_adaptation(
        tmp_path: Path) -> None:
    """Two variants of the race above: another login's adaptation saved first (dropped), or
    the account was deleted (the late adaptation stops; the account is not brought back)."""
    from authapp.services import adaptation

    with EnrollmentStore(tmp_path / "s") as store:
        service = AuthService(store, Settings())
        for u in ("U7", "U3"):
            service.enroll(u, genuine(u)[:5])
        info, verifier = store.load_verifier("U7")
        first, second = genuine("U7")[12], genuine("U7")[13]
        values = [float(verifier.decision_function([r])[0]) for r in (first, second)]
        assert min(values) >= service.settings.adaptation.margin
        assert adaptation.maybe_adapt(service, info, verifier, first, values[0])
        adapted = store.get_user("U7")  # the parallel login's adaptation, saved first
        assert not adaptation.maybe_adapt(service, info, verifier, second, values[1])
        now = store.get_user("U7")
        assert (now.model_id, now.n_recordings) == (adapted.model_id, adapted.n_recordings)
        store.delete_user("U7", actor="admin")
        with pytest.raises(UnknownUserError):  # its recordings are gone: it stops there
            adaptation.maybe_adapt(service, info, verifier, second, values[1])
        assert [u.name for u in store.users()] == ["U3"]  # not brought back by the save
