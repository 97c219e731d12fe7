"""Gemini's ``generateContent``: the request URL and the answer's text (shared by every kind that asks Gemini).

The API key goes in the ``x-goog-api-key`` header, never in the URL: URLs end up in log lines, exception
messages and proxies' access logs.
"""

from __future__ import annotations

from urllib.parse import quote

import msgspec

from actors.llm.errors import BAD_RESPONSE, ProviderCallError

DEFAULT_BASE = "https://generativelanguage.googleapis.com"


class _Part(msgspec.Struct):
    text: str = ""
    thought: bool = False


class _Content(msgspec.Struct):
    parts: list[_Part] = msgspec.field(default_factory=list)


class _Candidate(msgspec.Struct):
    content: _Content | None = None
    finish_reason: str | None = msgspec.field(default=None, name="finishReason")


class _GenerateReply(msgspec.Struct):
    candidates: list[_Candidate] = msgspec.field(default_factory=list)


def generate_url(base_url: str, model: str) -> str:
    """``{base}/v1beta/models/{model}:generateContent`` (the model with or without ``models/``)."""
    name = quote(model.removeprefix("models/"), safe="-._")
    return f"{base_url.rstrip('/')}/v1beta/models/{name}:generateContent"


def answer_text(raw: bytes) -> str:
    """The answer of a ``generateContent`` reply; `ProviderCallError` when there is none."""
    try:
        reply = msgspec.json.decode(raw, type=_GenerateReply)
    except msgspec.DecodeError as exc:
        raise ProviderCallError(BAD_RESPONSE, "not a generateContent reply") from exc
    if not reply.candidates or reply.candidates[0].content is None:
        # No candidate: the prompt was blocked (promptFeedback) or the model stopped early.
        reason = reply.candidates[0].finish_reason if reply.candidates else "no candidates"
        raise ProviderCallError(BAD_RESPONSE, f"no content ({reason})")
    # Thinking models put their reasoning in parts marked "thought": only the answer is wanted.
    text = "".join(part.text for part in reply.candidates[0].content.parts if not part.thought)
    if not text.strip():
        raise ProviderCallError(BAD_RESPONSE, f"empty answer ({reply.candidates[0].finish_reason})")
    return text
