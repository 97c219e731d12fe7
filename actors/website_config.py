"""Deployment configuration of the website kind, passed from settings by the worker boot.

Outside ``actors.kinds`` on purpose: the settings section extends it, and importing ``actors.kinds`` loads
(and registers) every job kind, which reading the settings must not do.
"""

from __future__ import annotations

from typing import Any

import msgspec


class WebsiteConfig(msgspec.Struct, frozen=True):
    generator_url: str = ""
    # PUBLIC_URL: the job's own page is its tracking URL (``actors.links``).
    public_url: str = "http://127.0.0.1:8000"
    # A secret: never logged, never put in a job's params, result or error.
    generator_api_key: str = ""
    poll_schedule: tuple[tuple[float, float | None], ...] = ((30, 120), (45, 600), (60, 1080), (90, None))
    deadline_seconds: float = 1200.0
    backoff_initial_seconds: float = 30.0
    backoff_max_seconds: float = 300.0
    http_timeout_seconds: float = 30.0

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> WebsiteConfig:
        return msgspec.convert(options.get("website", {}), cls)
