"""Sending the message that delivers a job's notification, and the finished-job hook that sends it.

Importing this module registers the hook (the worker, the scheduler and the API import it).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import dramatiq
from sqlalchemy.orm import Session, sessionmaker

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


# Set by the processes that finish jobs (worker, scheduler): lets the hook skip jobs nobody is to be told about.
_sessions: Callable[[], sessionmaker[Session]] | None = None


def use_sessions(sessions: Callable[[], sessionmaker[Session]]) -> None:
    """Give the hook database access (a provider, as a worker's sessions exist only once it booted), so it
    sends a message only for jobs that have a channel."""
    global _sessions
    _sessions = sessions


@on_finished("notify")
def notify_finished(broker: dramatiq.Broker, job_id: uuid.UUID, status: str) -> None:
    """Every job kind: tell the user when a job succeeded, failed or timed out (if they chose a channel)."""
    if status not in FINISHED_EVENTS:
        return
    if _sessions is not None:
        # Imported here: records imports the models, which this light module must not need at import time.
        from actors.notify.records import job_wants_notification

        with _sessions()() as session:
            if not job_wants_notification(session, job_id):
                return
    enqueue_notification(broker, job_id, status)
