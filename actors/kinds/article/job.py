"""The order kinds' handler (workers only): one generation, checked, stored as the order's next version.

Steps, each a progress step ("step X of 5" on the order page): ``context`` (the order, its domain and the
internal-link candidates), ``generating`` (the configured model), ``quality_check``, ``storing`` (a new
immutable version; the order goes to ``quality_check``), ``review`` (the customer is told by the job's
``succeeded`` notification). A text that fails the check is generated again with the check's problems in the
prompt, up to ``qc_attempts`` times; then the job fails for good: a first generation fails the order (its
payment is refunded by the platform's refund of a failed paid job), a revision leaves the order with its
current version, back in ``quality_check``.

Safe to run twice: a job that already stored its version only returns it; a job that is not its order's
current job does nothing but fail.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import httpx
import msgspec
import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from actors.context import JobContext
from actors.errors import PermanentJobError
from actors.kinds.article import order_state
from actors.kinds.article.links import order_job_result
from actors.kinds.article.models import CatalogArticle, CatalogDomain, Order, OrderVersion
from actors.kinds.article.params import OrderJobParams, RevisionJobParams
from actors.kinds.article.prompts import (
    SYSTEM,
    Brief,
    InternalLink,
    article_prompt,
    backlink_prompt,
    clean_answer,
    revision_prompt,
)
from actors.kinds.article.quality import QcReport, QcRules, check_quality
from actors.kinds.article.settings import ArticleSettings
from actors.kinds.article.statuses import STEPS, OrderStatus, OrderType
from actors.llm.chat import ChatClient
from actors.llm.errors import PASSING, ProviderCallError
from actors.outbound import tls_context
from db.live import LiveEvent

log = logging.getLogger("genjobs.article")
TOTAL = len(STEPS)


class Work(msgspec.Struct, frozen=True):
    """What one generation needs, read in one transaction."""

    order_id: uuid.UUID
    owner_id: uuid.UUID
    type: str
    brief: Brief
    rules: QcRules
    base_title: str
    base_markdown: str
    article_id: str | None


def run_order_job(ctx: JobContext, params: OrderJobParams | RevisionJobParams) -> dict[str, Any]:
    """The handler of ``article``, ``backlink`` and ``article_revision`` jobs."""
    settings: ArticleSettings = ctx.settings
    order_id = uuid.UUID(params.order_id)
    revision = params if isinstance(params, RevisionJobParams) else None
    ctx.progress(1, TOTAL, STEPS[0][0])
    with ctx.runtime.sessions() as session, session.begin():
        done = session.scalar(select(OrderVersion).where(OrderVersion.job_id == ctx.job_id))
        if done is not None:
            return _result(settings, order_id, done)
        work = _start(session, ctx, settings, order_id, revision)
    _publish(ctx, _order_live(ctx, work, "processing", OrderStatus.PROCESSING))

    problems: list[str] = []
    report: QcReport | None = None
    markdown = ""
    for attempt in range(1, settings.qc_attempts + 1):
        ctx.progress(2, TOTAL, STEPS[1][0])
        prompt = _prompt(work, revision, problems)
        markdown = clean_answer(asyncio.run(_ask(settings, prompt)))
        ctx.progress(3, TOTAL, STEPS[2][0])
        report = check_quality(markdown, work.rules)
        if report.passed:
            break
        problems = [p.message for p in report.problems]
        log.info("order %s: attempt %d failed the quality check: %s", order_id, attempt, problems)
    assert report is not None
    if not report.passed:
        _give_up(ctx, work, revision, problems)

    ctx.progress(4, TOTAL, STEPS[3][0])
    with ctx.runtime.sessions() as session, session.begin():
        version = _store(session, ctx, work, revision, markdown, report, attempt)
    _publish(ctx, _order_live(ctx, work, "version_ready", OrderStatus.QUALITY_CHECK, version=version.number))
    ctx.progress(5, TOTAL, STEPS[4][0])
    return _result(settings, order_id, version)


async def _ask(settings: ArticleSettings, prompt: str) -> str:
    async with httpx.AsyncClient(verify=tls_context()) as client:
        try:
            return await ChatClient(client, settings.chat).ask(SYSTEM, prompt)
        except ProviderCallError as exc:
            if exc.cause in PASSING:
                raise  # the job is retried with backoff
            raise PermanentJobError(f"The language model refused the request ({exc}).") from None


def _start(
    session: Session,
    ctx: JobContext,
    settings: ArticleSettings,
    order_id: uuid.UUID,
    revision: RevisionJobParams | None,
) -> Work:
    order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None or order.owner_id != ctx.owner_id or order.current_job_id != ctx.job_id:
        raise PermanentJobError("This job does not belong to an order it may work on.")
    if order.status == OrderStatus.PENDING_PAYMENT:
        # The payment went through (the platform queued this job on Stripe's webhook).
        session.execute(order_state.move(order.id, order.status, OrderStatus.PROCESSING))
        session.execute(
            order_state.event(order.id, "paid", actor=f"job:{ctx.job_id}", frm=order.status, to="processing")
        )
    elif order.status != OrderStatus.PROCESSING:
        raise PermanentJobError(f"The order is {order.status}; there is nothing to generate.")
    domain = session.get_one(CatalogDomain, order.domain_id)
    candidates = session.scalars(
        select(CatalogArticle)
        .where(CatalogArticle.domain_id == domain.id, CatalogArticle.id != order.article_id)
        .order_by(CatalogArticle.created_at)
        .limit(settings.max_internal_links)
    ).all()
    base_title, base_markdown = "", ""
    if revision is not None:
        latest = session.scalar(
            select(OrderVersion).where(OrderVersion.order_id == order.id).order_by(OrderVersion.number.desc()).limit(1)
        )
        if latest is None:
            raise PermanentJobError("There is no version to revise.")
        base_title, base_markdown = latest.title, latest.markdown
    elif order.type == OrderType.BACKLINK and order.article_id is not None:
        article = session.get_one(CatalogArticle, order.article_id)
        base_title, base_markdown = article.title, article.body
    links = tuple(InternalLink(a.title, a.url) for a in candidates)
    brief = Brief(
        language=domain.language,
        hostname=domain.hostname,
        target_url=order.target_url,
        anchor_text=order.anchor_text,
        topic=order.topic,
        niche=order.niche or domain.niche,
        keyword=order.keyword,
        notes=order.notes,
        min_words=order.min_words,
        max_words=order.max_words,
        allow_external_links=order.allow_external_links,
        internal_links=links,
    )
    rules = QcRules(
        target_url=order.target_url,
        anchor_text=order.anchor_text,
        domain_host=domain.hostname,
        # The article the backlink goes into may link to itself.
        catalog_urls=frozenset([a.url for a in candidates] + _own_url(session, order)),
        keyword=order.keyword,
        min_words=order.min_words,
        max_words=order.max_words,
        allow_external_links=order.allow_external_links,
    )
    return Work(
        order_id=order.id,
        owner_id=order.owner_id,
        type=order.type,
        brief=brief,
        rules=rules,
        base_title=base_title,
        base_markdown=base_markdown,
        article_id=str(order.article_id) if order.article_id else None,
    )


def _own_url(session: Session, order: Order) -> list[str]:
    if order.article_id is None:
        return []
    return [session.get_one(CatalogArticle, order.article_id).url]


def _prompt(work: Work, revision: RevisionJobParams | None, problems: list[str]) -> str:
    if revision is not None:
        return revision_prompt(work.brief, work.base_markdown, revision.notes, problems)
    if work.type == OrderType.BACKLINK:
        return backlink_prompt(work.brief, work.base_title, work.base_markdown, problems)
    return article_prompt(work.brief, problems)


def _give_up(ctx: JobContext, work: Work, revision: RevisionJobParams | None, problems: list[str]) -> None:
    """No attempt passed: the order fails (a first generation) or keeps its version (a revision)."""
    to = OrderStatus.QUALITY_CHECK if revision is not None else OrderStatus.FAILED
    with ctx.runtime.sessions() as session, session.begin():
        moved = session.execute(order_state.move(work.order_id, OrderStatus.PROCESSING, to)).first()
        if moved is not None:
            session.execute(
                order_state.event(
                    work.order_id,
                    "quality_check_failed",
                    actor=f"job:{ctx.job_id}",
                    frm=OrderStatus.PROCESSING,
                    to=to,
                    detail={"problems": problems},
                )
            )
    _publish(ctx, _order_live(ctx, work, "quality_check_failed", to, problems=problems))
    what = "The revision" if revision is not None else "The text"
    raise PermanentJobError(
        f"{what} failed the quality check {ctx.settings.qc_attempts} times: " + " ".join(problems[:3])
    )


def _store(
    session: Session,
    ctx: JobContext,
    work: Work,
    revision: RevisionJobParams | None,
    markdown: str,
    report: QcReport,
    attempt: int,
) -> OrderVersion:
    number = (
        session.scalar(
            select(func.coalesce(func.max(OrderVersion.number), 0)).where(OrderVersion.order_id == work.order_id)
        )
        or 0
    ) + 1
    backlink: dict[str, Any] = {"target_url": work.rules.target_url, "anchor_text": work.rules.anchor_text}
    if work.article_id:
        backlink["article_id"] = work.article_id
    version = OrderVersion(
        order_id=work.order_id,
        number=number,
        title=report.title,
        markdown=markdown,
        qc_report={**msgspec.to_builtins(report), "attempt": attempt},
        backlink=backlink,
        revision_notes=revision.notes if revision else None,
        revision_by=revision.by if revision else None,
        job_id=ctx.job_id,
    )
    session.add(version)
    session.flush()
    moved = session.execute(order_state.move(work.order_id, OrderStatus.PROCESSING, OrderStatus.QUALITY_CHECK)).first()
    if moved is None:
        raise PermanentJobError("The order changed while its text was written (cancelled or failed).")
    session.execute(
        order_state.event(
            work.order_id,
            "version_ready",
            actor=f"job:{ctx.job_id}",
            frm=OrderStatus.PROCESSING,
            to=OrderStatus.QUALITY_CHECK,
            detail={"version": number, "version_id": str(version.id)},
        )
    )
    return version


def _order_live(ctx: JobContext, work: Work, type_: str, status: OrderStatus, **extra: Any) -> LiveEvent:
    actor = f"job:{ctx.job_id}"
    return order_state.live(work.order_id, work.owner_id, ctx.job_id, type_, status=status.value, actor=actor, **extra)


def _publish(ctx: JobContext, event: LiveEvent) -> None:
    # Postgres holds the change; a page that misses the live event gets it from its next snapshot.
    try:
        ctx.runtime.publisher.publish([event])
    except redis.RedisError:
        log.warning("could not publish the order event %s of job %s: Redis unavailable", event.type, event.job_id)


def _result(settings: ArticleSettings, order_id: uuid.UUID, version: OrderVersion) -> dict[str, Any]:
    return {
        "order_id": str(order_id),
        "version_id": str(version.id),
        "version": version.number,
        "title": version.title,
        "word_count": version.qc_report.get("word_count"),
        **order_job_result(settings.public_url, order_id),
    }
