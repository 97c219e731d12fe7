"""The external website generator's HTTP API, as this service uses it.

Kept in one module so a different generator's API is adapted here alone. The API assumed::

    POST {base}/projects                     create a project from a prompt
      Authorization: Bearer <WEBSITE_GENERATOR_API_KEY>
      Idempotency-Key: <our job id>          a repeated create returns the same project
      {"prompt": "...", "external_id": "<job id>"}
      -> 201/200 {"id": "...", "status": "queued" | "processing", "tracking_url": "https://..."}

    GET {base}/projects/{id}                 the project's status
      -> 200 {"id", "status": "queued" | "processing" | "completed" | "failed",
              "tracking_url", "url"?: the finished site, "error"?: why it failed}

    Errors: 429 with ``Retry-After`` (seconds or an HTTP date); 5xx when it is unwell;
    other 4xx with a JSON body ``{"error": {"message"}}``, ``{"error": "..."}`` or ``{"detail": "..."}``.

Errors::

    GeneratorError
     ├── GeneratorUnavailable   network error, timeout, 5xx, unreadable reply: try again later (backoff)
     ├── GeneratorRateLimited   429: try again after ``retry_after`` seconds when it said so
     └── GeneratorRejected      any other 4xx: retrying the same request cannot help
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Literal

import httpx
import msgspec

from actors.outbound import tls_context

ProjectStatus = Literal["queued", "processing", "completed", "failed"]
_MAX_REASON_CHARS = 300


class Project(msgspec.Struct, frozen=True):
    id: str
    status: ProjectStatus
    tracking_url: str | None = None
    url: str | None = None
    error: str | None = None


class GeneratorError(Exception):
    """Base of the generator client's errors."""


class GeneratorUnavailable(GeneratorError):
    pass


class GeneratorRateLimited(GeneratorError):
    def __init__(self, retry_after: float | None) -> None:
        super().__init__(f"rate limited (Retry-After: {retry_after})")
        self.retry_after = retry_after


class GeneratorRejected(GeneratorError):
    def __init__(self, status_code: int, reason: str) -> None:
        super().__init__(f"HTTP {status_code}: {reason}")
        self.status_code = status_code
        self.reason = reason


class GeneratorClient:
    """A synchronous client (the handler runs in a worker thread; each poll is one or two requests)."""

    def __init__(
        self, base_url: str, api_key: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
            verify=tls_context(),
        )

    def __enter__(self) -> GeneratorClient:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._http.close()

    def create_project(self, prompt: str, *, idempotency_key: str) -> Project:
        return self._call(
            "POST",
            "/projects",
            json={"prompt": prompt, "external_id": idempotency_key},
            headers={"Idempotency-Key": idempotency_key},
        )

    def get_project(self, project_id: str) -> Project:
        return self._call("GET", f"/projects/{project_id}")

    def _call(self, method: str, path: str, **kwargs: Any) -> Project:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GeneratorUnavailable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code == 429:
            raise GeneratorRateLimited(retry_after_seconds(response.headers.get("Retry-After")))
        if response.status_code >= 500:
            raise GeneratorUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise GeneratorRejected(response.status_code, _reason(response))
        try:
            return msgspec.json.decode(response.content, type=Project)
        except msgspec.DecodeError as exc:
            # A 2xx we cannot read is most likely a proxy or a deploy in progress: treat it as passing.
            raise GeneratorUnavailable(f"unreadable reply: {exc}") from None


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _reason(response: httpx.Response) -> str:
    text = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            text = str(error.get("message") or "")
        elif isinstance(error, str):
            text = error
        text = text or str(body.get("detail") or body.get("message") or "")
    text = text or response.reason_phrase or f"HTTP {response.status_code}"
    return " ".join(text.split())[:_MAX_REASON_CHARS]
