"""Limits on logging in: attempts per account and per client address (Redis), and password hashes at once.

Every attempt counts, before its password is checked, in two fixed windows (``LOGIN_WINDOW_SECONDS``): one per
account (the email, lower-cased and digested) and one per client address. Past either limit the answer is
429 with ``Retry-After`` until that window ends, whether or not the password is right, so guessing stops; a
successful login clears its account's count. Counting first, in Redis, holds across API processes and
against a burst of parallel attempts.

Each argon2 check takes 64 MiB for its duration, so a process computes at most
``PASSWORD_HASH_CONCURRENCY`` at once (``password_hash_limiter``); the others wait their turn.

A fixed window is two Redis commands on the API's own client; a rate-limit library (``limits``) would bring
its own Redis client and storage for the same two commands.
"""

from __future__ import annotations

import anyio
from redis.asyncio import Redis

from service.auth.secrets import digest
from service.errors import TooManyRequests
from service.settings import AuthSettings

KEY_PREFIX = "genjobs:login"


def password_hash_limiter(settings: AuthSettings) -> anyio.CapacityLimiter:
    """The per-process bound on password hashes computed at once (made in the app's lifespan)."""
    return anyio.CapacityLimiter(settings.password_hash_concurrency)


async def _count(redis: Redis, key: str, window_seconds: int) -> tuple[int, int]:
    """This attempt's number in the key's current window, and the seconds left in that window."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window_seconds, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = await pipe.execute()
    return int(count), max(1, int(ttl))


async def count_login_attempt(redis: Redis, settings: AuthSettings, email: str, address: str) -> None:
    """Count one attempt for the account and the address.

    Raises:
        TooManyRequests: either is past its limit in this window (``Retry-After``: when that window ends).
    """
    window = settings.login_window_seconds
    account_key = f"{KEY_PREFIX}:account:{digest(email.strip().lower())}"
    address_key = f"{KEY_PREFIX}:address:{address}"
    account, account_wait = await _count(redis, account_key, window)
    by_address, address_wait = await _count(redis, address_key, window)
    over = []
    if account > settings.login_attempts_per_account:
        over.append(("account", settings.login_attempts_per_account, account_wait))
    if by_address > settings.login_attempts_per_address:
        over.append(("address", settings.login_attempts_per_address, address_wait))
    if not over:
        return
    retry_after = max(wait for _, _, wait in over)
    raise TooManyRequests(
        f"Too many login attempts; try again in {retry_after} s.",
        code="too_many_login_attempts",
        details={
            "limited_by": [scope for scope, _, _ in over],
            "limit": min(limit for _, limit, _ in over),
            "window_seconds": window,
            "retry_after_seconds": retry_after,
        },
        headers={"Retry-After": str(retry_after)},
    )


async def forget_login_failures(redis: Redis, email: str) -> None:
    """After a successful login: the account's earlier failures no longer count against it."""
    await redis.delete(f"{KEY_PREFIX}:account:{digest(email.strip().lower())}")
