"""OpenTelemetry tracing: off unless the standard ``OTEL_*`` variables switch it on.

On when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``) or ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or its ``_TRACES_`` form) is set, and ``OTEL_SDK_DISABLED`` is not true. The SDK reads the rest itself
(``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER``, the exporter's endpoint and
headers). A program that installed its own SDK tracer provider first (a test's in-memory exporter) is traced
the same way.

The W3C ``traceparent`` (and ``tracestate``) of the span that sends a message travels in the message's options;
the worker continues that trace in a ``CONSUMER`` span around the run (``TraceContext``), so a job's POST, its
claim, its outbound calls (httpx and aiohttp are instrumented) and its end are one trace.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware
from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

TRACER_NAME = "genjobs"
_CARRIER_KEYS = ("traceparent", "tracestate")
_configured = threading.Lock()
_instrumented = False


def tracing_requested(env: dict[str, str] | None = None) -> bool:
    """Whether the ``OTEL_*`` environment switches tracing on."""
    e = os.environ if env is None else env
    if e.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = e.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return bool(e.get("OTEL_EXPORTER_OTLP_ENDPOINT") or e.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def tracing_active() -> bool:
    """Whether spans are recorded in this process (an SDK provider is installed)."""
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def configure_tracing(service_name: str) -> bool:
    """Install the SDK provider and exporter the environment asks for, and instrument httpx and aiohttp.

    Idempotent; returns whether this process records spans."""
    global _instrumented
    with _configured:
        if not tracing_active():
            if not tracing_requested():
                return False
            resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service_name)})
            provider = TracerProvider(resource=resource)
            provider.add_span_processor(BatchSpanProcessor(_exporter()))
            trace.set_tracer_provider(provider)
        if not _instrumented:
            from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor().instrument()
            AioHttpClientInstrumentor().instrument()
            _instrumented = True
    return True


def _exporter() -> SpanExporter:
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "console":
        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def current_trace_id() -> str | None:
    """The current trace id as 32 hex digits, or None outside a recorded span."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def inject_trace(options: dict[str, Any]) -> None:
    """Put the current span's W3C trace context into a message's ``options`` (nothing outside a span)."""
    if not tracing_active():
        return
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    for key in _CARRIER_KEYS:
        if key in carrier:
            options[key] = carrier[key]


class TraceContext(Middleware):
    """Carries the sender's trace in message options and runs each message in a span that continues it.

    Must come before the job lifecycle middleware, so the claim happens inside the run's span."""

    def __init__(self) -> None:
        self._local = threading.local()

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None) -> None:
        inject_trace(message.options)

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        carrier = {k: str(message.options[k]) for k in _CARRIER_KEYS if k in message.options}
        parent = propagate.extract(carrier)
        span = tracer().start_span(
            f"run {message.actor_name}",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "dramatiq",
                "messaging.destination.name": message.queue_name,
                "messaging.message.id": message.message_id,
                "job.id": str(message.args[0]) if message.args else "",
            },
        )
        token = context.attach(trace.set_span_in_context(span, parent))
        self._local.active = (span, token)

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._end(exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self._end(None)

    def _end(self, exception: BaseException | None) -> None:
        active = getattr(self._local, "active", None)
        if active is None:
            return
        self._local.active = None
        span, token = active
        if exception is not None:
            span.record_exception(exception)
            span.set_status(trace.StatusCode.ERROR, type(exception).__name__)
        span.end()
        context.detach(token)
