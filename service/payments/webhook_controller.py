"""``POST /api/webhooks/stripe``: public (Stripe authenticates by signature, not by our credentials)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.status_codes import HTTP_200_OK

from service.errors import ServiceError
from service.payments import observed
from service.payments.webhook import WebhookOutcome, handle, verify
from service.resources import get_resources

# Checkout events are a few KB; anything much bigger is not from Stripe.
MAX_BODY_BYTES = 512 * 1024


class StripeWebhookController(Controller):
    tags = ("payments",)

    @post(
        "/api/webhooks/stripe",
        operation_id="stripeWebhook",
        status_code=HTTP_200_OK,
        request_max_body_size=MAX_BODY_BYTES,
    )
    async def stripe_webhook(self, request: Request[Any, Any, Any]) -> WebhookOutcome:
        """Verify the signature on the raw body, store the event id once, apply it; 400 on a bad signature."""
        res = get_resources(request.app)
        try:
            event = verify(res, await request.body(), request.headers.get("stripe-signature"))
        except ServiceError as exc:
            observed.webhook_refused(exc.code)
            raise
        return await handle(res, event)
