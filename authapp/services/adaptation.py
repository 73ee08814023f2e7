"""Template adaptation in the product: a confident login joins the user's references.

The rule itself (when a login qualifies, how many adapted samples are kept) is
``models.adaptation.AdaptationPolicy``, shared with the experiment harness; this module is
the store side. A user's stored recordings are the enrollment samples followed by the
adapted ones (model metadata ``n_enrollment`` says where the adapted ones start; stores
written before adaptation hold enrollment samples only). Adapting refits the account's model
exactly as enrollment built it (same verifier, parameters, security level, the account's own
stored calibration, the other users as cohort) on enrollment + adapted samples, and saves it
atomically as a new model version with an "adapt" audit event. An administrator can revert
an account to its enrollment samples (``revert``), also audited.

Never adapted: a replay suspect or a rejected or locked attempt (only accepted logins reach
here), an administrator's offline check (``offline_check``), an account whose model is not the
calibrated product model, a login that the enrollment-only model would reject
(``AdaptationPolicy.anchor``), or an account whose calibration needs a bigger cohort than the
store now has (``CohortTooSmall``: logged as a warning, the login stands).

A refit takes about a second (scikit-learn's import included) after the decision is known.
A service that answers before adapting (``authapp.resident``, the login service) sets
``AuthService.deferred`` to a list: the adaptation is queued there (``after_accept``) and run
after the answer (``adapt_later``), under the user's lock again, only if the account is still
the one that login was decided on and is not locked meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from authapp import guard
from authapp.store import StaleEnrollmentError
from capture.trajectory import Trajectory
from core.errors import AirAuthError
from models.adaptation import AdaptationPolicy
from models.background import people
from models.calibrated import CalibratedVerifier
from models.enrollment import EnrollmentSettings, fit_user_model
from models.score_calibration import (
    MIN_COHORT,
    MIN_COHORT_PEOPLE,
    ScoreCalibration,
    cohort_usable,
)
from models.serialization import dump_verifier

if TYPE_CHECKING:
    from authapp.services import AuthService
    from authapp.store import UserInfo

log = logging.getLogger(__name__)


class CohortTooSmall(AirAuthError):
    """The account's calibration needs a bigger cohort than the store now gives it (the
    shipped people switched off, users deleted): its model cannot be refitted as enrolled."""


def split_recordings(info: UserInfo, recordings: Sequence[Trajectory]
                     ) -> tuple[list[Trajectory], list[Trajectory]]:
    """(enrollment samples, adapted samples) of a user's stored recordings."""
    n = int(info.metadata.get("n_enrollment", len(recordings)))
    n = max(0, min(n, len(recordings)))
    return list(recordings[:n]), list(recordings[n:])


def _model_samples(info: UserInfo, enrollment: Sequence[Trajectory]) -> list[Trajectory]:
    """The enrollment samples the model was fitted on (the quality check's kept ones)."""
    used = info.metadata.get("used_samples")
    if not isinstance(used, list) or not used:
        return list(enrollment)
    return [enrollment[i - 1] for i in used if isinstance(i, int) and 1 <= i <= len(enrollment)]


def _fitter(service: AuthService, info: UserInfo, verifier: CalibratedVerifier,
            recordings: Sequence[Trajectory]):
    """fit(samples) -> a model built like this account's enrolled one, with the cohort
    enrollment takes (``AuthService._cohort``); ``CohortTooSmall`` if it no longer suffices."""
    meta = info.metadata
    settings = EnrollmentSettings(
        verifier=str(meta.get("verifier") or info.verifier_kind),
        verifier_params=dict(meta.get("verifier_params") or {}),
        calibrated=True, security=verifier.security, guard_far=verifier.guard_far,
        forgery_far=verifier.forgery_far, check_quality=False, seed=int(meta.get("seed", 0)))
    calibration = ScoreCalibration.from_dict(verifier.calibration)
    dims = int(meta.get("dims", recordings[0].dims))
    others = service._cohort(service._background(info.name, dims), dims, calibrated=True)
    if calibration.cohort and not cohort_usable(len(others), people(others)):
        raise CohortTooSmall(
            f"the calibration of {info.name!r} needs a cohort of at least {MIN_COHORT} "
            f"recordings of {MIN_COHORT_PEOPLE} people, and there are {len(others)} recordings "
            f"of {people(others)} other people; re-enroll the account"
            + ("" if service.settings.shipped_background else
               " or turn the setting shipped_background on"))

    def fit(samples: Sequence[Trajectory]) -> CalibratedVerifier:
        model, _ = fit_user_model(list(samples), settings, calibration=calibration,
                                  others=others)
        return model
    return fit


