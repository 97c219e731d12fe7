"""Sending the message that delivers a job's notification, and the finished-job hook that sends it.

Importing this module registers the hook (the worker, the scheduler and the API import it).
"""

from __future__ import annotations

import uuid

import dramatiq

from actors.finished import on_finished
from actors.notify.config import ACTOR_NAME, QUEUE

FINISHED_EVENTS = frozenset({"succeeded", "failed", "timed_out"})
MESSAGE_TO_USER = "message_to_user"


def enqueue_notification(
    broker: dramatiq.Broker, job_id: uuid.UUID | str, event: str, *, delay_ms: int | None = None
) -> None:
    """Ask a worker to deliver the notification of ``event`` for a job (safe to call more than once)."""
    message: dramatiq.Message[None] = dramatiq.Message(
        queue_name=QUEUE, actor_name=ACTOR_NAME, args=(str(job_id), event), kwargs={}, options={}
    )
    broker.enqueue(message, delay=delay_ms)


@on_finished("notify")
def notify_finished(broker: dramatiq.Broker, job_id: uuid.UUID, status: str) -> None:
    """Every job kind: tell the user when a job succeeded, failed or timed out."""
    if status in FINISHED_EVENTS:
        enqueue_notification(broker, job_id, status)
