"""An isolated stack for tests that kill, stop or starve workers: a fresh database, a private Redis on a Unix
socket, and its own API, scheduler and workers (the session's shared worker consumes every queue)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from db.migrate import upgrade
from service.auth.users import create_user, issue_api_key
from service.embedded import start_embedded_redis
from service.settings import Settings
from tests.conftest import ApiUser, start_api
from tests.support.llms_jobs import job_row
from tests.support.services import (
    ServiceProcess,
    admin_database_url,
    create_database,
    drop_database,
    unique_name,
)

WORKER_READY = "Worker process is ready for action"


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def wait_for_log(proc: ServiceProcess, needle: str, timeout: float = 30) -> None:
    def seen() -> bool:
        if not proc.alive():
            raise AssertionError(f"{proc.args} exited:\n{proc.log_tail()}")
        return needle in proc.log_path.read_text(errors="replace")

    wait_until(seen, timeout, f"{needle!r} in {proc.log_path.name}")


@dataclass
class IsolatedStack:
    """Postgres database, Redis, API and (optionally) scheduler of its own; workers are started per test."""

    env: dict[str, str]
    engine: Engine
    redis: redis.Redis
    start_service: Callable[..., ServiceProcess]
    api_url: str = ""
    processes: list[ServiceProcess] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    def start(self, *args: str, name: str) -> ServiceProcess:
        proc = self.start_service(*args, env=self.env, name=name)
        self.processes.append(proc)
        return proc

    def start_worker(self, *, threads: int = 2, queues: tuple[str, ...] = ()) -> ServiceProcess:
        args = ["worker", "--processes", "1", "--threads", str(threads)]
        if queues:
            args += ["--queues", *queues]
        proc = self.start(*args, name="iso-worker")
        # A loaded machine (two cores shared with other test runs) can take most of a minute to boot a worker.
        wait_for_log(proc, WORKER_READY, timeout=90)
        return proc

    def for_one_test(self) -> Iterator[IsolatedStack]:
        """Empty tables and Redis for a test; stop the processes it started (for a fixture, ``yield from``)."""
        with self.engine.begin() as conn:
            tables = conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            ).scalars()
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        self.redis.flushdb()
        started_before = len(self.processes)
        yield self
        for proc in self.processes[started_before:]:
            proc.kill()
        del self.processes[started_before:]

    async def make_user(self) -> ApiUser:
        engine = create_async_engine(Settings.from_env(self.env).database.async_url)
        email = f"user-{uuid.uuid4().hex[:8]}@example.com"
        try:
            async with engine.begin() as conn:
                session = AsyncSession(bind=conn)
                user_id = await create_user(session, email=email, password="correct horse", is_admin=False)
                _, key = await issue_api_key(session, user_id)
                await session.flush()
        finally:
            await engine.dispose()
        client = httpx.AsyncClient(base_url=self.api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        return ApiUser(user_id, email, "correct horse", key, client)

    def job(self, job_id: str) -> dict[str, Any]:
        """The job row straight from Postgres (deleted jobs included), with its payment's columns."""
        return job_row(self.engine, job_id)

    def history(self, job_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT type, from_status, to_status, actor, detail FROM job_events WHERE job_id = :id ORDER BY id"
                ),
                {"id": job_id},
            ).mappings()
            return [dict(r) for r in rows]

    async def wait_for_job(
        self, job_id: str, predicate: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> dict[str, Any]:
        """Poll the job's row until ``predicate`` holds; fail with its state and history after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if predicate(job):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}; job is {job['status']} ({job['error']}; "
                    f"attempts {job['attempts']}, progress {job['progress_done']}); history {self.transitions(job_id)}"
                )
            await asyncio.sleep(0.05)

    def transitions(self, job_id: str) -> list[tuple[str | None, str | None]]:
        return [(e["from_status"], e["to_status"]) for e in self.history(job_id) if e["to_status"] is not None]

    def completions(self, job_id: str) -> int:
        """How many times the test kind's body really finished for this job."""
        return int(self.redis.get(f"test:completions:{job_id}") or 0)


def isolated_stack(
    start_service: Callable[..., ServiceProcess],
    service_env: dict[str, str],
    *,
    scheduler: bool,
    redis_url: str | None = None,
    postgres_admin_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Iterator[IsolatedStack]:
    """Build an isolated stack; for a module fixture (``yield from``). Everything is torn down afterwards.

    ``redis_url`` / ``postgres_admin_url``: servers of the test's own (e.g. to stop and restart them);
    by default a private embedded Redis and a new database on the session's Postgres."""
    with contextlib.ExitStack() as cleanup:
        admin = postgres_admin_url or admin_database_url()
        name = unique_name("genjobs_iso")
        database_url = create_database(admin, name)
        cleanup.callback(drop_database, admin, name)
        if redis_url is None:
            # A short directory: the Redis socket path must fit in sun_path.
            redis_dir = Path(tempfile.mkdtemp(prefix="gjr-", dir="/tmp"))
            cleanup.callback(shutil.rmtree, redis_dir, ignore_errors=True)
            embedded = start_embedded_redis(redis_dir)
            cleanup.callback(embedded.stop)
            redis_url = embedded.redis_url
        env = {**service_env, "DATABASE_URL": database_url, "REDIS_URL": redis_url, **(extra_env or {})}
        settings = Settings.from_env(env)
        upgrade(settings.database.sync_url)
        engine = create_engine(settings.database.sync_url, pool_size=2, pool_pre_ping=True)
        cleanup.callback(engine.dispose)
        client = redis.Redis.from_url(redis_url)
        cleanup.callback(client.close)
        stack = IsolatedStack(env, engine, client, start_service)
        cleanup.callback(lambda: [proc.stop() for proc in stack.processes])
        # start_api's own name and env are replaced: every process of the stack gets the stack's env.
        _, stack.api_url = start_api(lambda *args, **_: stack.start(*args, name="iso-api"))
        if scheduler:
            stack.start("scheduler", name="iso-scheduler")
        yield stack
