"""Deployment configuration of the llms.txt generator, passed from settings by the worker boot."""

from __future__ import annotations

from typing import Any

import msgspec

from actors.kinds.llms_txt.fetcher import FetchConfig
from actors.kinds.llms_txt.providers import GeminiConfig, OllamaConfig

# robots.txt may ask for a long Crawl-delay; past this we crawl slower but not so slowly that a job could
# never finish within its time limit.
MAX_CRAWL_DELAY_SECONDS = 2.0


class LlmsTxtConfig(msgspec.Struct, frozen=True):
    artifacts_dir: str = ".data/artifacts"
    # Processes extracting pages beside the crawl (0: extract in the crawl's own process).
    extract_processes: int = 0
    fetch: FetchConfig = FetchConfig()
    ollama: OllamaConfig = msgspec.field(default_factory=lambda: OllamaConfig(base_url="http://127.0.0.1:11434"))
    gemini: GeminiConfig = GeminiConfig()

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> LlmsTxtConfig:
        return msgspec.convert(options.get("llms_txt", {}), cls)
