"""Request and response shapes of the auth endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class UserOut(msgspec.Struct):
    id: uuid.UUID
    email: str
    is_admin: bool


class LoginResponse(msgspec.Struct):
    user: UserOut


class MeResponse(msgspec.Struct):
    id: uuid.UUID
    email: str
    is_admin: bool
    authenticated_via: str


class CreateKeyRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "default"


class ApiKeyOut(msgspec.Struct):
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class NewApiKey(msgspec.Struct):
    id: uuid.UUID
    name: str
    key: str
