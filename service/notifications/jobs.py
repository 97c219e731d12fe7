"""What job creation does for notifications: check the per-job ``notify`` address, and send the immediate
``message_to_user`` once the job is committed."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import anyio
import redis

from actors.notify.hook import MESSAGE_TO_USER, enqueue_notification
from actors.notify.recipients import normalize_target
from service.errors import BadRequest
from service.resources import Resources

log = logging.getLogger("genjobs.notify")


def check_notify_param(params: dict[str, Any], *, allow_private: bool) -> None:
    """Refuse a job whose ``notify`` address is not valid for its channel (any kind with that param).

    Raises:
        BadRequest: with ``details`` naming ``notify.to``.
    """
    notify = params.get("notify")
    if not isinstance(notify, dict):
        return
    try:
        normalize_target(str(notify.get("channel")), str(notify.get("to")), allow_private=allow_private)
    except ValueError as exc:
        raise BadRequest(
            f"Invalid params: notify.to: {exc}.",
            code="invalid_params",
            details=[{"field": "notify.to", "message": str(exc)}],
        ) from None


async def send_message_to_user(res: Resources, job_id: uuid.UUID, params: dict[str, Any]) -> None:
    """Ask a worker to deliver the job's ``message_to_user`` now, if it has one.

    Called after the job's commit. If Redis fails here the job stands; the scheduler's repair pass sends the
    message later, so the caller is not failed for it.
    """
    message = params.get(MESSAGE_TO_USER)
    if not isinstance(message, str) or not message.strip():
        return
    try:
        await anyio.to_thread.run_sync(lambda: enqueue_notification(res.broker, job_id, MESSAGE_TO_USER))
    except redis.RedisError:
        log.warning("could not send the message_to_user of job %s now; the repair pass will", job_id)
