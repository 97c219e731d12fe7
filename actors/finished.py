"""Hooks run after a job reaches a final status (succeeded, failed, timed_out).

Follow-up work that must happen once per finished job (notify the user, refund a paid job) registers a
hook here. The code that made the transition calls ``announce_finished`` after its commit; a hook only
*sends* a Dramatiq message for its follow-up, so it is fast and never undoes the transition. Hooks must
tolerate being called more than once for a job and are backed by a scheduler pass that finds finished
jobs whose follow-up is missing (a crash between commit and send).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import dramatiq

log = logging.getLogger("genjobs.finished")


class FinishedHook(Protocol):
    """``hook(broker, job_id, status, owner_id=..., params=...)``; the keywords are None when the caller does
    not have them at hand (the hook then looks them up if it needs them)."""

    def __call__(
        self,
        broker: dramatiq.Broker,
        job_id: uuid.UUID,
        status: str,
        /,
        *,
        owner_id: uuid.UUID | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None: ...


_hooks: dict[str, FinishedHook] = {}


def on_finished(name: str) -> Callable[[FinishedHook], FinishedHook]:
    """Register ``hook(broker, job_id, status)`` under a unique name (re-registering replaces it)."""

    def register(hook: FinishedHook) -> FinishedHook:
        _hooks[name] = hook
        return hook

    return register


def announce_finished(
    broker: dramatiq.Broker,
    job_id: uuid.UUID,
    status: str,
    *,
    owner_id: uuid.UUID | None = None,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Run every hook; one failing hook is logged and does not stop the others."""
    for name, hook in list(_hooks.items()):
        try:
            hook(broker, job_id, status, owner_id=owner_id, params=params)
        except Exception:
            log.exception("finished-job hook %s failed for job %s (%s)", name, job_id, status)
