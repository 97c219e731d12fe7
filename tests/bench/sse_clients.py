"""Client processes holding thousands of SSE streams, for the fan-out benchmark.

Each process runs one event loop with the raw HTTP client (``tests.bench.rawhttp``): it opens one
``GET /api/jobs/{id}/events`` per job at a bounded rate, counts a stream as held once its ``snapshot``
arrived, and records the publish->receive latency of every ``progress`` event (the publisher puts its
``time.time_ns()`` in the event's ``step``). The parent drives the processes through pipes.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import multiprocessing
import re
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from typing import Any

from tests.bench.common import HOST, install_uvloop, raise_nofile_limit
from tests.bench.rawhttp import Connection, SseReader

OPEN_ATTEMPTS = 3
RETRY_PAUSE_SECONDS = 0.5
_STEP = re.compile(rb'"step":"(\d+)"')
_READ_ERRORS = (OSError, EOFError, ValueError)  # EOFError covers asyncio.IncompleteReadError


def sent_ns(data: bytes) -> int | None:
    """The send time a benchmark publisher stamped into an event's data."""
    found = _STEP.search(data)
    return int(found.group(1)) if found else None


def _reason(exc: BaseException, phase: str) -> str:
    if isinstance(exc, asyncio.IncompleteReadError):
        return f"connection closed {phase}"
    errno = getattr(exc, "errno", None)
    return type(exc).__name__ + (f" errno {errno}" if errno else "")


@dataclass(frozen=True)
class ClientConfig:
    port: int
    api_key: str
    job_ids: list[str]
    open_rate: float  # streams per second from this process
    open_seconds: float  # cap on the opening phase
    max_pending: int  # streams opening at once
    snapshot_timeout: float = 15.0


class FanoutClient:
    """Holds many SSE streams in one event loop and records the latency of every progress event."""

    def __init__(self, cfg: ClientConfig) -> None:
        self.cfg = cfg
        self.held_ids: list[str] = []
        self.ended_ids: set[str] = set()
        self.open_errors: collections.Counter[str] = collections.Counter()
        self.ended: collections.Counter[str] = collections.Counter()
        self.latencies_ns: list[int] = []
        self.connections: list[Connection] = []
        self.not_attempted = 0
        self.failed = 0
        self.tasks: list[asyncio.Task[None]] = []  # referenced: the loop keeps only weak references
        self._pending = 0
        self._slots = asyncio.Semaphore(cfg.max_pending)

    async def open_all(self) -> float:
        """Open one stream per job at the configured rate; returns the seconds the opening took."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + self.cfg.open_seconds
        for i, job_id in enumerate(self.cfg.job_ids):
            delay = start + i / self.cfg.open_rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await self._slots.acquire()
            except TimeoutError:
                self.not_attempted = len(self.cfg.job_ids) - i
                break
            self._pending += 1
            self.tasks.append(loop.create_task(self._stream(job_id)))
        while self._pending and loop.time() < deadline + self.cfg.snapshot_timeout:
            await asyncio.sleep(0.05)
        return loop.time() - start

    async def _stream(self, job_id: str) -> None:
        # Like EventSource, a failed open is retried after a pause; every failed attempt is counted.
        events = None
        try:
            for attempt in range(OPEN_ATTEMPTS):
                if attempt:
                    await asyncio.sleep(RETRY_PAUSE_SECONDS)
                events = await self._open(job_id)
                if events is not None:
                    break
        finally:
            self._pending -= 1
            self._slots.release()
        if events is None:
            self.failed += 1
            return
        self.held_ids.append(job_id)
        try:
            await self._receive(events)
        except _READ_ERRORS as exc:
            self.ended[_reason(exc, "by the server")] += 1
        self.ended_ids.add(job_id)

    async def _open(self, job_id: str) -> SseReader | None:
        """One attempt: the stream's reader once its snapshot arrived, else None (the reason counted)."""
        conn: Connection | None = None
        try:
            async with asyncio.timeout(self.cfg.snapshot_timeout):
                conn = await Connection.open(HOST, self.cfg.port)
                status, events = await conn.open_sse(
                    f"/api/jobs/{job_id}/events", {"Authorization": f"Bearer {self.cfg.api_key}"}
                )
                first = await events.next_event() if status == 200 else None
        except (*_READ_ERRORS, TimeoutError) as exc:
            self.open_errors[_reason(exc, "before the snapshot")] += 1
            if conn is not None:
                conn.close()
            return None
        if first is None or first.event != "snapshot":
            self.open_errors[f"HTTP {status}" if status != 200 else "no snapshot"] += 1
            conn.close()
            return None
        self.connections.append(conn)
        return events

    async def _receive(self, events: SseReader) -> None:
        while True:
            event = await events.next_event()
            if event is None:
                self.ended["server ended the stream"] += 1
                return
            if event.event == "progress":
                sent = sent_ns(event.data)
                if sent is not None:
                    self.latencies_ns.append(time.time_ns() - sent)

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


