"""``/api/admin/...``: the dashboard's data, its live stream, queue pause/resume and the job search."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import Parameter, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.status_codes import HTTP_200_OK

from db.statuses import JobStatus
from service.admin.overview import overview, set_paused
from service.admin.schemas import AdminJobPage, Overview, PauseResult
from service.admin.search import search_jobs
from service.auth.admin import require_admin
from service.auth.principal import Principal
from service.errors import BadRequest, NotFound
from service.resources import get_resources
from service.system.queue_names import known_queues

log = logging.getLogger("genjobs.admin")
# How often the dashboard's stream sends fresh counts.
STREAM_INTERVAL_SECONDS = 2.0
_STATUSES = [s.value for s in JobStatus]
_encoder = msgspec.json.Encoder()


def _known_queue(queue: str) -> str:
    if queue not in known_queues():
        raise NotFound(f"No queue named {queue!r}.", code="unknown_queue", details={"known": sorted(known_queues())})
    return queue


class AdminController(Controller):
    path = "/api/admin"
    tags = ("admin",)

    @get("/overview", operation_id="adminOverview")
    async def get_overview(self, request: Request[Principal, Any, Any]) -> Overview:
        """Every queue's counts (waiting, delayed, running, retrying, failed in the last hour, dead letters,
        paused) and the live workers."""
        require_admin(request.user)
        return await overview(get_resources(request.app))

    @get("/stream", operation_id="adminStream")
    async def stream(self, request: Request[Principal, Any, Any]) -> ServerSentEvent:
        """The overview as an ``overview`` event now and every few seconds, until the client goes away."""
        require_admin(request.user)
        res = get_resources(request.app)

        async def overviews() -> AsyncIterator[ServerSentEventMessage]:
            while True:
                yield ServerSentEventMessage(data=_encoder.encode(await overview(res)).decode(), event="overview")
                await asyncio.sleep(STREAM_INTERVAL_SECONDS)

        return ServerSentEvent(overviews(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @post("/queues/{queue:str}/pause", operation_id="adminPauseQueue", status_code=HTTP_200_OK)
    async def pause(self, request: Request[Principal, Any, Any], queue: str) -> PauseResult:
        """Workers take nothing from the queue until it is resumed; its messages stay."""
        require_admin(request.user)
        await set_paused(get_resources(request.app), _known_queue(queue), True)
        log.info("queue %s paused by admin %s", queue, request.user.id)
        return PauseResult(queue, True)

    @post("/queues/{queue:str}/resume", operation_id="adminResumeQueue", status_code=HTTP_200_OK)
    async def resume(self, request: Request[Principal, Any, Any], queue: str) -> PauseResult:
        require_admin(request.user)
        await set_paused(get_resources(request.app), _known_queue(queue), False)
        log.info("queue %s resumed by admin %s", queue, request.user.id)
        return PauseResult(queue, False)

    @get("/jobs", operation_id="adminSearchJobs")
    async def jobs(
        self,
        request: Request[Principal, Any, Any],
        job_id: Annotated[uuid.UUID | None, QueryParameter(name="id")] = None,
        owner: Annotated[str | None, Parameter(max_length=320)] = None,
        kind: Annotated[str | None, Parameter(max_length=64)] = None,
        status: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        page: Annotated[int, Parameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> AdminJobPage:
        """Anyone's jobs, newest first, filtered by id, owner email (any part), kind, status and creation time."""
        require_admin(request.user)
        if status is not None and status not in _STATUSES:
            raise BadRequest(
                f"Unknown status {status!r}. Use one of: {', '.join(_STATUSES)}.",
                code="invalid_status",
                details={"allowed": _STATUSES},
            )
        return await search_jobs(
            get_resources(request.app),
            job_id=job_id,
            owner=owner.strip() if owner else None,
            kind=kind,
            status=status,
            created_after=created_after,
            created_before=created_before,
            page=page,
            per_page=per_page,
        )
