"""``GET /api/health``: Postgres, Redis, the number of live worker processes and which queues they consume, whether
programs are sandboxed, and whether each configured provider answers (cached: ``service.system.providers``)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import msgspec
from litestar import Controller, Litestar, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text

from actors.broker import NAMESPACE
from actors.observe import presence
from actors.process import sandbox_status
from service.resources import Resources, get_resources
from service.system.providers import ProviderProbes
from service.system.queue_names import known_queues

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


async def _workers_per_queue(res: Resources) -> dict[str, int]:
    """Live worker processes consuming each known queue (0: nothing takes its jobs)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            workers = await presence.live_workers(res.redis)
    except Exception:
        return {}
    return {q: sum(1 for w in workers if q in w.queues) for q in sorted(known_queues())}


def _probes(app: Litestar) -> ProviderProbes:
    probes: ProviderProbes | None = app.state.get("provider_probes")
    if probes is None:
        probes = ProviderProbes()
        app.state["provider_probes"] = probes
    return probes


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
        body["queues"] = await _workers_per_queue(res) if redis_status == "ok" else {}
        body["providers"] = msgspec.to_builtins(await _probes(request.app).statuses(res))
        return Response(body, status_code=200 if healthy else 503)
