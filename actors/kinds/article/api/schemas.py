"""Request and response shapes of the orders and catalog endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from actors.kinds.article.params import NOTES_MAX

ANCHOR_MAX = 100
Notes = Annotated[str, msgspec.Meta(max_length=NOTES_MAX)]
RequiredNotes = Annotated[str, msgspec.Meta(min_length=1, max_length=NOTES_MAX)]
Text300 = Annotated[str, msgspec.Meta(max_length=300)]
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]


class CreateOrder(msgspec.Struct, forbid_unknown_fields=True):
    """``type`` article: ``domain``, ``topic`` and the backlink; backlink: ``article_id`` and the backlink."""

    type: Literal["article", "backlink"]
    target_url: Url
    anchor_text: Annotated[str, msgspec.Meta(max_length=1000)]
    domain: Annotated[str, msgspec.Meta(max_length=253)] | None = None
    article_id: uuid.UUID | None = None
    topic: Text300 = ""
    niche: Text300 = ""
    keyword: Text300 = ""
    notes: Notes = ""
    min_words: Annotated[int, msgspec.Meta(ge=1, le=20_000)] | None = None
    max_words: Annotated[int, msgspec.Meta(ge=1, le=20_000)] | None = None
    allow_external_links: bool = False
    complimentary: bool = False
    locale: Literal["en", "es"] = "en"


class RevisionRequest(msgspec.Struct, forbid_unknown_fields=True):
    notes: RequiredNotes


class SubmitRequest(msgspec.Struct, forbid_unknown_fields=True):
    version_id: uuid.UUID


class ApproveRequest(msgspec.Struct, forbid_unknown_fields=True):
    notes: Notes = ""


class RejectRequest(msgspec.Struct, forbid_unknown_fields=True):
    notes: RequiredNotes


class VersionOut(msgspec.Struct):
    id: str
    number: int
    title: str
    created_at: datetime
    qc_report: dict[str, Any]
    backlink: dict[str, Any]
    revision_notes: str | None
    revision_by: str | None
    job_id: str | None
    markdown: str | None = None
    # The Markdown rendered to HTML that runs no script (see ``render``).
    html: str | None = None


class OrderJobOut(msgspec.Struct):
    id: str
    kind: str
    queue: str
    status: str
    step: str | None
    created_at: datetime


class OrderOut(msgspec.Struct):
    id: str
    type: str
    status: str
    domain: str
    article_id: str | None
    topic: str
    keyword: str
    target_url: str
    anchor_text: str
    notes: str
    complimentary: bool
    amount_cents: int | None
    currency: str | None
    created_at: datetime
    updated_at: datetime
    step: int
    steps_total: int
    step_label: str
    can_request_revision: bool
    can_submit: bool
    links: dict[str, str]
    payment_url: str | None = None
    refund_status: str | None = None
    latest_version: VersionOut | None = None
    submitted_version_id: str | None = None
    jobs: list[OrderJobOut] = msgspec.field(default_factory=list)
    versions: list[VersionOut] = msgspec.field(default_factory=list)


class OrderPage(msgspec.Struct):
    items: list[OrderOut]
    total: int
    page: int
    per_page: int
    pages: int


class OrderEventOut(msgspec.Struct):
    at: datetime
    type: str
    actor: str
    from_status: str | None
    to_status: str | None
    notes: str | None
    detail: dict[str, Any] | None


class CreateDomain(msgspec.Struct, forbid_unknown_fields=True):
    hostname: Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
    article_price_cents: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
    backlink_price_cents: Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
    niche: Text300 = ""
    language: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2}$")] = "en"
    currency: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{3}$")] = "usd"


class DomainOut(msgspec.Struct):
    id: str
    hostname: str
    niche: str
    language: str
    article_price_cents: int
    backlink_price_cents: int
    currency: str
    articles: int


class CreateCatalogArticle(msgspec.Struct, forbid_unknown_fields=True):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    url: Url
    body: Annotated[str, msgspec.Meta(max_length=200_000)] = ""


class CatalogArticleOut(msgspec.Struct):
    id: str
    domain_id: str
    title: str
    url: str
    words: int
    body: str | None = None


class ImportLlms(msgspec.Struct, forbid_unknown_fields=True):
    job_id: uuid.UUID


class ImportResult(msgspec.Struct):
    domain: str
    added: int
    updated: int
