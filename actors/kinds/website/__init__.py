"""Website generation through an external generator: one short message per poll, never a held worker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors.kinds.website.job import run_website
from actors.kinds.website.params import WebsiteParams
from actors.registry import JobKind, register_kind


def check_params(params: WebsiteParams, options: Mapping[str, Any]) -> None:
    """Refuse website jobs up front when this deployment has no generator configured."""
    if not options.get("website_generator_configured", False):
        raise ValueError("website generation is not configured on this server (WEBSITE_GENERATOR_URL)")


WEBSITE = register_kind(
    JobKind(
        name="website",
        params=WebsiteParams,
        handler=run_website,
        check_params=check_params,
        # A message is one or two HTTP requests; the 20-minute wait is the poll deadline, not this limit.
        time_limit_seconds=120,
        max_retries=3,
        min_backoff_seconds=10.0,
        title=lambda p: p.title,
        description="Generates a whole website from a prompt through the external generator.",
        tracked=True,
    )
)
