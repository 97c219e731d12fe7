"""Refusing requests another site makes a browser send with the user's session cookie (CSRF).

Two checks run before authentication and before any body is read:

1. **Where a state change comes from.** A ``POST``/``PUT``/``PATCH``/``DELETE`` that carries no API key (so it
   would act with the session cookie, or log in) must come from this site. This is the algorithm of Go's
   ``net/http.CrossOriginProtection`` (Go 1.25, after Filippo Valsorda's analysis of CSRF defences):
   ``Sec-Fetch-Site`` when the browser sends it (``same-origin`` or ``none`` pass), else ``Origin``, whose host
   must be the request's ``Host`` (or the origin of ``PUBLIC_URL``, for a proxy that rewrites ``Host``). A
   request with neither header is not from a browser made after 2020 and passes: it cannot ride a cookie
   that a current browser holds. API-key requests (``Authorization: Bearer``) are never checked: a page
   cannot set ``Authorization`` on another site's request, and browsers never add a bearer token themselves.
2. **What a JSON handler reads.** A handler that takes a JSON body (the default for Litestar's ``data``)
   gets only ``application/json`` (or ``+json``): a page elsewhere can post ``text/plain``, forms and
   multipart without asking the browser's permission (a CORS preflight), but not JSON. A handler that
   declares a form or multipart body (``Body(media_type=RequestEncodingType.MULTI_PART)``) gets those, and
   check 1 still keeps other sites out of it.

Litestar's ``CSRFConfig`` (a double-submit token) was not chosen: it would need a token in every script's
request and cannot tell API-key requests, which need no token, from cookie ones.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar.enums import RequestEncodingType, ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.params import BodyKwarg
from litestar.types import ASGIApp, Receive, Scope, Send

from service.errors import Forbidden, UnsupportedMediaType

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
SAME_SITE_FETCHES = frozenset({"same-origin", "none"})


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def refuse_cross_site(method: str, headers: dict[str, str], public_url: str) -> None:
    """Raise ``Forbidden`` for a state-changing cookie request that another site's page made.

    Args:
        method: The request method.
        headers: The request headers, names in lower case.
        public_url: The site's public URL (``PUBLIC_URL``), whose origin is always this site.
    """
    scheme, _, credential = headers.get("authorization", "").strip().partition(" ")
    if method in SAFE_METHODS or (scheme.lower() == "bearer" and credential.strip()):
        # An API key: never sent by a browser on its own. (Basic credentials are: a browser attaches them to
        # any request to a site behind HTTP authentication, so they do not exempt a request.)
        return
    origin = headers.get("origin", "").lower()
    trusted = origin == _origin_of(public_url)
    fetch_site = headers.get("sec-fetch-site", "").lower()
    if fetch_site:
        if fetch_site in SAME_SITE_FETCHES or trusted:
            return
        raise Forbidden(
            "Cross-site request refused: this action must come from this site's own pages.",
            code="cross_site_request",
            details={"sec_fetch_site": fetch_site},
        )
    if not origin or trusted or urlsplit(origin).netloc == headers.get("host", "").lower():
        return
    raise Forbidden(
        "Cross-site request refused: this action must come from this site's own pages.",
        code="cross_site_request",
        details={"origin": origin},
    )


def takes_json_body(route_handler: Any) -> bool:
    """Whether the handler reads a JSON body (a ``data`` parameter without another declared media type)."""
    field = getattr(route_handler, "parsed_data_field", None)
    if field is None:
        return False
    kwarg = field.kwarg_definition
    declared = kwarg.media_type if isinstance(kwarg, BodyKwarg) else RequestEncodingType.JSON
    return bool(declared == RequestEncodingType.JSON)


def require_declared_body_type(route_handler: Any, method: str, headers: dict[str, str]) -> None:
    """Raise ``UnsupportedMediaType`` when a handler's body is JSON and the request's is not."""
    if method in SAFE_METHODS or not takes_json_body(route_handler):
        return
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    ):
        return
    # A JSON handler that also takes another body itself (e.g. createJob's multipart jobs with files) says so.
    if content_type in (getattr(route_handler, "opt", None) or {}).get("also_accepts", ()):
        return
    if not content_type and headers.get("content-length", "0") == "0" and "transfer-encoding" not in headers:
        return  # no body at all: the handler's validation says what is missing
    raise UnsupportedMediaType(
        f"Send the body as JSON with 'Content-Type: application/json' (got {content_type or 'none'!r}).",
        code="unsupported_media_type",
        details={"content_type": content_type or None, "expected": "application/json"},
    )


class CrossSiteMiddleware(ASGIMiddleware):
    """Applies ``refuse_cross_site`` and ``require_declared_body_type`` to every HTTP request."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        method = str(scope.get("method", "GET"))
        refuse_cross_site(method, headers, self.public_url)
        require_declared_body_type(scope.get("route_handler"), method, headers)
        await next_app(scope, receive, send)
