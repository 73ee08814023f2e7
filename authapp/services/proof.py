"""Proof of identity for actions on one's own account (re-enrollment, deletion).

One passing login is not proof: a copy derived from a stolen enrollment sample can pass a
login (issue 22), and the account would be taken over with it. A proof is therefore
``PROOF_WRITINGS`` fresh writings that

* each pass the user's login now, with every rule of a login (lockout, replay, derived
  replay; each is recorded as a login attempt, so failures count towards a lockout), and
* differ from each other as the user's genuine writings do (``replay_derived.alike`` with
  the user's own bounds): two copies derived from one stolen sample do not.

Otherwise an administrator acts (``--admin``, audited).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from authapp import guard
from authapp.guard import AuthorizationError
from capture.trajectory import Trajectory

if TYPE_CHECKING:
    from authapp.services import AuthService

PROOF_WRITINGS = 2
"""Fresh writings a proof of identity needs."""


def check_proof(service: AuthService, name: str, action: str,
                proof: Trajectory | Sequence[Trajectory]) -> None:
    """Raise ``AuthorizationError`` unless ``proof`` proves that the caller is ``name``
    (module docstring). Bad recordings raise before anything is recorded."""
    proofs = [proof] if isinstance(proof, Trajectory) else list(proof)
    if len(proofs) != PROOF_WRITINGS:
        raise AuthorizationError(
            f"{action} of user {name!r} needs proof that it is them: {PROOF_WRITINGS} fresh "
            f"writings that each pass their login (--proof FILE FILE; {len(proofs)} given), "
            "or an administrator (--admin)")
    recs = [service.check_recording(p, f"proof recording {i + 1}")
            for i, p in enumerate(proofs)]
    _passes(service, name, action, recs[0], 1)  # an impostor is refused here, cheaply
    info = service.store.get_user(name)
    from authapp import replay_derived  # numba: only when a proof is checked

    match = replay_derived.alike(recs[0], recs[1], guard.stored_samples(service.store, info))
    if match is not None:
        service.store.record_attempt(
            name, outcome="replay", score=None,
            reason=f"{action} proof: the two writings are copies of one another",
            audit=[("replay_detected", {"ref": "the first proof", "derived": match.measure,
                                        "ratio": round(match.ratio, 4), "via": action})])
        raise AuthorizationError(
            f"{action} of user {name!r} refused: the two proof recordings are copies of one "
            "another, not two fresh writings")
    _passes(service, name, action, recs[1], 2)


def _passes(service: AuthService, name: str, action: str, rec: Trajectory, i: int) -> None:
    """Proof recording ``i`` as a login of ``name`` (recorded); refused unless accepted."""
    result = service.verify(name, rec)
    if not result.decision:
        raise AuthorizationError(
            f"{action} of user {name!r} refused: proof recording {i} did not pass the login "
            f"({result.message})")
