"""Declare one Dramatiq actor per (job kind, priority) on the worker's broker."""

from __future__ import annotations

import dramatiq

from actors.context import current_job
from actors.errors import PermanentJobError
from actors.registry import all_kinds, get_kind


def run_job(job_id: str) -> None:
    """The body of every job actor: the lifecycle middleware has claimed the job; do the kind's work.

    The result goes to the job context (the lifecycle middleware stores it), not back to Dramatiq, which
    would only warn that it has nowhere to put it."""
    ctx = current_job()
    kind = get_kind(ctx.kind)
    if kind is None:
        raise PermanentJobError(f"unknown job kind {ctx.kind!r}")
    if isinstance(ctx.params, Exception):
        raise PermanentJobError(f"stored params are invalid: {ctx.params}")
    ctx.result = kind.run(ctx, ctx.params)


def declare_job_actors(broker: dramatiq.Broker) -> list[str]:
    """Declare one actor per queue of every registered kind; returns the queue names."""
    queues: list[str] = []
    for kind in all_kinds().values():
        for queue in kind.all_queues():
            dramatiq.actor(
                actor_name=kind.actor_name(queue),
                queue_name=queue,
                priority=kind.actor_priority(queue),
                broker=broker,
                time_limit=int(kind.time_limit_seconds * 1000),
                notify_shutdown=True,
            )(run_job)
            queues.append(queue)
    return queues
