"""Domain errors of the service layer and their mapping to HTTP responses.

    ServiceError (500)
     ├── BadRequest (400)           invalid input; ``details`` says what, per field where possible
     ├── Unauthorized (401)
     ├── Forbidden (403)            a cross-site request with the session cookie, or a caller who sees the
     │                              resource but may not do this to it (another user's is a 404)
     ├── NotFound (404)             also for another user's resources, never 403
     ├── Conflict (409)
     ├── PayloadTooLarge (413)      an upload over its size cap; nothing of it was kept
     ├── UnsupportedMediaType (415) a JSON endpoint was sent another content type
     ├── TooManyRequests (429)
     └── ServiceUnavailable (503)   a dependency (Postgres, Redis) is down; nothing was stored

Every error body is ``{"error": {"code", "message", "details"}}``. A 503 for an outage carries ``Retry-After``. Errors
raised below this layer are mapped here too, in ``internal_error_handler``: a lost or refused database
connection (SQLAlchemy/psycopg) is a 503 like a Redis outage, not a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
import psycopg
import redis
from litestar import Litestar, MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy import exc as sa_exc

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


class PayloadTooLarge(ServiceError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status_code = 415
    code = "unsupported_media_type"


class TooManyRequests(ServiceError):
    status_code = 429
    code = "too_many_requests"


# Seconds a client is asked to wait after a 503: outages of Postgres or Redis worth retrying are short.
RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(ServiceError):
    status_code = 503
    code = "service_unavailable"


def dependency_down(component: str, message: str, reason: str | None = None) -> ServiceUnavailable:
    """The 503 of an outage of Postgres or Redis: ``Retry-After`` says when trying again makes sense."""
    return ServiceUnavailable(
        message,
        details={"component": component, "reason": reason} if reason else {"component": component},
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


class ErrorDetail(msgspec.Struct):
    code: str
    message: str
    # Per-field problems (a list of {"field", "message"}) or facts about the error (an object); may be null.
    details: Any


class ErrorBody(msgspec.Struct):
    """The body of every error answer, as the OpenAPI document describes it."""

    error: ErrorDetail


# Documented on every operation, replacing Litestar's default ``{status_code, detail}`` description of its
# validation errors: what ``http_error_handler`` and ``service_error_handler`` really send.
ERROR_STATUSES = {
    400: "The request is invalid; details name the field.",
    401: "No valid API key or session.",
    403: "A cross-site request made with the session cookie.",
    404: "No such resource (also another user's).",
    405: "Method not allowed here.",
    409: "Conflicts with the resource's state.",
    413: "The body is too large.",
    415: "The body must be JSON (Content-Type: application/json).",
    429: "Too many requests; see Retry-After.",
    503: "A dependency (Postgres, Redis, a payment or generation service) is unavailable; see Retry-After.",
}


def document_errors(app: Litestar) -> None:
    """Describe the error body on every operation of ``app``'s OpenAPI document."""
    specs = {
        status: ResponseSpec(
            data_container=ErrorBody,
            description=description,
            generate_examples=False,
            examples=[
                Example(
                    value={"error": {"code": _HTTP_CODES.get(status, "error"), "message": description, "details": None}}
                )
            ],
        )
        for status, description in ERROR_STATUSES.items()
    }
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler):
                handler.responses = {**specs, **(handler.responses or {})}


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
    411: "length_required",
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


# SQLSTATEs of a server that is going away or not yet accepting connections (class 08 is "connection exception").
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` means Postgres cannot be reached (refused, reset, shutting down, pool exhausted), as
    opposed to a statement that failed on a working connection."""
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig
    if isinstance(exc, psycopg.OperationalError):
        state = exc.sqlstate
        return state is None or state.startswith("08") or state in _UNAVAILABLE_SQLSTATES
    return False


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    component = (
        "database"
        if database_unavailable(exc)
        else "redis"
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError)
        else None
    )
    if component is not None:
        log.warning("%s unavailable on %s %s: %s", component, request.method, request.url.path, type(exc).__name__)
        name = "The database" if component == "database" else "Redis"
        unavailable = dependency_down(
            component, f"{name} is unavailable right now; please try again shortly.", type(exc).__name__
        )
        return service_error_handler(request, unavailable)
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(
        error_body("internal_error", "Something went wrong on our side; it has been logged."),
        status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        media_type=MediaType.JSON,
    )
