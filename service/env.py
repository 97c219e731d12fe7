"""Reading values from the environment for the settings: numbers, flags, and URLs printed safely."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


class SettingsError(ValueError):
    """An environment variable has a value that cannot be used."""


def number(env: dict[str, str], name: str, default: float, kind: type[int] | type[float]) -> Any:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {'an integer' if kind is int else 'a number'}, got {raw!r}") from None


def flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def redact_url(url: str) -> str:
    """Mask the password in a URL, if any."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
