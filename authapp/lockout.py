"""Lockout after repeated failed logins: the policy and the state it gives at a moment.

Pure functions of failure times, kept apart from the replay check in ``authapp.security``;
``authapp.guard`` reads the times from the store and applies them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["LockState", "LockoutPolicy", "lockout_state"]

MAX_POLICY_FAILURES = 1000
MAX_POLICY_SECONDS = 366 * 86400.0


@dataclass(frozen=True)
class LockoutPolicy:
    """``max_failures`` failed logins within ``window_s`` seconds lock the account for
    ``lockout_s`` seconds. A successful login (or an administrator's unlock, or a
    re-enrollment) resets the count. ``max_failures=0`` disables it.
    """

    max_failures: int = 5
    window_s: float = 600.0
    lockout_s: float = 900.0

    def __post_init__(self) -> None:
        for name in ("max_failures", "window_s", "lockout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise ValueError(f"lockout policy: {name} must be a finite number, got "
                                 f"{value!r}")
        if isinstance(self.max_failures, float) and not self.max_failures.is_integer():
            raise ValueError(f"lockout policy: max_failures must be a whole number, got "
                             f"{self.max_failures!r}")
        object.__setattr__(self, "max_failures", int(self.max_failures))
        if not 0 <= self.max_failures <= MAX_POLICY_FAILURES:
            raise ValueError(f"lockout policy: max_failures must be 0-{MAX_POLICY_FAILURES} "
                             f"(0 disables the lockout), got {self.max_failures}")
        if not 0 < self.window_s <= MAX_POLICY_SECONDS:
            raise ValueError("lockout policy: window_s must be more than 0 and at most a year"
                             f", got {self.window_s:g}")
        if not 0 <= self.lockout_s <= MAX_POLICY_SECONDS:
            raise ValueError("lockout policy: lockout_s must be 0 to a year, got "
                             f"{self.lockout_s:g}")


@dataclass(frozen=True)
class LockState:
    """Whether an account is locked, until when, and its failures within the window."""

    locked: bool
    until: float | None
    recent_failures: int


def lockout_state(failure_times: Sequence[float], last_success: float | None, now: float,
                  policy: LockoutPolicy) -> LockState:
    """Whether an account is locked at ``now`` given its failed-login times.

    The lock starts at the failure that brings the count within one window to
    ``max_failures`` and lasts ``lockout_s``; failures before the last success (or reset)
    do not count.
    """
    times = sorted(t for t in failure_times
                   if (last_success is None or t > last_success) and t <= now)
    recent = sum(1 for t in times if t > now - policy.window_s)
    n = policy.max_failures
    if n <= 0 or len(times) < n:
        return LockState(False, None, recent)
    trigger = None
    for k in range(n - 1, len(times)):
        if times[k] - times[k - n + 1] <= policy.window_s:
            trigger = times[k]
    if trigger is not None and now < trigger + policy.lockout_s:
        return LockState(True, trigger + policy.lockout_s, recent)
    return LockState(False, None, recent)
