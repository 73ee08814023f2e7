"""1:N identification with one neutral answer, a store-wide rate limit and no bystanders.

An identification is a login without a typed user id, so it must neither tell a caller more
than a login would nor let them harm accounts they did not name:

* **One neutral answer** (``NEUTRAL``) whenever nobody is named: no verifier accepts, the
  best match's account is locked, or the recording is a replay. The caller learns neither
  that an account is locked nor any other account's margin (``IdentifyResult.candidates``
  holds only the named user).
* **Its own rate limit, per store**: identifications that name nobody are counted against
  the store (``EnrollmentStore.record_identification``), under the store's lockout policy;
  past the limit identification pauses for everyone until the lockout time has passed.
* **No bystanders**: a failed identification is never charged to the closest user, so
  anonymous attempts cannot lock anyone out. A user it names passes that user's login rules
  (lockout, replay, derived replay), and the accepted attempt is recorded as their login.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authapp import guard, security
from authapp.security import LockState
from authapp.service_results import IdentifyResult
from core.errors import AirAuthError

if TYPE_CHECKING:
    from authapp.services import AuthService
    from capture.trajectory import Trajectory
    from models.base import Verifier

NEUTRAL = "rejected: no enrolled user accepts this recording"
"""The one answer of an identification that names nobody."""


class IdentificationPausedError(AirAuthError, PermissionError):
    """Too many identifications named nobody recently: identification pauses for a while."""


def identification_offset(verifier: Verifier, n_enrolled: int) -> float:
    """Extra margin a 1:N search among ``n_enrolled`` users asks of this account
    (``CalibratedVerifier.identification_offset``; 0 for a verifier's own uncalibrated
    threshold, which has no false-accept target to keep)."""
    offset = getattr(verifier, "identification_offset", None)
    return float(offset(n_enrolled)) if callable(offset) else 0.0


def paused(service: AuthService, now: float, extra_failure: bool = False) -> LockState:
    """The store's identification lock state (``extra_failure``: with one more failure)."""
    policy = service.settings.lockout
    rows = service.store.identifications(since=now - policy.window_s - policy.lockout_s)
    fails = [a.time for a in rows if a.outcome == "reject"]
    if extra_failure:
        fails.append(now)
    resets = [a.time for a in rows if a.outcome == "reset" and a.time <= now]
    return security.lockout_state(fails, max(resets) if resets else None, now, policy)


def identify(service: AuthService, recording: Trajectory) -> IdentifyResult:
    """Who wrote ``recording`` (see the module docstring); ``IdentificationPausedError``
    while the store's identification limit is reached. Bad input raises before anything is
    recorded."""
    store = service.store
    rec = service.check_recording(recording)
    with store.identify_lock():
        now = service.clock()
        state = paused(service, now)
        if state.locked:
            raise IdentificationPausedError(
                "identification is paused after too many attempts that matched nobody; try "
                f"again after {guard.fmt_time(state.until)} (or log in with your user id)")
        candidates: list[tuple[str, float]] = []
        n_enrolled = store.count_users()  # the search's N, however few the index shortlists
        for info in service._identify_candidates(rec):
            dims = info.metadata.get("dims")
            if dims is not None and dims != rec.dims:
                continue
            _, verifier = store.load_verifier(info.key)
            value, _, _ = service._score(info, verifier, rec, detail=False)
            candidates.append((info.name,
                               value - identification_offset(verifier, n_enrolled)))
        if not candidates:
            return IdentifyResult(None, None, [], "rejected: no enrolled user to compare with")
        best, value = max(candidates, key=lambda c: c[1])
        if value >= 0 and _named_user_passes(service, best, rec, value):
            return IdentifyResult(best, value, [(best, value)],
                                  f"identified as {best!r} (margin {value:.4g})")
        store.record_identification("reject", "named nobody", when=now)
        return IdentifyResult(None, None, [], NEUTRAL)


def _named_user_passes(service: AuthService, name: str, rec: Trajectory, value: float
                       ) -> bool:
    """The login rules of the user identification would name; an accepted attempt is
    recorded as their login (a locked account or a replay is not: the failure counts against
    the store's identification limit instead, never against the user)."""
    store = service.store
    fp = security.fingerprint(rec)
    with store.user_lock(name):
        now = service.clock()
        if guard.lock_state(store, service.settings.lockout, name, now).locked:
            return False
        info = store.get_user(name)
        decision = guard.score_decision(
            name, fp, guard.replay_references(store, info), value, value, 0.0,
            service.settings.replay_threshold, security.legacy_fingerprint(rec),
            derived=lambda: guard.derived_replay(store, info, rec))
        if decision.accepted:
            store.record_attempt(name, outcome="accept", score=value,
                                 reason="identification: " + decision.reason, fingerprint=fp,
                                 audit=[(ev, {**d, "via": "identify"})
                                        for ev, d in decision.events], when=now)
        else:  # the replay is kept in the store's audit log, with no user named
            store.audit("identify_replay" if decision.outcome == "replay" else
                        "identify_" + decision.outcome, None, {}, when=now)
        return decision.accepted
