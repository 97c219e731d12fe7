"""Fake Ollama and Gemini servers: real HTTP on 127.0.0.1 (aiohttp, in the test's event loop).

Each fake speaks the part of its API our providers use, checks what a real server would reject (the model
name, ``stream: false``, the API key header) and records every request for assertions. ``mode`` decides
how it answers; ``script(...)`` queues modes for the next requests first:

- ``ok``: JSON descriptions for every ``URL:`` line of the prompt (a plain-text summary otherwise);
- ``partial``: describes only the first half of the pages;
- ``error_500`` / ``rate_limit`` (429 with ``Retry-After: 0``);
- ``hang``: never answers (until the fake stops), for client timeouts;
- ``garbage_body``: 200 with a body that is not the API's JSON;
- ``garbage_answer``: a well-formed reply whose model answer is not JSON.

Fixtures: ``fake_ollama``, ``fake_gemini`` (started per test) and ``http_client``; import the
``*_fixture`` functions into a test module to use them.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web

GEMINI_TEST_KEY = "test-gemini-key-5f2c9b"
MODES = ("ok", "partial", "error_500", "rate_limit", "hang", "garbage_body", "garbage_answer")
_URL_LINE = re.compile(r"^URL: (\S+)$", re.MULTILINE)


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: str
    url: str
    headers: dict[str, str]
    body: Any

    @property
    def prompt(self) -> str:
        """The prompt text (Ollama's ``prompt``, Gemini's first part)."""
        if "prompt" in self.body:
            return str(self.body["prompt"])
        return str(self.body["contents"][0]["parts"][0]["text"])


@dataclass
class FakeProvider:
    """Shared machinery: the aiohttp server, the request log and the answer modes."""

    mode: str = "ok"
    requests: list[RecordedRequest] = field(default_factory=list)
    _script: list[str] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)
    base_url: str = ""

    def script(self, *modes: str) -> None:
        """Answer the next requests with these modes, in order, then with ``mode`` again."""
        assert all(m in MODES for m in modes), modes
        self._script.extend(modes)

    def describe_requests(self) -> list[RecordedRequest]:
        """Requests that asked for page descriptions (as opposed to the summary)."""
        return [r for r in self.requests if _URL_LINE.search(r.prompt)]

    async def start(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        self._release.set()  # let "hang" handlers finish so shutdown does not wait on them
        if self._runner is not None:
            await self._runner.cleanup()

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def _record(self, request: web.Request) -> tuple[RecordedRequest, str]:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query_string,
            url=str(request.url),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        self.requests.append(recorded)
        mode = self._script.pop(0) if self._script else self.mode
        if mode == "hang":
            await self._release.wait()
        return recorded, mode

    @staticmethod
    def answer_for(prompt: str, mode: str) -> tuple[str, bool]:
        """The model's answer text for a prompt, and whether it is a describe answer."""
        urls = _URL_LINE.findall(prompt)
        if not urls:
            return "Example Site is a fake website used in tests. It documents a job service.", False
        if mode == "partial":
            urls = urls[: max(1, len(urls) // 2)]
        return json.dumps({url: f"Model description of {url}" for url in urls}), True

    @staticmethod
    def failure(mode: str) -> web.Response | None:
        """The HTTP-level failure a mode asks for, or None when the mode answers normally."""
        if mode == "error_500":
            return web.json_response({"error": "internal error"}, status=500)
        if mode == "rate_limit":
            return web.json_response({"error": "rate limited"}, status=429, headers={"Retry-After": "0"})
        if mode == "garbage_body":
            return web.Response(text="<html>502 from a proxy, sort of</html>", content_type="text/html")
        return None


@dataclass
class FakeOllama(FakeProvider):
    """``POST /api/generate`` with ``stream: false``; knows one model."""

    model: str = "llama3.2"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/generate", self._generate)

    async def _generate(self, request: web.Request) -> web.Response:
        recorded, mode = await self._record(request)
        body = recorded.body
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            return web.json_response({"error": "invalid request"}, status=400)
        if body.get("model") != self.model:
            return web.json_response({"error": f"model '{body.get('model')}' not found"}, status=404)
        if body.get("stream") is not False:
            # A streaming answer is NDJSON, which our client does not read: treat it as a client bug.
            return web.json_response({"error": "this fake only answers stream: false"}, status=400)
        if (failure := self.failure(mode)) is not None:
            return failure
        answer, _ = self.answer_for(body["prompt"], mode)
        if mode == "garbage_answer":
            answer = "Sure! Here are some descriptions, not JSON though."
        return web.json_response({"model": self.model, "response": answer, "done": True})


@dataclass
class FakeGemini(FakeProvider):
    """``POST /v1beta/models/{model}:generateContent``; requires the ``x-goog-api-key`` header."""

    model: str = "gemini-2.0-flash"
    api_key: str = GEMINI_TEST_KEY

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1beta/models/{target}", self._generate)

    async def _generate(self, request: web.Request) -> web.Response:
        recorded, mode = await self._record(request)
        key = request.headers.get("x-goog-api-key")
        if key is None:
            return _google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        if key != self.api_key:
            return _google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        model, _, action = request.match_info["target"].partition(":")
        if action != "generateContent":
            return _google_error(404, "NOT_FOUND", f"unknown method {action}")
        if model != self.model:
            return _google_error(404, "NOT_FOUND", f"models/{model} is not found")
        body = recorded.body
        try:
            prompt = body["contents"][0]["parts"][0]["text"]
        except (TypeError, KeyError, IndexError):
            return _google_error(400, "INVALID_ARGUMENT", "contents are required")
        if (failure := self.failure(mode)) is not None:
            return failure
        answer, is_describe = self.answer_for(prompt, mode)
        wants_json = body.get("generationConfig", {}).get("responseMimeType") == "application/json"
        if wants_json != is_describe:
            # Describe calls must ask for JSON and summary calls for text: a mismatch is our bug, made loud.
            return _google_error(400, "INVALID_ARGUMENT", "responseMimeType does not fit the prompt")
        if mode == "garbage_answer":
            answer = "I cannot help with that."
        return web.json_response(
            {
                "candidates": [{"content": {"parts": [{"text": answer}], "role": "model"}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": len(prompt) // 4},
                "modelVersion": self.model,
            }
        )


def _google_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": status, "message": message, "status": code}}, status=status)


# Registered under the short names; the function names differ so a test module can import them without its
# parameters "redefining" the import (ruff F811).
@pytest.fixture(name="fake_ollama")
async def fake_ollama_fixture() -> AsyncIterator[FakeOllama]:
    """A started fake Ollama server, stopped after the test."""
    server = FakeOllama()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(name="fake_gemini")
async def fake_gemini_fixture() -> AsyncIterator[FakeGemini]:
    """A started fake Gemini server (key `GEMINI_TEST_KEY`), stopped after the test."""
    server = FakeGemini()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(name="http_client")
async def http_client_fixture() -> AsyncIterator[httpx.AsyncClient]:
    """The caller-owned HTTP client the providers take."""
    async with httpx.AsyncClient() as client:
        yield client
