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

from actors.event_sender import QueuedPublisher
from actors.grouped import Grouped
from actors.retry import ride_out
from db import direct
from db import state_machine as sm
from db.engine import make_engine, make_sessionmaker
from db.live import LivePublisher

if TYPE_CHECKING:
    from actors.context import JobContext


# A job's success: its id, its claim token and its result.
Success = tuple[uuid.UUID, uuid.UUID, dict[str, Any] | None]
# How long a stopping worker waits for its queued live events and acknowledgements to be sent.
CLOSE_SEND_SECONDS = 10.0


class WorkerConfig(msgspec.Struct, frozen=True):
    database_url: str
    redis_url: str
    lease_seconds: float = 15.0
    heartbeat_seconds: float = 3.0
    progress_interval_seconds: float = 0.25
    cancel_poll_seconds: float = 0.5
    # How long after a cancel is seen a job that does not stop by itself is interrupted.
    cancel_grace_seconds: float = 1.5
    # How long job code and the job's bookkeeping wait out a Redis or Postgres outage before giving up.
    outage_budget_seconds: float = 60.0
    stream_maxlen: int = 1000
    stream_ttl_seconds: int = 86_400
    pool_size: int = 10
    # Where jobs keep files: uploads under ``uploads/<job id>/``, a job's own files (its process log) under
    # ``<job id>/``.
    artifacts_dir: str = ".data/artifacts"
    # Each job kind's own settings section by kind name (``JobKind.settings``), read by the worker boot.
    kind_settings: dict[str, Any] = msgspec.field(default_factory=dict)
    # Fair scheduling: running jobs of one kind per owner for kinds that set no limit (0: unlimited).
    max_running_per_owner: int = 0


class WorkerRuntime:
    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}"
        # No pre-ping: every bookkeeping unit is ridden out (``ride_out``), a dead pooled connection included.
        self.engine = make_engine(config.database_url, pool_size=config.pool_size, pre_ping=False)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        # For units that are one statement (a claim, a success): autocommit psycopg connections, so each is its
        # own transaction with no BEGIN and COMMIT round trips around it, run without SQLAlchemy (``db.direct``).
        self.direct = direct.open_sync_pool(config.database_url, max_size=config.pool_size)
        self.direct.open(wait=False)
        # Bounded timeouts: a dead Redis must fail a call (which the caller rides out), never hang a job.
        self.redis = redis.Redis.from_url(config.redis_url, socket_connect_timeout=3, socket_timeout=10)
        # Live events and (with a job's last events) message acknowledgements are queued, and sent by a thread
        # of their own: a job's thread does not wait for Redis (``actors.event_sender``).
        self.publisher = QueuedPublisher(
            LivePublisher(self.redis, maxlen=config.stream_maxlen, ttl_seconds=config.stream_ttl_seconds),
            budget_seconds=config.outage_budget_seconds,
        )
        # The claims and the successes of jobs that end at about the same time on several threads go to Postgres
        # together, one statement each (``actors.grouped``).
        # Each call returns its job's row, which the calling thread turns into the change (``sm.claimed``,
        # ``sm.succeeded``), reporting it in that thread's trace.
        self.claims: Grouped[uuid.UUID, sm.Row | None] = Grouped("job-claims", self._claim_many)
        self.successes: Grouped[Success, sm.Row | None] = Grouped("job-successes", self._succeed_many)
        self._running: dict[uuid.UUID, JobContext] = {}
        self._lock = threading.Lock()

    def _claim_many(self, job_ids: list[uuid.UUID]) -> list[sm.Row | None]:
        with direct.sync_connection(self.direct) as conn:
            return sm.claim_many(conn, job_ids, worker=self.worker_id, lease_seconds=self.config.lease_seconds)

    def _succeed_many(self, jobs: list[Success]) -> list[sm.Row | None]:
        # Nobody waits for a success (``Outcomes.succeed``): an outage is ridden out here, holding the group.
        def succeed_many() -> list[sm.Row | None]:
            with direct.sync_connection(self.direct) as conn:
                return sm.succeed_many(conn, jobs, worker=self.worker_id)

        return ride_out(
            succeed_many, what=f"finishing {len(jobs)} job(s)", budget_seconds=self.config.outage_budget_seconds
        )

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
        self.claims.close()
        self.successes.close()
        self.publisher.close(timeout=CLOSE_SEND_SECONDS)
        self.direct.close()
        self.engine.dispose()
        self.redis.close()
