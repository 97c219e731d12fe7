"""Chat with a language model: a system and a user message in, the answer's text out.

Three providers, chosen per deployment (``ChatConfig.provider``):

* ``ollama``: ``POST {base}/api/chat`` with ``stream: false``;
* ``gemini``: ``POST {base}/v1beta/models/{model}:generateContent`` (key in ``x-goog-api-key``);
* ``openai``: ``POST {base}/chat/completions`` of any OpenAI-compatible API (OpenAI, vLLM, llama.cpp,
  OpenRouter...), key as a bearer token when set.

A call answered with 429 or 5xx, or not at all, is retried ``retries`` times after ``Retry-After`` (capped) or
``retry_delay_seconds``; any other failure raises `ProviderCallError` at once.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

import httpx
import msgspec

from actors.llm import gemini
from actors.llm.errors import BAD_RESPONSE, PASSING, ProviderCallError
from actors.llm.http import post_json

_T = TypeVar("_T")
PROVIDERS = ("ollama", "gemini", "openai")
MAX_RETRY_DELAY_SECONDS = 20.0


class ChatConfig(msgspec.Struct, frozen=True):
    """Which model answers and where. The repr hides the key."""

    provider: str = "ollama"
    base_url: str = "http://127.0.0.1:11434"
    model: str = "llama3.2"
    api_key: str = ""
    timeout_seconds: float = 180.0
    temperature: float = 0.7
    retries: int = 2
    retry_delay_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.provider not in PROVIDERS:
            raise ValueError(f"unknown chat provider {self.provider!r}; choose one of {', '.join(PROVIDERS)}")

    def __repr__(self) -> str:
        key = "***" if self.api_key else "''"
        where = f"provider={self.provider!r}, base_url={self.base_url!r}, model={self.model!r}"
        return f"ChatConfig({where}, api_key={key})"


class _OllamaMessage(msgspec.Struct):
    content: str = ""


class _OllamaReply(msgspec.Struct):
    message: _OllamaMessage


class _OpenAIChoice(msgspec.Struct):
    message: _OllamaMessage


class _OpenAIReply(msgspec.Struct):
    choices: list[_OpenAIChoice]


class ChatClient:
    """Asks the configured model; the HTTP client is owned by the caller."""

    def __init__(self, client: httpx.AsyncClient, config: ChatConfig) -> None:
        self._client = client
        self.config = config

    async def ask(self, system: str, user: str) -> str:
        """The model's answer to ``user`` under the ``system`` instructions (retried on passing failures)."""
        attempt = 0
        while True:
            try:
                answer = await self._ask_once(system, user)
            except ProviderCallError as exc:
                if exc.cause not in PASSING or attempt >= self.config.retries:
                    raise
                attempt += 1
                delay = exc.retry_after if exc.retry_after is not None else self.config.retry_delay_seconds
                await asyncio.sleep(min(delay, MAX_RETRY_DELAY_SECONDS))
                continue
            if not answer.strip():
                raise ProviderCallError(BAD_RESPONSE, "empty answer")
            return answer

    async def _ask_once(self, system: str, user: str) -> str:
        c = self.config
        base = c.base_url.rstrip("/")
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        if c.provider == "ollama":
            body = {"model": c.model, "messages": messages, "stream": False, "options": {"temperature": c.temperature}}
            raw = await post_json(self._client, f"{base}/api/chat", body, timeout_seconds=c.timeout_seconds)
            return _decode(raw, _OllamaReply, "an Ollama chat reply").message.content
        if c.provider == "gemini":
            body = {
                "systemInstruction": {"parts": [{"text": system}]},
                "contents": [{"role": "user", "parts": [{"text": user}]}],
                "generationConfig": {"temperature": c.temperature},
            }
            raw = await post_json(
                self._client,
                gemini.generate_url(base, c.model),
                body,
                timeout_seconds=c.timeout_seconds,
                headers={"x-goog-api-key": c.api_key},
            )
            return gemini.answer_text(raw)
        headers = {"authorization": f"Bearer {c.api_key}"} if c.api_key else None
        body = {"model": c.model, "messages": messages, "temperature": c.temperature}
        raw = await post_json(
            self._client, f"{base}/chat/completions", body, timeout_seconds=c.timeout_seconds, headers=headers
        )
        reply = _decode(raw, _OpenAIReply, "a chat-completions reply")
        if not reply.choices:
            raise ProviderCallError(BAD_RESPONSE, "no choices")
        return reply.choices[0].message.content


def _decode(raw: bytes, type_: type[_T], what: str) -> _T:
    try:
        return msgspec.json.decode(raw, type=type_)
    except msgspec.DecodeError as exc:
        raise ProviderCallError(BAD_RESPONSE, f"not {what}") from exc
