"""Login/logout for browsers, the caller's identity, and API key management."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, insert, select, update

from db.models import ApiKey, User, UserSession
from service.auth.login_limits import count_login_attempt, forget_login_failures
from service.auth.middleware import forget_credentials
from service.auth.principal import Principal
from service.auth.schemas import (
    ApiKeyOut,
    CreateKeyRequest,
    LoginRequest,
    LoginResponse,
    MeResponse,
    NewApiKey,
    UserOut,
)
from service.auth.secrets import digest, new_session_token, verify_password
from service.auth.users import issue_api_key
from service.errors import NotFound, Unauthorized
from service.resources import get_resources

# Verified when the email is unknown, so both failures take the same time.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$kUtJ6GlQOeOlH0OFb/GXyw$noADI3yatGLiVgwPDwrOKJBvIU0nALRIdn+AlLjpfuY"


class AuthController(Controller):
    path = "/api"
    tags = ("auth",)

    @post("/auth/login", operation_id="login", status_code=HTTP_200_OK, exclude_from_auth=True)
    async def login(self, request: Request[Any, Any, Any], data: LoginRequest) -> Response[LoginResponse]:
        res = get_resources(request.app)
        address = request.client.host if request.client else "unknown"
        await count_login_attempt(res.redis, res.settings.auth, data.email, address)
        async with res.sessions() as session:
            user = await session.scalar(select(User).where(func.lower(User.email) == data.email.lower()))
        password_hash = user.password_hash if user else _DUMMY_HASH
        ok = await anyio.to_thread.run_sync(verify_password, password_hash, data.password, limiter=res.password_hashing)
        if user is None or not ok:
            raise Unauthorized("The email or password is wrong.", code="invalid_credentials")
        await forget_login_failures(res.redis, data.email)
        token, token_hash = new_session_token()
        days = res.settings.auth.session_days
        async with res.sessions() as session, session.begin():
            await session.execute(
                insert(UserSession).values(
                    user_id=user.id, token_hash=token_hash, expires_at=datetime.now(UTC) + timedelta(days=days)
                )
            )
        cookie = Cookie(
            key=res.settings.auth.session_cookie,
            value=token,
            httponly=True,
            samesite="lax",
            secure=res.settings.auth.cookie_secure,
            max_age=days * 86_400,
            path="/",
        )
        return Response(LoginResponse(UserOut(user.id, user.email, user.is_admin)), cookies=[cookie])

    @post(
        "/auth/logout",
        operation_id="logout",
        status_code=HTTP_204_NO_CONTENT,
        responses={HTTP_204_NO_CONTENT: ResponseSpec(None, description="Logged out; the session cookie is cleared.")},
    )
    async def logout(self, request: Request[Principal, Any, Any]) -> Response[None]:
        res = get_resources(request.app)
        name = res.settings.auth.session_cookie
        if token := request.cookies.get(name):
            async with res.sessions() as session, session.begin():
                await session.execute(sql_delete(UserSession).where(UserSession.token_hash == digest(token)))
            forget_credentials()
        return Response(
            None,
            status_code=HTTP_204_NO_CONTENT,
            cookies=[Cookie(key=name, value="", max_age=0, path="/", httponly=True, samesite="lax")],
        )

    @get("/me", operation_id="me")
    async def me(self, request: Request[Principal, Any, Any]) -> MeResponse:
        user = request.user
        return MeResponse(user.id, user.email, user.is_admin, user.via)

    @get("/keys", operation_id="listApiKeys")
    async def list_keys(self, request: Request[Principal, Any, Any]) -> list[ApiKeyOut]:
        res = get_resources(request.app)
        async with res.sessions() as session:
            rows = (
                await session.scalars(
                    select(ApiKey).where(ApiKey.user_id == request.user.id).order_by(ApiKey.created_at)
                )
            ).all()
        return [ApiKeyOut(k.id, k.name, k.prefix, k.created_at, k.revoked_at) for k in rows]

    @post("/keys", operation_id="createApiKey", status_code=HTTP_201_CREATED)
    async def create_key(self, request: Request[Principal, Any, Any], data: CreateKeyRequest) -> NewApiKey:
        res = get_resources(request.app)
        async with res.sessions() as session, session.begin():
            key_id, key = await issue_api_key(session, request.user.id, data.name)
        return NewApiKey(key_id, data.name, key)

    @delete("/keys/{key_id:uuid}", operation_id="revokeApiKey", status_code=HTTP_204_NO_CONTENT)
    async def revoke_key(self, request: Request[Principal, Any, Any], key_id: uuid.UUID) -> None:
        res = get_resources(request.app)
        async with res.sessions() as session, session.begin():
            result = await session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id, ApiKey.user_id == request.user.id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=func.now())
                .returning(ApiKey.id)
            )
            if result.one_or_none() is None:
                raise NotFound(f"No active API key {key_id}.")
        forget_credentials()
