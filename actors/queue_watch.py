"""One watcher per worker process that tells idle consumers when their queue has messages.

Dramatiq's Redis consumer polls its own queue when idle, backing off up to the worker's timeout. A worker
has a consumer per queue (every kind x priority x lane, and a delay queue for each): about fifty. Polling
each every 100 ms cost an idle worker a quarter of a CPU core (measured: 2.7 s of CPU per 10 s, 840 fetch
scripts a second); polling each once a second delayed the pickup of a new job by 0.5 s on average.

Instead, one thread per process asks Redis for the lengths of all the process's queues in one script call
every ``interval`` (``WORKER_POLL_TIMEOUT_MS``) and wakes the consumers whose queue holds messages. An idle
consumer waits for that, or at most ``IDLE_FETCH_SECONDS`` (its own fetch then also renews the worker's
broker heartbeat and covers a watcher that cannot reach Redis).

Between two looks the watcher listens on the broker's doorbell, a pub/sub channel on which whoever enqueues a
message rings with its queue's name (the API with each group of new jobs, in the same pipeline; the broker with
each message it enqueues, ``actors.pause``): the consumers of that queue wake at once instead of at the next
look. Measured with the throughput benchmark: a worker whose queue ran empty now and then picked up its next
messages up to ``interval`` late, which held 8 worker threads to ~300 trivial jobs a second (16 prefetched
messages per 50 ms look). The looks stay, for messages nobody rang for (a dead worker's returned messages, a
resumed queue, a ring lost with a dropped connection).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

import redis

from db.live import ScriptCall

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
# Publishes each queue name given as an argument on the doorbell channel (the key): one call for a group of jobs.
RING_SCRIPT = """
for _, queue in ipairs(ARGV) do redis.call('publish', KEYS[1], queue) end
return #ARGV
"""


def doorbell(client: redis.Redis, namespace: str) -> str:
    """The pub/sub channel on which enqueuers announce messages (by queue name) to the workers of a broker
    namespace in ``client``'s database (channels are server-wide: two deployments on one Redis server, each in
    its own database, must not wake each other's workers)."""
    return f"{namespace}:doorbell:{client.connection_pool.connection_kwargs.get('db', 0)}"


def ring_call(client: redis.Redis, namespace: str, queues: Iterable[str]) -> ScriptCall:
    """The call that rings the doorbell for ``queues``, for a pipeline that has just enqueued messages on them."""
    return ScriptCall(RING_SCRIPT, [doorbell(client, namespace)], sorted(set(queues)))


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
        # Doorbell rings per queue so far: a consumer that found its queue empty forgets the queue's messages
        # only when no ring came while it was looking (``emptied``).
        self._rings: dict[str, int] = {}
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

    def rings(self, queue: str) -> int:
        """How many times the doorbell rang for ``queue`` so far (for ``emptied``)."""
        return self._rings.get(queue, 0)

    def emptied(self, queue: str, rings: int | None = None) -> None:
        """A consumer found ``queue`` empty (another took the message): wait for the next look or ring again.
        ``rings``: ``rings(queue)`` before that consumer looked; a ring since then means a message it may not
        have seen, and the queue stays marked."""
        with self._lock:
            if rings is None or self._rings.get(queue, 0) == rings:
                self._non_empty.discard(queue)

    def rung(self, queue: str) -> None:
        """The doorbell rang for ``queue``: wake its consumers (a queue of another process is ignored)."""
        with self._lock:
            changed = self._conditions.get(queue)
            if changed is None:
                return
            self._rings[queue] = self._rings.get(queue, 0) + 1
            self._non_empty.add(queue)
            changed.notify_all()

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
        bell: redis.client.PubSub | None = None
        while True:
            try:
                if bell is None:
                    bell = self._client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                    bell.subscribe(doorbell(self._client, self._namespace))
                self.check()
                if failing:
                    log.info("queue watch: Redis reachable again")
                failing = False
                self._listen(bell, time.monotonic() + self.interval)
            except Exception as exc:
                # Consumers still fetch on their own every IDLE_FETCH_SECONDS meanwhile.
                if not failing:
                    log.warning("queue watch: cannot read queue lengths (%s); consumers poll on their own", exc)
                failing = True
                with self._lock:
                    self._non_empty = set()
                if bell is not None:
                    with contextlib.suppress(Exception):
                        bell.close()
                    bell = None
                time.sleep(_RETRY_AFTER_ERROR_SECONDS)

    def _listen(self, bell: redis.client.PubSub, until: float) -> None:
        """Wake the consumers of each queue the doorbell rings for, until the next look is due."""
        while (remaining := until - time.monotonic()) > 0:
            ring = bell.get_message(timeout=remaining)
            if ring is not None and ring.get("type") == "message":
                data = ring["data"]
                self.rung(data.decode() if isinstance(data, bytes) else str(data))
