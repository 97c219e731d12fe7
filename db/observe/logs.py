"""The log format of every process: text by default, one JSON object per line with ``LOG_FORMAT=json``.

The API and the workers write their lines in batches (``BatchedStreamHandler``): a line per job transition
written and flushed on its own cost a worker about 0.3 ms of CPU per trivial job, 15 % of the whole, in the
throughput benchmark (the write, the lock the worker's threads queue on, and Dramatiq's parent process,
which forwards each line its worker processes write).

Every record carries the current trace id (``trace_id``) when a span is recorded; job state changes add
``job_id``, ``kind``, ``queue``, ``attempt``, ``from_status`` and ``to_status`` (``db.observe.transitions``).
Messages never hold secrets: settings are only logged redacted, URLs through ``redact_url``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
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


class BatchedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes the lines of the last ``interval`` seconds at once, from its own thread.

    A warning or worse is written at once, after the lines before it, and so are ``max_lines`` waiting lines;
    the rest waits at most ``interval``. Lines still waiting are written at exit and by ``flush`` (which
    ``logging.shutdown`` calls; a Dramatiq worker process, which runs no atexit handlers, stops batching when
    its worker begins to stop: ``stop_batching``); a process killed outright loses at most its last
    ``interval`` of lines."""

    def __init__(self, stream: Any = None, *, interval: float = 0.05, max_lines: int = 500) -> None:
        super().__init__(stream)
        self.interval = interval
        self.max_lines = max_lines
        self._lines: list[str] = []
        self._due = threading.Event()
        self._writer_pid = 0
        self._batching = True
        atexit.register(self.flush)

    def stop_batching(self) -> None:
        """Write what waits, and every later line as it is logged (a process about to close its stream)."""
        with self.lock:  # type: ignore[union-attr]
            self._batching = False
            self._write()

    def emit(self, record: logging.LogRecord) -> None:
        # Called under the handler's lock (``Handler.handle``), as ``flush`` runs.
        try:
            self._lines.append(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
            return
        if not self._batching or record.levelno >= logging.WARNING or len(self._lines) >= self.max_lines:
            self._write()
        elif len(self._lines) == 1:
            if self._writer_pid != os.getpid():
                # Started here rather than in __init__: a forked process (Dramatiq's workers) needs its own.
                self._writer_pid = os.getpid()
                threading.Thread(target=self._write_batches, name="log-writer", daemon=True).start()
            self._due.set()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()

    def _write(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            try:
                self.stream.write("".join(lines))
            except Exception:  # a closed stream at exit: the lines cannot go anywhere
                return
        super().flush()

    def _write_batches(self) -> None:
        while True:
            self._due.wait()
            time.sleep(self.interval)
            self._due.clear()  # before taking the lines: one logged meanwhile sets it again
            self.flush()


def configure_logging(level: str, log_format: str, *, batched: bool = False) -> None:
    """Set the root logger's level and format (``text`` or ``json``) for this process; idempotent.

    ``batched``: plain stream handlers become ``BatchedStreamHandler``s on the same stream (processes that
    log a line per job: the API and the workers)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    if batched:
        for handler in list(root.handlers):
            if type(handler) is logging.StreamHandler:
                batched_handler = BatchedStreamHandler(handler.stream)
                batched_handler.setLevel(handler.level)
                for f in handler.filters:
                    batched_handler.addFilter(f)
                root.removeHandler(handler)
                root.addHandler(batched_handler)
    root.setLevel(level)
    formatter: logging.Formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    for handler in root.handlers:
        handler.setFormatter(formatter)
        if not any(isinstance(f, TraceIdFilter) for f in handler.filters):
            handler.addFilter(TraceIdFilter())
