"""The rules every path that announces a decision applies: lockout, then replay, then score.

``authapp.services`` runs them for a login (``verify``), for an identification (the user it
would name) and for an administrator's offline check, inside the store's per-user lock so
that what is checked (lockout state, replay history), scored and recorded is one step:
parallel attempts cannot all pass the same check.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from authapp import replay_prefilter, security
from authapp.security import LockoutPolicy, LockState, ReplayMatch
from authapp.store import FAILED_OUTCOMES, RESET_OUTCOMES, EnrollmentStore, UserInfo
from core.errors import AirAuthError

if TYPE_CHECKING:  # replay_derived compiles with numba: imported where a login needs it
    from authapp import replay_derived
    from authapp.replay_derived import DerivedMatch


class AuthorizationError(AirAuthError, PermissionError):
    """An action on an account needs that account's genuine login or an administrator."""


def lock_state(store: EnrollmentStore, policy: LockoutPolicy, name: str, now: float,
               extra_failure: bool = False) -> LockState:
    """The account's lockout state at ``now`` (with one more failure at ``now`` when
    ``extra_failure``): failures after the last accepted login or reset count."""
    attempts = store.attempts(name, since=now - policy.window_s - policy.lockout_s)
    fails = [a.time for a in attempts if a.outcome in FAILED_OUTCOMES]
    if extra_failure:
        fails.append(now)
    resets = [a.time for a in attempts if a.outcome in RESET_OUTCOMES and a.time <= now]
    return security.lockout_state(fails, max(resets) if resets else None, now, policy)


def replay_references(store: EnrollmentStore, info: UserInfo) -> list[tuple]:
    """What a new recording of ``info``'s user must not copy: every stored fingerprint
    (keyed checksums checked), and the current enrollment recordings' fingerprints computed
    from the checksum-verified files themselves, so that deleting rows from the database
    cannot hide them."""
    refs = [(f.ref, f.points, f.version, f.description) for f in store.fingerprints(info.name)
            if not (f.source == "enroll" and f.created == info.updated
                    and f.version == security.FINGERPRINT_VERSION)]
    for i, rec in enumerate(store.load_recordings(info.name)):
        refs.append((f"enrollment sample {i + 1}", security.fingerprint(rec),
                     security.FINGERPRINT_VERSION, None))
    return refs


_STORED_SETS: dict[tuple, replay_derived.StoredSet] = {}
"""Prepared stored samples per enrollment (``replay_derived.stored_set`` is the costly part
of the derived-replay check), for processes that check many logins (GUI, tests)."""


def derived_replay(store: EnrollmentStore, info: UserInfo, rec: Any) -> DerivedMatch | None:
    """Whether ``rec`` is derived from the user's stored enrollment samples (cropped,
    projected, blended, warped, resampled: ``authapp.replay_derived``), compared with the
    checksum-verified files themselves."""
    from authapp import replay_derived

    return replay_derived.find_derived_replay(rec, stored_samples(store, info))


def stored_samples(store: EnrollmentStore, info: UserInfo) -> replay_derived.StoredSet:
    """The user's enrollment samples prepared for the derived-replay check (cached)."""
    from authapp import replay_derived

    key = (str(store.path), info.key, info.model_id, info.model_sha256, info.n_recordings)
    stored = _STORED_SETS.get(key)
    if stored is None:
        refs = [replay_derived.reference(f"enrollment sample {i + 1}", r)
                for i, r in enumerate(store.load_recordings(info.name))]
        stored = replay_derived.stored_set(refs)
        if len(_STORED_SETS) >= 16:
            _STORED_SETS.pop(next(iter(_STORED_SETS)))
        _STORED_SETS[key] = stored
    return stored


@dataclass(frozen=True)
class Decision:
    """Outcome of the rules for one recording: ``outcome`` "accept", "reject", "replay" or
    "locked"; ``reason`` for logs and ``-v`` (scores, residuals), ``public_reason`` without
    them (what a rejected person is told); audit ``events`` and the lock it started."""

    outcome: str
    reason: str
    public_reason: str
    replay_of: ReplayMatch | DerivedMatch | None = None
    locked_until: float | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.outcome == "accept"


