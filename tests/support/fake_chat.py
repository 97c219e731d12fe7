"""A fake language model on 127.0.0.1 speaking three chat protocols, writing articles from the prompt's brief.

``POST /v1/chat/completions`` (OpenAI-compatible; base URL ``<url>/v1``), ``POST /api/chat`` (Ollama) and
``POST /v1beta/models/<model>:generateContent`` (Gemini) all answer the same way: the brief's lines
(``Topic:``, ``Target URL:``, ``Anchor text:``, ``Keyword:``, ``Word count: between A and B``, the internal
links, ``Revision notes:``, the existing or current article) become an article that passes the quality check:
a title, the keyword in the first paragraph, ## sections, the backlink once, one internal link, enough words.

A brief whose topic or notes contain ``FAIL-QC`` gets an article without the backlink (it never passes);
customer notes with ``INJECT-HTML`` get raw ``<script>`` and ``<img onerror>`` in the article (pages must not run it);
``delay_seconds`` makes every answer wait (the benchmark's 0.5 s model). Every prompt is recorded.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAIL_MARK = "FAIL-QC"
# Customer notes with this make the article carry raw HTML that would run if a page passed it through.
INJECT_MARK = "INJECT-HTML"
INJECTED = '<script>window.__pwned = 1</script>\n\n<img src="/x.png" onerror="window.__pwned = 2">\n'

API_KEY = "sk-fake-chat-key"
_FILLER = (
    "Readers who want dependable results start with a clear plan, compare their options with care and keep notes "
    "on what works, because small, steady improvements add up over the seasons and make every later decision "
    "easier to take with confidence."
)


def _line(prompt: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}:\s*(.*)$", prompt, re.MULTILINE)
    return match.group(1).strip() if match else ""


def _after(prompt: str, marker: str) -> str | None:
    index = prompt.find(marker)
    if index < 0:
        return None
    return prompt[index + len(marker) :].split("\n\n", 1)[-1]


def write_article(prompt: str) -> str:
    """What the fake model answers to ``prompt`` (see the module docstring)."""
    topic = _line(prompt, "Topic") or "Our topic"
    target = _line(prompt, "Target URL")
    anchor = _line(prompt, "Anchor text")
    keyword = _line(prompt, "Keyword").split(" (use it")[0]
    notes = _line(prompt, "Revision notes")
    words = re.search(r"between (\d+) and (\d+) words", prompt)
    low = int(words.group(1)) if words else 800
    links = re.findall(r"^- (.+?): (https?://\S+)$", prompt, re.MULTILINE)
    failing = FAIL_MARK in topic or FAIL_MARK in notes or FAIL_MARK in _line(prompt, "Customer notes")
    backlink = "" if failing else f" Many readers recommend [{anchor}]({target}) for a closer look."
    current = _after(prompt, "Current article:") or _after(prompt, "Existing article (")
    if current is not None:
        text = current.strip()
        # Remove the backlink so it is placed exactly once again, then add the revision or the link.
        text = text.replace(f"[{anchor}]({target})", anchor)
        addition = (f"\n\n## What changed\n\nRevised as asked: {notes}." if notes else "") + (
            f"\n\n{backlink.strip()}" if backlink else ""
        )
        return text + addition + "\n"
    title = f"# {topic}: a practical guide"
    first = f"This guide about {keyword or topic} explains what matters most and why it matters.{backlink}"
    body = [title, "", first, "", "## Getting started", ""]
    if INJECT_MARK in _line(prompt, "Customer notes"):
        body += [INJECTED]
    if links:
        body += [f"See also [{links[0][0]}]({links[0][1]}) on this site.", ""]
    count = len(first.split()) + 10
    section = 1
    while count < low + 40:
        body += [_FILLER, ""]
        count += len(_FILLER.split())
        if count // 300 >= section:
            section += 1
            body += [f"## Step {section}", ""]
    return "\n".join(body) + "\n"


@dataclass
class FakeChat:
    delay_seconds: float = 0.0
    prompts: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def env(self) -> dict[str, str]:
        """The settings that make every process under test ask this fake (as an OpenAI-compatible API)."""
        return {
            "ARTICLE_LLM_PROVIDER": "openai",
            "OPENAI_BASE_URL": f"{self.url}/v1",
            "OPENAI_API_KEY": API_KEY,
            "OPENAI_MODEL": "fake-writer",
            "ARTICLE_LLM_RETRIES": "0",
        }

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                fake._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def prompts_with(self, text: str) -> list[str]:
        with self._lock:
            return [p for p in self.prompts if text in p]

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        body = json.loads(handler.rfile.read(int(handler.headers.get("content-length") or 0)) or b"{}")
        path = handler.path
        if path.endswith("/chat/completions"):
            if handler.headers.get("authorization") != f"Bearer {API_KEY}":
                return self._send(handler, 401, {"error": {"message": "bad key"}})
            prompt = body["messages"][-1]["content"]
        elif path == "/api/chat":
            prompt = body["messages"][-1]["content"]
        elif ":generateContent" in path:
            prompt = body["contents"][-1]["parts"][0]["text"]
        else:
            return self._send(handler, 404, {"error": "unknown path"})
        with self._lock:
            self.prompts.append(prompt)
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        article = write_article(prompt)
        if path.endswith("/chat/completions"):
            answer: dict[str, Any] = {"choices": [{"index": 0, "message": {"role": "assistant", "content": article}}]}
        elif path == "/api/chat":
            answer = {"message": {"role": "assistant", "content": article}, "done": True}
        else:
            answer = {"candidates": [{"content": {"parts": [{"text": article}]}, "finishReason": "STOP"}]}
        self._send(handler, 200, answer)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
