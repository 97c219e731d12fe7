"""The catalog: publisher domains and their articles, managed by admins (API and CLI), read by customers.

Works on a plain SQLAlchemy ``Session``-like object through ``run`` so the API (async) and the CLI (sync)
share it: the API calls these functions with ``AsyncSession.run_sync``.

A domain's articles can be filled from a finished ``llms_txt`` job of that site (``import_llms``): every page
of its ``bundle.zip`` (``pages/*.md``: ``# Title``, ``Source: <url>``, the page's Markdown) becomes, or
updates, the article with that URL.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from actors.kinds.article.models import CatalogArticle, CatalogDomain, Order

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$")
_SOURCE = re.compile(r"^Source:\s*(\S+)\s*$", re.MULTILINE)
MAX_IMPORT_PAGES = 5000
MAX_BODY_CHARS = 200_000
BUNDLE = "bundle.zip"


class CatalogError(ValueError):
    """Bad catalog input; ``field`` names what was wrong, ``conflict`` marks a duplicate."""

    def __init__(self, field: str, message: str, *, conflict: bool = False, missing: bool = False) -> None:
        super().__init__(message)
        self.field, self.conflict, self.missing = field, conflict, missing


def normalize_host(hostname: str) -> str:
    host = hostname.strip().lower().rstrip(".")
    if host.startswith(("http://", "https://")):
        host = urlsplit(host).hostname or ""
    if not _HOST.match(host):
        raise CatalogError("hostname", f"{hostname!r} is not a hostname such as example.com.")
    return host


def _same_site(url: str, host: str) -> bool:
    parts = urlsplit(url)
    found = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and found.removeprefix("www.") == host.removeprefix("www.")


def add_domain(
    session: Session,
    hostname: str,
    *,
    article_price_cents: int,
    backlink_price_cents: int,
    niche: str = "",
    language: str = "en",
    currency: str = "usd",
) -> CatalogDomain:
    host = normalize_host(hostname)
    if session.scalar(select(CatalogDomain.id).where(CatalogDomain.hostname == host)) is not None:
        raise CatalogError("hostname", f"The catalog already has {host}.", conflict=True)
    domain = CatalogDomain(
        id=uuid.uuid4(),
        hostname=host,
        niche=niche.strip(),
        language=language,
        article_price_cents=article_price_cents,
        backlink_price_cents=backlink_price_cents,
        currency=currency,
    )
    session.add(domain)
    try:
        session.flush()
    except IntegrityError:
        raise CatalogError("hostname", f"The catalog already has {host}.", conflict=True) from None
    return domain


def find_domain(session: Session, key: str) -> CatalogDomain:
    """A domain by id or hostname."""
    try:
        domain = session.get(CatalogDomain, uuid.UUID(key))
    except ValueError:
        domain = session.scalar(select(CatalogDomain).where(CatalogDomain.hostname == key.strip().lower()))
    if domain is None:
        raise CatalogError("domain", f"Unknown domain {key!r}.", missing=True)
    return domain


def add_article(session: Session, domain: CatalogDomain, *, title: str, url: str, body: str) -> CatalogArticle:
    if not _same_site(url, domain.hostname):
        raise CatalogError("url", f"The article's URL must be an http(s) URL on {domain.hostname}.")
    if session.scalar(
        select(CatalogArticle.id).where(CatalogArticle.domain_id == domain.id, CatalogArticle.url == url)
    ):
        raise CatalogError("url", f"{domain.hostname} already has an article at {url}.", conflict=True)
    article = CatalogArticle(id=uuid.uuid4(), domain_id=domain.id, title=title.strip(), url=url, body=body)
    session.add(article)
    session.flush()
    return article


def remove_domain(session: Session, domain: CatalogDomain) -> None:
    if session.scalar(select(func.count()).select_from(Order).where(Order.domain_id == domain.id)):
        raise CatalogError("domain", f"{domain.hostname} has orders and stays in the catalog.", conflict=True)
    session.delete(domain)
    session.flush()


def article_counts(session: Session) -> dict[uuid.UUID, int]:
    rows = session.execute(select(CatalogArticle.domain_id, func.count()).group_by(CatalogArticle.domain_id)).all()
    return {domain_id: count for domain_id, count in rows}


def read_bundle(path: Path, host: str) -> list[tuple[str, str, str]]:
    """``(title, url, markdown)`` of the bundle's pages on ``host`` (at most ``MAX_IMPORT_PAGES``)."""
    pages: list[tuple[str, str, str]] = []
    with zipfile.ZipFile(path) as bundle:
        for info in bundle.infolist():
            if len(pages) >= MAX_IMPORT_PAGES:
                break
            if not (info.filename.startswith("pages/") and info.filename.endswith(".md")) or info.is_dir():
                continue
            with bundle.open(info) as member:
                # Read a bounded amount whatever the header claims (a bomb declares a small size).
                text = member.read(MAX_BODY_CHARS * 4).decode("utf-8", "replace")
            head, _, rest = text.partition("\n")
            source = _SOURCE.search(text)
            if source is None or not _same_site(source.group(1), host):
                continue
            title = head.removeprefix("# ").strip() or source.group(1)
            body = rest[source.end() - len(head) - 1 :].strip()[:MAX_BODY_CHARS]
            pages.append((title[:500], source.group(1), body))
    return pages


def import_pages(session: Session, domain: CatalogDomain, pages: list[tuple[str, str, str]]) -> tuple[int, int]:
    """Add or update the domain's articles by URL; returns (added, updated)."""
    existing = {
        a.url: a for a in session.scalars(select(CatalogArticle).where(CatalogArticle.domain_id == domain.id)).all()
    }
    added = updated = 0
    for title, url, body in pages:
        article = existing.get(url)
        if article is None:
            article = CatalogArticle(id=uuid.uuid4(), domain_id=domain.id, title=title, url=url, body=body)
            session.add(article)
            existing[url] = article
            added += 1
        else:
            article.title, article.body = title, body
            updated += 1
    session.flush()
    return added, updated


def bundle_path(artifacts_dir: str, job_id: uuid.UUID) -> Path:
    return Path(artifacts_dir) / str(job_id) / BUNDLE


def import_llms(session: Session, artifacts_dir: str, job_id: uuid.UUID) -> tuple[CatalogDomain, int, int]:
    """Fill the catalog domain of a finished ``llms_txt`` job's site with its pages; (domain, added, updated)."""
    from db.models import Job

    job = session.get(Job, job_id)
    if job is None or job.kind != "llms_txt" or job.deleted_at is not None:
        raise CatalogError("job_id", f"No llms_txt job {job_id}.", missing=True)
    if job.status != "succeeded":
        raise CatalogError("job_id", f"The llms_txt job is {job.status}; import from a succeeded one.", conflict=True)
    target = str((job.params or {}).get("hostname") or (job.params or {}).get("url") or "")
    host = (urlsplit(target if "//" in target else f"//{target}").hostname or "").lower()
    domain = session.scalar(
        select(CatalogDomain).where(
            CatalogDomain.hostname.in_({host, host.removeprefix("www."), "www." + host.removeprefix("www.")})
        )
    )
    if domain is None:
        raise CatalogError("job_id", f"{host or target} is not in the catalog: add the domain first.")
    path = bundle_path(artifacts_dir, job.id)
    if not path.is_file():
        raise CatalogError(
            "job_id", "The job's bundle.zip is gone (artifacts are deleted after a while).", missing=True
        )
    added, updated = import_pages(session, domain, read_bundle(path, domain.hostname))
    return domain, added, updated
