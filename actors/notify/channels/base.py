"""What every channel shares: the message to deliver and the errors that decide whether to retry.

DeliveryError
 ├── TransientDeliveryError   network trouble, timeouts, 5xx, 429: tried again after a backoff
 └── PermanentDeliveryError   bad address, 4xx, channel not configured: fails at once, no retries
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import msgspec

from actors.notify.content import Rendered

_MAX_DETAIL_CHARS = 200


class DeliveryError(Exception):
    """A notification could not be delivered; the message says why, without secrets."""


class TransientDeliveryError(DeliveryError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        # Seconds the other side asked us to wait (429/503 Retry-After), if it said.
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (the address or the configuration is wrong)."""


class Outgoing(msgspec.Struct, frozen=True):
    """One message ready to go out on one channel."""

    channel: str
    to: str
    event: str
    content: Rendered
    # The JSON document a webhook receives.
    payload: dict[str, Any]
    # Signs webhook bodies; None for other channels.
    webhook_secret: str | None = None


def check_response(response: httpx.Response, service: str) -> None:
    """Return if the response is a success, else raise the error that says whether to retry."""
    if response.is_success:
        return
    detail = " ".join(response.text[:_MAX_DETAIL_CHARS].split())
    message = f"{service} answered HTTP {response.status_code}" + (f": {detail}" if detail else "")
    if response.status_code in (408, 425, 429) or response.status_code >= 500:
        raise TransientDeliveryError(message, retry_after=retry_after_seconds(response))
    raise PermanentDeliveryError(message)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header as seconds (it may be a number or an HTTP date); None when absent or bad."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def post(client: httpx.Client, service: str, url: str, **kwargs: Any) -> httpx.Response:
    """POST and turn transport failures into a transient error that does not echo the request."""
    try:
        response = client.post(url, **kwargs)
    except httpx.TimeoutException:
        raise TransientDeliveryError(f"{service} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise TransientDeliveryError(f"could not reach {service} ({type(exc).__name__})") from None
    check_response(response, service)
    return response
