"""The Dramatiq Redis broker, message sending by actor name, and the return of a dead worker's messages."""

from __future__ import annotations

import time
import uuid
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from actors.observe.tracing import inject_trace
from actors.pause import PausableRedisBroker
from actors.registry import JobKind
from db.live import ScriptCall

NAMESPACE = "dramatiq"


def build_broker(
    redis_url: str,
    *,
    middleware: list[Middleware] | None = None,
    heartbeat_timeout_ms: int = 30_000,
    maintenance_chance: int = 1000,
) -> RedisBroker:
    """A Redis broker. Dramatiq also returns a dead worker's messages itself, but only now and then (one
    command in ``1e6 / maintenance_chance``, queue by queue): the sweeper does it every pass with
    ``requeue_dead_workers`` and does not depend on that chance."""
    # Bounded timeouts: with Redis down, sending fails fast (the API answers 503) instead of hanging.
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30)
    return PausableRedisBroker(
        client=client,
        namespace=NAMESPACE,
        middleware=middleware if middleware is not None else [],
        heartbeat_timeout=heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance,
    )


def new_message_id() -> str:
    """A broker message id (``redis_message_id``), as ``RedisBroker.enqueue`` makes them."""
    return str(uuid.uuid4())


def job_message(
    kind: JobKind,
    job_id: uuid.UUID,
    queue: str,
    *,
    continuation: uuid.UUID | None = None,
    message_id: str | None = None,
) -> dramatiq.Message[None]:
    """The message that runs a job. ``message_id``: the broker's id to give it (``redis_message_id``), chosen
    before sending so the job row can name its message before the message exists."""
    options: dict[str, Any] = {"continuation": str(continuation)} if continuation is not None else {}
    if message_id is not None:
        options["redis_message_id"] = message_id
    return dramatiq.Message(
        queue_name=queue, actor_name=kind.actor_name(queue), args=(str(job_id),), kwargs={}, options=options
    )


def send_job(
    broker: RedisBroker,
    kind: JobKind,
    job_id: uuid.UUID,
    queue: str,
    *,
    delay_ms: int | None = None,
    continuation: uuid.UUID | None = None,
) -> str:
    """Enqueue the message that runs a job; returns the broker's id of that message (kept on the job).

    ``continuation``: the next poll of a polling job, which takes over the still-running job by this token
    (see ``db.polls``) instead of claiming a queued one."""
    sent = broker.enqueue(job_message(kind, job_id, queue, continuation=continuation), delay=delay_ms)
    return str(sent.options["redis_message_id"])


def enqueue_call(broker: RedisBroker, message: dramatiq.Message[None]) -> ScriptCall:
    """The call to Dramatiq's own dispatch script that enqueues ``message`` (with its ``redis_message_id`` set)
    as ``RedisBroker.enqueue`` does, for a caller that sends it in one pipeline with other commands (the API's
    job creation). Undelayed messages only; no broker middleware runs around it, so the sender's trace context
    is put in the options here."""
    # What the TraceContext middleware does for messages sent through the broker.
    inject_trace(message.options)
    return dispatch_call(broker, "enqueue", message.queue_name, message.options["redis_message_id"], message.encode())


def dispatch_call(broker: RedisBroker, command: str, queue: str, message_id: str, *data: bytes) -> ScriptCall:
    """The call to Dramatiq's dispatch script that runs ``command`` for one message as the broker and its
    consumer do: ``enqueue`` (with the message's ``data``), ``ack`` or ``nack`` (a job's last live events send
    the acknowledgement with them, ``actors.pause``), for a caller that sends it in one pipeline with other
    commands."""
    script = broker.scripts["dispatch"].script
    source = script.decode() if isinstance(script, bytes) else str(script)
    args: list[Any] = [
        command,
        int(time.time() * 1000),
        queue,
        broker.broker_id,
        broker.heartbeat_timeout,
        broker.dead_message_ttl,
        0,  # no maintenance here: the sweeper returns dead workers' messages
        _UNUSED_UNPACK_SIZE,
        message_id,
        *data,
    ]
    return ScriptCall(source, [broker.namespace], args)


# Dramatiq's dispatch script reads its unpack size only in maintenance and fetches, never in "enqueue", "ack" or "nack".
_UNUSED_UNPACK_SIZE = 1


def message_exists(broker: RedisBroker, queue: str, message_id: str) -> bool:
    """Whether the broker still holds a message (waiting, delayed or in flight) with this id."""
    client = broker.client
    pipe = client.pipeline(transaction=False)
    pipe.hexists(f"{NAMESPACE}:{queue}.msgs", message_id)
    pipe.hexists(f"{NAMESPACE}:{queue}.DQ.msgs", message_id)
    return any(pipe.execute())


# Moves a dead worker's fetched-but-unacknowledged messages (one ack set) back to the end of their queue.
# Atomic, so a concurrent Dramatiq maintenance or a second sweeper cannot return the same message twice.
_REQUEUE_ACKS_LUA = """
local ids = redis.call('SMEMBERS', KEYS[1])
local moved = {}
for _, id in ipairs(ids) do
    if redis.call('HEXISTS', KEYS[2], id) == 1 then
        redis.call('RPUSH', KEYS[3], id)
        table.insert(moved, id)
    end
end
redis.call('DEL', KEYS[1])
return moved
"""


def refresh_heartbeat(broker: RedisBroker) -> None:
    """Mark this broker's process alive now, as each of Dramatiq's fetches does."""
    broker.client.zadd(f"{NAMESPACE}:__heartbeats__", {broker.broker_id: int(time.time() * 1000)})


def requeue_dead_workers(broker: RedisBroker) -> dict[str, list[str]]:
    """Return to their queues the messages held by workers whose broker heartbeat is older than the broker's
    ``heartbeat_timeout`` (killed, or cut off); returns the message ids moved, by queue.

    A live worker whose heartbeat merely lapsed loses nothing by this: its message is delivered once more,
    and the job's conditional claim makes the second delivery do nothing.
    """
    client = broker.client
    heartbeats = f"{NAMESPACE}:__heartbeats__"
    cutoff_ms = int(time.time() * 1000) - int(broker.heartbeat_timeout)
    requeue = client.register_script(_REQUEUE_ACKS_LUA)
    moved: dict[str, list[str]] = {}
    for raw_worker in client.zrangebyscore(heartbeats, 0, cutoff_ms):
        worker = raw_worker.decode() if isinstance(raw_worker, bytes) else str(raw_worker)
        prefix = f"{NAMESPACE}:__acks__.{worker}."
        for raw_key in client.scan_iter(match=f"{prefix}*", count=500):
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            queue = key[len(prefix) :]
            ids = requeue(keys=[key, f"{NAMESPACE}:{queue}.msgs", f"{NAMESPACE}:{queue}"])
            if ids:
                moved.setdefault(queue, []).extend(i.decode() if isinstance(i, bytes) else str(i) for i in ids)
    # Forget those workers, but not one that came back meanwhile (a heartbeat moves its score past the cutoff).
    client.zremrangebyscore(heartbeats, 0, cutoff_ms)
    return moved


def decode_job_message(broker: RedisBroker, queue: str, message_id: str) -> tuple[str, str] | None:
    """(actor name, first argument) of a message still in the broker, or None."""
    data = broker.client.hget(f"{NAMESPACE}:{queue}.msgs", message_id)
    if data is None:
        return None
    message = dramatiq.Message.decode(data if isinstance(data, bytes) else str(data).encode())
    return message.actor_name, str(message.args[0]) if message.args else ""