REPLAY_ADVICE = "write it again: a recording can log in only once"
"""What a person told "replay" does next (the rule they met, in one sentence)."""


def unlock_advice(name: str) -> str:
    """What a locked-out person (or their administrator) does next."""
    return f"an administrator can unlock it now: authapp unlock {name} --admin"


def locked_decision(name: str, state: LockState, policy: LockoutPolicy) -> Decision:
    reason = (f"account {name!r} is locked after {policy.max_failures} failed attempts; "
              f"try again after {fmt_time(state.until)}, or {unlock_advice(name)}")
    return Decision("locked", reason, reason, locked_until=state.until,
                    events=[("login_locked", {"until": state.until})])


def score_decision(name: str, fp: np.ndarray, refs: list[tuple], value: float,
                   raw: float, threshold: float, threshold_override: float | None,
                   legacy_fp: np.ndarray | None = None,
                   derived: Callable[[], DerivedMatch | None] | None = None) -> Decision:
    """Replay check first (a copy is rejected however well it scores), then the score.

    ``legacy_fp``: the recording's ``security.legacy_fingerprint``, for stored fingerprints
    of stores before schema 3. ``derived``: the derived-replay check (``derived_replay``),
    run only for a recording the verifier accepts (the costly part; a rejected one is
    rejected anyway)."""
    # the exact check aligns only the stored fingerprints the prefilter finds worth it
    match = security.find_replay(fp, replay_prefilter.candidates(fp, refs), threshold_override,
                                 legacy_fp)
    if match is None and derived is not None and value >= 0:
        match = derived()
    if match is not None:
        return Decision(
            "replay",
            f"rejected: replay attack suspected (near-copy: {match.describe()}); "
            f"{REPLAY_ADVICE}",
            f"rejected: replay attack suspected; {REPLAY_ADVICE}", replay_of=match,
            events=[("replay_detected", _replay_detail(match))])
    ok = value >= 0
    reason = (f"{'accepted' if ok else 'rejected'}: score {raw:.4g} {'>=' if ok else '<'} "
              f"threshold {threshold:.4g}")
    public = reason if ok else f"rejected: the recording does not match user {name!r}"
    return Decision("accept" if ok else "reject", reason, public,
                    events=[("login_accept" if ok else "login_reject",
                             {"score": round(value, 6)})])


def _replay_detail(match: ReplayMatch | DerivedMatch) -> dict[str, Any]:
    if isinstance(match, ReplayMatch):
        return {"ref": match.ref, "residual": round(match.residual, 5)}
    return {"ref": match.ref, "derived": match.measure, "ratio": round(match.ratio, 4)}


def duplicate_samples(fps: list[np.ndarray], threshold: float | None) -> list[str]:
    """Messages for enrollment samples that are copies (altered or not) of an earlier one:
    the replay rule applied within one enrollment (each sample must be written anew)."""
    out = []
    for i in range(1, len(fps)):
        match = security.find_replay(fps[i], [(str(j), fps[j]) for j in range(i)], threshold)
        if match is not None:
            out.append(f"sample {i + 1} is a copy of sample {int(match.ref) + 1}: record each "
                       "sample separately")
    return out



def with_lockout(decision: Decision, store: EnrollmentStore, policy: LockoutPolicy, name: str,
                 now: float) -> Decision:
    """``decision``, and when it is a failure that completes a lockout, the lock it starts."""
    if decision.outcome not in FAILED_OUTCOMES:
        return decision
    state = lock_state(store, policy, name, now, extra_failure=True)
    if not state.locked:
        return decision
    note = (f"; too many failed attempts: account locked until {fmt_time(state.until)} "
            f"({unlock_advice(name)})")
    return Decision(decision.outcome, decision.reason + note, decision.public_reason + note,
                    decision.replay_of, state.until,
                    decision.events + [("lockout", {"until": state.until,
                                                    "failures": state.recent_failures})])


def fmt_time(t: float | None) -> str:
    if t is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))
