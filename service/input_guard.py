"""Bad bytes are refused at the door: a 400 naming the field, before any handler or query sees them.

Postgres cannot store a NUL character in text or JSONB, msgspec gives up on JSON nested about 1,000 deep with a
``RecursionError``, and invalid UTF-8 fails deep inside decoding: each used to be a 500. ``InputGuardMiddleware``
checks, for every request:

* the query string: valid UTF-8 once percent-decoded, and no NUL, per parameter;
* a JSON body (for handlers that take one): valid UTF-8, valid JSON, at most ``MAX_JSON_DEPTH`` levels deep,
  and no NUL in any key or string, naming the first bad one by its path (``params.include_paths[0]``).

The body is read through Litestar's ``Request`` (so its size limit applies) and kept in the connection's
state, where the handler's own ``Request`` finds it: it is read once. ``check_json_value`` is also called on
JSON that arrives inside a string (an agent's tool arguments).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from service.auth.cross_site import SAFE_METHODS, takes_json_body
from service.errors import BadRequest

# Litestar's default request body limit: JSON bodies up to this size are checked here.
MAX_JSON_BODY_BYTES = 10_000_000

# Deeper than any request shape of this API needs, far below where decoders and encoders recurse too deep.
MAX_JSON_DEPTH = 32
NUL = "\x00"


def _bad(field: str, message: str, code: str) -> BadRequest:
    return BadRequest(f"{field}: {message}.", code=code, details=[{"field": field, "message": message}])


def _path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def check_json_value(value: Any, root: str = "") -> None:
    """Refuse a NUL in any key or string of ``value``, or nesting deeper than ``MAX_JSON_DEPTH``.

    Raises:
        BadRequest: ``details`` names the first bad field by its path under ``root``.
    """
    stack: list[tuple[Any, str, int]] = [(value, root, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                raise _bad(path or "body", "contains a NUL character (\\u0000), which is not allowed", "invalid_text")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise _bad(path or "body", f"is nested more than {MAX_JSON_DEPTH} levels deep", "too_deeply_nested")
        if isinstance(item, dict):
            for key, child in item.items():
                if NUL in key:
                    raise _bad(
                        _path(path, key.replace(NUL, "\\u0000")), "the name contains a NUL character", "invalid_text"
                    )
                stack.append((child, _path(path, key), depth + 1))
        else:
            stack.extend((child, _path(path, i), depth + 1) for i, child in enumerate(item))


def decode_json(raw: bytes, root: str = "") -> Any:
    """``raw`` decoded as JSON and checked with ``check_json_value``.

    Raises:
        BadRequest: invalid UTF-8, invalid JSON, too deep, or a NUL, naming ``root`` or the field.
    """
    field = root or "body"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _bad(field, f"is not valid UTF-8 (byte {exc.start})", "invalid_utf8") from None
    try:
        value = msgspec.json.decode(raw)
    except RecursionError:
        raise _bad(field, f"is nested more than {MAX_JSON_DEPTH} levels deep", "too_deeply_nested") from None
    except msgspec.DecodeError as exc:
        raise _bad(field, f"is not valid JSON ({exc})", "bad_request") from None
    check_json_value(value, root)
    return value


def _bounded(request: Request[Any, Any, Any], route_handler: Any) -> bool:
    """Whether reading the body whole is bounded: an announced length up to the JSON limit, or a route whose
    own limit Litestar enforces while reading (createJob lifts it for uploads and checks lengths itself)."""
    length = request.headers.get("content-length", "")
    if length.isdigit():
        return int(length) <= MAX_JSON_BODY_BYTES
    resolve = getattr(route_handler, "resolve_request_max_body_size", None)
    return resolve is not None and resolve() is not None


def check_query(query_string: bytes) -> None:
    """Refuse a query parameter that is not UTF-8 or holds a NUL, naming it."""
    for pair in query_string.split(b"&"):
        raw_name, _, raw_value = pair.partition(b"=")
        try:
            name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8")
            value = unquote_to_bytes(raw_value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            field = raw_name.decode("latin-1")
            raise _bad(field or "query", "is not valid UTF-8", "invalid_utf8") from None
        if NUL in name or NUL in value:
            raise _bad(name.replace(NUL, "\\u0000") or "query", "contains a NUL character", "invalid_text")


class InputGuardMiddleware(ASGIMiddleware):
    """Runs ``check_query`` on every HTTP request and ``decode_json`` on the body of JSON handlers."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        check_query(scope.get("query_string", b""))
        if str(scope.get("method", "GET")) not in SAFE_METHODS and takes_json_body(scope.get("route_handler")):
            # Not ``Request[...](...)``: calling a subscripted generic costs a typing hook per request.
            request: Request[Any, Any, Any] = Request(scope, receive)
            # Only JSON bodies of an announced, bounded length: another body a route accepts (createJob's
            # multipart uploads) is streamed by its handler, and a body without a length or over the limit is
            # refused by the route's own limit (411/413), never read whole here.
            media_type = request.content_type[0]
            if (media_type in ("application/json", "") or media_type.endswith("+json")) and _bounded(
                request, scope.get("route_handler")
            ):
                body = await request.body()
                if body:
                    decode_json(body)
        await next_app(scope, receive, send)
