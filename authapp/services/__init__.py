"""Enrollment and login services: the one place the CLI and the GUI get their behaviour from.

``AuthService(store, settings)`` offers ``enroll`` (quality check, optional pseudo data, fit,
atomic save), ``verify`` (1:1 login with lockout, replay-attack detection, attempt and audit
records), ``identify`` (1:N with a rejection option; the user it names passes the login's
rules), and the decisions that need authority (``authapp.services.administration``: an
administrator's ``offline_check``, ``unlock``, ``change_setting``, ``authorize``, ``delete``):
they take the ``Actor`` asking (``authapp.services.actor``), authorise and audit themselves,
so the CLI and the GUI only present them and never touch the store. Every user-caused
problem is an ``AirAuthError`` subclass with a message meant for people; a failed call leaves
the store unchanged.

Its configuration (``Settings``) lives in ``authapp.service_settings`` and what it returns
(``EnrollmentReport``, ``VerifyResult``, ``IdentifyResult``) in ``authapp.service_results``;
both are importable from here too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from authapp import guard, identify_index, security
from authapp.service_results import (
    EnrollmentReport,
    IdentifyResult,
    VerifyResult,
    per_verifier_scores,
)
from authapp.service_settings import Settings
from authapp.services import adaptation, identification
from authapp.services.actor import Actor
from authapp.services.administration import Administration
from authapp.store import DuplicateUserError, EnrollmentStore, UnknownUserError, UserInfo
from authapp.userid import normalize_user_id, user_key
from capture.preprocess import FeatureConfig, normalized_positions
from capture.trajectory import Label, Trajectory
from core.errors import AirAuthError, TrajectoryError
from models.background import with_background
from models.base import Verifier, check_trajectories
from models.enrollment import EnrollmentQualityError, build_user_model, verifier_advice
from models.serialization import dump_verifier

__all__ = [
    "Actor",
    "AuthService",
    "EnrollmentQualityError",
    "EnrollmentReport",
    "IdentifyResult",
    "Settings",
    "VerificationError",
    "VerifyResult",
]

log = logging.getLogger(__name__)

MAX_DURATION_S = 120.0
"""Longest recording accepted: nobody writes a name for two minutes; bounds scoring time."""
MAX_FRAMES = 200_000
MAX_ABS_POSITION_MM = 1.0e5
"""Positions beyond 100 m from the device are not a hand: reject instead of overflowing."""


class VerificationError(AirAuthError, ValueError):
    """A recording cannot be scored against a user (wrong kind of data, unusable values)."""



# -- the service --------------------------------------------------------------------------------
class AuthService(Administration):
    """Enrollment and login over one ``EnrollmentStore``; ``clock`` is injectable for tests."""

    def __init__(self, store: EnrollmentStore, settings: Settings | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.store = store
        self.settings = settings if settings is not None else Settings.from_store(store)
        self.clock = clock or store.clock
        self.deferred: list[Callable[[], object]] | None = None
        """Adaptations queued to run after the answer (``services.adaptation.after_accept``)."""

    # -- input checks -------------------------------------------------------------------------
    @staticmethod
    def check_recording(rec: Any, what: str = "recording") -> Trajectory:
        """A recording the verifiers can score, or a clear ``TrajectoryError``.

        Bounds duration, frame count and coordinate range (so hostile input can neither hang
        the scorer nor overflow it) and runs the shared preprocessing once.
        """
        if not isinstance(rec, Trajectory):
            raise TrajectoryError(f"{what} is a {type(rec).__name__}, not a Trajectory")
        if len(rec) > MAX_FRAMES:
            raise TrajectoryError(f"{what} has {len(rec)} frames (at most {MAX_FRAMES})")
        if rec.duration > MAX_DURATION_S:
            raise TrajectoryError(f"{what} lasts {rec.duration:.1f} s (at most "
                                  f"{MAX_DURATION_S:.0f} s)")
        if float(np.max(np.abs(rec.positions))) > MAX_ABS_POSITION_MM:
            raise TrajectoryError(f"{what} has positions beyond {MAX_ABS_POSITION_MM:.0f} mm: "
                                  "not a hand-tracking recording")
        with np.errstate(all="ignore"):
            pos = normalized_positions(rec, FeatureConfig())
        if not np.all(np.isfinite(pos)):
            raise TrajectoryError(f"{what} cannot be preprocessed (degenerate values)")
        return rec

    # -- enrollment ---------------------------------------------------------------------------
    def enroll(self, user: str, recordings: Sequence[Trajectory],
               re_enroll: bool = False, add: bool = False,
               update_index: bool = True, actor: Actor | None = None) -> EnrollmentReport:
        """Check, (optionally) expand with pseudo data, fit and store a user's enrollment.

        ``add``: the recordings join the user's stored enrollment samples (e.g. written at a
        later sitting) and the model is refitted on all of them; samples adapted from logins
        are dropped, as the new enrollment supersedes them. Replacing or adding to an
        enrolled account needs ``actor``'s authority (``authorize``: the owner's proof or the
        administrator), checked first. ``update_index``: bring the identification
        index up to date now (a batch of enrollments passes False and calls
        ``update_index`` once at the end).
        """
        t_start = time.perf_counter()
        name = normalize_user_id(user)
        existed = self.store.has_user(name)
        if add and not existed:
            self.store.get_user(name)  # raises UnknownUserError, naming the store
        if existed and not (re_enroll or add):
            raise DuplicateUserError(
                f"user {name!r} is already enrolled; re-enroll explicitly to replace the "
                "enrollment (authapp enroll --re-enroll), or add samples (--add)")
        authorised_by = None
        if existed:  # taking over an account
            authorised_by = self.authorize(actor or Actor.anyone(), name,
                                           "adding samples" if add else "re-enrollment")
        self.store.check_new_user_id(name)  # before the (slow) fit; the store checks again
        recs = check_trajectories(recordings, "enrollment samples", min_count=0)
        recs = [self.check_recording(r, f"sample {i + 1}") for i, r in enumerate(recs)]
        if add:
            info = self.store.get_user(name)
            stored, _ = adaptation.split_recordings(info, self.store.load_recordings(name))
            if stored and recs and stored[0].dims != recs[0].dims:
                raise VerificationError(f"the new samples are {recs[0].dims}-D but user "
                                        f"{info.name!r} enrolled with {stored[0].dims}-D data")
            recs = stored + recs
            re_enroll = True
        s = self.settings
        timings: dict[str, float] = {}

        t0 = time.perf_counter()
        fps = [security.fingerprint(r) for r in recs]
        problems = guard.duplicate_samples(fps, s.replay_threshold)
        if problems:
            raise EnrollmentQualityError(None, problems)
        recs = [r.with_meta(user=name, label=Label.GENUINE) for r in recs]
        es = s.enrollment()
        calibrations = s.calibrations() if es.calibrated else None
        timings["checks"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        others = self._background(name, recs[0].dims) if recs else []
        generator = self._generator(others) if s.pseudo else None
        timings["pseudo"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        cohort = self._cohort(others, recs[0].dims, es.calibrated) if recs else others
        model = build_user_model(recs, es, calibrations=calibrations, others=cohort,
                                 generator=generator)
        verifier = model.verifier
        blob = dump_verifier(verifier)
        timings["fit"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        cal = getattr(verifier, "calibration_", None)
        metadata = {
            "verifier": es.verifier,
            "verifier_params": dict(s.verifier_params),
            "threshold": float(verifier.threshold_),
            "dims": recs[0].dims,
            "n_samples": len(recs),
            "used_samples": [i + 1 for i in model.kept],
            "left_out": [{"sample": i + 1, "reason": why} for i, why in model.left_out],
            "pseudo": {"generator": s.pseudo, "genuine": len(model.pseudo_genuine),
                       "impostors": len(model.pseudo_impostors)},
            "security": es.security if es.calibrated else None,
            "calibration": None if cal is None else {
                "source": s.calibration, "cohort_feature": cal.cohort,
                "level_threshold": float(verifier.level_threshold_),
                "guard_threshold": float(verifier.guard_threshold_),
                "made": dict(cal.provenance).get("made_from")},
            "cohort_recordings": model.n_cohort,
            "background_negatives": 0 if es.calibrated else model.n_cohort,
            "seed": s.seed,
            "quality": model.quality.to_dict() if model.quality is not None else None,
            "sources": [r.meta.source for r in recs],
            "n_enrollment": len(recs),
            identify_index.EMBEDDING_KEY: identify_index.enrollment_vector(recs),
        }
        self.store.save_enrollment(name, recs, blob, es.verifier, metadata,
                                   re_enroll=re_enroll, fingerprints=fps,
                                   event="add_samples" if add else None)
        if update_index:
            self.update_index()
        timings["store"] = time.perf_counter() - t0
        timings["total"] = time.perf_counter() - t_start
        return EnrollmentReport(
            user=name, verifier_kind=es.verifier, verifier=verifier,
            threshold=float(verifier.threshold_), n_samples=len(model.kept),
            quality=model.quality, n_pseudo_genuine=len(model.pseudo_genuine),
            n_pseudo_impostors=len(model.pseudo_impostors), timings=timings,
            re_enrolled=existed, notes=tuple(model.notes() + verifier_advice(es)),
            security=es.security if es.calibrated else None, authorised_by=authorised_by,
        )

    def _background(self, name: str, dims: int) -> list[Trajectory]:
        """Enrollment recordings of every OTHER enrolled user with the same dimensionality."""
        out: list[Trajectory] = []
        for info in self.store.users():
            if info.key != user_key(name) and info.metadata.get("dims", dims) == dims:
                out += self.store.load_recordings(info.key)
        return out

    def _cohort(self, others: list[Trajectory], dims: int, calibrated: bool) -> list[Trajectory]:
        """A model's other people: ``others`` (``_background``), and for a calibrated one in a young
        store the shipped public people too (``shipped_background``). Enrollment and adaptation's
        refit both ask here, so an adapted model is checked against the cohort enrollment used."""
        young = calibrated and self.settings.shipped_background
        return with_background(others, dims) if young else others

    def _generator(self, background: list[Trajectory]) -> Any:
        """The store's pseudo-data generator (``models.pseudo``) fitted on other enrolled
        users' recordings only; it then generates from this user's samples alone."""
        from models.pseudo import generator_class, make_generator

        # networks (the EfficientNet embedding, the inpainting GAN / VAE) are trained once and
        # kept with the store (retrained when the recipe changes; reused, not retrained, when
        # one more user joins the background)
        cache = {"cache_dir": str(self.store.path / "pseudo_weights"), "reuse_weights": True}
        known = generator_class(self.settings.pseudo)._get_param_names()
        gen = make_generator(self.settings.pseudo, pretrain_seed=self.settings.seed,
                             **{k: v for k, v in cache.items() if k in known})
        return gen.fit(background)

    # -- verification -------------------------------------------------------------------------
    def _score(self, info: UserInfo, verifier: Verifier, rec: Trajectory, detail: bool = True
               ) -> tuple[float, float, dict[str, float]]:
        """(decision value, raw score, per-verifier decision values) of one recording; the
        last only with ``detail`` (it scores the members again: identification skips it)."""
        dims = info.metadata.get("dims")
        if dims is not None and rec.dims != dims:
            raise VerificationError(
                f"recording is {rec.dims}-D but user {info.name!r} enrolled with {dims}-D data")
        with np.errstate(all="ignore"):
            raw = float(verifier.score_samples([rec])[0])
            per = per_verifier_scores(verifier, rec, info.verifier_kind) if detail else {}
        value = raw - float(verifier.threshold_)
        if not np.isfinite(value):
            raise VerificationError("this recording cannot be scored (degenerate data)")
        return value, raw, per

    def verify(self, user: str, recording: Trajectory) -> VerifyResult:
        """1:1 login of ``recording`` as ``user`` (anyone may try: the writing decides).

        A locked-out account is rejected unscored; a copy of a stored recording or of an
        earlier attempt (altered or not, see ``authapp.security``) is rejected as a replay;
        otherwise the verifier decides. The attempt, its fingerprint and audit events are
        recorded (and may start a lockout), all inside the user's lock
        (``EnrollmentStore.user_lock``), so parallel logins see each other. Bad input raises
        before anything is written. (An administrator's check that records no attempt is
        ``offline_check``.)
        """
        return self._verify(user, recording, record=True)

    def _verify(self, user: str, recording: Trajectory, record: bool) -> VerifyResult:
        """``verify``; without ``record`` the same rules decide and nothing is written (the
        administrator's ``offline_check``, which audits it, or a benchmark's timing)."""
        info = self.store.get_user(user)
        name = info.name
        rec = self.check_recording(recording)
        fp = security.fingerprint(rec)
        with self.store.user_lock(name):
            now = self.clock()
            policy = self.settings.lockout
            state = guard.lock_state(self.store, policy, name, now)
            value = raw = threshold = None
            per: dict[str, float] = {}
            if state.locked:
                decision = guard.locked_decision(name, state, policy)
            else:
                info, verifier = self.store.load_verifier(name)
                value, raw, per = self._score(info, verifier, rec)
                threshold = float(verifier.threshold_)
                refs = guard.replay_references(self.store, info)
                decision = guard.score_decision(
                    name, fp, refs, value, raw, threshold, self.settings.replay_threshold,
                    security.legacy_fingerprint(rec),
                    derived=lambda: guard.derived_replay(self.store, info, rec))
                if record:
                    decision = guard.with_lockout(decision, self.store, policy, name, now)
            adapted = False
            if record:
                self.store.record_attempt(
                    name, outcome=decision.outcome,
                    score=value if decision.outcome in ("accept", "reject") else None,
                    reason=decision.reason, fingerprint=fp, audit=decision.events, when=now)
                if decision.accepted and value is not None:
                    adapted = adaptation.after_accept(self, info, verifier, rec, value)
        return VerifyResult(name, decision.accepted, value, raw, threshold, per,
                            decision.reason, decision.outcome, replay_of=decision.replay_of,
                            locked_until=decision.locked_until,
                            public_reason=decision.public_reason, adapted=adapted)

    def lock_state(self, user: str) -> security.LockState:
        """Whether ``user`` is locked out now (for UIs)."""
        return guard.lock_state(self.store, self.settings.lockout,
                                self.store.get_user(user).name, self.clock())

    # -- identification -----------------------------------------------------------------------
    def identify(self, recording: Trajectory) -> IdentifyResult:
        """1:N: the enrolled user whose verifier accepts ``recording`` with the largest margin
        and whose login rules pass; otherwise one neutral answer. Rate-limited per store,
        never charged to a bystander (``authapp.services.identification``). Margins are over
        each account's threshold raised for a search among N users
        (``identification.identification_offset``), and above
        ``identify_index.EXHAUSTIVE_UP_TO`` users only the index's shortlist is scored
        (``_identify_candidates``)."""
        return identification.identify(self, recording)

    def _identify_candidates(self, rec: Trajectory) -> list[UserInfo]:
        """The users whose verifiers score an identification: all of them in a small store,
        else the shortlist of the identification index (``authapp.identify_index``)."""
        if self.store.count_users() <= identify_index.EXHAUSTIVE_UP_TO:
            return self.store.users()
        out = []
        with identify_index.lock():
            keys = identify_index.loaded(self.store).shortlist(rec)
        for key in keys:
            try:
                out.append(self.store.get_user(key))
            except UnknownUserError:  # deleted since the index was synchronised
                continue
        return out

    def update_index(self) -> None:
        """Bring the identification index up to date with the enrollments (after enroll /
        re-enroll / delete; derived data: a failure is logged, never fails the change)."""
        if not (self.store.path / identify_index.INDEX_DIR).exists() and \
                self.store.count_users() <= identify_index.EXHAUSTIVE_UP_TO:
            return  # a small store needs no index (yet): identify scores every user
        try:
            with identify_index.lock():
                identify_index.loaded(self.store)
        except Exception as exc:  # noqa: BLE001 - derived data; rebuilt by the next identify
            log.warning("identification index not updated (%s); the next identification "
                        "updates it", exc)

    # -- what the front ends show of the store ------------------------------------------------
    @property
    def path(self) -> Path:
        """The store's folder (for titles and messages)."""
        return self.store.path

    def close(self) -> None:
        self.store.close()

    def with_settings(self, typed: Mapping[str, str]) -> AuthService:
        """A service over the same store with some settings replaced by what a person typed or
        picked (store setting names, e.g. the verifier chosen for one enrollment), each
        checked as ``authapp settings`` checks it (``SettingError`` names a bad one)."""
        return AuthService(self.store, self.settings.with_text(typed), clock=self.clock)

    def has_user(self, user: str) -> bool:
        return self.store.has_user(user)

    def user(self, user: str) -> UserInfo:
        """The enrolled ``user`` (``UnknownUserError`` if absent)."""
        return self.store.get_user(user)

    def users(self) -> list[UserInfo]:
        """Enrolled users, for the CLI and the GUI."""
        return self.store.users()

    def count_users(self) -> int:
        return self.store.count_users()

    def users_page(self, offset: int, limit: int) -> list[UserInfo]:
        return self.store.users_page(offset, limit)

    def recordings(self, user: str) -> list[Trajectory]:
        """``user``'s stored recordings (``authapp record`` compares a new one with them)."""
        return self.store.load_recordings(user)

    def audit_problems(self) -> list[str]:
        """What is wrong with the audit log (deleted, edited or cut-off rows)."""
        return self.store.audit_problems()
