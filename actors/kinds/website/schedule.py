"""When to poll the generator next: the adaptive schedule, the backoff after errors, and the deadline."""

from __future__ import annotations

from collections.abc import Sequence

# (interval, until): poll every ``interval`` seconds while less than ``until`` seconds have passed.
Schedule = Sequence[tuple[float, float | None]]
# A poll due "now" is still sent with a small delay, so a tight loop can never hammer the generator.
MIN_DELAY_SECONDS = 0.05


def poll_interval(elapsed: float, schedule: Schedule) -> float:
    """The wait before the next status check, ``elapsed`` seconds after polling began.

    >>> poll_interval(10, [(30, 120), (45, 600), (90, None)])
    30
    >>> poll_interval(120, [(30, 120), (45, 600), (90, None)])
    45
    """
    for interval, until in schedule:
        if until is None or elapsed < until:
            return interval
    return schedule[-1][0]


def clamp_to_deadline(delay: float, remaining: float) -> float:
    """Never wait past the deadline: the last check happens at the deadline itself."""
    return max(MIN_DELAY_SECONDS, min(delay, remaining))
