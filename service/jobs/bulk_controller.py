"""HTTP handlers of cancelling without deleting and of the bulk actions; each calls one function of
``service.jobs.bulk``."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, post
from litestar.status_codes import HTTP_200_OK

from service.auth.principal import Principal
from service.jobs import bulk
from service.jobs.bulk import BulkRequest, BulkResult
from service.jobs.schemas import JobOut
from service.resources import get_resources


class JobActionsController(Controller):
    path = "/api/jobs"
    tags = ("jobs",)

    @post("/{job_id:uuid}/cancel", operation_id="cancelJob", status_code=HTTP_200_OK)
    async def cancel_job(self, request: Request[Principal, Any, Any], job_id: uuid.UUID) -> JobOut:
        """Cancel the job; unlike DELETE it stays in lists with its history."""
        return await bulk.cancel_job(get_resources(request.app), request.user, job_id)

    @post("/cancel", operation_id="cancelJobs", status_code=HTTP_200_OK)
    async def cancel_jobs(self, request: Request[Principal, Any, Any], data: BulkRequest) -> BulkResult:
        """Cancel the listed jobs, or those matching a filter (at most 100); one outcome per job."""
        return await bulk.bulk_cancel(get_resources(request.app), request.user, data)

    @post("/retry", operation_id="retryJobs", status_code=HTTP_200_OK)
    async def retry_jobs(self, request: Request[Principal, Any, Any], data: BulkRequest) -> BulkResult:
        """Retry the listed jobs, or those matching a filter (at most 100); one outcome per job."""
        return await bulk.bulk_retry(get_resources(request.app), request.user, data)
