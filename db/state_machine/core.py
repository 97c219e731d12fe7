"""The core of the state machine: one conditional transition and the audit trail (creation: ``creation``).

Every change is one conditional ``UPDATE ... WHERE status IN (allowed sources)``, so two workers can never
both claim a job and a finished job can never be moved again; the matching ``job_events`` row is written in
the same transaction. Each function returns the live events to publish *after* the caller commits
(see ``db.live``), or ``None`` when the change did not apply.
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
    CTE,
    ColumnElement,
    Connection,
    Select,
    String,
    Uuid,
    bindparam,
    column,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from db.direct import compiled, encode_json_rows, json_rows
from db.live import LiveEvent, StatusChanged
from db.models import Job, JobEvent
from db.observe.transitions import note_row, observed_columns
from db.statuses import ALLOWED_FROM, JobStatus

# A row of a transition statement (``run_transition_many``).
Row = Sequence[Any]


class StateError(Exception):
    """Base of state machine errors."""


class InvalidTransition(StateError):
    def __init__(self, job_id: uuid.UUID, current: str, target: JobStatus) -> None:
        super().__init__(f"job {job_id} is {current}; it cannot become {target.value}")
        self.current = current
        self.target = target


class Changed(msgspec.Struct, frozen=True):
    """What a successful transition did."""

    job_id: uuid.UUID
    owner_id: uuid.UUID
    from_status: str
    to_status: str
    at: datetime
    attempts: int
    claim_token: uuid.UUID | None
    events: list[LiveEvent]
    # Extra columns a caller asked for (e.g. a claim's params), in the order asked.
    extra: tuple[Any, ...] = ()


def finish_values(**values: Any) -> dict[str, Any]:
    """The columns every move to a terminal status sets, plus ``values``."""
    return {"finished_at": func.now(), "lease_expires_at": None, **values}


def job_rows(**columns: TypeEngine[Any]) -> CTE:
    """The per-job values of a transition of many jobs at once (``transition_statement``'s ``rows``): bind
    parameter ``rows``, a JSON array of objects with ``job_id`` and ``columns`` (``db.direct.json_rows``)."""
    return json_rows("rows", "rows", column("job_id", Uuid()), *(column(n, type_) for n, type_ in columns.items()))


def transition_statement(
    to: JobStatus,
    *,
    values: dict[str, Any] | None = None,
    where: list[ColumnElement[bool]] | None = None,
    returning: tuple[Any, ...] = (),
    rows: CTE | None = None,
) -> Select[Any]:
    """The one statement of a move to ``to``: bind parameters ``job_id``, ``actor`` and ``detail``, plus any
    that ``values`` and ``where`` name. Built once by the hot transitions (``runs.claim``, ``runs.succeed``),
    whose per-call values are bind parameters too, so each run costs no statement building.

    With ``rows`` (``job_rows``) the statement moves every job named there instead of ``job_id``, and
    ``values`` and ``where`` may name the columns of ``rows`` for values of each job's own; its rows then
    come in no particular order (each starts with the job's id)."""
    # One round trip: lock the row (so the reported from_status is the one the UPDATE saw), update it, and
    # append the audit row from the UPDATE's result, all in one statement of the caller's transaction.
    where = list(where or [])
    if rows is None:
        job_id = bindparam("job_id", type_=Uuid())
        old = select(Job.id, Job.status.label("old_status")).where(Job.id == job_id).with_for_update().cte("old")
    else:
        # Locked in the order of their ids, so that two statements of many jobs cannot deadlock.
        old = (
            select(Job.id, Job.status.label("old_status"))
            .join(rows, rows.c.job_id == Job.id)
            .order_by(Job.id)
            .with_for_update(of=Job)
            .cte("old")
        )
        where.append(rows.c.job_id == Job.id)
    changed_row = (
        update(Job)
        .where(Job.id == old.c.id, Job.status.in_([s.value for s in ALLOWED_FROM[to]]), *where)
        # The moment of the change itself, not the transaction's start (``now()``): a worker's transaction
        # begins before it waits for the creating transaction's lock, and history must stay in order.
        .values(status=to.value, updated_at=func.clock_timestamp(), **(values or {}))
        .returning(
            old.c.old_status.label("from_status"),
            Job.owner_id,
            Job.attempts,
            Job.claim_token,
            Job.updated_at,
            Job.id.label("changed_id"),
            *observed_columns(),
            *(col.label(f"extra_{i}") for i, col in enumerate(returning)),
        )
        .cte("changed_row")
    )
    audit = (
        insert(JobEvent)
        .from_select(
            ["job_id", "at", "type", "from_status", "to_status", "actor", "detail"],
            select(
                changed_row.c.changed_id,
                changed_row.c.updated_at,
                literal("status"),
                changed_row.c.from_status,
                literal(to.value),
                bindparam("actor", type_=String()),
                bindparam("detail", type_=JSONB()),
            ),
        )
        .cte("audit")
    )
    return select(
        changed_row.c.changed_id,
        changed_row.c.from_status,
        changed_row.c.owner_id,
        changed_row.c.attempts,
        changed_row.c.claim_token,
        changed_row.c.updated_at,
        *observed_columns(changed_row),
        *(changed_row.c[f"extra_{i}"] for i in range(len(returning))),
    ).add_cte(audit)


def run_transition(
    conn: Session | Connection | psycopg.Connection[TupleRow],
    statement: Select[Any],
    job_id: uuid.UUID,
    to: JobStatus,
    *,
    actor: str,
    detail: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
    parameters: dict[str, Any] | None = None,
) -> Changed | None:
    """Run a ``transition_statement`` for one job; the change and its live event, or None when it did not apply.

    ``conn`` is a session, or an autocommit connection: SQLAlchemy's, or psycopg's (``db.direct``, a
    worker's common case, without SQLAlchemy's work per execution; the statement must then be built once,
    as the hot transitions' are), on which the statement is its own transaction."""
    bound = {"job_id": job_id, "actor": actor, "detail": detail, **(parameters or {})}
    if isinstance(conn, psycopg.Connection):
        row = compiled(statement).execute_sync(conn, bound).fetchone()
        return _changed(None, row, job_id, to, actor=actor, detail=detail, event=event)
    # On the session's connection: a Core statement, never an ORM bulk update (which would take parameters
    # named like columns for values to set).
    sa_conn = conn.connection() if isinstance(conn, Session) else conn
    row = sa_conn.execute(statement, bound).one_or_none()
    return _changed(conn, row, job_id, to, actor=actor, detail=detail, event=event)


def run_transition_many(
    conn: psycopg.Connection[TupleRow],
    statement: Select[Any],
    jobs: Sequence[tuple[uuid.UUID, dict[str, Any]]],
    *,
    actor: str,
    parameters: dict[str, Any] | None = None,
) -> list[Row | None]:
    """A ``rows`` statement for many jobs in one statement, its own transaction, on an autocommit psycopg
    connection: ``jobs`` holds each job's id and its values of ``rows``. Returns each job's row, or None where
    its change did not apply, in the order of ``jobs``, for ``changed_from_row`` on the thread that asked for
    that job's change (which reports it, in that thread's trace)."""
    rows = encode_json_rows([{"job_id": job_id, **values} for job_id, values in jobs])
    bound = {"rows": rows, "actor": actor, "detail": None, **(parameters or {})}
    found = {row[0]: row for row in compiled(statement).execute_sync(conn, bound).fetchall()}
    # A job named twice (a duplicate message) moved once: the first to name it has the change.
    return [found.pop(job_id, None) for job_id, _ in jobs]


def changed_from_row(
    row: Row | None,
    job_id: uuid.UUID,
    to: JobStatus,
    *,
    actor: str,
    event: dict[str, Any] | None = None,
) -> Changed | None:
    """The change (reported now: it is committed) and its live event from a row of ``run_transition_many``."""
    return _changed(None, row, job_id, to, actor=actor, detail=None, event=event)


def _changed(
    session: Session | Connection | None,
    row: Sequence[Any] | None,
    job_id: uuid.UUID,
    to: JobStatus,
    *,
    actor: str,
    detail: dict[str, Any] | None,
    event: dict[str, Any] | None,
) -> Changed | None:
    if row is None:
        return None
    _, from_status, owner_id, attempts, claim_token, at, *rest = row
    # The change's log line, metrics and trace point, reported once it is committed (db.observe).
    extra = note_row(session, job_id, from_status, to.value, at, attempts, actor, rest)
    changed = Changed(job_id, owner_id, from_status, to.value, at, attempts, claim_token, [], tuple(extra))
    body = StatusChanged(job_id, to.value, from_status, at, attempts, detail=detail or None, **(event or {}))
    changed.events.append(LiveEvent(owner_id, body))
    return changed


def transition(
    session: Session | Connection,
    job_id: uuid.UUID,
    to: JobStatus,
    *,
    actor: str,
    detail: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    where: list[ColumnElement[bool]] | None = None,
    event: dict[str, Any] | None = None,
    returning: tuple[Any, ...] = (),
) -> Changed | None:
    """Move one job to ``to`` if its status allows it (and ``where`` holds), with its audit row."""
    statement = transition_statement(to, values=values, where=where, returning=returning)
    return run_transition(session, statement, job_id, to, actor=actor, detail=detail, event=event)


def current_status(session: Session, job_id: uuid.UUID) -> str | None:
    return session.execute(select(Job.status).where(Job.id == job_id)).scalar_one_or_none()


def set_message_id(session: Session, job_id: uuid.UUID, message_id: str) -> None:
    """Remember the broker message that will run the job (the sweeper checks it is still there)."""
    session.execute(update(Job).where(Job.id == job_id).values(message_id=message_id))


def record_event(
    session: Session, job_id: uuid.UUID, type_: str, *, actor: str, detail: dict[str, Any] | None = None
) -> None:
    """Append a milestone (not a status change) to the audit trail."""
    session.execute(insert(JobEvent).values(job_id=job_id, type=type_, actor=actor, detail=detail))
