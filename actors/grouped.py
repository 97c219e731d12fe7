"""Calls that a worker's threads make at about the same time, run together as one call on a thread of its own.

A worker process runs jobs on several threads, and each job's claim and each job's success is one statement.
Run one by one, every job pays a round trip, a transaction and a commit of its own, and Postgres plans and
runs the same statement once per job. ``Grouped`` queues the calls; its thread takes every call waiting (up to
``max_group``) and runs them with one ``run_many`` (one multi-row statement). There is no timer: a call that
finds the thread idle runs at once, and the groups grow with the load. A caller either waits for its result
(``grouped(argument)``: a claim) or ``submit``s the call with a follow-up that gets the result on the group's
thread (a success: the job's thread takes its next message meanwhile, ``Outcomes.succeed``).

A group whose call fails with an error that is not an outage (``is_transient``: one job's value that Postgres
refuses) is run again one call at a time, so the error is only that call's. An outage fails every call of the
group, each of which its caller rides out (``ride_out``) as it would a call of its own (a ``run_many`` whose
calls are submitted rides it out itself).

The statements run on this thread, not on the job threads: a job thread can be interrupted at any point (a
time limit, a cancelled job), and must never be the one that others wait on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from actors.retry import is_transient

log = logging.getLogger("genjobs.worker")
A = TypeVar("A")
R = TypeVar("R")
MAX_GROUP = 32


class _Call(Generic[A, R]):
    __slots__ = ("argument", "done", "error", "result", "then")

    def __init__(self, argument: A, then: Callable[[R | BaseException], None] | None = None) -> None:
        self.argument = argument
        self.done = threading.Event()
        self.result: R | None = None
        self.error: BaseException | None = None
        # For a call nobody waits for (``submit``): given its result or its error, on the group's thread.
        self.then = then

    def settle(self) -> None:
        if self.then is None:
            self.done.set()
            return
        try:
            self.then(self.error if self.error is not None else self.result)  # type: ignore[arg-type]
        except Exception:
            log.exception("the follow-up of a grouped call failed")


class Grouped(Generic[A, R]):
    """``grouped(argument)`` is ``run_many([argument])[0]``, run with the calls of other threads that wait."""

    def __init__(self, name: str, run_many: Callable[[list[A]], Sequence[R]], *, max_group: int = MAX_GROUP) -> None:
        self._name = name
        self._run_many = run_many
        self._max_group = max_group
        self._ready = threading.Condition()
        self._waiting: list[_Call[A, R]] = []
        self._closed = False
        self._thread: threading.Thread | None = None

    def __call__(self, argument: A) -> R:
        call: _Call[A, R] = self._queue(_Call(argument))
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    def submit(self, argument: A, then: Callable[[R | BaseException], None]) -> None:
        """Queue ``argument`` without waiting: ``then`` gets its result (or the error) on the group's thread once
        its group ran. A closed ``Grouped`` runs the call at once, on this thread."""
        with self._ready:
            closed = self._closed
        if closed:
            call: _Call[A, R] = _Call(argument, then)
            self._settle([call])
            return
        self._queue(_Call(argument, then))

    def _queue(self, call: _Call[A, R]) -> _Call[A, R]:
        with self._ready:
            if self._closed:
                raise RuntimeError(f"{self._name}: closed")
            self._waiting.append(call)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._ready.notify()
        return call

    def close(self, timeout: float = 10.0) -> None:
        """Run the calls already waiting, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._ready:
                self._ready.wait_for(lambda: self._waiting or self._closed)
                if not self._waiting:
                    return
                group = self._waiting[: self._max_group]
                del self._waiting[: self._max_group]
            self._settle(group)

    def _settle(self, group: list[_Call[A, R]]) -> None:
        try:
            results = self._run_many([call.argument for call in group])
            if len(results) != len(group):
                raise RuntimeError(f"{self._name}: {len(results)} results for {len(group)} calls")
        except BaseException as exc:  # handed to the callers, whatever it is
            if len(group) > 1 and not is_transient(exc):
                log.warning("%s: a group of %d failed (%s); running them one by one", self._name, len(group), exc)
                for call in group:
                    self._settle([call])
                return
            for call in group:
                call.error = exc
                call.settle()
            return
        for call, result in zip(group, results, strict=True):
            call.result = result
            call.settle()
