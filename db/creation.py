"""Inserting a new job: the row and its first audit event in one statement, one round trip.

Creation is not a transition (nothing moves from a status), so it is not in the state machine; it only
ever writes a job's initial status (``queued`` or ``pending_payment``). The statement is built once with bind
parameters, so SQLAlchemy compiles it once per process and psycopg prepares it on the server.

Run on an autocommit connection it is its own transaction (both rows or neither); run inside a caller's
transaction (a quota or rate-limit check under its lock) it commits with that transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

import msgspec
from sqlalchemy import Executable, String, bindparam, func, insert, literal, null, select

from db.models import Job, JobEvent
from db.statuses import JobStatus

INITIAL_STATUSES = frozenset({JobStatus.QUEUED.value, JobStatus.PENDING_PAYMENT.value})


class NewJob(msgspec.Struct, kw_only=True):
    """The columns of a job being created (the rest take their defaults). Mutable: a paid job gets its
    payment page's fields before it is inserted."""

    id: uuid.UUID
    owner_id: uuid.UUID
    kind: str
    params: dict[str, Any]
    status: str
    priority: str
    queue: str
    title: str | None
    max_attempts: int
    idempotency_key: str | None
    created_at: datetime
    queued_at: datetime | None
    message_id: str | None = None
    result: dict[str, Any] | None = None
    amount_cents: int | None = None
    currency: str | None = None
    payment_session_id: str | None = None
    payment_url: str | None = None
    payment_expires_at: datetime | None = None
    payment_status: str | None = None


_COLUMNS = tuple(f.name for f in msgspec.structs.fields(NewJob))


def _build_statement() -> Executable:
    new_job = (
        insert(Job)
        .values({name: bindparam(name, type_=Job.__table__.c[name].type) for name in _COLUMNS})
        .returning(Job.id, Job.status, Job.kind, Job.priority)
        .cte("new_job")
    )
    audit = select(
        new_job.c.id,
        literal("created"),
        null(),
        new_job.c.status,
        bindparam("actor", type_=String()),
        # What history shows of the creation.
        func.jsonb_build_object("kind", new_job.c.kind, "priority", new_job.c.priority),
    )
    return insert(JobEvent).from_select(["job_id", "type", "from_status", "to_status", "actor", "detail"], audit)


class _Executor(Protocol):
    async def execute(self, statement: Executable, parameters: dict[str, Any]) -> Any: ...


_INSERT = _build_statement()


async def insert_job(executor: _Executor, job: NewJob, *, actor: str) -> None:
    """Insert ``job`` in its initial status with its ``created`` audit event, in one statement.

    Raises:
        ValueError: the status is not an initial one.
        sqlalchemy.exc.IntegrityError: the owner already has a job with this idempotency key.
    """
    if job.status not in INITIAL_STATUSES:
        raise ValueError(f"a job starts queued or pending_payment, not {job.status}")
    values = {name: getattr(job, name) for name in _COLUMNS}
    values["actor"] = actor
    await executor.execute(_INSERT, values)
