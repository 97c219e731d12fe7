"""Sending the message that delivers a job's notification, and the finished-job hook that sends it.

Importing this module registers the hook (the worker, the scheduler and the API import it).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

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


# Whether a user has a default channel, cached briefly per process: most finished jobs then cost no query.
# A default set moments ago may miss a job finishing meanwhile; the scheduler's repair pass sends that one.
OWNER_CACHE_SECONDS = 5.0
_owner_cache: dict[uuid.UUID, tuple[float, bool]] = {}
_owner_lock = threading.Lock()


@on_finished("notify")
def notify_finished(
    broker: dramatiq.Broker,
    job_id: uuid.UUID,
    status: str,
    /,
    *,
    owner_id: uuid.UUID | None = None,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Every job kind: tell the user when a job succeeded, failed or timed out (if there is a channel).

    The job's own ``notify`` param decides first, then the owner's default channel; without database
    access (a process that did not call ``use_sessions``) the message is sent and the worker decides.
    """
    if status not in FINISHED_EVENTS:
        return
    if (params is None or not params.get("notify")) and _sessions is not None and not _wanted(job_id, owner_id, params):
        return
    enqueue_notification(broker, job_id, status)


def _wanted(job_id: uuid.UUID, owner_id: uuid.UUID | None, params: Mapping[str, Any] | None) -> bool:
    # Imported here: records imports the models, which this light module must not need at import time.
    from actors.notify.records import job_wants_notification, owner_has_default

    assert _sessions is not None
    if owner_id is None or params is None:
        with _sessions()() as session:
            return job_wants_notification(session, job_id)
    now = time.monotonic()
    with _owner_lock:
        cached = _owner_cache.get(owner_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    with _sessions()() as session:
        wanted = owner_has_default(session, owner_id)
    with _owner_lock:
        if len(_owner_cache) > 10_000:
            _owner_cache.clear()
        _owner_cache[owner_id] = (now + OWNER_CACHE_SECONDS, wanted)
    return wanted
