"""Authentication for everything under /api except login and health.

``Authorization: Bearer <api key>`` for clients; the session cookie for browsers (EventSource cannot send
headers). Either resolves to a ``Principal`` in one indexed query.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import Select, func, select

from db.models import ApiKey, User, UserSession
from service.auth.principal import Principal
from service.auth.secrets import digest
from service.resources import get_resources

# Everything else under /api needs a principal; /schema and /metrics are not under /api.
# Who a credential belongs to, remembered briefly per process: it saves a database round trip on every
# request and SSE open. A revoked key or ended session stops working in other processes within this time
# (at once in the process that revoked it).
AUTH_CACHE_SECONDS = 5.0
_AUTH_CACHE_LIMIT = 50_000
_auth_cache: dict[str, tuple[float, Principal]] = {}


def forget_credentials() -> None:
    """Drop every remembered credential (after a logout or a key revocation in this process)."""
    _auth_cache.clear()


PUBLIC_PATHS = [
    r"^/api/auth/login$",
    r"^/api/health$",
    r"^/schema",
    r"^/metrics$",
    # Stripe authenticates with the signature of the body (checked by the handler).
    r"^/api/webhooks/stripe$",
    # Signals from outside systems authenticate with a signature of the body (checked by the handler).
    r"^/api/webhooks/signals/[^/]+/[^/]+$",
    # The login page and static files (CSS, JavaScript); every other page redirects to /login.
    r"^/login$",
    r"^/static/",
]


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        res = get_resources(connection.app)
        header = connection.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if header and scheme.lower() == "bearer" and credential.strip():
            cache_key, via = "k:" + digest(credential.strip()), "api_key"
        elif token := connection.cookies.get(res.settings.auth.session_cookie):
            cache_key, via = "s:" + digest(token), "session"
        else:
            raise NotAuthorizedException("Authentication required: send 'Authorization: Bearer <api key>' or log in.")
        now = time.monotonic()
        cached = _auth_cache.get(cache_key)
        if cached is not None and cached[0] > now:
            return AuthenticationResult(user=cached[1], auth=via)
        stmt = _principal_by_api_key(cache_key[2:]) if via == "api_key" else _principal_by_session(cache_key[2:])
        async with res.sessions() as session:
            row = (await session.execute(stmt)).one_or_none()
        if row is None:
            raise NotAuthorizedException("The API key or session is invalid, revoked or expired.")
        principal = Principal(row.id, row.email, row.is_admin, via)
        if len(_auth_cache) >= _AUTH_CACHE_LIMIT:
            _auth_cache.clear()
        _auth_cache[cache_key] = (now + AUTH_CACHE_SECONDS, principal)
        return AuthenticationResult(user=principal, auth=via)


def _principal_by_api_key(key_hash: str) -> Select[uuid.UUID, str, bool]:
    return (
        select(User.id, User.email, User.is_admin)
        .join(ApiKey, ApiKey.user_id == User.id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    )


def _principal_by_session(token_hash: str) -> Select[uuid.UUID, str, bool]:
    return (
        select(User.id, User.email, User.is_admin)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == token_hash, UserSession.expires_at > func.now())
    )
