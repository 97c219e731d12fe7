"""A Postgres host that accepts a connection and then says nothing (a hung server, a black-holed route) costs a
request or a worker's step the engine's connect timeout, not the operating system's TCP timeout of minutes."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

import db.engine
from db.engine import make_async_engine, make_engine


@pytest.fixture
def silent_port() -> Iterator[int]:
    # Listening but never accepting: the kernel completes the TCP handshake, no server ever answers.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(db.engine, "CONNECT_TIMEOUT_SECONDS", 2)
    return 2


def test_the_sync_engine_gives_up_on_a_silent_server(silent_port: int, short_timeout: int) -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/x")
    started = time.monotonic()
    with pytest.raises(Exception, match=r"(?i)timeout|timed out"), engine.connect() as conn:
        conn.execute(text("select 1"))
    # Generous bound (a busy machine), yet far below the OS's TCP timeout that applied before.
    assert time.monotonic() - started < 60
    engine.dispose()


async def test_the_async_engine_gives_up_on_a_silent_server(silent_port: int, short_timeout: int) -> None:
    engine = make_async_engine(f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/x")
    started = time.monotonic()
    with pytest.raises(Exception, match=r"(?i)timeout|timed out"):
        async with engine.connect() as conn:
            await conn.execute(text("select 1"))
    assert time.monotonic() - started < 60
    await engine.dispose()


def test_a_urls_own_connect_timeout_wins(silent_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db.engine, "CONNECT_TIMEOUT_SECONDS", 600)
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/x?connect_timeout=2")
    started = time.monotonic()
    with pytest.raises(Exception, match=r"(?i)timeout|timed out"), engine.connect() as conn:
        conn.execute(text("select 1"))
    assert time.monotonic() - started < 60
    engine.dispose()
