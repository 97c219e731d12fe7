"""Website generation through an external generator: one short message per poll, never a held worker.

This module is the kind's spec (imported by the API too); the generator client and the poll loop are
worker-only (``job``), named as a string.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from actors.kinds.website.params import WebsiteParams
from actors.kinds.website.settings import check_params, load_settings, rate_limit
from actors.notify.target import NotifyTarget
from actors.registry import JobKind, ToolSpec, WebSpec, register_kind, without_nulls


class ToolArguments(msgspec.Struct, forbid_unknown_fields=True):
    prompt: str
    message_to_user: str | None = None
    notify: NotifyTarget | None = None
    locale: str | None = None


TOOL = ToolSpec(
    name="generate_website",
    description=(
        "Generate a complete website from a description. Returns at once with a job id and a tracking URL; "
        "the site takes 5-20 minutes and the user is notified when it is ready."
    ),
    properties={
        "prompt": {
            "type": "string",
            "description": "What the website is for and what it should contain (at least 10 characters).",
        },
    },
    arguments=ToolArguments,
    to_params=without_nulls,
    started={
        "en": "I started generating the website. It usually takes 5 to 20 minutes; you can follow it at {url} "
        "and you will be notified when it is ready.",
        "es": "Empecé a generar el sitio web. Suele tardar entre 5 y 20 minutos; puedes seguirlo en {url} y te "
        "avisaremos cuando esté listo.",
    },
)

WEBSITE = register_kind(
    JobKind(
        name="website",
        params=WebsiteParams,
        handler="actors.kinds.website.job:run_website",
        settings=load_settings,
        check_params=check_params,
        rate_limit=rate_limit,
        health_probes=lambda s: {"website_generator": s.generator_url} if s.generator_url else {},
        # A message is one or two HTTP requests; the 20-minute wait is the poll deadline, not this limit.
        time_limit_seconds=120,
        max_retries=3,
        min_backoff_seconds=10.0,
        title=lambda p: p.title,
        description="Generates a whole website from a prompt through the external generator.",
        tracked=True,
        tool=TOOL,
        web=WebSpec(
            directory=str(Path(__file__).parent / "web"),
            label="Website",
            detail="detail.html",
            script="kind.js",
            phases=(("generating", "Building your website", 1.0),),
        ),
    )
)
