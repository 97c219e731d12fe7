"""Fixtures shared by every test layer: a fresh database from migrations, a dedicated Redis db, and the
real API, worker and scheduler processes started against them."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from db.engine import make_engine
from db.migrate import upgrade
from service.auth.users import create_user, issue_api_key
from service.settings import Settings
from tests.support.fake_chat import FakeChat
from tests.support.fake_stripe import API_KEY as STRIPE_TEST_KEY
from tests.support.fake_stripe import WEBHOOK_SECRET as STRIPE_TEST_WEBHOOK_SECRET
from tests.support.fake_stripe import FakeStripe
from tests.support.notify_receivers import Receivers
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

# Local test websites (sitemaps, robots.txt, redirects, broken pages; a links-only site) on 127.0.0.1.
# Local notification receivers (SMTP, webhook, UltraMsg, WhatsApp) every process under test sends to.
pytest_plugins = ("tests.support.testsite.fixtures", "tests.support.notify_fixtures")

# What the test Prometheus sends as its bearer token (GET /metrics is off without one).
METRICS_TOKEN = "test-metrics-token"
SCRAPER_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}

# Seals webhook secrets at rest in every process under test (tests open them with it to compare).
TEST_SECRET_KEY = "test-secret-key"
# Fast timings so recovery paths run in seconds; production defaults are in service/settings.py.
FAST_TIMINGS = {
    "SWEEP_INTERVAL_SECONDS": "1",
    "LOST_MESSAGE_GRACE_SECONDS": "2",
    "JOB_LEASE_SECONDS": "3",
    "JOB_HEARTBEAT_SECONDS": "0.5",
    "PROGRESS_INTERVAL_SECONDS": "0.05",
    "SSE_HEARTBEAT_SECONDS": "1",
    # Long enough that a live worker on a loaded machine is never taken for dead (its lease keeper refreshes it).
    "BROKER_HEARTBEAT_TIMEOUT_MS": "10000",
    "WORKER_POLL_TIMEOUT_MS": "50",
}


@pytest.fixture(scope="session")
def log_dir() -> Path:
    path = ROOT / "test-artifacts" / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def fake_stripe() -> Iterator[FakeStripe]:
    """A fake Stripe API on 127.0.0.1 that every process under test talks to (paid jobs are paid through it)."""
    server = FakeStripe()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_chat() -> Iterator[FakeChat]:
    """A fake language model on 127.0.0.1 that every process under test writes articles with."""
    server = FakeChat()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def service_env(
    tmp_path_factory: pytest.TempPathFactory, fake_stripe: FakeStripe, notify_servers: Receivers, fake_chat: FakeChat
) -> Iterator[dict[str, str]]:
    """Environment for every process under test: a new database migrated from empty, a test Redis db."""
    admin = admin_database_url()
    name = unique_name("genjobs_test")
    database_url = create_database(admin, name)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url(),
        "JOB_KIND_MODULES": ",".join(
            [
                "tests.support.kinds",
                "tests.support.notify_kinds",
                "tests.support.word_count",
                "tests.support.process_kinds",
                "tests.support.wait_kinds",
            ]
        ),
        # Tests crawl sites served on 127.0.0.1.
        "CRAWL_ALLOW_PRIVATE": "1",
        # Builds install from npm's cache only (scripts/npm-test-cache fills it): tests never reach the internet.
        "BUILD_NPM_OFFLINE": "1",
        "BUILD_MEMORY_MB": "512",
        "ARTIFACTS_DIR": str(tmp_path_factory.mktemp("artifacts")),
        "SECRET_KEY": TEST_SECRET_KEY,
        "METRICS_TOKEN": METRICS_TOKEN,
        "LOG_LEVEL": "INFO",
        "STRIPE_API_KEY": STRIPE_TEST_KEY,
        "STRIPE_WEBHOOK_SECRET": STRIPE_TEST_WEBHOOK_SECRET,
        "STRIPE_API_BASE": fake_stripe.base_url,
        "STRIPE_REFUND_GRACE_SECONDS": "2",
        **FAST_TIMINGS,
        **notify_servers.env(),
        **fake_chat.env(),
    }
    upgrade(Settings.from_env(env).database.sync_url)
    # In-process code under test (test kinds, fixtures) reads the same settings.
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "JOB_KIND_MODULES")})
    yield env
    drop_database(admin, name)


@pytest.fixture(scope="session")
def settings(service_env: dict[str, str]) -> Settings:
    return Settings.from_env(service_env)


@pytest.fixture(scope="session")
def db_engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database.sync_url, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def redis_client(settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis.url)
    yield client
    client.close()


_APP_TABLES_SQL = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"


@pytest.fixture(autouse=True)
def clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty tables and the test Redis db before each test that uses them."""
    if "service_env" in request.fixturenames:
        engine: Engine = request.getfixturevalue("db_engine")
        client: redis.Redis = request.getfixturevalue("redis_client")
        for attempt in range(5):
            try:
                with engine.begin() as conn:
                    # Every table the migrations made, so a new table is cleared without editing this list.
                    tables = conn.execute(text(_APP_TABLES_SQL)).scalars()
                    quoted = ", ".join('"' + name + '"' for name in tables)
                    conn.execute(text(f"TRUNCATE {quoted} CASCADE"))
                break
            except OperationalError as exc:
                # A worker still finishing the previous test's job or notification can deadlock with TRUNCATE
                # (it takes its table locks one by one); Postgres cancels one side, and we try again.
                if attempt == 4 or not isinstance(exc.orig, psycopg.errors.DeadlockDetected):
                    raise
        client.flushdb()
    yield


