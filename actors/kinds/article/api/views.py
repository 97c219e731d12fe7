"""Orders as the API shows them: status, step X of 5, the latest version (rendered safely), jobs, versions,
the audit trail and the diff between two versions."""

from __future__ import annotations

import difflib
import math
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.kinds.article.api.schemas import OrderEventOut, OrderJobOut, OrderOut, OrderPage, VersionOut
from actors.kinds.article.api.settle import settle
from actors.kinds.article.models import CatalogDomain, Order, OrderEvent, OrderVersion
from actors.kinds.article.render import version_html
from actors.kinds.article.statuses import ORDER_KINDS, STEPS, OrderStatus
from db.models import Job
from service.auth.principal import Principal
from service.errors import BadRequest, NotFound

_READY = {OrderStatus.QUALITY_CHECK, OrderStatus.ADMIN_REVIEW, OrderStatus.COMPLETED}


def version_out(version: OrderVersion, *, content: bool) -> VersionOut:
    return VersionOut(
        id=str(version.id),
        number=version.number,
        title=version.title,
        created_at=version.created_at,
        qc_report=version.qc_report,
        backlink=version.backlink,
        revision_notes=version.revision_notes,
        revision_by=version.revision_by,
        job_id=str(version.job_id) if version.job_id else None,
        markdown=version.markdown if content else None,
        html=version_html(version.id, version.markdown) if content else None,
    )


def _step(order: Order, current: Job | None) -> int:
    if order.status in _READY:
        return len(STEPS)
    if order.status == OrderStatus.PROCESSING and current is not None:
        return max(1, min(current.progress_done, len(STEPS) - 1))
    return 0


async def order_out(session: AsyncSession, order: Order, *, detail: bool) -> OrderOut:
    """The order; ``detail`` adds its jobs, every version (without content) and the latest version's content."""
    domain = await session.get_one(CatalogDomain, order.domain_id)
    jobs: list[Job] = []
    versions: list[OrderVersion] = []
    if detail:
        # By owner first (indexed), then the order's id in the params.
        jobs = await _all(
            session,
            select(Job)
            .where(
                Job.owner_id == order.owner_id,
                Job.kind.in_(ORDER_KINDS),
                Job.params["order_id"].astext == str(order.id),
            )
            .order_by(Job.created_at),
        )
        versions = await versions_of(session, order)
    current = next((j for j in jobs if j.id == order.current_job_id), None)
    if current is None and order.current_job_id is not None:
        current = await session.get(Job, order.current_job_id)
    first = next((j for j in jobs if j.id == order.first_job_id), None)
    if first is None and order.first_job_id is not None:
        first = current if order.first_job_id == order.current_job_id else await session.get(Job, order.first_job_id)
    latest = versions[-1] if versions else None
    if not detail:
        latest = await session.scalar(
            select(OrderVersion).where(OrderVersion.order_id == order.id).order_by(OrderVersion.number.desc()).limit(1)
        )
    step = _step(order, current)
    label = STEPS[step - 1][1] if step else "Waiting for payment"
    payment = first.payment if first is not None else None
    return OrderOut(
        id=str(order.id),
        type=order.type,
        status=order.status,
        domain=domain.hostname,
        article_id=str(order.article_id) if order.article_id else None,
        topic=order.topic,
        keyword=order.keyword,
        target_url=order.target_url,
        anchor_text=order.anchor_text,
        notes=order.notes,
        complimentary=order.complimentary,
        amount_cents=order.amount_cents,
        currency=order.currency,
        created_at=order.created_at,
        updated_at=order.updated_at,
        step=step,
        steps_total=len(STEPS),
        step_label=label,
        can_request_revision=order.status == OrderStatus.QUALITY_CHECK,
        can_submit=order.status == OrderStatus.QUALITY_CHECK and latest is not None,
        links={"self": f"/api/orders/{order.id}", "page": f"/orders/{order.id}", "events": "/api/events"},
        payment_url=payment.url if payment is not None and order.status == OrderStatus.PENDING_PAYMENT else None,
        refund_status=payment.refund_status if payment is not None else None,
        latest_version=version_out(latest, content=detail) if latest is not None and order.status in _READY else None,
        submitted_version_id=str(order.submitted_version_id) if order.submitted_version_id else None,
        jobs=[OrderJobOut(str(j.id), j.kind, j.queue, j.status, j.progress_step, j.created_at) for j in jobs],
        versions=[version_out(v, content=False) for v in versions],
    )


async def _all(session: AsyncSession, stmt: Any) -> list[Any]:
    return list((await session.scalars(stmt)).all())


def scope(user: Principal) -> list[Any]:
    return [] if user.is_admin else [Order.owner_id == user.id]


async def load_order(session: AsyncSession, user: Principal, order_id: uuid.UUID) -> Order:
    """The caller's order (admins: anyone's), caught up with its job; another user's is a 404."""
    order = await session.scalar(select(Order).where(Order.id == order_id, *scope(user)).with_for_update())
    if order is None:
        raise NotFound(f"No order {order_id}.", code="order_not_found")
    await settle(session, order)
    return order


async def order_page(session: AsyncSession, conditions: list[Any], page: int, per_page: int) -> OrderPage:
    total = await session.scalar(select(func.count()).select_from(Order).where(*conditions)) or 0
    rows = (
        await session.scalars(
            select(Order)
            .where(*conditions)
            .order_by(Order.created_at.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    ).all()
    items = []
    for order in rows:
        await settle(session, order)
        items.append(await order_out(session, order, detail=False))
    return OrderPage(items, total, page, per_page, max(1, math.ceil(total / per_page)))


async def versions_of(session: AsyncSession, order: Order) -> list[OrderVersion]:
    return await _all(
        session, select(OrderVersion).where(OrderVersion.order_id == order.id).order_by(OrderVersion.number)
    )


async def one_version(session: AsyncSession, order: Order, number: int) -> OrderVersion:
    version = await session.scalar(
        select(OrderVersion).where(OrderVersion.order_id == order.id, OrderVersion.number == number)
    )
    if version is None:
        raise NotFound(f"The order has no version {number}.", code="version_not_found")
    return version


async def diff_text(session: AsyncSession, order: Order, frm: int, to: int) -> str:
    """A unified diff of version ``frm`` to version ``to`` (their Markdown, line by line)."""
    if frm == to:
        raise BadRequest("Compare two different versions.", code="invalid_diff", details={"from": frm, "to": to})
    old, new = await one_version(session, order, frm), await one_version(session, order, to)
    lines = difflib.unified_diff(
        old.markdown.splitlines(keepends=True),
        new.markdown.splitlines(keepends=True),
        fromfile=f"version {frm}",
        tofile=f"version {to}",
    )
    return "".join(lines)


async def history(session: AsyncSession, order: Order) -> list[OrderEventOut]:
    rows = (
        await session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))
    ).all()
    return [OrderEventOut(e.at, e.type, e.actor, e.from_status, e.to_status, e.notes, e.detail) for e in rows]
