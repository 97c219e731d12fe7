"""A small SSE client for tests: read a stream's events with a deadline, and read the Redis Stream behind it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import redis
from httpx_sse import aconnect_sse

from db.live import job_stream_key


@dataclass(frozen=True)
class Event:
    """One SSE event as the client saw it (``data`` parsed as JSON)."""

    event: str
    id: str
    data: dict[str, Any]

    @property
    def order(self) -> tuple[int, int]:
        return entry_order(self.id)


@dataclass
class Received:
    """What one connection read; ``ended`` is True when the server closed the stream itself."""

    events: list[Event] = field(default_factory=list)
    ended: bool = False
    status_code: int = 0

    def of_type(self, event_type: str) -> list[Event]:
        return [e for e in self.events if e.event == event_type]


def entry_order(entry_id: str) -> tuple[int, int]:
    """A Redis Stream entry id ``<ms>-<seq>`` as a comparable tuple."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq)


def is_terminal_status(event: Event) -> bool:
    return event.event == "status" and event.data.get("status") in {
        "succeeded",
        "failed",
        "cancelled",
        "timed_out",
        "expired",
    }


async def read_events(
    client: httpx.AsyncClient,
    url: str,
    *,
    timeout: float = 15.0,
    stop: Callable[[list[Event]], bool] | None = None,
    headers: dict[str, str] | None = None,
    params: Any = None,
) -> Received:
    """Read events until the server ends the stream or ``stop(events)`` says so (then disconnect).

    Raises AssertionError (with what was read) when neither happens within ``timeout`` seconds.
    """
    received = Received()
    try:
        async with asyncio.timeout(timeout):
            async with aconnect_sse(client, "GET", url, headers=dict(headers or {}), params=params) as source:
                received.status_code = source.response.status_code
                if source.response.status_code != 200:
                    await source.response.aread()
                    received.ended = True
                    return received
                async for sse in source.aiter_sse():
                    if not sse.data:  # httpx-sse also yields the heartbeat comments, with no data
                        continue
                    received.events.append(Event(sse.event, sse.id, json.loads(sse.data)))
                    if stop is not None and stop(received.events):
                        return received
                received.ended = True
    except TimeoutError:
        raise AssertionError(
            f"{url}: the stream neither ended nor met the stop condition within {timeout} s; read "
            f"{[(e.event, e.id, e.data.get('status')) for e in received.events]}"
        ) from None
    return received


async def read_raw_lines(
    client: httpx.AsyncClient, url: str, *, until: Callable[[str], bool], timeout: float
) -> tuple[list[str], float]:
    """Read raw SSE lines (comments included) until ``until(line)``; returns the lines and the seconds it took."""
    lines: list[str] = []
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout), client.stream("GET", url) as response:
            assert response.status_code == 200, await response.aread()
            async for line in response.aiter_lines():
                lines.append(line)
                if until(line):
                    return lines, time.monotonic() - started
    except TimeoutError:
        pass
    raise AssertionError(f"{url}: no matching line within {timeout} s; read {lines}")


def stream_entries(client: redis.Redis, job_id: str) -> list[Event]:
    """Every entry of the job's Redis Stream (what SSE clients are served), oldest first."""
    entries = cast("list[tuple[bytes, dict[bytes, bytes]]]", client.xrange(job_stream_key(job_id)))
    return [Event(fields[b"type"].decode(), raw_id.decode(), json.loads(fields[b"data"])) for raw_id, fields in entries]
