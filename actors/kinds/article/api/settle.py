"""An order caught up with its current job, for what no order code sees happen.

The platform moves the job (Stripe's webhook queues it, a Checkout Session expires, the retries of a model
that stays down run out, the sweeper fails a job whose worker died); the order follows here, under its row
lock, whenever it is read or acted on:

* ``pending_payment`` whose job was paid (queued or later) -> ``processing``; whose session expired or was
  cancelled -> ``cancelled``; whose job failed -> ``failed``;
* ``processing`` whose job failed, timed out or was cancelled -> ``failed`` for the first job (refunded by the
  platform), back to ``quality_check`` for a revision (the order keeps its versions).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from actors.kinds.article import order_state
from actors.kinds.article.models import Order
from actors.kinds.article.statuses import OrderStatus
from db.models import Job
from db.statuses import JobStatus

_PAID = {JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.RETRYING, JobStatus.WAITING, JobStatus.SUCCEEDED}
_CLOSED = {JobStatus.EXPIRED, JobStatus.CANCELLED}
_FAILED = {JobStatus.FAILED, JobStatus.TIMED_OUT}
# The audit row's type: the same as the handler's when it sees the payment first.
_EVENT_TYPES = {OrderStatus.PROCESSING: "paid", OrderStatus.CANCELLED: "payment_closed"}


def _target(order: Order, job_status: JobStatus) -> OrderStatus | None:
    if order.status == OrderStatus.PENDING_PAYMENT:
        if job_status in _PAID:
            return OrderStatus.PROCESSING
        if job_status in _CLOSED:
            return OrderStatus.CANCELLED
        if job_status in _FAILED:
            return OrderStatus.FAILED
    if order.status == OrderStatus.PROCESSING and job_status in _FAILED | _CLOSED:
        return OrderStatus.FAILED if order.current_job_id == order.first_job_id else OrderStatus.QUALITY_CHECK
    return None


async def settle(session: AsyncSession, order: Order) -> None:
    """Move ``order`` (locked by the caller) to where its current job says it is, with an audit row."""
    if order.current_job_id is None or order.status not in (OrderStatus.PENDING_PAYMENT, OrderStatus.PROCESSING):
        return
    job = await session.get(Job, order.current_job_id)
    if job is None:
        return
    to = _target(order, JobStatus(job.status))
    if to is None:
        return
    moved = (await session.execute(order_state.move(order.id, order.status, to))).first()
    if moved is None:
        return
    await session.execute(
        order_state.event(
            order.id,
            _EVENT_TYPES.get(to, "job_" + job.status),
            actor="system",
            frm=order.status,
            to=to,
            detail={"job_id": str(job.id), "job_status": job.status, "error": job.error},
        )
    )
    await session.refresh(order)
