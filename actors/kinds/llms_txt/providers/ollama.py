"""Descriptions from a local Ollama server (``POST {base_url}/api/generate``, non-streaming).

One request describes ``batch_size`` pages: the prompt lists them and ``"format": "json"`` makes the model
answer a JSON object ``{url: description}``. ``num_ctx`` is raised from Ollama's small default context
because a batch of ten pages with excerpts does not fit in 2,048 tokens, and Ollama truncates silently.
"""

from __future__ import annotations

import httpx
import msgspec

from actors.kinds.llms_txt.providers.base import BAD_RESPONSE, ProviderCallError
from actors.kinds.llms_txt.providers.model_describer import ModelDescriber
from actors.llm.http import post_json


class OllamaConfig(msgspec.Struct, frozen=True):
    """Where and how to call Ollama.

    Attributes:
        base_url: The server, e.g. ``http://127.0.0.1:11434`` (``OLLAMA_URL``).
        model: A model the server has pulled.
        timeout_seconds: Bound on one whole request; local models are slow on a cold start.
        batch_size: Pages per request.
        concurrency: Requests in flight at once; Ollama serves one at a time unless OLLAMA_NUM_PARALLEL is set.
        excerpt_chars: Characters of each page's content sent with it.
        num_ctx: Context window requested from the model, in tokens.
        retries: Extra attempts for a request answered with 429 or 5xx.
        retry_delay_seconds: Wait before such a retry when the server gives no ``Retry-After``.
    """

    base_url: str
    model: str = "llama3.2"
    timeout_seconds: float = 60
    batch_size: int = 10
    concurrency: int = 1
    excerpt_chars: int = 800
    num_ctx: int = 8192
    retries: int = 1
    retry_delay_seconds: float = 2.0


class _GenerateReply(msgspec.Struct):
    response: str


class OllamaDescriber(ModelDescriber):
    """`Describer` backed by Ollama's ``/api/generate``; the HTTP client is owned by the caller."""

    provider = "ollama"

    def __init__(self, client: httpx.AsyncClient, config: OllamaConfig) -> None:
        super().__init__(config)
        self._client = client
        self._config = config
        self._url = config.base_url.rstrip("/") + "/api/generate"

    async def _ask(self, prompt: str, *, json_answer: bool) -> str:
        body: dict[str, object] = {
            "model": self._config.model,
            "prompt": prompt,
            "stream": False,
            # Low temperature: descriptions should be factual and stable between runs.
            "options": {"temperature": 0.2, "num_ctx": self._config.num_ctx},
        }
        if json_answer:
            body["format"] = "json"
        raw = await post_json(self._client, self._url, body, timeout_seconds=self._config.timeout_seconds)
        try:
            return msgspec.json.decode(raw, type=_GenerateReply).response
        except msgspec.DecodeError as exc:
            raise ProviderCallError(BAD_RESPONSE, "not an Ollama generate reply") from exc
