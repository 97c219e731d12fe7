"""The crawler's configuration, built in the worker from the kind's settings section (``settings``)."""

from __future__ import annotations

import msgspec

from actors.kinds.llms_txt.fetcher import FetchConfig
from actors.kinds.llms_txt.providers import GeminiConfig, OllamaConfig
from actors.kinds.llms_txt.settings import LlmsTxtSettings

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
    def from_settings(cls, s: LlmsTxtSettings) -> LlmsTxtConfig:
        return cls(
            artifacts_dir=s.artifacts_dir,
            extract_processes=s.extract_processes,
            fetch=FetchConfig(
                user_agent=s.user_agent,
                per_host_concurrency=s.concurrency,
                timeout_seconds=s.timeout_seconds,
                max_page_bytes=s.max_page_bytes,
                allow_private=s.allow_private,
            ),
            ollama=OllamaConfig(base_url=s.ollama_url, model=s.ollama_model),
            gemini=GeminiConfig(base_url=s.gemini_api_base, api_key=s.gemini_api_key, model=s.gemini_model),
        )
