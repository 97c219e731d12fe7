"""Request and response shapes of the admin API."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from actors.observe.presence import WorkerPresence


class QueueOverview(msgspec.Struct):
    queue: str
    paused: bool
    # Ready to run now: queued, plus retries that are due.
    waiting: int
    # Retries whose backoff has not ended.
    delayed: int
    running: int
    retrying: int
    failed_1h: int
    dead_letters: int
    # Live worker processes consuming this queue.
    workers: int


class Overview(msgspec.Struct):
    at: datetime
    queues: list[QueueOverview]
    workers: list[WorkerPresence]


class PauseResult(msgspec.Struct):
    queue: str
    paused: bool


class AdminJobRow(msgspec.Struct):
    id: uuid.UUID
    owner_id: uuid.UUID
    owner_email: str
    kind: str
    status: str
    queue: str
    attempts: int
    created_at: datetime
    finished_at: datetime | None
    error: str | None


class AdminJobPage(msgspec.Struct):
    items: list[AdminJobRow]
    total: int
    page: int
    per_page: int
