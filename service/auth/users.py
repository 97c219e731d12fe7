"""Creating users and issuing API keys."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db.engine import make_async_engine, make_async_sessionmaker
from db.models import ApiKey, User
from service.auth.secrets import hash_password, new_api_key
from service.settings import Settings

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


class UserExists(Exception):
    pass


def check_credentials(email: str, password: str) -> None:
    if not _EMAIL.match(email) or len(email) > 320:
        raise ValueError(f"{email!r} is not a valid email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


async def create_user(session: AsyncSession, *, email: str, password: str, is_admin: bool = False) -> uuid.UUID:
    check_credentials(email, password)
    exists = await session.scalar(select(User.id).where(func.lower(User.email) == email.lower()))
    if exists is not None:
        raise UserExists(f"a user with email {email} already exists")
    user = User(email=email, password_hash=hash_password(password), is_admin=is_admin)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # created by someone else between the check and the insert
        raise UserExists(f"a user with email {email} already exists") from None
    return user.id


async def issue_api_key(session: AsyncSession, user_id: uuid.UUID, name: str = "default") -> tuple[uuid.UUID, str]:
    """Store a new key's digest; returns (key id, the key itself: it is never stored or shown again)."""
    key, prefix, key_hash = new_api_key()
    key_id = uuid.uuid4()
    await session.execute(
        insert(ApiKey).values(id=key_id, user_id=user_id, name=name, prefix=prefix, key_hash=key_hash)
    )
    return key_id, key


async def create_user_with_key(
    settings: Settings, *, email: str, password: str, is_admin: bool = False
) -> tuple[uuid.UUID, str]:
    """Create a user and a first API key (the CLI's ``users create``)."""
    engine = make_async_engine(settings.database.async_url, pool_size=1)
    try:
        async with make_async_sessionmaker(engine)() as session, session.begin():
            user_id = await create_user(session, email=email, password=password, is_admin=is_admin)
            _, key = await issue_api_key(session, user_id)
        return user_id, key
    finally:
        await engine.dispose()
