"""Which description providers this deployment can serve now: ``GET /api/sites/providers``.

The form offers only what works: Gemini needs an API key (and, when it is priced, payments); Ollama must
answer at its address (asked with a short timeout, the answer cached briefly so a busy page does not probe
it for every visitor). The default is the best option that works. API-only, like ``api``.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import httpx
import msgspec
import redis
from litestar import Controller, Request, get

from actors.kinds.llms_txt.settings import LlmsTxtSettings
from actors.outbound import tls_context
from actors.registry import get_kind
from service.auth.principal import Principal
from service.payments.pricing import load_pricing, rule_for
from service.resources import Resources, get_resources

KIND = "llms_txt"
PROBE_TIMEOUT_SECONDS = 1.5
CACHE_SECONDS = 30

log = logging.getLogger("genjobs.sites")


class ProviderOption(msgspec.Struct):
    value: str
    label: str
    description: str
    available: bool
    # Why it cannot be chosen now, in the user's words (empty when available).
    reason: str = ""
    # Priced: the form asks ``/api/quote`` for this site's price.
    paid: bool = False


class ProviderOptions(msgspec.Struct):
    options: list[ProviderOption]
    default: str


async def ollama_reachable(res: Resources, url: str) -> bool:
    """Whether an HTTP server answers at Ollama's address (cached for ``CACHE_SECONDS``)."""
    key = f"llms-txt:ollama-reachable:{url}"
    try:
        cached = await res.redis.get(key)
    except redis.RedisError:
        cached = None
    if cached is not None:
        return bool(cached == b"1")
    try:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS, verify=tls_context()) as client:
            await client.get(f"{url}/api/tags")
        reachable = True
    except httpx.HTTPError:
        reachable = False
    try:
        await res.redis.set(key, b"1" if reachable else b"0", ex=CACHE_SECONDS)
    except redis.RedisError:
        log.warning("could not cache whether Ollama answers: Redis unavailable")
    return reachable


def _is_paid(res: Resources, provider: str) -> bool:
    kind = get_kind(KIND)
    table = load_pricing(res.settings.stripe.pricing)
    return kind is not None and rule_for(table, kind, SimpleNamespace(provider=provider)) is not None


async def provider_options(res: Resources) -> ProviderOptions:
    settings: LlmsTxtSettings = res.kind_settings[KIND]
    gemini_paid = _is_paid(res, "gemini")
    gemini_reason = ""
    if not settings.gemini_api_key:
        gemini_reason = "Not set up on this server."
    elif gemini_paid and res.stripe is None:
        gemini_reason = "Payments are not set up on this server."
    ollama_ok = await ollama_reachable(res, settings.ollama_url)
    options = [
        ProviderOption(
            "ollama",
            "Free (Ollama)",
            "AI descriptions from a local model; slower.",
            ollama_ok,
            "" if ollama_ok else "The local model server is not answering right now.",
            paid=_is_paid(res, "ollama"),
        ),
        ProviderOption(
            "gemini", "Fast (Gemini)", "AI descriptions from Gemini.", not gemini_reason, gemini_reason, gemini_paid
        ),
        ProviderOption("extractive", "Basic", "Each page's own summary, no AI; instant.", True),
    ]
    # The best option that works and costs nothing; Basic always works.
    default = next((o.value for o in options if o.available and not o.paid), "extractive")
    return ProviderOptions(options, default)


class ProvidersController(Controller):
    tags = ("sites",)

    @get("/api/sites/providers", operation_id="llmsTxtProviders")
    async def providers(self, request: Request[Principal, Any, Any]) -> ProviderOptions:
        """The description providers, each available or not (with the reason), and the default choice."""
        return await provider_options(get_resources(request.app))
