"""The one HTTP call every model client makes: POST JSON, get the 2xx body, every failure a `ProviderCallError`."""

from __future__ import annotations

import asyncio

import httpx
import msgspec

from actors.llm.errors import BAD_RESPONSE, CONNECTION, HTTP_4XX, HTTP_5XX, RATE_LIMITED, TIMEOUT, ProviderCallError


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    body: object,
    *,
    timeout_seconds: float,
    headers: dict[str, str] | None = None,
) -> bytes:
    """POST ``body`` as JSON and return the 2xx response body; every failure becomes a `ProviderCallError`.

    ``timeout_seconds`` bounds the whole exchange, not only each read: a server that trickles bytes
    cannot hold a call forever.
    """
    try:
        async with asyncio.timeout(timeout_seconds):
            response = await client.post(
                url,
                content=msgspec.json.encode(body),
                headers={"content-type": "application/json", **(headers or {})},
                timeout=timeout_seconds,
            )
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise ProviderCallError(TIMEOUT, f"no answer within {timeout_seconds:g} s") from exc
    except httpx.TransportError as exc:
        raise ProviderCallError(CONNECTION, f"connection failed ({type(exc).__name__})") from exc
    status = response.status_code
    if status >= 500:
        raise ProviderCallError(HTTP_5XX, f"HTTP {status}", retry_after(response))
    if status == 429:
        raise ProviderCallError(RATE_LIMITED, "HTTP 429", retry_after(response))
    if status >= 400:
        raise ProviderCallError(HTTP_4XX, f"HTTP {status}")
    if status >= 300:
        raise ProviderCallError(BAD_RESPONSE, f"HTTP {status}")
    return response.content


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        # An HTTP date, or nothing: the caller's configured delay is used.
        return None
