"""Pricing of a job option as the API sees it: validated params in, a quote (or None when free) out."""

from __future__ import annotations

from typing import Any

import msgspec

from actors.registry import JobKind, all_kinds, get_kind
from service.errors import BadRequest, NotFound
from service.payments.pricing import Quote, load_pricing, quote_for, rule_for
from service.resources import Resources
from service.sites.analysis import analyze_site


async def price_of(res: Resources, kind: JobKind, params: Any) -> Quote | None:
    """The price of a job with validated ``params``, or None when that option is free.

    A job on a website is priced on the pages the site has (its cached analysis), at most ``max_urls``:
    a 20-page site costs the same whatever cap the user chose.
    """
    table = load_pricing(res.settings.stripe.pricing)
    if rule_for(table, kind, params) is None:
        return None
    target, cap = getattr(params, "target", None), getattr(params, "max_urls", None)
    url_count = None
    if isinstance(target, str) and isinstance(cap, int):
        url_count = min((await analyze_site(res, target)).urls_count, cap)
    return quote_for(table, kind, params, url_count=url_count)


async def quote_from_query(res: Resources, kind_name: str, query: dict[str, str]) -> Quote:
    """``GET /api/quote``: the kind's params come as query parameters (strings, converted leniently)."""
    kind = get_kind(kind_name)
    if kind is None:
        known = sorted(all_kinds())
        raise BadRequest(f"Unknown job kind {kind_name!r}.", code="unknown_kind", details={"known_kinds": known})
    try:
        params = msgspec.convert(query, kind.params, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(
            f"Invalid params for kind {kind.name!r}: {exc}",
            code="invalid_params",
            details=[{"field": "params", "message": str(exc)}],
        ) from None
    quote = await price_of(res, kind, params)
    if quote is None:
        raise NotFound(
            f"This option of {kind.name!r} is free: there is nothing to pay.",
            code="not_paid",
            details={"kind": kind.name, "provider": getattr(params, "provider", None)},
        )
    return quote
