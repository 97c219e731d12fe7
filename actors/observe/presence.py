"""Worker presence for operators: each worker process says every few seconds which host and pid it is, which
queues it consumes, how many threads it has and how many run a job, in Redis (``genjobs:workers``), whatever
host it runs on. Dramatiq's own heartbeats only say that some broker id is alive."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

import dramatiq
import msgspec
import redis
import redis.asyncio as aioredis
from dramatiq.middleware import Middleware

from actors.holder import RuntimeHolder

log = logging.getLogger("genjobs.worker")

WORKERS_KEY = "genjobs:workers"
BEAT_SECONDS = 3.0
# A worker not heard from for this long is not listed (its entry is pruned on the next read).
STALE_SECONDS = 15.0


class WorkerPresence(msgspec.Struct, frozen=True):
    id: str
    host: str
    pid: int
    queues: list[str]
    threads: int
    busy: int
    started_at: float
    last_seen: float


def _key(worker_id: str) -> str:
    return f"{WORKERS_KEY}:{worker_id}"


class PresenceBeat(Middleware):
    """Writes this worker process's presence every ``BEAT_SECONDS`` until it shuts down, then removes it."""

    def __init__(self, holder: RuntimeHolder) -> None:
        self.holder = holder
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._worker: dramatiq.Worker | None = None
        self._started_at = time.time()
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._worker = worker
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._started_at = time.time()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="presence", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            client = self.holder.runtime.redis
            client.zrem(WORKERS_KEY, self.worker_id)
            client.delete(_key(self.worker_id))
        except Exception as exc:
            log.warning("could not remove worker presence: %s", exc)

    def snapshot(self) -> WorkerPresence:
        worker = self._worker
        queues = sorted(q for q in (worker.consumers if worker else {}) if not q.endswith(".DQ"))
        return WorkerPresence(
            id=self.worker_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            queues=queues,
            threads=int(getattr(worker, "worker_threads", 0) or 0),
            busy=len(self.holder.runtime.running()),
            started_at=self._started_at,
            last_seen=time.time(),
        )

    def _loop(self) -> None:
        while True:
            try:
                beat(self.holder.runtime.redis, self.snapshot())
            except Exception as exc:
                log.warning("could not write worker presence: %s", exc)
            if self._stop.wait(BEAT_SECONDS):
                return


def beat(client: redis.Redis, presence: WorkerPresence) -> None:
    pipe = client.pipeline(transaction=False)
    pipe.set(_key(presence.id), msgspec.json.encode(presence), ex=int(STALE_SECONDS * 2))
    pipe.zadd(WORKERS_KEY, {presence.id: presence.last_seen})
    pipe.execute()


async def live_workers(client: aioredis.Redis) -> list[WorkerPresence]:
    """Workers heard from within ``STALE_SECONDS``, by id; older entries are pruned."""
    now = time.time()
    await client.zremrangebyscore(WORKERS_KEY, 0, now - STALE_SECONDS)
    ids: list[Any] = await client.zrangebyscore(WORKERS_KEY, now - STALE_SECONDS, "+inf")
    if not ids:
        return []
    raw = await client.mget([_key(i.decode() if isinstance(i, bytes) else str(i)) for i in ids])
    found = [msgspec.json.decode(r, type=WorkerPresence) for r in raw if r is not None]
    return sorted(found, key=lambda w: w.id)
