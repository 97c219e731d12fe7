"""Per-process worker resources: the database engine, Redis, the live publisher and the running jobs.

Created when a worker process boots and closed when it shuts down (lifespan of the worker).
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from typing import TYPE_CHECKING, Any

import msgspec
import redis
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, make_sessionmaker
from db.live import LivePublisher

if TYPE_CHECKING:
    from actors.context import JobContext


class WorkerConfig(msgspec.Struct, frozen=True):
    database_url: str
    redis_url: str
    lease_seconds: float = 15.0
    heartbeat_seconds: float = 3.0
    progress_interval_seconds: float = 0.25
    cancel_poll_seconds: float = 0.5
    # How long after a cancel is seen a job that does not stop by itself is interrupted.
    cancel_grace_seconds: float = 1.5
    stream_maxlen: int = 1000
    stream_ttl_seconds: int = 86_400
    pool_size: int = 10
    # Where jobs keep files: uploads under ``uploads/<job id>/``, a job's own files (its process log) under
    # ``<job id>/``.
    artifacts_dir: str = ".data/artifacts"
    # Per-kind configuration as plain data (each kind converts its own part into its own Struct), so the
    # worker boot can pass settings to kinds without actors importing the service's settings.
    kind_options: dict[str, Any] = msgspec.field(default_factory=dict)


class WorkerRuntime:
    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self.engine = make_engine(config.database_url, pool_size=config.pool_size)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self.redis = redis.Redis.from_url(config.redis_url)
        self.publisher = LivePublisher(self.redis, maxlen=config.stream_maxlen, ttl_seconds=config.stream_ttl_seconds)
        self._running: dict[uuid.UUID, JobContext] = {}
        self._lock = threading.Lock()

    def add_running(self, ctx: JobContext) -> None:
        with self._lock:
            self._running[ctx.job_id] = ctx

    def remove_running(self, ctx: JobContext) -> None:
        with self._lock:
            if self._running.get(ctx.job_id) is ctx:
                del self._running[ctx.job_id]

    def running(self) -> list[JobContext]:
        with self._lock:
            return list(self._running.values())

    def close(self) -> None:
        self.engine.dispose()
        self.redis.close()
