"""Engine and session factories; nothing connects until first used."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """A synchronous engine (workers, scheduler, migrations)."""
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, echo=echo)


def make_async_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An asyncio engine for the API."""
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True, echo=echo)


def make_sessionmaker(engine: Engine) -> sessionmaker:  # type: ignore[type-arg]
    return sessionmaker(engine, expire_on_commit=False)


def make_async_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:  # type: ignore[type-arg]
    return async_sessionmaker(engine, expire_on_commit=False)
