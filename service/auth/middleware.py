"""Authentication for everything under /api except login and health.

``Authorization: Bearer <api key>`` for clients; the session cookie for browsers (EventSource cannot send
headers). Either resolves to a ``Principal`` in one indexed query.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from sqlalchemy import func, select

from db.models import ApiKey, User, UserSession
from service.auth.principal import Principal
from service.auth.secrets import digest
from service.resources import get_resources

# Everything else under /api needs a principal; /schema and /metrics are not under /api.
PUBLIC_PATHS = [r"^/api/auth/login$", r"^/api/health$", r"^/schema", r"^/metrics$"]


class AuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        res = get_resources(connection.app)
        header = connection.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if header and scheme.lower() == "bearer" and credential.strip():
            stmt = (
                select(User.id, User.email, User.is_admin)
                .join(ApiKey, ApiKey.user_id == User.id)
                .where(ApiKey.key_hash == digest(credential.strip()), ApiKey.revoked_at.is_(None))
            )
            via = "api_key"
        elif token := connection.cookies.get(res.settings.auth.session_cookie):
            stmt = (
                select(User.id, User.email, User.is_admin)
                .join(UserSession, UserSession.user_id == User.id)
                .where(UserSession.token_hash == digest(token), UserSession.expires_at > func.now())
            )
            via = "session"
        else:
            raise NotAuthorizedException("Authentication required: send 'Authorization: Bearer <api key>' or log in.")
        async with res.sessions() as session:
            row = (await session.execute(stmt)).one_or_none()
        if row is None:
            raise NotAuthorizedException("The API key or session is invalid, revoked or expired.")
        return AuthenticationResult(user=Principal(row.id, row.email, row.is_admin, via), auth=via)
