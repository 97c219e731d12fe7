"""Signing webhook bodies, and verifying them: receivers may import or copy ``verify_signature``.

The header is ``X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``. Putting the
timestamp under the MAC and refusing old timestamps stops a captured request from being replayed later.
Only the standard library is used, so the verification can be copied into any Python receiver::

    from actors.notify.signature import verify_signature

    if not verify_signature(secret, request.headers["X-Signature"], raw_body):
        return 401
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Signature`` header value for ``body`` (signed now unless ``timestamp`` is given)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``header`` is a valid signature of the raw ``body`` made with ``secret`` recently.

    Args:
        secret: The user's webhook secret (``POST /api/me/notifications/webhook-secret`` shows it).
        header: The ``X-Signature`` header as received (None when missing).
        body: The raw request body, exactly as received (not re-serialized JSON).
        tolerance_seconds: How far the signature's timestamp may be from ``now``, either way.
        now: The current unix time (tests pass it; default ``time.time()``).

    Returns:
        True only if the header is well formed, its timestamp is within the tolerance and one of its
        ``v1`` values matches (several are allowed so a sender can sign with an old and a new secret).
    """
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return False
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    # compare_digest: the time taken must not reveal how many leading characters matched.
    return any(hmac.compare_digest(expected, c) for c in candidates)