@pytest.fixture(scope="session")
def start_service(service_env: dict[str, str], log_dir: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Factory: start ``python -m service <args>``; every process started is stopped at the end."""
    started: list[ServiceProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, name: str | None = None) -> ServiceProcess:
        label = name or "-".join(args[:1])
        proc = ServiceProcess(
            list(args), {**service_env, **(env or {})}, log_dir / f"{label}-{uuid.uuid4().hex[:6]}.log"
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


def start_api(
    start_service: Callable[..., ServiceProcess], env: dict[str, str] | None = None
) -> tuple[ServiceProcess, str]:
    port = free_port()
    proc = start_service("api", "--port", str(port), env=env, name="api")
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/api/health", proc)
    return proc, url


@pytest.fixture(scope="session")
def api_url(start_service: Callable[..., ServiceProcess]) -> str:
    """Base URL of a real API process (uvicorn) shared by the session."""
    return start_api(start_service)[1]


@pytest.fixture(scope="session")
def worker(start_service: Callable[..., ServiceProcess], api_url: str) -> ServiceProcess:
    """A real worker process (1 process, 4 threads) shared by the session."""
    proc = start_service("worker", "--processes", "1", "--threads", "4", name="worker")
    wait_for_workers(api_url)
    return proc


@pytest.fixture(scope="session")
def scheduler(start_service: Callable[..., ServiceProcess]) -> ServiceProcess:
    return start_service("scheduler", name="scheduler")


@dataclass
class ApiUser:
    id: uuid.UUID
    email: str
    password: str
    api_key: str
    client: httpx.AsyncClient


@pytest.fixture
async def make_user(settings: Settings, api_url: str) -> AsyncIterator[Callable[..., Awaitable[ApiUser]]]:
    """Factory: a user with an API key and an httpx client authenticated with it."""
    engine = create_async_engine(settings.database.async_url)
    clients: list[httpx.AsyncClient] = []

    async def make(*, admin: bool = False, email: str | None = None, password: str = "correct horse") -> ApiUser:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
        async with engine.begin() as conn:
            session = AsyncSession(bind=conn)
            user_id = await create_user(session, email=email, password=password, is_admin=admin)
            _, key = await issue_api_key(session, user_id)
            await session.flush()
        client = httpx.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)
        clients.append(client)
        return ApiUser(user_id, email, password, key, client)

    yield make
    for client in clients:
        await client.aclose()
    await engine.dispose()
