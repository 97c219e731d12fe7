"""``GET /api/health``: Postgres, Redis, the number of live worker processes, whether programs are sandboxed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text

from actors.broker import NAMESPACE
from actors.process import sandbox_status
from service.resources import Resources, get_resources

CHECK_TIMEOUT_SECONDS = 3.0


async def _check_database(res: Resources) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), res.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:
        return f"error: {type(exc).__name__}"


async def live_workers(res: Resources) -> int:
    """Worker processes whose Dramatiq heartbeat is recent."""
    horizon = int(time.time() * 1000) - res.settings.worker.broker_heartbeat_timeout_ms
    return int(await res.redis.zcount(f"{NAMESPACE}:__heartbeats__", horizon, "+inf"))


async def _check_redis(res: Resources) -> tuple[str, int]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await res.redis.ping()
            return "ok", await live_workers(res)
    except Exception as exc:
        return f"error: {type(exc).__name__}", 0


class HealthController(Controller):
    tags = ("system",)

    @get(
        "/api/health",
        operation_id="health",
        exclude_from_auth=True,
        responses={503: ResponseSpec(dict[str, Any], description="Postgres or Redis is down (the same body).")},
    )
    async def health(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """``ok`` with 200 when Postgres and Redis answer; 503 naming the failing part otherwise."""
        res = get_resources(request.app)
        database, (redis_status, workers) = await asyncio.gather(_check_database(res), _check_redis(res))
        healthy = database == "ok" and redis_status == "ok"
        body: dict[str, Any] = {
            "status": "ok" if healthy else "error",
            "database": database,
            "redis": redis_status,
            "workers": workers,
        }
        # Whether programs run by jobs are sandboxed on this host (probed once; workers log theirs at start).
        sandbox = await anyio.to_thread.run_sync(sandbox_status)
        body["sandbox"] = {"available": sandbox.available, "reason": sandbox.reason}
        return Response(body, status_code=200 if healthy else 503)
