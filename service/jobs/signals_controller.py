"""HTTP handlers of signals to waiting jobs; each calls one function of ``service.jobs.signals``."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, post
from litestar.status_codes import HTTP_202_ACCEPTED

from service.auth.principal import Principal
from service.jobs import signals
from service.jobs.schemas import JobOut
from service.resources import get_resources

# A signal's payload is a small JSON object (a review's notes, a decision).
MAX_BODY_BYTES = 64 * 1024


class SignalsController(Controller):
    tags = ("jobs",)

    @post(
        "/api/jobs/{job_id:uuid}/signals/{name:str}",
        operation_id="signalJob",
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=MAX_BODY_BYTES,
    )
    async def signal_job(self, request: Request[Principal, Any, Any], job_id: uuid.UUID, name: str) -> JobOut:
        """Resume a waiting job with a signal its kind declares; the JSON body is the signal's payload."""
        res = get_resources(request.app)
        return await signals.signal_job(res, request.user, job_id, name, await request.body())

    @post(
        "/api/webhooks/signals/{job_id:uuid}/{name:str}",
        operation_id="signalJobByWebhook",
        status_code=HTTP_202_ACCEPTED,
        request_max_body_size=MAX_BODY_BYTES,
    )
    async def signal_job_by_webhook(self, request: Request[Any, Any, Any], job_id: uuid.UUID, name: str) -> JobOut:
        """The same for an outside system: no credentials, the body signed with the kind's webhook key."""
        return await signals.signal_job_by_webhook(
            get_resources(request.app),
            job_id,
            name,
            await request.body(),
            timestamp=request.headers.get("x-genjobs-timestamp"),
            signature=request.headers.get("x-genjobs-signature"),
        )
