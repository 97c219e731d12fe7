"""The log format of every process: text by default, one JSON object per line with ``LOG_FORMAT=json``.

Every record carries the current trace id (``trace_id``) when a span is recorded; job state changes add
``job_id``, ``kind``, ``queue``, ``attempt``, ``from_status`` and ``to_status`` (``db.observe.transitions``).
Messages never hold secrets: settings are only logged redacted, URLs through ``redact_url``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from opentelemetry import trace

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Fields of job log records copied into JSON lines when present.
JOB_FIELDS = ("job_id", "kind", "queue", "attempt", "from_status", "to_status", "trace_id")
_encoder = msgspec.json.Encoder()


class TraceIdFilter(logging.Filter):
    """Adds ``trace_id`` (32 hex digits, or None) to each record, from the span current where it was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "trace_id"):
            ctx = trace.get_current_span().get_span_context()
            record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in JOB_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                line[field] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return _encoder.encode(line).decode()


def configure_logging(level: str, log_format: str) -> None:
    """Set the root logger's level and format (``text`` or ``json``) for this process; idempotent."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    root.setLevel(level)
    formatter: logging.Formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in root.handlers:
        handler.setFormatter(formatter)
        if not any(isinstance(f, TraceIdFilter) for f in handler.filters):
            handler.addFilter(TraceIdFilter())
