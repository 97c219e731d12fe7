"""The live event log: every job event appended to Redis Streams and published for SSE hubs.

Each event goes, atomically (one Lua script), to:
  * the job's stream   ``genjobs:job:<id>:events``   - its entry id is the SSE ``id:`` of per-job streams;
  * the owner's stream ``genjobs:user:<id>:events``  - its entry id is the SSE ``id:`` of multiplexed streams;
  * the matching pub/sub channels, carrying ``<entry id>\\n<type>\\n<json>`` so an API process's hub
    learns of new entries without one blocking read per connection.

Postgres stays the truth: a lost stream only costs a reconnecting client a fresh snapshot.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import redis
import redis.asyncio as aioredis

_PREFIX = "genjobs"
USER_STREAM_MAXLEN = 10_000
USER_STREAM_TTL_SECONDS = 7 * 86_400

_APPEND_LUA = """
local job_id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'type', ARGV[3], 'data', ARGV[4])
local user_id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'type', ARGV[3], 'data', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('PUBLISH', KEYS[3], job_id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
redis.call('PUBLISH', KEYS[4], user_id .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
return {job_id, user_id}
"""


class LiveEvent(msgspec.Struct, frozen=True):
    """One event for live subscribers: ``type`` is status, progress, snapshot or deleted."""

    type: str
    job_id: uuid.UUID
    owner_id: uuid.UUID
    data: dict[str, Any]


def job_stream_key(job_id: uuid.UUID | str) -> str:
    return f"{_PREFIX}:job:{job_id}:events"


def user_stream_key(user_id: uuid.UUID | str) -> str:
    return f"{_PREFIX}:user:{user_id}:events"


def job_channel(job_id: uuid.UUID | str) -> str:
    return f"{_PREFIX}:job:{job_id}"


def user_channel(user_id: uuid.UUID | str) -> str:
    return f"{_PREFIX}:user:{user_id}"


def cancel_flag_key(job_id: uuid.UUID | str) -> str:
    return f"{_PREFIX}:job:{job_id}:cancel"


_encoder = msgspec.json.Encoder()


def _script_args(event: LiveEvent, maxlen: int, ttl_seconds: int) -> tuple[list[str], list[Any]]:
    keys = [
        job_stream_key(event.job_id),
        user_stream_key(event.owner_id),
        job_channel(event.job_id),
        user_channel(event.owner_id),
    ]
    payload = _encoder.encode({"job_id": event.job_id, **event.data}).decode()
    args: list[Any] = [maxlen, USER_STREAM_MAXLEN, event.type, payload, ttl_seconds, USER_STREAM_TTL_SECONDS]
    return keys, args


class LivePublisher:
    """Appends events from synchronous code (workers, scheduler)."""

    def __init__(self, client: redis.Redis, *, maxlen: int = 1000, ttl_seconds: int = 86_400) -> None:
        self._client = client
        self._script = client.register_script(_APPEND_LUA)
        self._maxlen = maxlen
        self._ttl = ttl_seconds

    def publish(self, events: list[LiveEvent]) -> None:
        """Append each event in order; one round trip for all of them."""
        if not events:
            return
        if len(events) == 1:
            keys, args = _script_args(events[0], self._maxlen, self._ttl)
            self._script(keys=keys, args=args)
            return
        pipe = self._client.pipeline(transaction=False)
        for event in events:
            keys, args = _script_args(event, self._maxlen, self._ttl)
            self._script(keys=keys, args=args, client=pipe)
        pipe.execute()


class AsyncLivePublisher:
    """Appends events from the API's event loop."""

    def __init__(self, client: aioredis.Redis, *, maxlen: int = 1000, ttl_seconds: int = 86_400) -> None:
        self._client = client
        self._script = client.register_script(_APPEND_LUA)
        self._maxlen = maxlen
        self._ttl = ttl_seconds

    async def publish(self, events: list[LiveEvent]) -> None:
        """Append each event in order."""
        for event in events:
            keys, args = _script_args(event, self._maxlen, self._ttl)
            await self._script(keys=keys, args=args)
