"""The JSON log format: one object per line with the job's fields and the current trace id."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from db.observe.logs import JsonFormatter, TraceIdFilter, configure_logging


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(TraceIdFilter())
    logger = logging.getLogger("test.observe")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)


def test_a_job_line_carries_job_fields_and_the_trace_id(captured: io.StringIO) -> None:
    job_id = str(uuid.uuid4())
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("test.observe").info(
            "job %s: queued -> running", job_id, extra={"job_id": job_id, "kind": "k", "attempt": 2, "queue": "q"}
        )
        expected_trace = format(span.get_span_context().trace_id, "032x")
    line = json.loads(captured.getvalue())
    assert line["message"] == f"job {job_id}: queued -> running"
    assert (line["job_id"], line["kind"], line["attempt"], line["queue"]) == (job_id, "k", 2, "q")
    assert line["trace_id"] == expected_trace
    assert line["level"] == "INFO" and line["logger"] == "test.observe"


def test_a_line_outside_a_trace_has_no_trace_id(captured: io.StringIO) -> None:
    logging.getLogger("test.observe").warning("plain")
    line = json.loads(captured.getvalue())
    assert "trace_id" not in line and "job_id" not in line


def test_configure_logging_switches_every_root_handler_to_json() -> None:
    root = logging.getLogger()
    saved = [(h, h.formatter) for h in root.handlers]
    level = root.level
    try:
        configure_logging("INFO", "json")
        assert root.handlers and all(isinstance(h.formatter, JsonFormatter) for h in root.handlers)
        configure_logging("INFO", "text")
        assert not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers)
    finally:
        for handler, formatter in saved:
            handler.setFormatter(formatter)
            for f in [f for f in handler.filters if isinstance(f, TraceIdFilter)]:
                handler.removeFilter(f)
        root.setLevel(level)


def test_lines_logged_while_a_job_runs_carry_its_fields(captured: io.StringIO) -> None:
    from actors.context import JobContext, set_current
    from actors.observe.middleware import JobFieldsFilter

    handler = logging.getLogger("test.observe").handlers[-1]
    handler.addFilter(JobFieldsFilter())
    ctx = JobContext.__new__(JobContext)
    ctx.job_id, ctx.kind, ctx.attempt = uuid.uuid4(), "word_count", 3
    set_current(ctx)
    try:
        logging.getLogger("test.observe").info("HTTP Request: GET http://127.0.0.1/ 200")
    finally:
        set_current(None)
    line = json.loads(captured.getvalue())
    assert (line["job_id"], line["kind"], line["attempt"]) == (str(ctx.job_id), "word_count", 3)
