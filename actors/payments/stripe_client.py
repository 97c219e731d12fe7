"""The official Stripe SDK client, built from plain values so workers need not import the service's settings.

The SDK's httpx transport serves both the API (async calls) and workers and the scheduler (sync calls);
the base URL is configurable so tests point it at a local fake Stripe.
"""

from __future__ import annotations

from typing import Any

import msgspec
import stripe

# The SDK retries connection errors and 5xx itself, re-sending the same idempotency key.
MAX_NETWORK_RETRIES = 2


class StripeConfig(msgspec.Struct, frozen=True):
    api_key: str = ""
    api_base: str = "https://api.stripe.com"
    timeout_seconds: float = 20.0

    @property
    def configured(self) -> bool:
        return bool(self.api_key)


class StripeConnection:
    """A ``StripeClient`` and the HTTP transport it owns (created at startup, closed at shutdown)."""

    def __init__(self, config: StripeConfig) -> None:
        self._http = stripe.HTTPXClient(timeout=config.timeout_seconds, allow_sync_methods=True)
        self.client = stripe.StripeClient(
            config.api_key,
            base_addresses={"api": config.api_base},
            http_client=self._http,
            max_network_retries=MAX_NETWORK_RETRIES,
        )

    def close(self) -> None:
        """Close the sync transport (workers, scheduler)."""
        self._http.close()  # type: ignore[no-untyped-call]

    async def aclose(self) -> None:
        """Close both transports (the API process)."""
        self._http.close()  # type: ignore[no-untyped-call]
        await self._http.close_async()  # type: ignore[no-untyped-call]


class CheckoutFacts(msgspec.Struct, frozen=True):
    """What we check of a Checkout Session (from a webhook event or retrieved from Stripe)."""

    id: str
    status: str | None = None
    payment_status: str | None = None
    amount_total: int | None = None
    currency: str | None = None
    client_reference_id: str | None = None
    payment_intent: str | None = None
    metadata: dict[str, str] = {}
    url: str | None = None
    expires_at: int | None = None


def checkout_facts(obj: Any) -> CheckoutFacts:
    """``CheckoutFacts`` of a session given as a dict or an SDK object (unknown fields are ignored)."""
    raw = obj.to_dict() if hasattr(obj, "to_dict") else obj
    if isinstance(raw.get("payment_intent"), dict):
        raw = {**raw, "payment_intent": raw["payment_intent"].get("id")}
    return msgspec.convert(raw, CheckoutFacts)
