"""The decisions that need authority, each authorised and audited here (part of
``AuthService``), so that the CLI and the GUI only present them.

* An administrator's offline check (``authapp replay --admin``, the GUI's check box): the
  login's rules decide, nothing is recorded but an ``offline_check`` audit row. It shows an
  enrolled account's scores, so anyone else is refused: it would be an unlimited oracle for
  tuning a forgery.
* Unlocking an account, reverting its adaptation, changing a store setting: the
  administrator's actions.
* Re-enrolling, adding samples to or deleting an account: its owner with proof
  (``authapp.services.proof``) or the administrator (an ``admin_action`` audit row).

A refusal of an administrator's action is audited too (``refused``): someone tried.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, NoReturn

from authapp.guard import AuthorizationError
from authapp.service_settings import Settings
from authapp.services import adaptation, admin
from authapp.services.actor import Actor
from authapp.services.proof import check_proof
from authapp.userid import user_key
from core.errors import AirAuthError

if TYPE_CHECKING:
    from authapp.security import LockState
    from authapp.service_results import VerifyResult
    from authapp.services import AuthService
    from authapp.store import EnrollmentStore
    from capture.trajectory import Trajectory


class Administration:
    """Authorised, audited actions of ``AuthService`` (a mixin: the methods that need
    more of the service than ``store`` and ``settings`` say so with ``self: AuthService``)."""

    store: EnrollmentStore
    settings: Settings

    def _refuse(self, actor: Actor, action: str, user: str | None, message: str) -> NoReturn:
        """Audit a refused ``action`` (naming the account when it exists) and raise."""
        name = None
        if user is not None:
            with contextlib.suppress(AirAuthError):  # an unknown id: the row names nobody
                name = self.store.get_user(user).name
        self.store.audit("refused", name, {"action": action, "by": actor.label})
        raise AuthorizationError(message)

    # -- the administrator's actions ----------------------------------------------------------
    def offline_check(self: AuthService, actor: Actor, user: str, recording: Trajectory,
                      **detail: str) -> VerifyResult:
        """An administrator's check of ``recording`` against ``user`` by the login's rules
        (lockout, replay): no attempt is recorded, one ``offline_check`` audit row (with
        ``detail``, e.g. the file) is."""
        if not actor.is_admin:
            self._refuse(actor, "offline check", user,
                         "an offline check shows the scores of an enrolled account, so it is "
                         "an administrator's check: authapp replay --admin (it is audited); "
                         "or log in with authapp login; to score recordings for research use "
                         "authapp experiment")
        r = self._verify(user, recording, record=False)
        self.store.audit("offline_check", r.user,
                         {"outcome": r.outcome, "by": actor.label, **detail})
        return r

    def unlock(self: AuthService, actor: Actor, user: str) -> LockState:
        """End a lockout now: earlier failures stop counting (audited). Returns the state
        before."""
        if not actor.is_admin:
            self._refuse(actor, "unlock", user, "unlocking an account is an administrator's "
                         "action: authapp unlock USER --admin (recorded in the audit log)")
        name = self.store.get_user(user).name
        before = self.lock_state(name)
        self.store.record_attempt(name, outcome="reset", score=None,
                                  reason=f"unlocked by {actor.label}",
                                  audit=[("unlock", {"by": actor.label,
                                                     "was_locked": before.locked,
                                                     "failures": before.recent_failures})])
        return before

    def revert_adaptation(self: AuthService, actor: Actor, user: str) -> int:
        """Drop the adapted samples of ``user`` (audited): the model goes back to the
        enrollment samples. Returns how many were dropped."""
        if not actor.is_admin:
            self._refuse(actor, "adaptation revert", user, "reverting adaptation is an "
                         "administrator's action: add --admin (recorded in the audit log)")
        name = self.store.get_user(user).name
        with self.store.user_lock(name):
            return adaptation.revert(self, name, actor.label)

    def change_setting(self: AuthService, actor: Actor, key: str, text: str) -> None:
        """Set store setting ``key`` from the text an administrator typed (``default``
        resets; checked by ``authapp.settings_schema``, audited by the store) and use it."""
        if not actor.is_admin:
            self._refuse(actor, "setting " + key, None, "changing a store setting is an "
                         "administrator's action (recorded in the audit log)")
        admin.change(self, key, text)
        self.settings = Settings.from_store(self.store)

    # -- actions on one account ---------------------------------------------------------------
    def authorize(self: AuthService, actor: Actor, user: str, action: str) -> str:
        """Check that ``action`` ("re-enrollment", "deletion", ...) on ``user``'s account is
        allowed: ``actor`` is the administrator (an ``admin_action`` audit row) or that user
        with proof (``authapp.services.proof``; recorded as login attempts). Returns who
        authorised it ("admin" or "proof"); ``AuthorizationError`` otherwise."""
        name = self.store.get_user(user).name
        if actor.is_admin:
            self.store.audit("admin_action", name, {"action": action})
            return "admin"
        if actor.name is not None and user_key(actor.name) != user_key(name):
            raise AuthorizationError(f"{action} of user {name!r} refused: a user acts on "
                                     "their own account only")
        if actor.proof is None:
            raise AuthorizationError(
                f"{action} of user {name!r} needs proof that it is them: two fresh writings "
                "that pass their login (--proof FILE FILE), or an administrator (--admin)")
        check_proof(self, name, action, actor.proof)
        return "proof"

    def delete(self: AuthService, actor: Actor, user: str) -> str:
        """Remove a user's enrollment, attempts and fingerprints once ``authorize`` allows it
        (the audit log keeps a note of who did). Returns the account's name."""
        name = self.store.get_user(user).name
        who = self.authorize(actor, name, "deletion")
        self.store.delete_user(name, actor=who)
        self.update_index()
        return name
