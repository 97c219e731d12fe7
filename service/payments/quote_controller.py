"""``GET /api/quote``: the price of a paid job option, shown before the user pays."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter

from service.auth.principal import Principal
from service.payments.pricing import Quote
from service.payments.quotes import quote_from_query
from service.resources import get_resources


class QuoteController(Controller):
    tags = ("payments",)

    @get("/api/quote", operation_id="getQuote")
    async def quote(
        self, request: Request[Principal, Any, Any], kind: Annotated[str, Parameter(min_length=1, max_length=64)]
    ) -> Quote:
        """Amount, currency and breakdown of ``kind`` with the other query parameters as its params
        (e.g. ``?kind=<kind>&<param>=<value>``), priced on the pages the
        site has (at most ``max_urls``); 404 ``not_paid`` when free."""
        query = {k: v for k, v in request.query_params.items() if k != "kind"}
        return await quote_from_query(get_resources(request.app), kind, query)
