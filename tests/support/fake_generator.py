"""A fake external website generator: real HTTP on 127.0.0.1, in a thread (the worker under test calls it).

It speaks the API documented in ``actors/kinds/website/client.py``, checks the bearer key, honours
``Idempotency-Key`` on create, and records every request. What a project does is scripted per prompt
(``script(prompt, ...)``); an unscripted prompt is processing twice, then completed.

Create steps (one per ``POST /projects``, the last repeats): ``ok``, ``500``, ``429:<seconds>``,
``400:<reason>``. Poll steps (one per ``GET /projects/{id}``, the last repeats): ``processing``,
``completed``, ``failed:<reason>``, ``500``, ``429:<seconds>``, ``404``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GENERATOR_TEST_KEY = "test-generator-key-93b1d7"


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str
    idempotency_key: str | None
    body: dict[str, Any] | None
    at: float


@dataclass
class Project:
    id: str
    prompt: str
    polls: list[str]
    served: int = 0


@dataclass
class Script:
    create: list[str] = field(default_factory=lambda: ["ok"])
    polls: list[str] = field(default_factory=lambda: ["processing", "processing", "completed"])


class FakeGenerator:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.projects: dict[str, Project] = {}
        self._scripts: dict[str, Script] = {}
        self._create_counts: dict[str, int] = {}
        self._by_key: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FakeGenerator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, prompt: str, *, polls: list[str] | None = None, create: list[str] | None = None) -> str:
        with self._lock:
            self._scripts[prompt] = Script(create=create or ["ok"], polls=polls or Script().polls)
        return prompt

    def of_prompt(self, prompt: str) -> list[Recorded]:
        """Requests about the project(s) of this prompt, creates included."""
        with self._lock:
            ids = {p.id for p in self.projects.values() if p.prompt == prompt}
            return [
                r for r in self.requests if (r.body or {}).get("prompt") == prompt or r.path.rsplit("/", 1)[-1] in ids
            ]

    def creates(self, prompt: str) -> list[Recorded]:
        return [r for r in self.of_prompt(prompt) if r.method == "POST"]

    def polls(self, prompt: str) -> list[Recorded]:
        return [r for r in self.of_prompt(prompt) if r.method == "GET"]

    # -- the HTTP side ------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake._serve(self)

            def do_GET(self) -> None:
                fake._serve(self)

        return Handler

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        record = Recorded(
            h.command, h.path, h.headers.get("Authorization", ""), h.headers.get("Idempotency-Key"), body, time.time()
        )
        with self._lock:
            self.requests.append(record)
            status, payload, headers = self._answer(record)
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def _answer(self, r: Recorded) -> tuple[int, dict[str, Any], dict[str, str]]:
        if r.authorization != f"Bearer {GENERATOR_TEST_KEY}":
            return 401, {"error": {"message": "invalid API key"}}, {}
        if r.method == "POST" and r.path == "/projects":
            return self._create(r)
        if r.method == "GET" and r.path.startswith("/projects/"):
            return self._poll(r.path.removeprefix("/projects/"))
        return 404, {"error": "no such route"}, {}

    def _create(self, r: Recorded) -> tuple[int, dict[str, Any], dict[str, str]]:
        prompt = str((r.body or {}).get("prompt", ""))
        script = self._scripts.get(prompt, Script())
        n = self._create_counts.get(prompt, 0)
        self._create_counts[prompt] = n + 1
        step = script.create[min(n, len(script.create) - 1)]
        failure = _failure(step)
        if failure is not None:
            return failure
        key = r.idempotency_key or uuid.uuid4().hex
        if key not in self._by_key:
            project = Project(uuid.uuid4().hex[:12], prompt, script.polls)
            self.projects[project.id] = project
            self._by_key[key] = project.id
        project = self.projects[self._by_key[key]]
        return 201, self._view(project, "queued"), {}

    def _poll(self, project_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        project = self.projects.get(project_id)
        if project is None:
            return 404, {"error": {"message": "project not found"}}, {}
        step = project.polls[min(project.served, len(project.polls) - 1)]
        project.served += 1
        failure = _failure(step)
        if failure is not None:
            return failure
        name, _, reason = step.partition(":")
        view = self._view(project, name)
        if name == "completed":
            view["url"] = f"https://sites.example.com/{project.id}"
        if name == "failed":
            view["error"] = reason
        return 200, view, {}

    def _view(self, project: Project, status: str) -> dict[str, Any]:
        return {"id": project.id, "status": status, "tracking_url": f"https://generator.example.com/p/{project.id}"}


def _failure(step: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
    name, _, arg = step.partition(":")
    if name == "500":
        return 500, {"error": "internal"}, {}
    if name == "429":
        return 429, {"error": "slow down"}, {"Retry-After": arg or "1"}
    if name == "404":
        return 404, {"error": {"message": "project not found"}}, {}
    if name == "400":
        return 400, {"error": {"message": arg or "bad request"}}, {}
    return None


def fake_generator() -> Iterator[FakeGenerator]:
    """For a fixture (``yield from``): a started fake, stopped afterwards."""
    fake = FakeGenerator().start()
    try:
        yield fake
    finally:
        fake.stop()
