"""``GET /api/sites/analyze?hostname=``: how many pages a site has, within a 10 s budget."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter

from service.auth.principal import Principal
from service.resources import get_resources
from service.sites.analysis import SiteAnalysis, analyze_site


class SitesController(Controller):
    tags = ("sites",)

    @get("/api/sites/analyze", operation_id="analyzeSite")
    async def analyze(
        self,
        request: Request[Principal, Any, Any],
        hostname: Annotated[str, Parameter(min_length=1, max_length=2048)],
    ) -> SiteAnalysis:
        """Read robots.txt and the sitemaps (or follow links) and count the pages; stops after 10 s.

        The answer is cached for 10 minutes (the price of a paid generation is computed from it)."""
        return await analyze_site(get_resources(request.app), hostname)
