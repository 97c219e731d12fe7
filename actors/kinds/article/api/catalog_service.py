"""The catalog endpoints: customers read the domains and articles they can order; admins manage them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy import select
from sqlalchemy.orm import Session

from actors.kinds.article import catalog
from actors.kinds.article.api.schemas import (
    CatalogArticleOut,
    CreateCatalogArticle,
    CreateDomain,
    DomainOut,
    ImportLlms,
    ImportResult,
)
from actors.kinds.article.models import CatalogArticle, CatalogDomain
from actors.kinds.article.quality import count_words
from service.auth.admin import require_admin
from service.auth.principal import Principal
from service.errors import BadRequest, Conflict, NotFound, ServiceError
from service.resources import get_resources

AnyRequest = Request[Principal, Any, Any]


def as_service_error(exc: catalog.CatalogError) -> ServiceError:
    details = [{"field": exc.field, "message": str(exc)}]
    if exc.missing:
        return NotFound(str(exc), code="not_found", details=details)
    if exc.conflict:
        return Conflict(str(exc), code="conflict", details=details)
    return BadRequest(str(exc), code="invalid_catalog_input", details=details)


def domain_out(domain: CatalogDomain, articles: int) -> DomainOut:
    return DomainOut(
        str(domain.id),
        domain.hostname,
        domain.niche,
        domain.language,
        domain.article_price_cents,
        domain.backlink_price_cents,
        domain.currency,
        articles,
    )


def article_out(article: CatalogArticle, *, body: bool = False) -> CatalogArticleOut:
    return CatalogArticleOut(
        str(article.id),
        str(article.domain_id),
        article.title,
        article.url,
        count_words(article.body),
        article.body if body else None,
    )


async def _run(request: AnyRequest, work: Any) -> Any:
    """Run ``work(session)`` (sync catalog code) in one transaction; catalog errors become 4xx."""
    res = get_resources(request.app)
    async with res.sessions() as session, session.begin():
        try:
            return await session.run_sync(work)
        except catalog.CatalogError as exc:
            raise as_service_error(exc) from None


class CatalogController(Controller):
    tags = ("catalog",)

    @get("/api/catalog/domains", operation_id="listCatalogDomains")
    async def domains(self, request: AnyRequest) -> list[DomainOut]:
        def work(session: Session) -> list[DomainOut]:
            counts = catalog.article_counts(session)
            rows = session.scalars(select(CatalogDomain).order_by(CatalogDomain.hostname)).all()
            return [domain_out(d, counts.get(d.id, 0)) for d in rows]

        result: list[DomainOut] = await _run(request, work)
        return result

    @post("/api/catalog/domains", operation_id="createCatalogDomain", status_code=HTTP_201_CREATED)
    async def create_domain(self, request: AnyRequest, data: CreateDomain) -> DomainOut:
        require_admin(request.user)

        def work(session: Session) -> DomainOut:
            domain = catalog.add_domain(
                session,
                data.hostname,
                article_price_cents=data.article_price_cents,
                backlink_price_cents=data.backlink_price_cents,
                niche=data.niche,
                language=data.language,
                currency=data.currency,
            )
            return domain_out(domain, 0)

        result: DomainOut = await _run(request, work)
        return result

    @delete("/api/catalog/domains/{key:str}", operation_id="deleteCatalogDomain", status_code=HTTP_204_NO_CONTENT)
    async def delete_domain(self, request: AnyRequest, key: str) -> None:
        require_admin(request.user)
        await _run(request, lambda session: catalog.remove_domain(session, catalog.find_domain(session, key)))

    @get("/api/catalog/domains/{key:str}/articles", operation_id="listCatalogArticles")
    async def articles(self, request: AnyRequest, key: str) -> list[CatalogArticleOut]:
        def work(session: Session) -> list[CatalogArticleOut]:
            domain = catalog.find_domain(session, key)
            rows = session.scalars(
                select(CatalogArticle).where(CatalogArticle.domain_id == domain.id).order_by(CatalogArticle.title)
            ).all()
            return [article_out(a) for a in rows]

        result: list[CatalogArticleOut] = await _run(request, work)
        return result

    @post("/api/catalog/domains/{key:str}/articles", operation_id="createCatalogArticle", status_code=HTTP_201_CREATED)
    async def create_article(self, request: AnyRequest, key: str, data: CreateCatalogArticle) -> CatalogArticleOut:
        require_admin(request.user)

        def work(session: Session) -> CatalogArticleOut:
            domain = catalog.find_domain(session, key)
            return article_out(catalog.add_article(session, domain, title=data.title, url=data.url, body=data.body))

        result: CatalogArticleOut = await _run(request, work)
        return result

    @post("/api/admin/catalog/import-llms", operation_id="importCatalogFromLlms", status_code=200)
    async def import_llms(self, request: AnyRequest, data: ImportLlms) -> ImportResult:
        """Fill a domain's articles from a finished llms_txt job of its site."""
        require_admin(request.user)
        artifacts_dir = get_resources(request.app).settings.artifacts_dir

        def work(session: Session) -> ImportResult:
            domain, added, updated = catalog.import_llms(session, artifacts_dir, data.job_id)
            return ImportResult(domain.hostname, added, updated)

        result: ImportResult = await _run(request, work)
        return result
