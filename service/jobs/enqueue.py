"""The Redis side of the jobs endpoints: a job's message, and live events after a commit.

Sending new jobs: their messages and their first live events in one pipeline, one round trip.

Both are Lua scripts (Dramatiq's dispatch script, and ``db.live``'s append script) called by their SHA; a
server that does not know a script yet (a fresh or restarted Redis) gets it loaded and the call repeated,
which is safe because a script that was not found did not run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import dramatiq
import redis
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker

from actors.broker import enqueue_call, send_job
from actors.queue_watch import ring_call
from actors.registry import get_kind
from db.live import APPEND_SCRIPT, LiveEvent, ScriptCall, append_call, queue_calls, unknown_scripts
from service.errors import BadRequest, dependency_down

if TYPE_CHECKING:
    from service.resources import Resources

log = logging.getLogger("genjobs.jobs")


class CreationSender:
    """The Redis side of job creation (the API's event loop)."""

    def __init__(self, client: aioredis.Redis, broker: RedisBroker, *, maxlen: int, ttl_seconds: int) -> None:
        self._client = client
        self._broker = broker
        self._maxlen = maxlen
        self._ttl = ttl_seconds

    async def send(self, messages: Sequence[dramatiq.Message[None]], events: Sequence[LiveEvent]) -> None:
        """Enqueue ``messages`` (each with its ``redis_message_id`` set), then append ``events``, in one pipeline.

        Raises:
            redis.RedisError: Redis failed; the messages may or may not have been enqueued.
        """
        calls = [enqueue_call(self._broker, message) for message in messages]
        if messages:
            # Idle consumers of those queues wake at once instead of at their worker's next look.
            queues = (message.queue_name for message in messages)
            calls.append(ring_call(self._broker.client, self._broker.namespace, queues))
        calls += [ScriptCall(APPEND_SCRIPT, *append_call(event, self._maxlen, self._ttl)) for event in events]
        if calls:
            await self._run(calls)

    async def _run(self, calls: list[ScriptCall]) -> None:
        try:
            results = await self._pipeline(calls)
        except redis.ConnectionError:
            # Pooled connections that died with a Redis restart (redis-py retries single commands, not
            # pipelines): drop the idle ones and try once more. Were it the answer that was lost, the message
            # would be sent twice, which its job's claim makes harmless.
            await self._client.connection_pool.disconnect(inuse_connections=False)
            results = await self._pipeline(calls)
        # In order: a message still goes before its event.
        for call in unknown_scripts(calls, results):
            await self._client.eval(call.source, len(call.keys), *call.keys, *call.args)

    async def _pipeline(self, calls: list[ScriptCall]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        queue_calls(pipe, calls)
        return list(await pipe.execute(raise_on_error=False))


async def publish(res: Resources, events: list[LiveEvent]) -> None:
    # Postgres already holds the change; live subscribers recover from a lost event by reconnecting.
    try:
        await res.publisher.publish(events)
    except redis.RedisError:
        log.warning("could not publish %d live event(s): Redis unavailable", len(events))


async def send_message(res: Resources, kind_name: str, job_id: uuid.UUID, queue: str) -> str:
    """Send the message that runs a job (inside the caller's transaction, under the job's lock); 503 without Redis."""
    kind = get_kind(kind_name)
    if kind is None:
        raise BadRequest(f"Job kind {kind_name!r} is no longer available.", code="unknown_kind")
    try:
        return await anyio.to_thread.run_sync(send_job, res.broker, kind, job_id, queue)
    except redis.RedisError as exc:
        raise dependency_down(
            "redis",
            "The job queue (Redis) is unavailable, so the job was not created; please try again shortly.",
            type(exc).__name__,
        ) from None
