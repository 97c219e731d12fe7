"""Engine and session factories; nothing connects until first used."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker

# Seconds a new connection may take (generous: a busy machine forks backends slowly). A Postgres host that does
# not answer (packets dropped, a hung server) fails a request or a worker's step in this time instead of hanging
# for minutes or for ever. A URL's own ``connect_timeout`` wins.
CONNECT_TIMEOUT_SECONDS = 30


def _connect_args(url: str) -> dict[str, int]:
    return {} if "connect_timeout=" in url else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """A synchronous engine (workers, scheduler, migrations)."""
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        echo=echo,
        connect_args=_connect_args(url),
    )


def make_async_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An asyncio engine for the API."""
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
        echo=echo,
        connect_args=_connect_args(url),
    )


def make_sessionmaker(engine: Engine) -> sessionmaker:  # type: ignore[type-arg]
    return sessionmaker(engine, expire_on_commit=False)


def make_async_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)