def _save(service: AuthService, info: UserInfo, enrollment: Sequence[Trajectory],
          adapted: Sequence[Trajectory], model: CalibratedVerifier, event: str,
          actor: str | None, detail: dict[str, Any]) -> None:
    metadata = dict(info.metadata)
    metadata.update({"n_enrollment": len(enrollment), "n_adapted": len(adapted),
                     "threshold": float(model.threshold_), "adaptation": detail,
                     "sources": [r.meta.source for r in [*enrollment, *adapted]]})
    service.store.save_enrollment(info.name, list(enrollment) + list(adapted),
                                  dump_verifier(model), info.verifier_kind, metadata,
                                  re_enroll=True, actor=actor, event=event,
                                  audit_detail=detail, replaces=info.model_id)


def maybe_adapt(service: AuthService, info: UserInfo, verifier: Any, rec: Trajectory,
                value: float) -> bool:
    """After an accepted login (inside the user's lock): adapt when the policy allows.

    Returns whether the login joined the references. Failures to refit are logged and leave
    the account as it was: adaptation must never cost a user their login.
    """
    policy: AdaptationPolicy = service.settings.adaptation
    if not policy.could_admit(value):
        return False  # below the margin (or off): nothing to load
    if not isinstance(verifier, CalibratedVerifier) or verifier.calibration is None:
        return False
    recordings = service.store.load_recordings(info.name)
    enrollment, adapted = split_recordings(info, recordings)
    try:
        fit = _fitter(service, info, verifier, enrollment)
    except CohortTooSmall as exc:
        log.warning("template adaptation skipped, the account is unchanged: %s", exc)
        return False
    base = _model_samples(info, enrollment)
    try:
        joins, anchor_value = policy.admits(value, lambda: (
            value if not adapted else float(fit(base).decision_function([rec])[0])))
        if not joins:
            return False
        new_adapted = policy.updated(adapted, rec)
        model = fit(base + new_adapted)
    except Exception:
        log.exception("template adaptation of %r failed; the account is unchanged", info.name)
        return False
    try:
        _save(service, info, enrollment, new_adapted, model, "adapt", None,
              {"margin": float(value), "anchor_margin": anchor_value,
               "kept": len(new_adapted), "dropped": len(adapted) + 1 - len(new_adapted)})
    except StaleEnrollmentError as exc:  # re-enrolled (or adapted) since this login loaded it
        log.warning("template adaptation dropped, the account changed meanwhile: %s", exc)
        return False
    return True


def after_accept(service: AuthService, info: UserInfo, verifier: Any, rec: Trajectory,
                 value: float) -> bool:
    """Adapt after an accepted login now (``maybe_adapt``), or queue it when the service
    defers adaptation (returns False then: it has not happened yet)."""
    if service.deferred is None:
        return maybe_adapt(service, info, verifier, rec, value)
    if service.settings.adaptation.could_admit(value):
        service.deferred.append(lambda: adapt_later(service, info.name, info.model_id, rec,
                                                    value))
    return False


def run_deferred(service: AuthService) -> None:
    """Run the adaptations ``after_accept`` queued, once the answer is out (the login
    service, or a command in its own process); a failure is logged and the answer stands."""
    tasks, service.deferred = list(service.deferred or ()), []
    for task in tasks:
        try:
            task()
        except Exception:
            log.exception("template adaptation after the answer failed; the account is "
                          "unchanged")


def adapt_later(service: AuthService, name: str, model_id: str, rec: Trajectory,
                value: float) -> bool:
    """A queued adaptation (``after_accept``): under the user's lock, on the model that login
    was decided on (anything else changed the account: dropped), never while locked."""
    with service.store.user_lock(name):
        info, verifier = service.store.load_verifier(name)
        if info.model_id != model_id:
            log.warning("template adaptation dropped, the account of %r changed meanwhile",
                        name)
            return False
        if guard.lock_state(service.store, service.settings.lockout, name,
                            service.clock()).locked:
            return False
        return maybe_adapt(service, info, verifier, rec, value)


def revert(service: AuthService, user: str, actor: str = "admin") -> int:
    """Drop every adapted sample of ``user`` (an administrator's action, audited); returns
    how many were dropped. The model is refitted on the enrollment samples alone."""
    info, verifier = service.store.load_verifier(user)
    recordings = service.store.load_recordings(info.name)
    enrollment, adapted = split_recordings(info, recordings)
    if not adapted:
        return 0
    fit = _fitter(service, info, verifier, enrollment)  # (CohortTooSmall: nothing changes)
    model = fit(_model_samples(info, enrollment))
    _save(service, info, enrollment, [], model, "adapt_revert", actor,
          {"reverted": len(adapted)})
    return len(adapted)
