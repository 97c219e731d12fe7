"""The llms.txt generator: a site's pages turned into ``llms.txt`` and ``llms-full.txt`` (llmstxt.org)."""

from __future__ import annotations

from actors.kinds.llms_txt.config import LlmsTxtConfig
from actors.kinds.llms_txt.extract_pool import shut_down, warm_up
from actors.kinds.llms_txt.job import run_llms_txt
from actors.kinds.llms_txt.params import PROVIDERS, LlmsTxtParams, check_params
from actors.registry import JobKind, register_kind

LLMS_TXT = register_kind(
    JobKind(
        name="llms_txt",
        params=LlmsTxtParams,
        handler=run_llms_txt,
        # One lane per provider: a slow local model never holds up the fast queue.
        lanes=PROVIDERS,
        lane_of=lambda p: p.provider,
        check_params=check_params,
        warm_up=lambda options: warm_up(LlmsTxtConfig.from_options(dict(options))),
        shut_down=shut_down,
        counts_toward_quota=True,
        max_retries=2,
        min_backoff_seconds=10.0,
        title=lambda p: p.display_host,
        description="Turns a website into llms.txt and llms-full.txt.",
    )
)
