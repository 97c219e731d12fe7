"""What the notification code needs from the deployment, as plain data (actors never import service settings).

The settings section ``service.feature_settings.NotifySettings`` extends this struct, and the worker boot
hands that section to the notifier as it is.
"""

from __future__ import annotations

import msgspec

from actors.retry import backoff_seconds

QUEUE = "notifications"
ACTOR_NAME = "notify:deliver"


class NotifyConfig(msgspec.Struct, frozen=True):
    public_url: str = "http://127.0.0.1:8000"
    smtp_url: str = ""
    email_from: str = "genjobs <no-reply@localhost>"
    ultramsg_api_base: str = "https://api.ultramsg.com"
    ultramsg_instance_id: str = ""
    ultramsg_token: str = ""
    whatsapp_api_base: str = "https://graph.facebook.com/v21.0"
    whatsapp_phone_number_id: str = ""
    whatsapp_token: str = ""
    max_attempts: int = 5
    min_backoff_seconds: float = 10.0
    max_backoff_seconds: float = 600.0
    timeout_seconds: float = 15.0
    allow_private: bool = False
    # SECRET_KEY: seals per-user webhook signing secrets at rest (actors.notify.sealing).
    secret_key: str = ""

    def backoff_seconds(self, attempt: int) -> float:
        """Exponential backoff after failed attempt number ``attempt`` (1-based)."""
        return backoff_seconds(max(1, attempt), base=self.min_backoff_seconds, cap=self.max_backoff_seconds)

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in an error message we store or log."""
        return tuple(
            s for s in (self.ultramsg_token, self.whatsapp_token, _password(self.smtp_url), self.secret_key) if s
        )


def _password(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    password = urlsplit(url).password if url else None
    return unquote(password) if password else ""


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text
