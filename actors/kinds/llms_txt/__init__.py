"""The llms.txt generator: a site's pages turned into ``llms.txt`` and ``llms-full.txt`` (llmstxt.org).

This module is the kind's spec, imported by the API as well as by workers: it names worker-only code (the
crawler in ``job``, the extraction pool) and API-only code (``api``: site analysis) as strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from actors.kinds.llms_txt.params import PROVIDERS, LlmsTxtParams, check_params
from actors.kinds.llms_txt.settings import load_settings
from actors.notify.target import NotifyTarget
from actors.registry import Artifact, JobKind, ToolSpec, WebSpec, register_kind, without_nulls


class ToolArguments(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    max_urls: int | None = None
    provider: str | None = None
    full_text: bool | None = None
    include_paths: list[str] | None = None
    exclude_paths: list[str] | None = None
    message_to_user: str | None = None
    notify: NotifyTarget | None = None
    locale: str | None = None


def tool_params(args: dict[str, Any]) -> dict[str, Any]:
    params = without_nulls(args)
    target = str(params.pop("url"))
    params["url" if "://" in target else "hostname"] = target
    return params


def _nullable(type_: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": [type_, "null"], "description": description, **extra}


TOOL = ToolSpec(
    name="generate_llms_txt",
    description=(
        "Crawl a public website and build its llms.txt and llms-full.txt (llmstxt.org). Returns at once with "
        "a job id and a tracking URL where the files appear when done."
    ),
    properties={
        "url": {"type": "string", "description": "The website's address or hostname, e.g. https://example.com."},
        "max_urls": _nullable("integer", "Most pages to read, 1-5000 (null: 500)."),
        "provider": _nullable(
            "string",
            "How page descriptions are written (null: extractive).",
            enum=["extractive", "ollama", "gemini", None],
        ),
        "full_text": _nullable("boolean", "Also build llms-full.txt with every page's text (null: true)."),
        "include_paths": _nullable(
            "array", "Only pages matching these path globs (null: all).", items={"type": "string"}
        ),
        "exclude_paths": _nullable(
            "array", "Skip pages matching these path globs (null: none).", items={"type": "string"}
        ),
    },
    arguments=ToolArguments,
    to_params=tool_params,
    field_names={"hostname": "url"},
    started={
        "en": "I started building llms.txt for the site. You can follow it at {url}; the files appear there when "
        "it is done.",
        "es": "Empecé a generar llms.txt para el sitio. Puedes seguirlo en {url}; los archivos aparecerán allí "
        "cuando termine.",
    },
)


LLMS_TXT = register_kind(
    JobKind(
        name="llms_txt",
        params=LlmsTxtParams,
        handler="actors.kinds.llms_txt.job:run_llms_txt",
        # One lane per provider: a slow local model never holds up the fast queue.
        lanes=PROVIDERS,
        lane_of=lambda p: p.provider,
        settings=load_settings,
        check_params=check_params,
        warm_up="actors.kinds.llms_txt.extract_pool:warm_up",
        health_probes=lambda s: {"ollama": s.ollama_url, **({"gemini": s.gemini_api_base} if s.gemini_api_key else {})},
        shut_down="actors.kinds.llms_txt.extract_pool:shut_down",
        counts_toward_quota=True,
        max_retries=2,
        min_backoff_seconds=10.0,
        title=lambda p: p.display_host,
        description="Turns a website into llms.txt and llms-full.txt.",
        artifacts=(
            Artifact("llms.txt", "llms-{title}.txt", "text/plain; charset=utf-8"),
            Artifact("llms-full.txt", "llms-full-{title}.txt", "text/plain; charset=utf-8"),
            Artifact("bundle.zip", "llms-{title}.zip", "application/zip"),
        ),
        # Gemini (the fast provider) is paid: graduated tiers on the pages the site has.
        pricing={
            "gemini": {
                "tiers": [
                    {"up_to": 100, "cents_per_url": 1.0},
                    {"up_to": 1000, "cents_per_url": 0.5},
                    {"up_to": None, "cents_per_url": 0.2},
                ]
            }
        },
        price_quantity="actors.kinds.llms_txt.api:pages_to_price",
        routes="actors.kinds.llms_txt.api:routes",
        tool=TOOL,
        cli="actors.kinds.llms_txt.cli:add_command",
        web=WebSpec(
            directory=str(Path(__file__).parent / "web"),
            label="llms.txt",
            form="form.html",
            detail="detail.html",
            script="kind.js",
            # One bar across the crawl: shares measured on typical runs (fetching dominates).
            phases=(
                ("discover", "Finding pages", 5.0),
                ("fetch", "Fetching pages", 70.0),
                ("describe", "Describing pages", 20.0),
                ("assemble", "Writing files", 5.0),
            ),
        ),
    )
)
