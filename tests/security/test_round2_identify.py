"""Issue 22 item 3: identification is no oracle and no lock-out tool. It gives one neutral
answer whenever it names nobody (no "locked", no other account's margin, even with -v), is
rate-limited per store, and never charges a failure to the closest user."""

from __future__ import annotations

from pathlib import Path

import pytest
from seckit import Clock
from storekit import STORE_KIND, fmkit

from authapp.cli import main
from authapp.security import LockoutPolicy
from authapp.services import AuthService, Settings
from authapp.services.identification import NEUTRAL, IdentificationPausedError
from authapp.store import EnrollmentStore
from capture.formats import load_recording

POLICY = LockoutPolicy(max_failures=5, window_s=600, lockout_s=900)


@pytest.fixture()
def svc(tmp_path: Path):
    clock = Clock()
    store = EnrollmentStore(tmp_path / "s", clock=clock)
    service = AuthService(store, Settings(verifier=STORE_KIND, lockout=POLICY), clock=clock)
    service.enroll("luduo", fmkit("luduo")[:4])
    service.enroll("ji", fmkit("jisuanji")[:4])
    yield service, clock
    store.close()


def test_locked_account_and_replay_get_the_strangers_answer(svc, fmkit_dir: Path) -> None:
    service, clock = svc
    assert service.identify(fmkit("jisuanji")[5]).user == "ji"  # ji's own writing names ji
    for k in range(5, 10):  # lock luduo out by logins with the wrong writing
        clock.now += 1
        service.verify("luduo", fmkit("jisuanji")[k])
    assert service.lock_state("luduo").locked
    before = service.store.attempts("luduo")
    clock.now += 1
    locked = service.identify(fmkit("luduo")[8])
    clock.now += 1
    replay = service.identify(fmkit("luduo")[0])  # an enrollment sample: a replay
    clock.now += 1
    nobody = service.identify(load_recording(fmkit_dir / "fmhash_fmhash_01.txt"))
    for r in (locked, replay, nobody):
        assert (r.user, r.score, r.candidates, r.reason) == (None, None, [], NEUTRAL)
    assert service.store.attempts("luduo") == before  # not charged, not told


def test_anonymous_identifications_lock_out_no_bystander(svc, fmkit_dir: Path) -> None:
    """The issue: ten identifications with someone else's samples locked out the user they
    landed closest to. Now they count against the store's identification limit only."""
    service, clock = svc
    others = [load_recording(fmkit_dir / n) for n in
              ("fmcode_fmcode_01.txt", "fmhash_fmhash_01.txt")]
    outcomes = []
    for k in range(10):
        clock.now += 1
        try:
            outcomes.append(service.identify(others[k % 2]).reason)
        except IdentificationPausedError as exc:
            outcomes.append(str(exc))
    assert outcomes[:5] == [NEUTRAL] * 5
    assert all("identification is paused" in o for o in outcomes[5:]), outcomes
    for user in ("luduo", "ji"):
        assert not service.lock_state(user).locked
        assert all(a.outcome != "reject" for a in service.store.attempts(user))
    clock.now += 1
    assert service.verify("luduo", fmkit("luduo")[6]).outcome == "accept"  # logins go on
    clock.now += POLICY.lockout_s + 1  # the pause ends
    assert service.identify(fmkit("luduo")[7]).user == "luduo"


def test_verbose_identify_lists_only_the_named_user(svc, capsys, fmkit_dir: Path) -> None:
    service, _ = svc
    store = ["--store", str(service.store.path)]
    code = main(["identify", str(fmkit_dir / "luduo_luduo_08.txt"), "-v", *store])
    out = capsys.readouterr().out
    assert code == 0 and "luduo" in out and "'ji'" not in out and " ji " not in out
    code = main(["identify", str(fmkit_dir / "fmhash_fmhash_01.txt"), "-v", *store])
    out = capsys.readouterr().out
    assert code == 1 and out.strip() == NEUTRAL and "margin" not in out
