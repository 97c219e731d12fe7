"""Real local servers standing in for the notification channels' other side, on 127.0.0.1.

* an SMTP server (aiosmtpd) that keeps every message and can refuse a recipient with 451 or 550;
* one HTTP server that plays a webhook receiver (checks ``X-Signature`` with the secret registered for its
  path, 401 when it does not match), UltraMsg (``/ultramsg/{instance}/messages/chat``, form token) and the
  WhatsApp Cloud API (``/whatsapp/v21.0/{phone_number_id}/messages``, bearer token).

A test scripts failures per recipient (``fail(to, 503, 503)``: the next two requests answer 503) and reads
what arrived with ``received(to)``.
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from actors.notify.signature import verify_signature
from tests.support.services import free_port

ULTRAMSG_INSTANCE = "instance4242"
ULTRAMSG_TOKEN = "ultramsg-token-do-not-leak"
WHATSAPP_PHONE_ID = "109876543210"
WHATSAPP_TOKEN = "whatsapp-token-do-not-leak"


@dataclass
class Received:
    """One request or email as it arrived, and what we answered."""

    channel: str
    to: str
    status: int
    text: str
    headers: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    email: EmailMessage | None = None


class Receivers:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._scripts: dict[str, list[int]] = defaultdict(list)
        self._secrets: dict[str, str] = {}
        self.smtp_port = free_port()
        self.http_port = free_port()
        self._smtp = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.smtp_port)
        self._http = ThreadingHTTPServer(
            ("127.0.0.1", self.http_port), type("Handler", (_Handler,), {"receivers": self})
        )
        self._http_thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def env(self) -> dict[str, str]:
        """The notification settings of processes under test, pointing at these servers."""
        return {
            "SMTP_URL": f"smtp://127.0.0.1:{self.smtp_port}",
            "NOTIFY_EMAIL_FROM": "genjobs tests <jobs@genjobs.test>",
            "ULTRAMSG_API_BASE": f"{self.http_url}/ultramsg",
            "ULTRAMSG_INSTANCE_ID": ULTRAMSG_INSTANCE,
            "ULTRAMSG_TOKEN": ULTRAMSG_TOKEN,
            "WHATSAPP_API_BASE": f"{self.http_url}/whatsapp/v21.0",
            "WHATSAPP_PHONE_NUMBER_ID": WHATSAPP_PHONE_ID,
            "WHATSAPP_TOKEN": WHATSAPP_TOKEN,
            "NOTIFY_ALLOW_PRIVATE": "1",
            "NOTIFY_MAX_ATTEMPTS": "3",
            "NOTIFY_MIN_BACKOFF_SECONDS": "0.2",
            "NOTIFY_MAX_BACKOFF_SECONDS": "1",
            "NOTIFY_REPAIR_INTERVAL_SECONDS": "1",
            "NOTIFY_REPAIR_GRACE_SECONDS": "2",
            "PUBLIC_URL": "https://genjobs.test",
        }

    def start(self) -> None:
        self._smtp.start()
        self._http_thread.start()

    def stop(self) -> None:
        self._smtp.stop()
        self._http.shutdown()
        self._http.server_close()

    def reset(self) -> None:
        with self._lock:
            self._received.clear()
            self._scripts.clear()
            self._secrets.clear()

    def fail(self, to: str, *statuses: int) -> None:
        """Answer the next requests (or RCPTs) for ``to`` with these statuses, in order."""
        with self._lock:
            self._scripts[to].extend(statuses)

    def webhook(self, name: str, secret: str) -> str:
        """A webhook URL whose receiver checks signatures against ``secret``."""
        with self._lock:
            self._secrets[name] = secret
        return f"{self.http_url}/webhook/{name}"

    def received(self, to: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if to is None or r.to == to]

    def delivered(self, to: str) -> list[Received]:
        return [r for r in self.received(to) if r.status < 300]

    # -- used by the servers ----------------------------------------------------------------------------

    def next_status(self, to: str) -> int | None:
        with self._lock:
            script = self._scripts.get(to)
            return script.pop(0) if script else None

    def secret_for(self, name: str) -> str | None:
        with self._lock:
            return self._secrets.get(name)

    def record(self, item: Received) -> None:
        with self._lock:
            self._received.append(item)


class _SmtpHandler:
    def __init__(self, receivers: Receivers) -> None:
        self.receivers = receivers

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        status = self.receivers.next_status(address)
        if status is not None:
            self.receivers.record(Received("email", address, status, ""))
            return f"{status} {'4.3.0 try again later' if status < 500 else '5.1.1 no such mailbox'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        for to in envelope.rcpt_tos:
            self.receivers.record(Received("email", to, 250, raw.decode(errors="replace"), email=message))
        return "250 Message accepted"


class _Handler(BaseHTTPRequestHandler):
    receivers: Receivers  # set on the subclass each server gets

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        parts = self.path.strip("/").split("/")
        if parts[0] == "webhook" and len(parts) == 2:
            self._webhook(parts[1], body, headers)
        elif parts[0] == "ultramsg" and parts[2:] == ["messages", "chat"]:
            self._ultramsg(parts[1], body, headers)
        elif parts[:2] == ["whatsapp", "v21.0"] and parts[3:] == ["messages"]:
            self._whatsapp(parts[2], body, headers)
        else:
            self._answer(404, {"error": "no such endpoint"})

    def _webhook(self, name: str, body: bytes, headers: dict[str, str]) -> None:
        to = f"{self.receivers.http_url}/webhook/{name}"
        secret = self.receivers.secret_for(name) or ""
        if not verify_signature(secret, headers.get("x-signature"), body):
            self.receivers.record(Received("webhook", to, 401, body.decode(errors="replace"), headers))
            return self._answer(401, {"error": "bad signature"})
        status = self.receivers.next_status(to) or 200
        self.receivers.record(Received("webhook", to, status, body.decode(), headers, json.loads(body)))
        self._answer(status, {"ok": status < 300})

    def _ultramsg(self, instance: str, body: bytes, headers: dict[str, str]) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        to = form.get("to", "")
        if instance != ULTRAMSG_INSTANCE or form.get("token") != ULTRAMSG_TOKEN:
            self.receivers.record(Received("ultramsg", to, 401, body.decode(), headers))
            return self._answer(401, {"error": "Wrong token. Please provide token as a GET parameter."})
        status = self.receivers.next_status(to) or 200
        self.receivers.record(Received("ultramsg", to, status, form.get("body", ""), headers, form))
        self._answer(status, {"sent": "true", "message": "ok", "id": 1} if status < 300 else {"error": "down"})

    def _whatsapp(self, phone_id: str, body: bytes, headers: dict[str, str]) -> None:
        document = json.loads(body)
        to = str(document.get("to", ""))
        well_formed = (
            document.get("messaging_product") == "whatsapp"
            and document.get("type") == "text"
            and isinstance(document.get("text", {}).get("body"), str)
        )
        if phone_id != WHATSAPP_PHONE_ID or headers.get("authorization") != f"Bearer {WHATSAPP_TOKEN}":
            self.receivers.record(Received("whatsapp", to, 401, body.decode(), headers, document))
            return self._answer(401, {"error": {"message": "Invalid OAuth access token.", "code": 190}})
        if not well_formed:
            self.receivers.record(Received("whatsapp", to, 400, body.decode(), headers, document))
            return self._answer(400, {"error": {"message": "bad message", "code": 100}})
        status = self.receivers.next_status(to) or 200
        self.receivers.record(Received("whatsapp", to, status, document["text"]["body"], headers, document))
        self._answer(status, {"messages": [{"id": "wamid.test"}]} if status < 300 else {"error": {"code": 1}})

    def _answer(self, status: int, document: dict[str, Any]) -> None:
        payload = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
