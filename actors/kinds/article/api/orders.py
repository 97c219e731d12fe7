"""What the orders endpoints do: create an order (and its first job), and the customer's and admin's actions.

Every action locks the order row, checks its status (409 naming it), moves it through
``actors.kinds.article.order_state``, writes its audit row and, when it needs one, starts the next job, all in
one transaction; then it publishes the live event. Another user's order is a 404.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import urlsplit

import anyio
import redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actors.kinds.article import order_state
from actors.kinds.article.api.jobs import order_quote, start_job
from actors.kinds.article.api.schemas import ANCHOR_MAX, CreateOrder
from actors.kinds.article.api.views import load_order
from actors.kinds.article.models import CatalogArticle, CatalogDomain, Order, OrderVersion
from actors.kinds.article.statuses import FIRST_KIND, REVISION_KIND, OrderStatus, OrderType
from actors.notify.hook import enqueue_notification
from db.live import LiveEvent
from db.models import Job, User
from service.auth.principal import Principal
from service.errors import BadRequest, Conflict, Forbidden
from service.jobs.enqueue import publish
from service.resources import Resources

log = logging.getLogger("genjobs.orders")
# The notification event of an approved order (templates in actors/notify/templates/<locale>/).
APPROVED_EVENT = "approved"
ARTICLE_WORDS = (800, 2000)
BACKLINK_WORDS = (1, 10_000)


def _field_error(field: str, message: str) -> BadRequest:
    return BadRequest(message, code="invalid_order", details=[{"field": field, "message": message}])


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _field_error("target_url", f"target_url must be an http(s) URL with a host, not {url[:100]!r}.")
    return url.strip()


def _check_anchor(anchor: str) -> str:
    text = anchor.strip()
    if not text:
        raise _field_error("anchor_text", "anchor_text must not be empty.")
    if len(text) > ANCHOR_MAX or "\n" in text or "[" in text or "]" in text:
        raise _field_error(
            "anchor_text", f"anchor_text must be one line of at most {ANCHOR_MAX} characters without brackets."
        )
    return text


def _wrong_status(order: Order, action: str, allowed: OrderStatus) -> Conflict:
    return Conflict(
        f"Cannot {action}: the order is {order.status} (it must be {allowed.value}).",
        code="wrong_status",
        details={"status": order.status, "required": allowed.value},
    )


def _notify_params(user: Principal, order: Order) -> dict[str, Any]:
    # Order emails go to the customer's account address, in the order's language.
    return {"order_id": str(order.id), "notify": {"channel": "email", "to": user.email}, "locale": order.locale}


async def create_order(res: Resources, user: Principal, req: CreateOrder) -> Order:
    """Store the order and its first job; a paid one gets its Checkout Session (the job waits for the webhook)."""
    target_url = _check_url(req.target_url)
    anchor = _check_anchor(req.anchor_text)
    if req.complimentary and not user.is_admin:
        raise Forbidden("Only admins may create complimentary orders.", code="complimentary_admin_only")
    order_type = OrderType(req.type)
    events: list[LiveEvent] = []
    async with res.sessions() as session, session.begin():
        article: CatalogArticle | None = None
        if order_type == OrderType.ARTICLE:
            if not req.domain:
                raise _field_error("domain", "An article order needs the catalog domain it is written for.")
            if not req.topic.strip():
                raise _field_error("topic", "An article order needs a topic.")
            domain = await session.scalar(
                select(CatalogDomain).where(CatalogDomain.hostname == req.domain.strip().lower())
            )
            if domain is None:
                raise _field_error("domain", f"Unknown domain {req.domain!r}: choose one of the catalog.")
            price = domain.article_price_cents
            default_words = ARTICLE_WORDS
        else:
            if req.article_id is None:
                raise _field_error("article_id", "A backlink order needs the catalog article it goes into.")
            article = await session.get(CatalogArticle, req.article_id)
            if article is None:
                raise _field_error("article_id", f"Unknown article {req.article_id}.")
            domain = await session.get_one(CatalogDomain, article.domain_id)
            price = domain.backlink_price_cents
            default_words = BACKLINK_WORDS
        min_words = req.min_words or default_words[0]
        max_words = req.max_words or max(default_words[1], min_words)
        if min_words > max_words:
            raise _field_error("min_words", f"min_words ({min_words}) is more than max_words ({max_words}).")
        paid = not req.complimentary and price > 0
        order = Order(
            id=uuid.uuid4(),
            owner_id=user.id,
            type=order_type.value,
            status=(OrderStatus.PENDING_PAYMENT if paid else OrderStatus.PROCESSING).value,
            domain_id=domain.id,
            article_id=article.id if article else None,
            topic=req.topic.strip() or (article.title if article else ""),
            niche=req.niche.strip(),
            keyword=req.keyword.strip(),
            target_url=target_url,
            anchor_text=anchor,
            notes=req.notes.strip(),
            min_words=min_words,
            max_words=max_words,
            allow_external_links=req.allow_external_links,
            complimentary=req.complimentary,
            locale=req.locale,
            amount_cents=price if paid else None,
            currency=domain.currency if paid else None,
        )
        session.add(order)
        await session.flush()
        kind = FIRST_KIND[order_type]
        title = f"{order.topic} ({domain.hostname})"
        quote = order_quote(order, kind, f"{order_type.value} on {domain.hostname}") if paid else None
        job, job_events = await start_job(
            session, res, user, order, kind, _notify_params(user, order), title=title, quote=quote
        )
        events += job_events
        actor = f"{'admin' if user.is_admin else 'user'}:{user.id}"
        detail = {"job_id": str(job.id), "paid": paid, "complimentary": req.complimentary}
        await session.execute(order_state.event(order.id, "created", actor=actor, to=order.status, detail=detail))
    events.append(order_state.live(order.id, order.owner_id, job.id, "created", status=order.status, actor=actor))
    await publish(res, events)
    return order


async def request_revision(res: Resources, user: Principal, order_id: uuid.UUID, notes: str) -> Order:
    """The customer asks for a revision of the latest version: a ``backlink-revision`` job, back to processing."""
    return await _revise(res, user, order_id, notes, by="customer", frm=OrderStatus.QUALITY_CHECK, action="revision")


async def reject(res: Resources, user: Principal, order_id: uuid.UUID, notes: str) -> Order:
    """An admin sends the submitted version back with notes: a revision job with those notes."""
    return await _revise(res, user, order_id, notes, by="admin", frm=OrderStatus.ADMIN_REVIEW, action="rejected")


async def _revise(
    res: Resources, user: Principal, order_id: uuid.UUID, notes: str, *, by: str, frm: OrderStatus, action: str
) -> Order:
    async with res.sessions() as session, session.begin():
        order = await load_order(session, user, order_id)
        if order.status != frm:
            raise _wrong_status(order, "request a revision" if by == "customer" else "reject", frm)
        actor = f"{'admin' if by == 'admin' else 'user'}:{user.id}"
        owner_email = await _owner_email(session, order)
        params = {
            "order_id": str(order.id),
            "notes": notes.strip(),
            "by": by,
            "notify": {"channel": "email", "to": owner_email},
            "locale": order.locale,
        }
        await session.execute(
            order_state.move(order.id, order.status, OrderStatus.PROCESSING, submitted_version_id=None)
        )
        # The revision's emails name the order as its first ones did.
        first = await session.get(Job, order.first_job_id) if order.first_job_id else None
        title = first.title if first is not None and first.title else order.topic
        job, events = await start_job(session, res, user, order, REVISION_KIND, params, title=title)
        await session.execute(
            order_state.event(
                order.id,
                action,
                actor=actor,
                frm=frm,
                to=OrderStatus.PROCESSING,
                notes=notes.strip(),
                detail={"job_id": str(job.id)},
            )
        )
        order.status = OrderStatus.PROCESSING.value
    events.append(
        order_state.live(
            order.id, order.owner_id, job.id, action, status=order.status, actor=actor, notes=notes.strip()
        )
    )
    await publish(res, events)
    return order


async def _owner_email(session: AsyncSession, order: Order) -> str:
    user = await session.get_one(User, order.owner_id)
    return user.email


async def submit(res: Resources, user: Principal, order_id: uuid.UUID, version_id: uuid.UUID) -> Order:
    """The customer submits one of the order's versions for the admin's approval."""
    async with res.sessions() as session, session.begin():
        order = await load_order(session, user, order_id)
        if order.status != OrderStatus.QUALITY_CHECK:
            raise _wrong_status(order, "submit", OrderStatus.QUALITY_CHECK)
        version = await session.scalar(
            select(OrderVersion).where(OrderVersion.id == version_id, OrderVersion.order_id == order.id)
        )
        if version is None:
            raise _field_error("version_id", f"Version {version_id} is not a version of this order.")
        actor = f"user:{user.id}"
        await session.execute(
            order_state.move(order.id, order.status, OrderStatus.ADMIN_REVIEW, submitted_version_id=version.id)
        )
        await session.execute(
            order_state.event(
                order.id,
                "submitted",
                actor=actor,
                frm=order.status,
                to=OrderStatus.ADMIN_REVIEW,
                detail={"version_id": str(version.id), "version": version.number},
            )
        )
        order.status = OrderStatus.ADMIN_REVIEW.value
        order.submitted_version_id = version.id
    await _publish_action(res, order, "submitted", actor, version=version.number)
    return order


async def approve(res: Resources, user: Principal, order_id: uuid.UUID, notes: str) -> Order:
    """An admin approves the submitted version: it is final and the order is completed; the customer is told."""
    async with res.sessions() as session, session.begin():
        order = await load_order(session, user, order_id)
        if order.status != OrderStatus.ADMIN_REVIEW:
            raise _wrong_status(order, "approve", OrderStatus.ADMIN_REVIEW)
        actor = f"admin:{user.id}"
        await session.execute(order_state.move(order.id, order.status, OrderStatus.COMPLETED))
        version = await session.get_one(OrderVersion, order.submitted_version_id)
        await session.execute(
            order_state.event(
                order.id,
                "approved",
                actor=actor,
                frm=order.status,
                to=OrderStatus.COMPLETED,
                notes=notes.strip() or None,
                detail={"version_id": str(version.id), "version": version.number},
            )
        )
        order.status = OrderStatus.COMPLETED.value
    await _publish_action(res, order, "approved", actor, version=version.number)
    # The "order completed" email: the approved version's job's notification of the platform's ``approved`` event.
    if version.job_id is not None:
        await _announce(res, version.job_id, APPROVED_EVENT)
    return order


async def _announce(res: Resources, job_id: uuid.UUID, event: str) -> None:
    try:
        await anyio.to_thread.run_sync(lambda: enqueue_notification(res.broker, job_id, event))
    except redis.RedisError:
        log.warning("could not send the %s notification of job %s: Redis unavailable", event, job_id)


async def _publish_action(res: Resources, order: Order, type_: str, actor: str, **extra: Any) -> None:
    target = order.current_job_id or order.first_job_id
    assert target is not None
    await publish(
        res, [order_state.live(order.id, order.owner_id, target, type_, status=order.status, actor=actor, **extra)]
    )
