"""Passwords (argon2) and bearer secrets (API keys, session tokens: random, stored as SHA-256 digests).

API keys and session tokens are 256-bit random values, so a fast digest is enough to store them safely and
lets a request be authenticated with one indexed lookup; passwords are low-entropy and get argon2.
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
API_KEY_PREFIX = "gj_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """A new API key: (the key, shown once; its display prefix; its digest to store)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:10], digest(key)


def new_session_token() -> tuple[str, str]:
    """A new browser session token: (the token for the cookie, its digest to store)."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)
