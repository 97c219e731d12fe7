"""Domain errors of the service layer and their mapping to HTTP responses.

    ServiceError (500)
     ├── BadRequest (400)           invalid input; ``details`` says what, per field where possible
     ├── Unauthorized (401)
     ├── Forbidden (403)            the caller sees the resource but may not do this to it
     ├── NotFound (404)             also for another user's resources, never 403
     ├── Conflict (409)
     ├── TooManyRequests (429)
     └── ServiceUnavailable (503)   a dependency (Postgres, Redis) is down; nothing was stored

Every error body is ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

log = logging.getLogger("genjobs.api")


class ServiceError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(
        self, message: str, *, details: Any = None, code: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}
        if code is not None:
            self.code = code


class BadRequest(ServiceError):
    status_code = 400
    code = "bad_request"


class Unauthorized(ServiceError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ServiceError):
    status_code = 403
    code = "forbidden"


class NotFound(ServiceError):
    status_code = 404
    code = "not_found"


class Conflict(ServiceError):
    status_code = 409
    code = "conflict"


class TooManyRequests(ServiceError):
    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(ServiceError):
    status_code = 503
    code = "service_unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def service_error_handler(request: Request[Any, Any, Any], exc: ServiceError) -> Response[dict[str, Any]]:
    return Response(
        error_body(exc.code, exc.message, exc.details),
        status_code=exc.status_code,
        headers=exc.headers,
        media_type=MediaType.JSON,
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "service_unavailable",
}


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    details: Any = exc.extra if exc.extra else None
    message = exc.detail
    if isinstance(exc, ValidationException):
        message = (
            "The request is invalid: "
            + "; ".join(
                f"{e.get('key') or 'body'}: {e.get('message')}" for e in (exc.extra or []) if isinstance(e, dict)
            )
            if isinstance(exc.extra, list) and exc.extra
            else exc.detail
        )
    return Response(
        error_body(_HTTP_CODES.get(exc.status_code, "error"), message, details),
        status_code=exc.status_code,
        headers=exc.headers,
        media_type=MediaType.JSON,
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(
        error_body("internal_error", "Something went wrong on our side; it has been logged."),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )
