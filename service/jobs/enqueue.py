"""The Redis side of the jobs endpoints: a job's message, and live events after a commit.

Sending new jobs: their messages and their first live events in one pipeline, one round trip.

Both are Lua scripts (Dramatiq's dispatch script, and ``db.live``'s append script) called by their SHA; a
server that does not know a script yet (a fresh or restarted Redis) gets it loaded and the call repeated,
which is safe because a script that was not found did not run.

New jobs go over one connection of their own, written and read directly (redis-py's ``Connection``), one
sender at a time: a redis-py pipeline checks a connection out of the shared pool and back in, and wraps each
write and each read in a timeout of its own (a task for the write), which cost more CPU than the commands
themselves (profiled in the API under the create_latency benchmark). One time limit covers the whole
exchange instead.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import dramatiq
import redis
import redis.asyncio as aioredis
from dramatiq.brokers.redis import RedisBroker
from redis.exceptions import ResponseError

from actors.broker import enqueue_call, send_job
from actors.queue_watch import ring_call
from actors.registry import get_kind
from db.live import APPEND_SCRIPT, LiveEvent, ScriptCall, append_call, script_sha, unknown_scripts
from service.errors import BadRequest, dependency_down

if TYPE_CHECKING:
    from service.resources import Resources

log = logging.getLogger("genjobs.jobs")

# How long sending a group of new jobs may take before it fails (as the shared pool's socket timeout).
SEND_TIMEOUT_SECONDS = 10.0


class CreationSender:
    """The Redis side of job creation (the API's event loop)."""

    def __init__(self, client: aioredis.Redis, broker: RedisBroker, *, maxlen: int, ttl_seconds: int) -> None:
        self._client = client
        self._broker = broker
        self._maxlen = maxlen
        self._ttl = ttl_seconds
        # The pool's kind of connection, to the same server, with no timeout per read or write (``_pipeline``
        # sets one for the exchange); it connects on its first use and again after a failure.
        pool = client.connection_pool
        self._connection = pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": None})
        self._lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._connection.disconnect()

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
            # A connection that died with a Redis restart (closed by ``_pipeline``): try once more on a new one,
            # and drop the pool's idle ones, likely dead too (``eval`` below uses them). Were it the answer that
            # was lost, the message would be sent twice, which its job's claim makes harmless.
            await self._client.connection_pool.disconnect(inuse_connections=False)
            results = await self._pipeline(calls)
        # In order: a message still goes before its event.
        for call in unknown_scripts(calls, results):
            await self._client.eval(call.source, len(call.keys), *call.keys, *call.args)

    async def _pipeline(self, calls: list[ScriptCall]) -> list[Any]:
        """Each call's result or its error inside Redis, in order (a pipeline run with ``raise_on_error=False``).

        Raises:
            redis.ConnectionError, redis.TimeoutError: the connection failed or Redis did not answer in time
                (some of the calls may have run); the connection is closed, to be opened again by the next.
        """
        conn = self._connection
        commands = [("EVALSHA", script_sha(call.source), len(call.keys), *call.keys, *call.args) for call in calls]
        async with self._lock:
            try:
                async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                    await conn.send_packed_command(conn.pack_commands(commands), check_health=False)
                    results: list[Any] = []
                    for _ in calls:
                        try:
                            results.append(await conn.read_response())
                        except ResponseError as exc:
                            results.append(exc)
            except TimeoutError:
                await conn.disconnect(nowait=True)
                raise redis.TimeoutError("Redis did not answer the creation's commands in time") from None
            except BaseException:
                # Replies may still be on their way: they would be read as the next exchange's.
                await conn.disconnect(nowait=True)
                raise
        return results


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
