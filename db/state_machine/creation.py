"""Creating a job: the row in its initial status (``queued`` or ``pending_payment``) and its ``created`` audit
event in one statement, one round trip.

The statement is built once with bind parameters, so SQLAlchemy compiles it once per process and psycopg
prepares it on the server.

Run on an autocommit connection it is its own transaction (both rows or neither); run inside a caller's
transaction (a quota or rate-limit check under its lock) it commits with that transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg.rows import TupleRow
from sqlalchemy import (
    Connection,
    Insert,
    String,
    Uuid,
    bindparam,
    column,
    func,
    insert,
    literal,
    null,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import Session

from db.base import utcnow
from db.direct import DirectStatement, encode_json_rows, json_rows
from db.live import LiveEvent, StatusChanged
from db.models import Job, JobEvent, Payment
from db.observe.transitions import note_created, report_created
from db.state_machine.payments import NewPayment
from db.statuses import JobStatus

INITIAL_STATUSES = frozenset({JobStatus.QUEUED.value, JobStatus.PENDING_PAYMENT.value})


class NewJob(msgspec.Struct, kw_only=True):
    """The columns of a job being created (the rest take their defaults). Mutable: a paid job's payment gets
    its Checkout Session before it is inserted."""

    id: uuid.UUID
    owner_id: uuid.UUID
    kind: str
    params: dict[str, Any]
    status: str
    queue: str
    max_attempts: int
    priority: str = "normal"
    title: str | None = None
    idempotency_key: str | None = None
    created_at: datetime = msgspec.field(default_factory=utcnow)
    queued_at: datetime | None = None
    message_id: str | None = None
    result: dict[str, Any] | None = None
    # A paid job's payment row, inserted by the same statement.
    payment: NewPayment | None = None


_COLUMNS = tuple(f.name for f in msgspec.structs.fields(NewJob) if f.name != "payment")
_PAYMENT_COLUMNS = tuple(f.name for f in msgspec.structs.fields(NewPayment))


def _build_statement(*, paid: bool) -> Insert:
    new_job = (
        insert(Job)
        # Parameters named apart from the columns, whose own names the payment's INSERT reserves.
        .values({name: bindparam(f"job_{name}", type_=Job.__table__.c[name].type) for name in _COLUMNS})
        .returning(Job.id, Job.status, Job.kind, Job.priority)
        .cte("new_job")
    )
    payment = None
    if paid:
        # The payment row names the new job by its id, a parameter (SQLAlchemy cannot nest the job's INSERT
        # in this one); Postgres checks its foreign key at the end of the statement, when the job exists.
        ids = [bindparam("payment_id", type_=Uuid()), bindparam("payment_job_id", type_=Uuid())]
        values = [bindparam(f"payment_{name}", type_=Payment.__table__.c[name].type) for name in _PAYMENT_COLUMNS]
        columns = ["id", "job_id", *_PAYMENT_COLUMNS, "created_at", "updated_at"]
        row = select(*ids, *values, func.now(), func.now())
        payment = insert(Payment).from_select(columns, row).cte("new_payment")
    audit = select(
        new_job.c.id,
        literal("created"),
        null(),
        new_job.c.status,
        bindparam("actor", type_=String()),
        # What history shows of the creation.
        func.jsonb_build_object("kind", new_job.c.kind, "priority", new_job.c.priority),
    )
    statement = insert(JobEvent).from_select(["job_id", "type", "from_status", "to_status", "actor", "detail"], audit)
    # Not referenced by the audit insert, so named here to be part of the statement.
    return statement.add_cte(payment) if payment is not None else statement


def _build_many_statement() -> Insert:
    """Free jobs and their ``created`` audit events, any number in one statement: the jobs come as one JSON
    array parameter ``jobs`` (``db.direct.json_rows``), one object per job (its columns and its ``actor``)."""
    columns = [column(name, Job.__table__.c[name].type) for name in _COLUMNS]
    rows = json_rows("jobs", "new_rows", *columns, column("actor", String()))
    new_jobs = (
        insert(Job)
        .from_select(list(_COLUMNS), select(*(rows.c[name] for name in _COLUMNS)))
        .returning(Job.id, Job.status, Job.kind, Job.priority)
        .cte("new_jobs")
    )
    audit = select(
        new_jobs.c.id,
        literal("created"),
        null(),
        new_jobs.c.status,
        rows.c.actor,
        func.jsonb_build_object("kind", new_jobs.c.kind, "priority", new_jobs.c.priority),
    ).join_from(new_jobs, rows, rows.c.id == new_jobs.c.id)
    return insert(JobEvent).from_select(["job_id", "type", "from_status", "to_status", "actor", "detail"], audit)


_INSERT = _build_statement(paid=False)
_INSERT_PAID = _build_statement(paid=True)
# The same statements on psycopg directly (``db.direct``).
_DIRECT_FREE, _DIRECT_PAID = DirectStatement(_INSERT), DirectStatement(_INSERT_PAID)
_DIRECT_MANY = DirectStatement(_build_many_statement())


def _statement(job: NewJob, actor: str) -> tuple[Insert, dict[str, Any]]:
    """The creation statement for ``job`` (with its payment row or without) and its parameters."""
    if job.status not in INITIAL_STATUSES:
        raise ValueError(f"a job starts queued or pending_payment, not {job.status}")
    values = {f"job_{name}": getattr(job, name) for name in _COLUMNS}
    values["actor"] = actor
    if job.payment is None:
        return _INSERT, values
    values["payment_id"], values["payment_job_id"] = uuid.uuid4(), job.id
    values.update({f"payment_{name}": getattr(job.payment, name) for name in _PAYMENT_COLUMNS})
    return _INSERT_PAID, values


def created_events(job: NewJob) -> list[LiveEvent]:
    """The live events of a job's creation (to publish once it is committed)."""
    body = StatusChanged(job.id, job.status, None, job.created_at, 0, detail={"created": True})
    return [LiveEvent(job.owner_id, body)]


