"""The authenticated caller, as handlers see it."""

from __future__ import annotations

import uuid

import msgspec


class Principal(msgspec.Struct, frozen=True):
    id: uuid.UUID
    email: str
    is_admin: bool
    # "api_key" or "session"
    via: str
