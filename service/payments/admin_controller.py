"""``POST /api/admin/payments/{session_id}/start``: admins start a paid job by hand."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from service.auth.principal import Principal
from service.jobs.schemas import JobOut
from service.payments.admin import start_by_admin
from service.resources import get_resources


class PaymentsAdminController(Controller):
    tags = ("admin",)

    @post("/api/admin/payments/{session_id:str}/start", operation_id="adminStartPaidJob", status_code=HTTP_202_ACCEPTED)
    async def start(
        self,
        request: Request[Principal, Any, Any],
        session_id: Annotated[str, Parameter(min_length=1, max_length=255)],
    ) -> JobOut:
        """Start the job of a Checkout Session once Stripe says it is paid (admins only; others get 404)."""
        return await start_by_admin(get_resources(request.app), request.user, session_id)
