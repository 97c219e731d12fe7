"""``GET /api/quota``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get

from service.auth.principal import Principal
from service.quota.service import QuotaStatus, quota_status
from service.resources import get_resources


class QuotaController(Controller):
    tags = ("quota",)

    @get("/api/quota", operation_id="getQuota")
    async def quota(self, request: Request[Principal, Any, Any]) -> QuotaStatus:
        """Whether the caller can start a generation, how many they used and when the quota resets."""
        res = get_resources(request.app)
        async with res.sessions() as session:
            return await quota_status(session, res.settings, request.user)
