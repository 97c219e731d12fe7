"""A worker's live events and message acknowledgements, sent without its job threads waiting for Redis.

A trivial job's thread used to wait for Redis twice: for its ``running`` event after the claim, and for its
last events sent with its message's acknowledgement. It now queues them and goes on; one thread per worker
process sends whatever has queued up since its last send, in one pipeline. There is no timer: a lone event
goes at once, and the batches grow with the load. One queue and one sender keep every job's events in the
order its thread published them.

What queuing changes: an event is in Redis a moment after ``publish`` returns rather than when it returns
(the guarantees are Postgres's, which holds every change before its event is queued). A message is
acknowledged a moment after its job's thread moved on; a worker that dies meanwhile leaves it in flight, and
Dramatiq's maintenance returns it to the queue, where its claim refuses the finished job and it is dropped.

Failures: a lost connection is ridden out (``ride_out``) for the outage budget, after which the events of
the batch are given up (a reconnecting client gets a snapshot from Postgres) and its acknowledgements are
tried until they go or the worker stops. A call that fails inside Redis (a script error) fails alone: an
event is given up, an acknowledgement is settled alone by its consumer (``fallback``). ``close`` sends what is
queued before the worker's Redis client closes.

A job whose success is committed after its thread moved on (``Outcomes.succeed``) holds its message's
acknowledgement back until then: ``AckAfterCommit`` sends it with the job's last events.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple

from actors.retry import is_transient, ride_out
from db.live import LiveEvent, LivePublisher, ScriptCall

log = logging.getLogger("genjobs.worker")
# Items (a publish each) the sender may fall behind by before ``publish`` waits for it (a long outage).
MAX_BACKLOG = 10_000
# Script calls in one pipeline at most.
MAX_BATCH_CALLS = 512


class _Item(NamedTuple):
    events: list[ScriptCall]
    settle: list[ScriptCall]
    fallback: Callable[[], None] | None


class QueuedPublisher:
    """``LivePublisher.publish`` that returns at once; a thread of its own sends."""

    def __init__(self, publisher: LivePublisher, *, budget_seconds: float) -> None:
        self._publisher = publisher
        self._budget = budget_seconds
        self._items: collections.deque[_Item] = collections.deque()
        self._changed = threading.Condition()
        self._sending = False
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def publish(
        self,
        events: Sequence[LiveEvent],
        *,
        then: Sequence[ScriptCall] = (),
        fallback: Callable[[], None] | None = None,
    ) -> None:
        """Queue ``events``, then the scripts ``then`` (a message's acknowledgement; ``fallback`` settles it
        alone if its scripts fail other than by a lost connection)."""
        item = _Item(self._publisher.calls(events), list(then), fallback)
        if not item.events and not item.settle:
            return
        with self._changed:
            if self._closing.is_set():
                # The worker is stopping and its sender is gone: as before queuing, in this thread.
                self._publisher.run([*item.events, *item.settle])
                return
            while len(self._items) >= MAX_BACKLOG and not self._closing.is_set():
                self._changed.wait(1.0)
            self._items.append(item)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="live-event-sender", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued so far was sent (or given up); False if ``timeout`` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._items and not self._sending, timeout)

    def close(self, timeout: float) -> None:
        """Send what is queued (waiting at most ``timeout``), then stop the sender."""
        if not self.flush(timeout):
            log.warning("stopping with live events and acknowledgements not yet sent (Redis unreachable?)")
        with self._changed:
            self._closing.set()
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._sending = False
                self._changed.notify_all()
                self._changed.wait_for(lambda: self._items or self._closing.is_set())
                if not self._items:
                    return
                batch = [self._items.popleft()]
                size = len(batch[0].events) + len(batch[0].settle)
                while self._items and size < MAX_BATCH_CALLS:
                    item = self._items.popleft()
                    batch.append(item)
                    size += len(item.events) + len(item.settle)
                self._sending = True
                self._changed.notify_all()
            try:
                self._deliver(batch)
            except Exception:
                log.exception("could not send %d live event batch item(s)", len(batch))

    def _deliver(self, batch: list[_Item]) -> None:
        calls = [call for item in batch for call in (*item.events, *item.settle)]
        try:
            failures = ride_out(
                lambda: self._publisher.run_each(calls),
                what=f"sending {len(calls)} live event(s) and acknowledgement(s)",
                budget_seconds=self._budget,
                stop=self._closing,
            )
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._settle_after_outage(batch, len(calls))
            return
        # Calls that failed inside Redis (a script error): the others ran. An event is given up; an
        # acknowledgement is settled alone, by its consumer.
        failed = iter(failures)
        for item in batch:
            events_failed = [f for f in (next(failed) for _ in item.events) if f is not None]
            if events_failed:
                log.error("could not publish %d live event(s): %s", len(events_failed), events_failed[0])
            settle_failed = [f for f in (next(failed) for _ in item.settle) if f is not None]
            if settle_failed:
                self._settle_alone(item, settle_failed[0])

    def _settle_after_outage(self, batch: list[_Item], sent: int) -> None:
        settle = [call for item in batch for call in item.settle]
        log.error(
            "Redis unreachable: %d live event(s) not published; %d acknowledgement(s) still to send",
            sent - len(settle),
            len(settle),
        )
        if not settle:
            return
        try:
            # As Dramatiq does with an acknowledgement: until it goes (or the worker stops).
            ride_out(
                lambda: self._publisher.run(settle),
                what=f"acknowledging {len(settle)} message(s)",
                budget_seconds=math.inf,
                stop=self._closing,
            )
        except Exception as exc:
            if is_transient(exc):
                return  # the worker stops: the messages stay in flight, and Dramatiq returns them
            for item in batch:
                if item.settle:
                    self._settle_alone(item, exc)

    @staticmethod
    def _settle_alone(item: _Item, error: Exception) -> None:
        if item.fallback is None:
            log.error("could not acknowledge a message: %s", error)
            return
        log.warning("acknowledging a message with its job's events failed (%s): acknowledging it alone", error)
        try:
            item.fallback()
        except Exception:
            log.exception("could not acknowledge a message, even alone")


class AckAfterCommit:
    """Where a message's acknowledgement (given by its consumer: ``actors.pause.PausableRedisBroker.ride``) meets
    the job's last events (given once its success is committed: ``Outcomes.succeed``); whichever comes second
    sends both, in one pipeline."""

    def __init__(self, publisher: QueuedPublisher) -> None:
        self._publisher = publisher
        self._lock = threading.Lock()
        self._settle: tuple[ScriptCall, Callable[[], None]] | None = None
        self._events: list[LiveEvent] | None = None

    def ride(self, settle: ScriptCall, alone: Callable[[], None]) -> None:
        with self._lock:
            events = self._events
            if events is None:
                self._settle = (settle, alone)
                return
        self._publisher.publish(events, then=[settle], fallback=alone)

    def committed(self, events: list[LiveEvent]) -> None:
        with self._lock:
            settle = self._settle
            if settle is None:
                self._events = events
                return
        self._publisher.publish(events, then=[settle[0]], fallback=settle[1])
