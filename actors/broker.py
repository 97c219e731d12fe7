"""The Dramatiq Redis broker and message sending by actor name."""

from __future__ import annotations

import uuid

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Middleware

from actors.registry import JobKind

NAMESPACE = "dramatiq"


def build_broker(
    redis_url: str,
    *,
    middleware: list[Middleware] | None = None,
    heartbeat_timeout_ms: int = 30_000,
    maintenance_chance: int = 100,
) -> RedisBroker:
    """A Redis broker. Dramatiq's own requeue of a dead worker's messages is tuned faster than its default,
    but the sweeper (not this) is what guarantees a lost job runs again."""
    # Bounded timeouts: with Redis down, sending fails fast (the API answers 503) instead of hanging.
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=30)
    return RedisBroker(  # type: ignore[no-untyped-call]
        client=client,
        namespace=NAMESPACE,
        middleware=middleware if middleware is not None else [],
        heartbeat_timeout=heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance,
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
    message: dramatiq.Message[None] = dramatiq.Message(
        queue_name=queue,
        actor_name=kind.actor_name(queue),
        args=(str(job_id),),
        kwargs={},
        options={"continuation": str(continuation)} if continuation is not None else {},
    )
    sent = broker.enqueue(message, delay=delay_ms)
    return str(sent.options["redis_message_id"])


def message_exists(broker: RedisBroker, queue: str, message_id: str) -> bool:
    """Whether the broker still holds a message (waiting, delayed or in flight) with this id."""
    client = broker.client
    pipe = client.pipeline(transaction=False)
    pipe.hexists(f"{NAMESPACE}:{queue}.msgs", message_id)
    pipe.hexists(f"{NAMESPACE}:{queue}.DQ.msgs", message_id)
    return any(pipe.execute())
