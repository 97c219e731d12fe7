"""At most ``BUILD_CONCURRENCY`` builds at once in one worker process, and none started while the machine's
memory is above ``BUILD_MEMORY_HIGH_PERCENT``: the next build waits (reporting the ``waiting`` step, and still
cancellable) instead of starting."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from actors.context import JobContext

_POLL_SECONDS = 1.0
_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _semaphore(concurrency: int) -> threading.BoundedSemaphore:
    with _lock:
        return _slots.setdefault(concurrency, threading.BoundedSemaphore(concurrency))


def memory_used_percent() -> float:
    """The machine's used memory (100 - MemAvailable / MemTotal) from /proc/meminfo; 0 when unreadable."""
    fields: dict[str, int] = {}
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                name, _, rest = line.partition(":")
                fields[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    total, available = fields.get("MemTotal", 0), fields.get("MemAvailable", 0)
    return 100.0 * (1 - available / total) if total else 0.0


@contextlib.contextmanager
def build_slot(ctx: JobContext, concurrency: int, memory_high_percent: float) -> Iterator[None]:
    """Hold one of the worker's build slots for the block; wait (cancellably) for a free slot and memory."""
    slots = _semaphore(concurrency)
    while not slots.acquire(timeout=_POLL_SECONDS):
        ctx.progress(0, 1, "waiting")
    try:
        while memory_used_percent() > memory_high_percent:
            ctx.progress(0, 1, "waiting")
            ctx.check_cancelled()
            threading.Event().wait(_POLL_SECONDS)
        yield
    finally:
        slots.release()
