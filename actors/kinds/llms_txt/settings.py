"""The llms.txt kind's settings section, read from the environment (light: the API imports it).

``CRAWL_*`` (how pages are fetched), ``OLLAMA_*`` and ``GEMINI_*`` (the model providers), and the extraction
processes beside each crawl. The worker turns it into the crawler's own configuration (``config``).
"""

from __future__ import annotations

import os

import msgspec

from actors.env import KindEnv


def _default_extract_processes() -> int:
    cores = os.cpu_count() or 1
    return min(4, cores) if cores >= 2 else 0


class LlmsTxtSettings(msgspec.Struct, frozen=True):
    artifacts_dir: str = ".data/artifacts"
    # Off in production: only public addresses are fetched. Tests and local benchmarks turn it on.
    allow_private: bool = False
    concurrency: int = 8
    timeout_seconds: float = 15.0
    max_page_bytes: int = 5_000_000
    user_agent: str = "genjobs-llms-txt/0.1 (+https://github.com/genjobs)"
    # Processes fetching and extracting pages beside each crawl worker (0: all in the crawl's process): one per
    # core, at most 4, none on one core. The crawl's own process is lightly loaded once there are two or more
    # (``shared_fetch.helper_share``), so on 2 cores it is 2, not cores - 1.
    extract_processes: int = _default_extract_processes()
    ollama_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.2"
    gemini_api_base: str = "https://generativelanguage.googleapis.com"
    # A secret: never logged or returned.
    gemini_api_key: str = ""
    gemini_model: str = "gemini-2.0-flash"


def load_settings(env: KindEnv) -> LlmsTxtSettings:
    d = LlmsTxtSettings()
    return LlmsTxtSettings(
        artifacts_dir=env.artifacts_dir,
        allow_private=env.flag("CRAWL_ALLOW_PRIVATE"),
        concurrency=env.number("CRAWL_CONCURRENCY", d.concurrency, int),
        timeout_seconds=env.number("CRAWL_TIMEOUT_SECONDS", d.timeout_seconds, float),
        max_page_bytes=env.number("CRAWL_MAX_PAGE_BYTES", d.max_page_bytes, int),
        user_agent=env.text("CRAWL_USER_AGENT", d.user_agent),
        extract_processes=env.number("CRAWL_EXTRACT_PROCESSES", d.extract_processes, int),
        ollama_url=env.text("OLLAMA_URL", d.ollama_url).rstrip("/"),
        ollama_model=env.text("OLLAMA_MODEL", d.ollama_model),
        gemini_api_base=env.text("GEMINI_API_BASE", d.gemini_api_base).rstrip("/"),
        gemini_api_key=env.text("GEMINI_API_KEY"),
        gemini_model=env.text("GEMINI_MODEL", d.gemini_model),
    )
