"""Whether the outside services the deployment calls answer: Stripe when configured, and each kind's declared
``health_probes`` (LLM providers, the website generator). Probed at most once per ``PROBE_TTL_SECONDS`` per API
process, all at once, so a health check costs no outbound call each time. Only names and outcomes are shown,
never a URL (it may hold credentials)."""

from __future__ import annotations

import asyncio
import time

import httpx
import msgspec

from actors.outbound import tls_context
from actors.registry import all_kinds
from service.resources import Resources

PROBE_TTL_SECONDS = 60.0
PROBE_TIMEOUT_SECONDS = 3.0


class ProviderStatus(msgspec.Struct):
    reachable: bool
    checked_at: float
    # "HTTP 200", or the kind of failure (timeout, connection refused): never the address.
    detail: str


class ProviderProbes:
    """This API process's cache of provider reachability."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._checked_at = 0.0
        self._statuses: dict[str, ProviderStatus] = {}

    async def statuses(self, res: Resources) -> dict[str, ProviderStatus]:
        async with self._lock:
            if time.monotonic() - self._checked_at >= PROBE_TTL_SECONDS:
                self._statuses = await _probe_all(_targets(res))
                self._checked_at = time.monotonic()
            return dict(self._statuses)


def _targets(res: Resources) -> dict[str, str]:
    targets: dict[str, str] = {}
    if res.stripe is not None:
        targets["stripe"] = res.settings.stripe.api_base
    for name, kind in all_kinds().items():
        if kind.health_probes is not None and res.kind_settings.get(name) is not None:
            targets.update(kind.health_probes(res.kind_settings[name]))
    return targets


async def _probe_all(targets: dict[str, str]) -> dict[str, ProviderStatus]:
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS, follow_redirects=False, verify=tls_context()) as client:
        results = await asyncio.gather(*(_probe(client, url) for url in targets.values()))
    return dict(zip(targets, results, strict=True))


async def _probe(client: httpx.AsyncClient, url: str) -> ProviderStatus:
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        return ProviderStatus(False, time.time(), type(exc).__name__)
    return ProviderStatus(True, time.time(), f"HTTP {response.status_code}")
