"""A small stateful fake of Stripe's API on 127.0.0.1, good enough for the official SDK.

Speaks form-encoded requests and JSON responses: Checkout Sessions (create, retrieve, expire) and Refunds
(create, retrieve; a new refund is ``refund_status``: ``succeeded`` unless a test says ``pending``), honours
``Idempotency-Key`` (a repeated key answers the first response and creates nothing), and records every
request. Tests "pay" a session with ``pay()`` (what a customer does on the Checkout page) and
deliver webhooks themselves, signed with the shared secret (``signed_headers``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

API_KEY = "sk_test_fake_key_6b1f"
WEBHOOK_SECRET = "whsec_test_fake_secret_93ad"


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, str]
    idempotency_key: str | None
    authorization: str | None


@dataclass
class FakeStripe:
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    # "ok", or "fail" (every call answers 500)
    mode: str = "ok"
    # The status a new refund is created with ("pending" for a refund that settles later: ``settle_refund``).
    refund_status: str = "succeeded"
    _idempotent: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._dispatch(self, "GET")

            def do_POST(self) -> None:
                fake._dispatch(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- what a test does ------------------------------------------------------------------------------

    def session_for_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            found = [s for s in self.sessions.values() if s["client_reference_id"] == job_id]
        assert len(found) == 1, f"{len(found)} sessions for job {job_id}"
        return dict(found[0])

    def pay(self, session_id: str, *, in_the_gap: bool = False) -> dict[str, Any]:
        """The customer pays on the Checkout page: the session completes with a payment intent.

        ``in_the_gap``: the payment goes through although the session was just expired (the race between a
        customer paying and the job being cancelled, which the service must survive by refunding)."""
        with self._lock:
            session = self.sessions[session_id]
            assert session["status"] == "open" or in_the_gap, session["status"]
            session.update(status="complete", payment_status="paid", payment_intent=f"pi_{uuid.uuid4().hex[:20]}")
            return dict(session)

    def refunds_for(self, payment_intent: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.refunds.values() if r["payment_intent"] == payment_intent]

    def start_async_payment(self, session_id: str) -> dict[str, Any]:
        """The customer pays by a method that settles later (a bank debit): complete, still unpaid."""
        with self._lock:
            session = self.sessions[session_id]
            assert session["status"] == "open", session["status"]
            session.update(status="complete", payment_status="unpaid", payment_intent=f"pi_{uuid.uuid4().hex[:20]}")
            return dict(session)

    def settle_async_payment(self, session_id: str, *, succeeded: bool) -> dict[str, Any]:
        with self._lock:
            session = self.sessions[session_id]
            session["payment_status"] = "paid" if succeeded else "unpaid"
            return dict(session)

    def settle_refund(self, refund_id: str, status: str) -> dict[str, Any]:
        """A pending refund settles (``succeeded``, ``failed``, ``canceled``); returns the Refund object."""
        with self._lock:
            self.refunds[refund_id]["status"] = status
            return dict(self.refunds[refund_id])

    def calls(self, method: str, path_prefix: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def reset(self) -> None:
        with self._lock:
            self.sessions.clear()
            self.refunds.clear()
            self.requests.clear()
            self._idempotent.clear()
            self.mode = "ok"
            self.refund_status = "succeeded"

    # --- the API ---------------------------------------------------------------------------------------

    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else ""
        path, _, query = handler.path.partition("?")
        form = dict(parse_qsl(body or query, keep_blank_values=True))
        key = handler.headers.get("Idempotency-Key")
        auth = handler.headers.get("Authorization")
        with self._lock:
            self.requests.append(Recorded(method, path, form, key, auth))
            if auth != f"Bearer {API_KEY}":
                status, payload = 401, _error("Invalid API Key provided", "authentication_error")
            elif self.mode == "fail":
                status, payload = 500, _error("fake outage", "api_error")
            elif key and (method, key) in self._idempotent:
                status, payload = self._idempotent[(method, key)]
            else:
                status, payload = self._route(method, path, form)
                if key:
                    self._idempotent[(method, key)] = (status, payload)
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, method: str, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "checkout", "sessions"]:
            return 200, self._create_session(form)
        if parts[:3] == ["v1", "checkout", "sessions"] and len(parts) >= 4:
            session = self.sessions.get(parts[3])
            if session is None:
                return 404, _error(f"No such checkout.session: '{parts[3]}'", code="resource_missing")
            if method == "GET" and len(parts) == 4:
                return 200, dict(session)
            if method == "POST" and parts[4:] == ["expire"]:
                if session["status"] != "open":
                    return 400, _error("Only Checkout Sessions with a status of open can be expired.")
                session["status"] = "expired"
                return 200, dict(session)
        if method == "GET" and parts[:2] == ["v1", "refunds"] and len(parts) == 3:
            found = self.refunds.get(parts[2])
            if found is None:
                return 404, _error(f"No such refund: '{parts[2]}'", code="resource_missing")
            return 200, dict(found)
        if method == "POST" and parts == ["v1", "refunds"]:
            intent = form.get("payment_intent")
            paid = [s for s in self.sessions.values() if intent and s["payment_intent"] == intent]
            if not paid:
                return 400, _error(f"No such payment_intent: '{intent}'", code="resource_missing")
            refund = {
                "id": f"re_{uuid.uuid4().hex[:20]}",
                "object": "refund",
                "amount": paid[0]["amount_total"],
                "currency": paid[0]["currency"],
                "payment_intent": intent,
                "status": self.refund_status,
                "metadata": _nested(form, "metadata"),
            }
            self.refunds[refund["id"]] = refund
            return 200, refund
        return 404, _error(f"Unrecognized request URL ({method}: {path})")

    def _create_session(self, form: dict[str, str]) -> dict[str, Any]:
        session_id = f"cs_test_{uuid.uuid4().hex}"
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form.get("mode"),
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
            "currency": form["line_items[0][price_data][currency]"],
            "client_reference_id": form.get("client_reference_id"),
            "customer_email": form.get("customer_email"),
            "metadata": _nested(form, "metadata"),
            "expires_at": int(form.get("expires_at") or time.time() + 86_400),
            "success_url": form.get("success_url"),
            "cancel_url": form.get("cancel_url"),
            "payment_intent": None,
            "url": f"{self.base_url}/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return dict(session)


def _nested(form: dict[str, str], name: str) -> dict[str, str]:
    prefix = f"{name}["
    return {k[len(prefix) : -1]: v for k, v in form.items() if k.startswith(prefix) and k.count("[") == 1}


def _error(message: str, type_: str = "invalid_request_error", code: str | None = None) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, "code": code}}


def event_body(type_: str, session: dict[str, Any], *, event_id: str | None = None) -> bytes:
    """A Stripe event about an object (a Checkout Session, a Refund), as Stripe would POST it."""
    event = {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": type_,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": session},
    }
    return json.dumps(event).encode()


def signed_headers(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """``Stripe-Signature: t=<ts>,v1=<hex hmac_sha256(secret, "<ts>.<body>")>``."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={ts},v1={mac}", "Content-Type": "application/json"}
