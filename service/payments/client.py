"""The Stripe connection of the service's processes, from the settings."""

from __future__ import annotations

from actors.payments.stripe_client import StripeConfig, StripeConnection
from service.settings import Settings


def stripe_config(settings: Settings) -> StripeConfig:
    s = settings.stripe
    return StripeConfig(api_key=s.api_key, api_base=s.api_base, timeout_seconds=s.timeout_seconds)


def open_stripe(settings: Settings) -> StripeConnection | None:
    """A connection when Stripe is configured (``STRIPE_API_KEY``), else None: paid options then answer 503."""
    return StripeConnection(stripe_config(settings)) if settings.stripe.configured else None
