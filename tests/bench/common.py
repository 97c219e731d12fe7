"""Shared setup of every benchmark: a fresh database, a dedicated Redis db, a user, and child processes.

``BenchEnv.open()`` creates a database from the migrations and drops it at the end, uses Redis db 14 (or
``BENCH_REDIS_DB``; flushed before and after), and creates one user with an API key. Child processes get the same
environment as the integration tests' ``service_env`` (test job kinds loaded) but keep the production
timings, so the figures describe the service as deployed.
"""

from __future__ import annotations

import asyncio
import collections
import math
import os
import re
import resource
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import redis

from db.migrate import upgrade
from service.auth.users import create_user_with_key
from service.settings import Settings
from tests.support.services import (
    ROOT,
    ServiceProcess,
    admin_database_url,
    create_database,
    drop_database,
    free_port,
    redis_url,
    unique_name,
    wait_for_http,
    wait_for_workers,
)

# A shared machine runs several engineers' benchmarks at once: BENCH_REDIS_DB gives each its own Redis db,
# or a worker of one benchmark takes (and drops) the messages of another's jobs.
BENCH_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "14"))
LOG_DIR = ROOT / "test-artifacts" / "bench-logs"
RESULTS_PATH = ROOT / "test-artifacts" / "bench-results.json"
HOST = "127.0.0.1"


def with_redis_db(url: str, db: int) -> str:
    """The same Redis server, another logical db (``redis://host/N`` or ``unix://path?db=N``)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str(db)
        return urlunsplit(parts._replace(query=urlencode(query)))
    return urlunsplit(parts._replace(path=f"/{db}"))


def raise_nofile_limit() -> int:
    """Raise this process's open-file limit to the hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


_EXCEPTION_LINE = re.compile(r"^[\s|+-]*([A-Za-z_][\w.]*(?:Error|Exception|Exit)): (.{0,100})")
_WRAPPERS = ("LitestarException", "ExceptionGroup")


def logged_exceptions(path: Path, top: int = 5) -> dict[str, int]:
    """The most frequent exceptions (type: message) a child process logged: the "why" behind failures."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {}
    counts: collections.Counter[str] = collections.Counter()
    for line in text.splitlines():
        found = _EXCEPTION_LINE.match(line)
        if found and not found.group(1).endswith(_WRAPPERS):
            counts[f"{found.group(1)}: {found.group(2)}"] += 1
    return dict(counts.most_common(top))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def ms(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def install_uvloop() -> None:
    """Use uvloop in benchmark clients when available: less client CPU stolen from the server."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


@dataclass
class BenchResult:
    """What one benchmark reports: a one-line summary, its figures, and its goal (informative only)."""

    name: str
    summary: str
    figures: dict[str, Any] = field(default_factory=dict)
    goal: str = ""
    goal_met: bool | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class BenchEnv:
    admin_url: str
    database_name: str
    database_url: str
    redis_url: str
    env: dict[str, str]
    user_id: uuid.UUID
    api_key: str
    _processes: list[ServiceProcess] = field(default_factory=list)

    @classmethod
    @contextmanager
    def open(cls) -> Iterator[BenchEnv]:
        admin = admin_database_url()
        bench_redis = with_redis_db(redis_url(), BENCH_REDIS_DB)
        name = unique_name("genjobs_bench")
        database_url = create_database(admin, name)
        try:
            with tempfile.TemporaryDirectory(prefix="genjobs-bench-") as artifacts:
                env = {
                    **os.environ,
                    "DATABASE_URL": database_url,
                    "REDIS_URL": bench_redis,
                    "JOB_KIND_MODULES": "tests.support.kinds",
                    "ARTIFACTS_DIR": artifacts,
                    "SECRET_KEY": "bench-secret-key",
                    "LOG_LEVEL": "INFO",
                }
                settings = Settings.from_env(env)
                upgrade(settings.database.sync_url)
                _flush(bench_redis)
                user_id, api_key = asyncio.run(
                    create_user_with_key(settings, email="bench@example.com", password="bench password")
                )
                bench = cls(admin, name, database_url, bench_redis, env, user_id, api_key)
                try:
                    yield bench
                finally:
                    bench.stop_all()
        finally:
            _flush(bench_redis)
            drop_database(admin, name)

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def reset(self) -> None:
        """Between benchmarks: no jobs, an empty Redis db (the user and API key stay)."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute("TRUNCATE jobs, job_events CASCADE")
        _flush(self.redis_url)

    def insert_jobs(self, count: int) -> list[str]:
        """Insert ``count`` queued test_noop jobs of the bench user in one statement; returns their ids."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                """
                INSERT INTO jobs (id, owner_id, kind, params, status, priority, queue, max_attempts, queued_at)
                SELECT gen_random_uuid(), %s, 'test_noop', '{}'::jsonb, 'queued', 'normal', 'noop', 1, now()
                FROM generate_series(1, %s)
                RETURNING id
                """,
                (self.user_id, count),
            ).fetchall()
        return [str(row[0]) for row in rows]

    def start_service(self, *args: str, name: str, env: dict[str, str] | None = None) -> ServiceProcess:
        proc = ServiceProcess(list(args), {**self.env, **(env or {})}, LOG_DIR / f"{name}.log")
        self._processes.append(proc)
        return proc

    def start_module(self, module: str, *args: str, name: str, env: dict[str, str] | None = None) -> ServiceProcess:
        proc = ServiceProcess(list(args), {**self.env, **(env or {})}, LOG_DIR / f"{name}.log", module=module)
        self._processes.append(proc)
        return proc

    def start_api(self, name: str = "api") -> tuple[ServiceProcess, int]:
        port = free_port()
        proc = self.start_service("api", "--host", HOST, "--port", str(port), name=name)
        wait_for_http(f"http://{HOST}:{port}/api/health", proc)
        return proc, port

    def start_worker(
        self, api_port: int, *, processes: int = 1, threads: int = 8, name: str = "worker"
    ) -> ServiceProcess:
        proc = self.start_service("worker", "--processes", str(processes), "--threads", str(threads), name=name)
        wait_for_workers(f"http://{HOST}:{api_port}", expected=processes)
        return proc

    def stop_all(self) -> None:
        while self._processes:
            self._processes.pop().stop()


def _flush(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
