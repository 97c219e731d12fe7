"""Per-user webhook signing secrets are kept sealed (encrypted) at rest with a key derived from ``SECRET_KEY``.

Signing needs the secret itself, so it cannot be hashed like a password; sealing means a copy of the database
alone (a backup, a read-only leak) does not let anyone sign webhooks as this service. The API seals a secret
when it makes one; the worker opens it to sign. ``cryptography``'s Fernet (AES-128-CBC with HMAC-SHA256,
authenticated) does the work, keyed by HKDF-SHA256 of ``SECRET_KEY``.

Rows made before sealing (``whsec_...`` in clear) are still opened, and sealed the next time the worker reads
them. Without ``SECRET_KEY`` (a local development run) secrets are stored in clear, as before.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# What a secret in clear starts with (``records.new_webhook_secret``).
CLEAR_PREFIX = "whsec_"
_INFO = b"genjobs: webhook signing secrets at rest"


class SealError(ValueError):
    """A stored secret cannot be opened with this ``SECRET_KEY`` (changed key, or a damaged value)."""


class SecretSeal:
    """Seals and opens stored webhook secrets with the deployment's ``SECRET_KEY``."""

    def __init__(self, secret_key: str) -> None:
        self._fernet: Fernet | None = None
        if secret_key:
            key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
            self._fernet = Fernet(base64.urlsafe_b64encode(key))

    @property
    def enabled(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: str) -> str:
        """The form to store: sealed when a key is configured, else the secret itself."""
        return self._fernet.encrypt(secret.encode()).decode() if self._fernet else secret

    def open(self, stored: str) -> str:
        """The secret from its stored form (sealed, or in clear from before sealing)."""
        if stored.startswith(CLEAR_PREFIX):
            return stored
        if self._fernet is None:
            raise SealError("the webhook secret is sealed but SECRET_KEY is not set")
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise SealError("the webhook secret cannot be opened with this SECRET_KEY") from None

    def needs_sealing(self, stored: str) -> bool:
        """Whether ``stored`` is in clear while a key is configured."""
        return self.enabled and stored.startswith(CLEAR_PREFIX)
