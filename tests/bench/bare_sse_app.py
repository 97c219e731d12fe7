"""The floor of the fan-out benchmark's memory figure: a bare Litestar SSE stream on uvicorn.

Same route, framework, server and options as the API, and a stream shaped like ours (a snapshot event,
then an idle wait with a heartbeat timeout), but no authentication, database, Redis, hub or per-stream
queue: what any Litestar SSE stream on uvicorn costs.

``python -m tests.bench.bare_sse_app PORT`` serves it on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator

from litestar import Litestar, get
from litestar.response import ServerSentEvent, ServerSentEventMessage

from tests.bench.common import HOST, raise_nofile_limit

HEARTBEAT_SECONDS = 15.0


async def _stream(job_id: uuid.UUID) -> AsyncIterator[ServerSentEventMessage]:
    yield ServerSentEventMessage(data=f'{{"job_id": "{job_id}", "status": "queued"}}', event="snapshot", id="0-0")
    while True:
        # The leanest idle wait (a bare future, nothing ever sets it): the floor the framework leaves.
        never = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(HEARTBEAT_SECONDS):
                await never
        except TimeoutError:
            yield ServerSentEventMessage(comment="heartbeat", data=None)


@get("/api/jobs/{job_id:uuid}/events")
async def job_events(job_id: uuid.UUID) -> ServerSentEvent:
    return ServerSentEvent(_stream(job_id), headers={"Cache-Control": "no-cache"})


@get("/api/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar([job_events, health])


def main() -> None:
    import uvicorn

    raise_nofile_limit()
    uvicorn.run(app, host=HOST, port=int(sys.argv[1]), log_level="warning", access_log=False, backlog=4096)


if __name__ == "__main__":
    main()
