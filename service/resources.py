"""Long-lived clients of one API process, opened and closed by the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import psycopg
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker
from litestar import Litestar
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from actors.broker import build_broker
from actors.observe.tracing import TraceContext
from actors.payments.stripe_client import StripeConnection
from actors.registry import all_kinds, load_kind_modules
from db import direct
from db.engine import make_async_engine, make_async_sessionmaker
from db.live import AsyncLivePublisher
from db.redis_packing import PackedConnection
from service.auth.login_limits import password_hash_limiter
from service.events.hub import EventHub
from service.jobs.batching import CreationBatcher
from service.jobs.enqueue import CreationSender
from service.payments.client import open_stripe
from service.settings import Settings

REDIS_POOL_SIZE = 64


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Autocommit psycopg connections for the hot statements that skip SQLAlchemy (``db.direct``).
    direct: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]]
    redis: aioredis.Redis
    publisher: AsyncLivePublisher
    # New jobs' messages and first events, in one round trip.
    sender: CreationSender
    # Stores and sends new free jobs, grouped when they arrive together.
    creations: CreationBatcher
    broker: RedisBroker
    hub: EventHub
    # Bounds the password hashes (argon2, 64 MiB each) this process computes at once.
    password_hashing: anyio.CapacityLimiter
    # None when Stripe is not configured: paid job options are then refused.
    stripe: StripeConnection | None = None
    # Each job kind's own settings section, by kind name (``JobKind.settings``; None for kinds without one).
    kind_settings: dict[str, Any] = field(default_factory=dict)


def get_resources(app: Litestar) -> Resources:
    res: Resources = app.state.resources
    return res


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    load_kind_modules(settings.worker.kind_modules)
    # No pre-ping: a request's statements are its only round trips (see ``make_async_engine``).
    engine = make_async_engine(
        settings.database.async_url,
        pool_size=settings.database.pool_size,
        echo=settings.database.echo,
        pre_ping=False,
    )
    direct_pool = direct.open_pool(settings.database.url, max_size=settings.database.pool_size)
    await direct_pool.open(wait=False)
    # A blocking pool: a burst (thousands of SSE clients connecting at once) waits for a connection
    # instead of failing with "Too many connections".
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis.url,
        max_connections=REDIS_POOL_SIZE,
        timeout=10,
        socket_connect_timeout=3,
        socket_timeout=10,
        connection_class=PackedConnection,
    )
    redis_client = aioredis.Redis(connection_pool=pool)
    # Only sends messages, no actors: its one middleware puts the sender's trace context in each message.
    broker = build_broker(
        settings.redis.url,
        middleware=[TraceContext()],
        heartbeat_timeout_ms=settings.worker.broker_heartbeat_timeout_ms,
    )
    hub = EventHub(settings.redis.url, heartbeat_seconds=settings.sse.heartbeat_seconds)
    await hub.start()
    stripe_connection = open_stripe(settings)
    sender = CreationSender(
        redis_client, broker, maxlen=settings.redis.stream_maxlen, ttl_seconds=settings.redis.stream_ttl_seconds
    )
    try:
        yield Resources(
            settings=settings,
            engine=engine,
            sessions=make_async_sessionmaker(engine),
            direct=direct_pool,
            redis=redis_client,
            publisher=AsyncLivePublisher(
                redis_client, maxlen=settings.redis.stream_maxlen, ttl_seconds=settings.redis.stream_ttl_seconds
            ),
            sender=sender,
            creations=CreationBatcher(direct_pool, sender, engine),
            broker=broker,
            hub=hub,
            password_hashing=password_hash_limiter(settings.auth),
            stripe=stripe_connection,
            kind_settings=load_kind_settings(settings),
        )
    finally:
        if stripe_connection is not None:
            await stripe_connection.aclose()
        await hub.stop()
        await sender.aclose()
        broker.client.close()
        await redis_client.aclose()
        # A client given its pool does not close it: its connections would be left to the garbage collector.
        await pool.aclose()
        await direct_pool.close()
        await engine.dispose()


def load_kind_settings(settings: Settings) -> dict[str, Any]:
    """Every registered kind's settings section, read once per process."""
    env = settings.kind_env()
    return {name: kind.load_settings(env) for name, kind in all_kinds().items()}
