"""Short garbage-collection pauses in an API process that holds many long-lived objects (open SSE streams).

CPython's cyclic collector examines every tracked object on a full (generation 2) collection. With 10,000 open
streams an API process holds about 1.5 million of them, and a full collection stopped its event loop for
0.6-1.7 s on this 2-core machine (measured in the SSE fan-out benchmark with a ``gc.callbacks`` probe); every
event due in that window waited, which made the p99 publish-to-client latency 1.3 s while the p50 was 0.9 ms.

The objects that survive a full collection are the long-lived ones (streams, subscriptions, connections,
modules). ``GcFreezer`` moves them to the collector's permanent generation after each full collection
(``gc.freeze``), so the next full collections examine only what was created since: their pause follows the
growth since the last one, not the whole heap. Reference counting still frees frozen objects as usual; only
a reference cycle among frozen objects that died is left to the next ``gc.unfreeze``, which returns them all to
the collector every ``unfreeze_seconds`` (one full-length collection then, so such cycles cannot pile up).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator

CHECK_SECONDS = 1.0
UNFREEZE_SECONDS = 600.0


class GcFreezer:
    """Freezes the survivors of each full collection; returns them to the collector now and then."""

    def __init__(self, *, unfreeze_seconds: float = UNFREEZE_SECONDS) -> None:
        self.unfreeze_seconds = unfreeze_seconds
        self._full_collections = gc.get_stats()[2]["collections"]
        self._unfrozen_at = time.monotonic()
        # Kept here, not asked of the collector: ``gc.get_freeze_count()`` walks every frozen object (0.15 s for
        # 1.5 million on this machine), which once a second was the event loop's longest stall.
        self._frozen = False

    def step(self) -> str | None:
        """Look once (on the event loop, never inside the collector): ``"froze"`` after a new full collection,
        ``"unfroze"`` when the frozen objects are due back, None otherwise."""
        now = time.monotonic()
        if self._frozen and now - self._unfrozen_at >= self.unfreeze_seconds:
            gc.unfreeze()
            self._frozen = False
            self._unfrozen_at = now
            return "unfroze"
        collections = gc.get_stats()[2]["collections"]
        if collections == self._full_collections:
            return None
        self._full_collections = collections
        self.freeze()
        return "froze"

    def freeze(self) -> None:
        """Move every object the collector tracks now to its permanent generation."""
        gc.freeze()
        self._frozen = True

    @contextlib.asynccontextmanager
    async def running(self, interval: float = CHECK_SECONDS) -> AsyncIterator[None]:
        """Look every ``interval`` seconds on this event loop while the context is open."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(interval)
                self.step()

        # What exists by now (modules, the app, its clients) lives as long as the process.
        self.freeze()
        task = asyncio.get_running_loop().create_task(loop(), name="gc-freezer")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            gc.unfreeze()
