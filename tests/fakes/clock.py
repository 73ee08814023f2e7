"""A fake monotonic clock, so that paced replays run instantly in tests."""

from __future__ import annotations


class FakeClock:
    """Callable clock that only advances when the code under test calls ``sleep``."""

    def __init__(self, start: float = 100.0) -> None:
        self.start = start
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0, "sleeping for a non-positive time"
        self.sleeps.append(seconds)
        self.now += seconds
