"""The article kinds' settings section, read from the environment.

``ARTICLE_LLM_PROVIDER`` chooses the model (``ollama`` default, ``gemini``, ``openai``); each provider's base
URL, model and key come from the same variables the other kinds use (``OLLAMA_URL``, ``OLLAMA_MODEL``,
``GEMINI_API_BASE``, ``GEMINI_API_KEY``, ``GEMINI_MODEL``) or, for any OpenAI-compatible API,
``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``OPENAI_MODEL``. ``ARTICLE_LLM_MODEL`` overrides the model for
articles only.
"""

from __future__ import annotations

import msgspec

from actors.env import KindEnv, SettingsError
from actors.llm.chat import PROVIDERS, ChatConfig

DEFAULT_MODELS = {"ollama": "llama3.2", "gemini": "gemini-2.0-flash", "openai": "gpt-4o-mini"}


class ArticleSettings(msgspec.Struct, frozen=True):
    chat: ChatConfig
    public_url: str = "http://127.0.0.1:8000"
    # Generations per job before the order fails (each failed check feeds the next prompt).
    qc_attempts: int = 3
    # Catalog articles offered to the model as internal links.
    max_internal_links: int = 20


def load_settings(env: KindEnv) -> ArticleSettings:
    provider = env.text("ARTICLE_LLM_PROVIDER", "ollama").lower()
    if provider not in PROVIDERS:
        raise SettingsError(f"ARTICLE_LLM_PROVIDER must be one of {', '.join(PROVIDERS)}, not {provider!r}")
    if provider == "ollama":
        base, key, model = env.text("OLLAMA_URL", "http://127.0.0.1:11434"), "", env.text("OLLAMA_MODEL")
    elif provider == "gemini":
        base = env.text("GEMINI_API_BASE", "https://generativelanguage.googleapis.com")
        key, model = env.text("GEMINI_API_KEY"), env.text("GEMINI_MODEL")
    else:
        base = env.text("OPENAI_BASE_URL", "https://api.openai.com/v1")
        key, model = env.text("OPENAI_API_KEY"), env.text("OPENAI_MODEL")
    chat = ChatConfig(
        provider=provider,
        base_url=base.rstrip("/"),
        model=env.text("ARTICLE_LLM_MODEL", model or DEFAULT_MODELS[provider]),
        api_key=key,
        timeout_seconds=env.number("ARTICLE_LLM_TIMEOUT_SECONDS", 180.0, float),
        retries=env.number("ARTICLE_LLM_RETRIES", 2, int),
    )
    return ArticleSettings(
        chat=chat,
        public_url=env.public_url.rstrip("/"),
        qc_attempts=env.number("ARTICLE_QC_ATTEMPTS", 3, int),
        max_internal_links=env.number("ARTICLE_MAX_INTERNAL_LINKS", 20, int),
    )
