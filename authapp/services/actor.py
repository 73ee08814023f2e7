"""Who asks the service for a decision, with what they collected to show their authority.

The front ends only say who a person claims to be: the store's administrator by an explicit
choice (``--admin``, the GUI's administrator buttons; ``label`` is how the audit log names
them), a user with the proof writings they gave (``authapp.services.proof``), or anyone (a
login attempt or an identification claims no authority). What each actor may do, and the
audit row that says so, is decided in one place: ``authapp.services.administration``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from capture.trajectory import Trajectory

ADMIN, USER, ANYONE = "admin", "user", "anyone"


@dataclass(frozen=True, eq=False)
class Actor:
    """One caller of an ``AuthService`` method that needs authority (build with ``admin``,
    ``user`` or ``anyone``)."""

    role: str
    name: str | None = None
    """The user id a ``user`` actor claims to be (None: whoever the action names)."""
    proof: Trajectory | tuple[Trajectory, ...] | None = None
    """The fresh writings a ``user`` actor gave as proof that they are that user."""
    label: str = ANYONE
    """How the audit log names this actor ("admin", "admin (GUI)", ...)."""

    @classmethod
    def admin(cls, label: str = ADMIN) -> Actor:
        """The store's administrator, by an explicit, audited choice."""
        return cls(ADMIN, label=label)

    @classmethod
    def user(cls, name: str | None = None,
             proof: Trajectory | Sequence[Trajectory] | None = None) -> Actor:
        """A user acting on their own account, with ``proof`` that it is them (if given)."""
        if proof is not None and not isinstance(proof, Trajectory):
            proof = tuple(proof)
        return cls(USER, name=name, proof=proof, label=USER)

    @classmethod
    def anyone(cls) -> Actor:
        """A caller who claims no authority."""
        return cls(ANYONE)

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN
