"""Log lines written in batches (``BatchedStreamHandler``): late by at most the interval, warnings at once and
in order, nothing lost at a normal exit, and the root's plain stream handlers swapped by configure_logging."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from db.observe.logs import BatchedStreamHandler, configure_logging


@pytest.fixture
def batched() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = BatchedStreamHandler(stream, interval=0.05)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("test.batches")
    logger.propagate = False
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def _wait_for(stream: io.StringIO, text: str, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if text in stream.getvalue():
            return True
        time.sleep(0.01)
    return False


def test_info_lines_are_written_together_after_the_interval(batched: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = batched
    logger.info("one")
    logger.info("two")
    # Not written as they are logged ...
    assert stream.getvalue() == ""
    # ... but soon after, both, in order
    assert _wait_for(stream, "INFO two")
    assert stream.getvalue() == "INFO one\nINFO two\n"


def test_a_warning_is_written_at_once_after_the_lines_before_it(batched: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = batched
    logger.info("before")
    logger.warning("trouble")
    assert stream.getvalue() == "INFO before\nWARNING trouble\n"


def test_flush_writes_what_waits(batched: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = batched
    logger.info("pending")
    logger.handlers[0].flush()
    assert stream.getvalue() == "INFO pending\n"


def test_a_process_that_exits_normally_loses_no_line() -> None:
    script = (
        "import logging\n"
        "from db.observe.logs import configure_logging\n"
        "configure_logging('INFO', 'text', batched=True)\n"
        "for i in range(1000):\n"
        "    logging.getLogger('t').info('line %d', i)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    lines = done.stderr.splitlines()
    assert len(lines) == 1000 and lines[-1].endswith("t: line 999")


def test_configure_logging_batches_the_root_s_plain_stream_handlers() -> None:
    root = logging.getLogger()
    plain = logging.StreamHandler(io.StringIO())
    root.addHandler(plain)
    try:
        configure_logging(logging.getLevelName(root.level), "text", batched=True)
        assert plain not in root.handlers
        swapped = [h for h in root.handlers if isinstance(h, BatchedStreamHandler)]
        assert len(swapped) == 1 and swapped[0].stream is plain.stream
    finally:
        for handler in [h for h in root.handlers if isinstance(h, BatchedStreamHandler)]:
            root.removeHandler(handler)


def test_after_stop_batching_every_line_is_written_as_it_is_logged(
    batched: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = batched
    logger.info("waiting")
    handler = logger.handlers[0]
    assert isinstance(handler, BatchedStreamHandler)
    handler.stop_batching()
    assert stream.getvalue() == "INFO waiting\n"
    logger.info("at once")
    assert stream.getvalue() == "INFO waiting\nINFO at once\n"
