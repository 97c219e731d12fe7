"""Reading values from the environment: numbers, flags, URLs printed safely, and the reader a job kind gets
to build its own settings section (``JobKind.settings``).

Here, not in ``service``, because job kinds (``actors.kinds``) read their own sections and never import the
service's settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit


class SettingsError(ValueError):
    """An environment variable has a value that cannot be used."""


def number(env: Mapping[str, str], name: str, default: float, kind: type[int] | type[float]) -> Any:
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


# Field names whose values are secrets in any settings section, a kind's included: masked by ``redact``.
_SECRET_MARKERS = ("key", "token", "secret", "password")


def redact(section: Any) -> Any:
    """A settings section as plain data with secret-looking fields masked (``***``) and URL passwords hidden."""
    if isinstance(section, dict):
        masked: dict[str, Any] = {}
        for name, value in section.items():
            secret = any(marker in str(name).lower() for marker in _SECRET_MARKERS)
            if secret and isinstance(value, str):
                masked[name] = "***" if value else ""
            elif isinstance(value, str) and "://" in value:
                masked[name] = redact_url(value)
            else:
                masked[name] = redact(value)
        return masked
    if isinstance(section, list | tuple):
        return [redact(v) for v in section]
    return section


@dataclass(frozen=True)
class KindEnv:
    """What a job kind reads its settings from: the environment plus the platform values kinds commonly need."""

    env: Mapping[str, str]
    public_url: str = "http://127.0.0.1:8000"
    artifacts_dir: str = ".data/artifacts"

    def text(self, name: str, default: str = "") -> str:
        """The variable's value, or ``default`` when it is unset or empty."""
        return self.env.get(name) or default

    def number(self, name: str, default: float, kind: type[int] | type[float]) -> Any:
        return number(self.env, name, default, kind)

    def flag(self, name: str, default: bool = False) -> bool:
        return flag(self.env.get(name), default)
