"""The errors the enrollment store raises (all ``AirAuthError``s, so the CLI and GUI show a
message, not a traceback)."""

from __future__ import annotations

from core.errors import AirAuthError


class StoreError(AirAuthError, RuntimeError):
    """The enrollment store cannot be opened or used."""


class StoreVersionError(StoreError):
    """The store was written by a newer AirAuth (unknown schema version)."""


class StoreBusyError(StoreError):
    """Another process kept the store locked for longer than the busy timeout."""


class StoreIntegrityError(StoreError):
    """A stored artifact is missing or does not match its checksum."""

    def __init__(self, user: str, message: str) -> None:
        super().__init__(message)
        self.user = user


class UnknownUserError(StoreError, LookupError):
    """No such user is enrolled."""


class DuplicateUserError(StoreError):
    """The user is already enrolled and re-enrollment was not asked for."""


class StaleEnrollmentError(StoreError):
    """A save meant to replace one model of a user found another one in its place (the
    account was re-enrolled, adapted or deleted meanwhile): nothing was changed."""


class StoreTamperedError(StoreError):
    """A row's keyed checksum does not match: the database was changed outside AirAuth."""

