"""One watcher per worker process that tells idle consumers when their queue has messages.

Dramatiq's Redis consumer polls its own queue when idle, backing off up to the worker's timeout. A worker
has a consumer per queue (every kind x priority x lane, and a delay queue for each): about fifty. Polling
each every 100 ms cost an idle worker a quarter of a CPU core (measured: 2.7 s of CPU per 10 s, 840 fetch
scripts a second); polling each once a second delayed the pickup of a new job by 0.5 s on average.

Instead, one thread per process asks Redis for the lengths of all the process's queues in one script call
every ``interval`` (``WORKER_POLL_TIMEOUT_MS``) and wakes the consumers whose queue holds messages. An idle
consumer waits for that, or at most ``IDLE_FETCH_SECONDS`` (its own fetch then also renews the worker's
broker heartbeat and covers a watcher that cannot reach Redis).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis

log = logging.getLogger("genjobs.worker")

IDLE_FETCH_SECONDS = 5.0
# Once the worker is stopping, idle waits are this short: its consumers, told to stop after its running jobs
# ended, end within it (the Dramatiq worker waits for them) instead of within IDLE_FETCH_SECONDS.
STOPPING_WAIT_SECONDS = 0.1
# The indexes (1-based) of the keys whose list is not empty.
_NON_EMPTY = """
local found = {}
for i, key in ipairs(KEYS) do
  if redis.call('llen', key) > 0 then found[#found + 1] = i end
end
return found
"""
_RETRY_AFTER_ERROR_SECONDS = 1.0


class QueueWatch:
    """Watches the queues of one broker; consumers ``register`` their queue and ``wait`` on it."""

    def __init__(self, client: redis.Redis, namespace: str, interval: float) -> None:
        self._client = client
        self._namespace = namespace
        self.interval = interval
        self._script = client.register_script(_NON_EMPTY)
        # One condition per queue, all on one lock: a look that finds messages in one queue wakes only the
        # consumers of that queue (about fifty consumers per process all woken 20 times a second cost a busy
        # worker a fifth of its CPU).
        self._lock = threading.Lock()
        self._conditions: dict[str, threading.Condition] = {}
        self._queues: list[str] = []
        self._non_empty: set[str] = set()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def register(self, queue: str) -> None:
        with self._lock:
            if queue not in self._queues:
                self._queues.append(queue)
                self._conditions[queue] = threading.Condition(self._lock)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="queue-watch", daemon=True)
                self._thread.start()

    def wait(self, queue: str, timeout: float) -> bool:
        """Block until the watcher has seen messages in ``queue`` (at once if its last look did), at most
        ``timeout`` seconds; True when it has."""
        with self._lock:
            changed = self._conditions.get(queue)
            if changed is None:
                changed = self._conditions[queue] = threading.Condition(self._lock)
            deadline = time.monotonic() + timeout
            while queue not in self._non_empty:
                if self._stopping:
                    deadline = min(deadline, time.monotonic() + STOPPING_WAIT_SECONDS)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                changed.wait(remaining)
            return True

    def stopping(self) -> None:
        """The worker is stopping: shorten every idle wait from now on, those under way included."""
        with self._lock:
            self._stopping = True
            for changed in self._conditions.values():
                changed.notify_all()

    def emptied(self, queue: str) -> None:
        """A consumer found ``queue`` empty (another took the message): wait for the next look again."""
        with self._lock:
            self._non_empty.discard(queue)

    def check(self) -> set[str]:
        """Look once: the registered queues holding messages (the consumers waiting on them are woken)."""
        with self._lock:
            queues = list(self._queues)
        found: Any = self._script(keys=[f"{self._namespace}:{q}" for q in queues]) if queues else []
        non_empty = {queues[int(i) - 1] for i in found}
        with self._lock:
            self._non_empty = non_empty
            for queue in non_empty:
                self._conditions[queue].notify_all()
        return non_empty

    def _run(self) -> None:
        failing = False
        while True:
            try:
                self.check()
                if failing:
                    log.info("queue watch: Redis reachable again")
                failing = False
                time.sleep(self.interval)
            except Exception as exc:
                # Consumers still fetch on their own every IDLE_FETCH_SECONDS meanwhile.
                if not failing:
                    log.warning("queue watch: cannot read queue lengths (%s); consumers poll on their own", exc)
                failing = True
                with self._lock:
                    self._non_empty = set()
                time.sleep(_RETRY_AFTER_ERROR_SECONDS)