def client_main(pipe: Pipe, cfg: ClientConfig) -> None:
    """Entry of a client process: open, report, record until told to collect, then close."""
    raise_nofile_limit()
    install_uvloop()
    asyncio.run(_client(pipe, cfg))


async def _client(pipe: Pipe, cfg: ClientConfig) -> None:
    loop = asyncio.get_running_loop()
    client = FanoutClient(cfg)
    took = await client.open_all()
    # This process's own full garbage collections (thousands of streams: hundreds of thousands of objects, 0.1-1 s
    # a pass on this machine) would be counted as the service's latency: what exists now is frozen.
    gc.collect()
    gc.freeze()
    dropped, client.ended = client.ended, collections.Counter()  # from now on: ended while publishing
    pipe.send(
        {
            # Held: got the snapshot and still open now (the server may drop a stream right after it).
            "held_ids": [j for j in client.held_ids if j not in client.ended_ids],
            "dropped_after_snapshot": dict(dropped),
            "open_errors": dict(client.open_errors),
            "not_attempted": client.not_attempted,
            "failed": client.failed,
            "seconds": took,
        }
    )
    while (command := await loop.run_in_executor(None, pipe.recv)) != "close":
        if command == "collect":
            pipe.send({"latencies_ns": client.latencies_ns, "ended": dict(client.ended)})
            client.latencies_ns = []
    client.close()
    pipe.send("closed")


def spawn(target: Any, *args: Any) -> tuple[multiprocessing.process.BaseProcess, Pipe]:
    """Start ``target(pipe, *args)`` in a fresh interpreter (spawn: no inherited sockets or threads)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=target, args=(child, *args), daemon=True)
    proc.start()
    return proc, parent


def receive(pipe: Pipe, timeout: float, what: str) -> Any:
    if not pipe.poll(timeout):
        raise RuntimeError(f"no answer from the {what} within {timeout:.0f} s")
    return pipe.recv()


def stop(proc: multiprocessing.process.BaseProcess, pipe: Pipe, *, say_close: bool) -> None:
    try:
        if say_close:
            pipe.send("close")
            receive(pipe, 30, "SSE client")
    except (OSError, EOFError, RuntimeError):
        pass
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join(5)


@dataclass
class OpenReport:
    held_ids: list[str] = field(default_factory=list)
    open_errors: collections.Counter[str] = field(default_factory=collections.Counter)
    dropped_after_snapshot: collections.Counter[str] = field(default_factory=collections.Counter)
    failed: int = 0
    not_attempted: int = 0
    seconds: float = 0.0

    @property
    def held(self) -> int:
        return len(self.held_ids)


class ClientPool:
    """``count`` client processes sharing the jobs (and the open rate) between them."""

    def __init__(
        self, count: int, port: int, api_key: str, job_ids: list[str], *, rate: float, seconds: float, max_pending: int
    ) -> None:
        self.seconds = seconds
        self._procs = [
            spawn(client_main, ClientConfig(port, api_key, job_ids[i::count], rate / count, seconds, max_pending))
            for i in range(count)
        ]

    def wait_open(self) -> OpenReport:
        report = OpenReport()
        for _, pipe in self._procs:
            answer = receive(pipe, self.seconds + 60, "SSE client")
            report.held_ids += answer["held_ids"]
            report.open_errors.update(answer["open_errors"])
            report.dropped_after_snapshot.update(answer["dropped_after_snapshot"])
            report.failed += answer["failed"]
            report.not_attempted += answer["not_attempted"]
            report.seconds = max(report.seconds, answer["seconds"])
        return report

    def collect(self) -> tuple[list[int], collections.Counter[str]]:
        """Latencies (ns) recorded since the last collect, and why streams ended meanwhile."""
        latencies: list[int] = []
        ended: collections.Counter[str] = collections.Counter()
        for _, pipe in self._procs:
            pipe.send("collect")
            answer = receive(pipe, 60, "SSE client")
            latencies += answer["latencies_ns"]
            ended.update(answer["ended"])
        return latencies, ended

    def close(self) -> None:
        for proc, pipe in self._procs:
            stop(proc, pipe, say_close=True)
        self._procs = []
