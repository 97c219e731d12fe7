"""SSE endpoints: one job's events, and many jobs multiplexed on one connection."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import ServerSentEvent
from sqlalchemy import select

from db.live import job_channel, job_stream_key, user_channel, user_stream_key
from db.models import Job
from service.auth.principal import Principal
from service.errors import BadRequest, NotFound
from service.events.streams import StreamPlan, job_ids_filter, open_event_stream
from service.events.wire import EventStream
from service.jobs.schemas import job_out
from service.jobs.service import own_jobs, visible_job, visible_to
from service.resources import Resources, get_resources

_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
MAX_MULTIPLEXED_JOBS = 200
_encoder = msgspec.json.Encoder()


def _snapshot(job: Job) -> tuple[str, str, bytes]:
    body = msgspec.to_builtins(job_out(job))
    return str(job.id), job.status, _encoder.encode({"job_id": str(job.id), **body})


def _last_event_id(request: Request[Any, Any, Any], query_value: str | None) -> str | None:
    return request.headers.get("last-event-id") or query_value


async def _load_snapshots(
    res: Resources, user: Principal, job_ids: list[uuid.UUID] | None
) -> list[tuple[str, str, bytes]]:
    return [_snapshot(job) for job in await own_jobs(res, user, job_ids, limit=MAX_MULTIPLEXED_JOBS)]


class EventsController(Controller):
    tags = ("events",)

    @get("/api/jobs/{job_id:uuid}/events", operation_id="streamJobEvents")
    async def job_events(
        self,
        request: Request[Principal, Any, Any],
        job_id: uuid.UUID,
        last_event_id: Annotated[str | None, Parameter(query="last_event_id", max_length=64)] = None,
    ) -> ServerSentEvent:
        """A snapshot, then progress and status events of one job; ends after its final status."""
        res = get_resources(request.app)
        user = request.user

        # Either one answers 404 for a job that is not the caller's (before the response starts).
        async def snapshots() -> list[tuple[str, str, bytes]]:
            return [_snapshot(await visible_job(res, user, job_id))]

        async def check() -> None:
            await visible_job(res, user, job_id, whole=False)

        plan = StreamPlan(
            name="job",
            channel=job_channel(job_id),
            stream_key=job_stream_key(job_id),
            last_event_id=_last_event_id(request, last_event_id),
            watch_until_terminal=(str(job_id),),
            check=check,
        )
        return EventStream(await open_event_stream(res.hub, res.redis, plan, snapshots), headers=_SSE_HEADERS)

    @get("/api/events", operation_id="streamEvents")
    async def events(
        self,
        request: Request[Principal, Any, Any],
        job_id: Annotated[list[uuid.UUID] | None, Parameter(query="job_id")] = None,
        last_event_id: Annotated[str | None, Parameter(query="last_event_id", max_length=64)] = None,
    ) -> ServerSentEvent:
        """Events of many of the caller's jobs on one connection (all active ones, and new ones, if none named).

        Every event carries ``job_id``; a ``deleted`` event says a job was deleted.
        """
        res = get_resources(request.app)
        user = request.user
        named = list(dict.fromkeys(job_id)) if job_id else None
        if named is not None:
            if len(named) > MAX_MULTIPLEXED_JOBS:
                raise BadRequest(f"At most {MAX_MULTIPLEXED_JOBS} job_id values per stream.", code="too_many_jobs")
            async with res.sessions() as session:
                found = set((await session.scalars(select(Job.id).where(Job.id.in_(named), *visible_to(user)))).all())
                owned = set(
                    (await session.scalars(select(Job.id).where(Job.id.in_(named), Job.owner_id == user.id))).all()
                )
            missing = [str(j) for j in named if j not in found]
            if missing:
                raise NotFound(f"No job {', '.join(missing)}.", code="job_not_found", details={"job_ids": missing})
            if found - owned:
                raise BadRequest(
                    "A multiplexed stream covers your own jobs; open /api/jobs/{id}/events for others'.",
                    code="not_owner",
                )

        async def snapshots() -> list[tuple[str, str, bytes]]:
            return await _load_snapshots(res, user, named)

        plan = StreamPlan(
            name="user",
            channel=user_channel(user.id),
            stream_key=user_stream_key(user.id),
            last_event_id=_last_event_id(request, last_event_id),
            wants=job_ids_filter(set(named) if named else None),
            watch_until_terminal=tuple(str(j) for j in named) if named else None,
        )
        return EventStream(await open_event_stream(res.hub, res.redis, plan, snapshots), headers=_SSE_HEADERS)
