"""Descriptions from Google's Gemini API (``POST {base}/v1beta/models/{model}:generateContent``).

The API key goes in the ``x-goog-api-key`` header, never in the URL: URLs end up in httpx's log lines,
exception messages and proxies' access logs. `GeminiConfig`'s repr hides the key for the same reason.
One request describes ``batch_size`` pages; ``responseMimeType: application/json`` asks for a JSON object
``{url: description}``.
"""

from __future__ import annotations

import httpx
import msgspec

from actors.kinds.llms_txt.providers.model_describer import ModelDescriber
from actors.llm.gemini import answer_text, generate_url
from actors.llm.http import post_json


class GeminiConfig(msgspec.Struct, frozen=True):
    """Where and how to call Gemini.

    Attributes:
        base_url: API root (``GEMINI_API_BASE``); tests point it at a local server.
        api_key: The key (``GEMINI_API_KEY``); sent only as the ``x-goog-api-key`` header.
        model: Model name, with or without the ``models/`` prefix.
        timeout_seconds: Bound on one whole request.
        batch_size: Pages per request.
        concurrency: Requests in flight at once.
        excerpt_chars: Characters of each page's content sent with it.
        retries: Extra attempts for a request answered with 429 or 5xx.
        retry_delay_seconds: Wait before such a retry when the server gives no ``Retry-After``.
    """

    base_url: str = "https://generativelanguage.googleapis.com"
    api_key: str = ""
    model: str = "gemini-2.0-flash"
    timeout_seconds: float = 30
    batch_size: int = 20
    concurrency: int = 4
    excerpt_chars: int = 2000
    retries: int = 1
    retry_delay_seconds: float = 2.0

    def __repr__(self) -> str:
        key = "***" if self.api_key else "''"
        return f"GeminiConfig(base_url={self.base_url!r}, api_key={key}, model={self.model!r})"


class GeminiDescriber(ModelDescriber):
    """`Describer` backed by Gemini's ``generateContent``; the HTTP client is owned by the caller."""

    provider = "gemini"

    def __init__(self, client: httpx.AsyncClient, config: GeminiConfig) -> None:
        super().__init__(config)
        self._client = client
        self._config = config
        self._url = generate_url(config.base_url, config.model)

    async def _ask(self, prompt: str, *, json_answer: bool) -> str:
        generation: dict[str, object] = {"temperature": 0.2}
        if json_answer:
            generation["responseMimeType"] = "application/json"
        body = {"contents": [{"role": "user", "parts": [{"text": prompt}]}], "generationConfig": generation}
        raw = await post_json(
            self._client,
            self._url,
            body,
            timeout_seconds=self._config.timeout_seconds,
            headers={"x-goog-api-key": self._config.api_key},
        )
        return answer_text(raw)
