"""HTTP handlers of the jobs resource; each calls one function of ``service.jobs.service``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import HTTPException
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from db.statuses import JobStatus
from service.auth.principal import Principal
from service.errors import BadRequest, PayloadTooLarge
from service.jobs import creation, service
from service.jobs.schemas import CreatedJob, CreateJobRequest, HistoryEntry, JobOut, JobPage
from service.resources import get_resources
from service.uploads.jobs import create_job_with_files
from service.uploads.receive import is_multipart

# JSON bodies of createJob: Litestar's default request limit, which that route lifts for multipart uploads.
JSON_BODY_LIMIT = 10_000_000

_STATUSES = [s.value for s in JobStatus]


def created_response(job: JobOut, created: bool) -> Response[CreatedJob]:
    payment_url = job.payment.url if job.payment is not None else None
    tracking = (job.result or {}).get("tracking_url")
    tracking_url = tracking if isinstance(tracking, str) else None
    body = CreatedJob(job.id, job.kind, job.status, job.created_at, job.links, payment_url, tracking_url)
    return Response(body, status_code=HTTP_202_ACCEPTED if created else 200, headers={"Location": job.links.self})


async def _multipart_or_json(request: Request[Principal, Any, Any]) -> Response[CreatedJob] | None:
    """Runs before the body is parsed: a multipart body is a job with files, answered here; a JSON body goes
    on to ``create_job`` once its announced size is under the app's JSON limit."""
    if is_multipart(request):
        job, created = await create_job_with_files(get_resources(request.app), request.user, request)
        return created_response(job, created)
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        # Without a length the JSON body would be read whole with no bound.
        raise HTTPException(status_code=411, detail="Send the job with a Content-Length header.")
    if int(length) > JSON_BODY_LIMIT:
        raise PayloadTooLarge(
            f"The request body is larger than {JSON_BODY_LIMIT} bytes.", details={"limit_bytes": JSON_BODY_LIMIT}
        )
    return None


class JobsController(Controller):
    path = "/api/jobs"
    tags = ("jobs",)

    # The body limit is None here because a multipart body (a job with files) is streamed to disk under its
    # own cap by ``create_job_with_files``; ``_multipart_or_json`` keeps JSON bodies under Litestar's limit.
    @post(
        "/",
        operation_id="createJob",
        status_code=HTTP_202_ACCEPTED,
        before_request=_multipart_or_json,
        request_max_body_size=None,
        # Not only JSON: ``_multipart_or_json`` answers multipart bodies itself (same-site rules still apply).
        opt={"also_accepts": ("multipart/form-data",)},
    )
    async def create_job(self, request: Request[Principal, Any, Any], data: CreateJobRequest) -> Response[CreatedJob]:
        """Start a job. Answers 202 with its id at once; 200 with the existing job for a repeated idempotency key.

        Kinds that take files are sent as ``multipart/form-data`` instead: parts ``kind``, ``params`` (JSON),
        optional ``priority`` and ``idempotency_key``, and the kind's file parts."""
        job, created = await creation.create_job(get_resources(request.app), request.user, data)
        return created_response(job, created)

    @get("/", operation_id="listJobs")
    async def list_jobs(
        self,
        request: Request[Principal, Any, Any],
        page: Annotated[int, Parameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Parameter(ge=1, le=100)] = 5,
        status: str | None = None,
        kind: Annotated[str | None, Parameter(max_length=64)] = None,
    ) -> JobPage:
        """The caller's jobs, newest first."""
        if status is not None and status not in _STATUSES:
            raise BadRequest(
                f"Unknown status {status!r}. Use one of: {', '.join(_STATUSES)}.",
                code="invalid_status",
                details={"allowed": _STATUSES},
            )
        return await service.list_jobs(
            get_resources(request.app), request.user, page=page, per_page=per_page, status=status, kind=kind
        )

    @get("/{job_id:uuid}", operation_id="getJob")
    async def get_job(self, request: Request[Principal, Any, Any], job_id: uuid.UUID) -> JobOut:
        """The job's snapshot: status, progress, result, error, timings."""
        return await service.get_job(get_resources(request.app), request.user, job_id)

    @delete("/{job_id:uuid}", operation_id="deleteJob", status_code=HTTP_204_NO_CONTENT)
    async def delete_job(self, request: Request[Principal, Any, Any], job_id: uuid.UUID) -> None:
        """Cancel the job if it is queued or running, and remove it from lists (its history is kept)."""
        await service.delete_job(get_resources(request.app), request.user, job_id)

    @post("/{job_id:uuid}/retry", operation_id="retryJob", status_code=HTTP_202_ACCEPTED)
    async def retry_job(self, request: Request[Principal, Any, Any], job_id: uuid.UUID) -> JobOut:
        """Run a failed, timed-out or cancelled job again."""
        return await service.retry_job(get_resources(request.app), request.user, job_id)

    @get("/{job_id:uuid}/history", operation_id="getJobHistory")
    async def job_history(self, request: Request[Principal, Any, Any], job_id: uuid.UUID) -> list[HistoryEntry]:
        """The audit trail, oldest first."""
        return await service.job_history(get_resources(request.app), request.user, job_id)
