"""The order's state machine: the only code that changes ``orders.status``, for the API and the workers alike.

Each move is a conditional ``UPDATE ... WHERE id = :id AND status = :from`` (it matches nothing when another
request moved the order first) plus its ``order_events`` row, executed by the caller's session (async in the
API, sync in workers) in one transaction. Illegal moves are refused before any statement is built.

    pending_payment ─┬─> processing ─> quality_check ─> admin_review ─> completed
                     └─> cancelled       │  ^    ^          │
                                          │  └────┼──────────┘ (revision, rejection: back to processing)
                         processing ──> failed    └── quality_check (a revision that could not be written)
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Insert, Update, func, insert, update

from actors.kinds.article.models import Order, OrderEvent
from actors.kinds.article.statuses import OrderStatus
from db.live import EventBody, LiveEvent

S = OrderStatus
MOVES: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_PAYMENT: frozenset({S.PROCESSING, S.CANCELLED, S.FAILED}),
    S.PROCESSING: frozenset({S.QUALITY_CHECK, S.FAILED}),
    S.QUALITY_CHECK: frozenset({S.PROCESSING, S.ADMIN_REVIEW}),
    S.ADMIN_REVIEW: frozenset({S.PROCESSING, S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}


class IllegalMove(ValueError):
    """A move the state machine does not have (a programming error, not a user's)."""


def move(order_id: uuid.UUID, frm: str, to: OrderStatus, **values: Any) -> Update:
    """``frm -> to`` if the order is still ``frm``; ``RETURNING id`` is empty when it is not."""
    if to not in MOVES[OrderStatus(frm)]:
        raise IllegalMove(f"an order cannot go from {frm} to {to}")
    return (
        update(Order)
        .where(Order.id == order_id, Order.status == frm)
        .values(status=to.value, updated_at=func.now(), **values)
        .returning(Order.id)
        # Callers hold the row (locked) and set what they show from it themselves.
        .execution_options(synchronize_session=False)
    )


def event(
    order_id: uuid.UUID,
    type_: str,
    *,
    actor: str,
    frm: str | None = None,
    to: str | None = None,
    notes: str | None = None,
    detail: dict[str, Any] | None = None,
) -> Insert:
    """An audit row: a status change (``frm``/``to``) or an action (who, notes, detail)."""
    return insert(OrderEvent).values(
        order_id=order_id, type=type_, actor=actor, from_status=frm, to_status=to, notes=notes, detail=detail
    )


class OrderChanged(EventBody, frozen=True, tag="order"):
    """The live event of an order change (``event``: created, processing, version_ready, submitted, ...)."""

    order_id: uuid.UUID
    event: str
    status: str
    actor: str
    version: int | None = None
    notes: str | None = None
    problems: list[str] | None = None


def live(
    order_id: uuid.UUID, owner_id: uuid.UUID, job_id: uuid.UUID, type_: str, *, status: str, actor: str, **extra: Any
) -> LiveEvent:
    """The live event of an order change: type ``order``, on the stream of one of the order's jobs (the current
    one) and so on its owner's multiplexed stream (``GET /api/events``)."""
    return LiveEvent(owner_id, OrderChanged(job_id, order_id, type_, status, actor, **extra))
