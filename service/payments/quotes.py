"""Pricing of a job option as the API sees it: validated params in, a quote (or None when free) out."""

from __future__ import annotations

from typing import Any

import msgspec

from actors.registry import JobKind, all_kinds, get_kind, resolve
from service.errors import BadRequest, NotFound
from service.payments.pricing import Quote, load_pricing, quote_for, rule_for
from service.resources import Resources


async def price_of(res: Resources, kind: JobKind, params: Any) -> Quote | None:
    """The price of a job with validated ``params``, or None when that option is free.

    The quantity priced comes from the kind (``JobKind.price_quantity``, e.g. the pages a site has).
    """
    table = load_pricing(res.settings.stripe.pricing)
    if rule_for(table, kind, params) is None:
        return None
    quantity = await resolve(kind.price_quantity)(res, params) if kind.price_quantity else None
    return quote_for(table, kind, params, url_count=quantity)


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