def create(session: Session | Connection, job: NewJob, *, actor: str) -> list[LiveEvent]:
    """Insert ``job`` with its ``created`` audit event in the caller's transaction; returns its live events.

    Raises:
        ValueError: the status is not an initial one.
        sqlalchemy.exc.IntegrityError: the owner already has a job with this idempotency key.
    """
    # On the session's connection: a Core statement, not an ORM bulk insert.
    conn = session.connection() if isinstance(session, Session) else session
    conn.execute(*_statement(job, actor))
    note_created(session, job, actor)
    return created_events(job)


async def create_async(conn: AsyncConnection, job: NewJob, *, actor: str) -> list[LiveEvent]:
    """``create`` from the API's event loop. On an autocommit connection the statement is its own transaction
    (both rows or neither)."""
    await conn.execute(*_statement(job, actor))
    if conn.sync_connection is not None:
        note_created(conn.sync_connection, job, actor)
    return created_events(job)


async def create_direct(conn: psycopg.AsyncConnection[TupleRow], job: NewJob, *, actor: str) -> list[LiveEvent]:
    """``create`` on an autocommit psycopg connection (``db.direct``): the API's common case, its own
    transaction (both rows or neither), without SQLAlchemy's work per execution.

    Raises:
        psycopg.errors.UniqueViolation: the owner already has a job with this idempotency key.
    """
    statement, values = _statement(job, actor)
    await (_DIRECT_FREE if statement is _INSERT else _DIRECT_PAID).execute(conn, values)
    report_created(job, actor)
    return created_events(job)


async def create_direct_many(
    conn: psycopg.AsyncConnection[TupleRow], jobs: Sequence[tuple[NewJob, str]]
) -> list[LiveEvent]:
    """``create_direct`` of several free (job, actor) pairs in one statement (all or none), one round trip.

    Raises:
        ValueError: a job is paid (its payment row needs the other statement: ``create_direct``) or not in an
            initial status.
    """
    for job, _ in jobs:
        if job.payment is not None or job.status not in INITIAL_STATUSES:
            raise ValueError("create_direct_many takes free jobs in an initial status only")
    rows = [{**msgspec.structs.asdict(job), "actor": actor} for job, actor in jobs]
    await _DIRECT_MANY.execute(conn, {"jobs": encode_json_rows(rows)})
    for job, actor in jobs:
        report_created(job, actor)
    return [event for job, _ in jobs for event in created_events(job)]
