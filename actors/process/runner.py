"""``run_process``: one supervised program, from start to the end of its whole process group.

The program runs in a session of its own, and so in a new process group it leads (``start_new_session``:
``setsid()`` called by CPython's C code in the child, no Python code between fork and exec, safe in a threaded
worker), optionally inside bubblewrap, with kernel limits applied by ``prlimit``. The session matters for speed
too: Linux schedules the processes of each session as one group (autogroup, on by default) and shares the CPU
fairly between groups, so a program left in the worker's session would share one group's share with the
worker's own threads; in a session of its own it gets a share like any program started from a shell (measured
on a busy machine: a build beside a busy process of its session took 1.5x as long, in its own session 1.19x,
the cost of one more busy group on the machine). Without a controlling terminal the program also cannot push
input into one (``TIOCSTI``). This thread reads its output, watches the group and ends it (SIGTERM, then SIGKILL
after a grace) when it is cancelled, runs out of time or crosses a limit. Whatever happens - an exception
raised into this thread by a time limit or a shutdown included - the ``finally`` kills what is left.
"""

from __future__ import annotations

import collections
import functools
import os
import selectors
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from actors.process.groups import group_exists, register_group, signal_group, spawning, unregister_group
from actors.process.limits import ProcessLimits, prlimit_argv, prlimit_path
from actors.process.lines import LineSplitter
from actors.process.result import ProcessResult, StopReason
from actors.process.sandbox import SandboxPolicy, sandbox_argv, sandbox_available
from actors.process.watch import GroupUsage, group_usage, tree_usage

LineCallback = Callable[[str, str], None]
# The environment a program gets when the caller gives none: never the worker's own (it holds secrets).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_SAMPLE_SECONDS = 0.2
_READ_BYTES = 65536
_DRAIN_SECONDS = 1.0


def clean_env(env: Mapping[str, str] | None, cwd: Path) -> dict[str, str]:
    """``env`` over a minimal base (PATH, HOME, LANG); nothing is inherited from the worker."""
    base = {"PATH": DEFAULT_PATH, "HOME": str(cwd), "LANG": "C.UTF-8"}
    return {**base, **(env or {})}


def _command(argv: Sequence[str], cwd: Path, limits: ProcessLimits, sandbox: SandboxPolicy | None) -> list[str]:
    prefix: list[str] = []
    prlimit = prlimit_path()
    if prlimit is not None:
        prefix += prlimit_argv(limits, prlimit)
    if sandbox is not None:
        prefix += sandbox_argv(sandbox, cwd)
    return [*prefix, *argv]


class _Output:
    """Output bookkeeping: lines to the callback, the tail, the log file, the byte count."""

    def __init__(self, on_line: LineCallback | None, tail_lines: int, log: IO[str] | None) -> None:
        self.on_line = on_line
        self.tail: collections.deque[str] = collections.deque(maxlen=tail_lines)
        self.log = log
        self.bytes = 0
        self.splitters = {"stdout": LineSplitter(), "stderr": LineSplitter()}

    def feed(self, stream: str, chunk: bytes) -> None:
        self.bytes += len(chunk)
        for line in self.splitters[stream].feed(chunk):
            self._line(stream, line)

    def finish(self) -> None:
        for stream, splitter in self.splitters.items():
            rest = splitter.flush()
            if rest is not None:
                self._line(stream, rest)

    def _line(self, stream: str, line: str) -> None:
        self.tail.append(line)
        if self.log is not None:
            self.log.write(line + "\n")
        if self.on_line is not None:
            self.on_line(stream, line)


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    limits: ProcessLimits | None = None,
    timeout: float | None = None,
    on_line: LineCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    sandbox: SandboxPolicy | None = None,
    log_path: Path | None = None,
    tail_lines: int = 200,
    grace_seconds: float = 2.0,
) -> ProcessResult:
    """Run ``argv`` in ``cwd`` under supervision and wait for its whole process group to end.

    Args:
        argv: the program and its arguments (no shell).
        cwd: the working directory (for a sandboxed program: writable unless the policy says otherwise).
        env: the program's environment over a minimal base; the worker's environment is never passed on.
        limits: resource limits (``ProcessLimits()`` defaults when None).
        timeout: wall-time limit in seconds.
        on_line: called with (``"stdout"``/``"stderr"``, line) for every line, in this thread.
        should_stop: polled about ten times a second; True kills the group (cancel, lost lease).
        sandbox: run inside bubblewrap with this policy when bwrap works here; ignored otherwise
            (``sandbox_available()`` tells which; the result's ``sandboxed`` says what happened).
        log_path: a file the whole output is appended to (the job's log artifact).
        tail_lines: how many last lines the result keeps.
        grace_seconds: time between SIGTERM and SIGKILL.

    Raises:
        OSError: the program could not be started (no such file, not executable).
    """
    limits = limits or ProcessLimits()
    workdir = Path(cwd)
    sandboxed = sandbox is not None and sandbox_available()
    command = _command(argv, workdir, limits, sandbox if sandboxed else None)
    log = log_path.open("a", encoding="utf-8") if log_path is not None else None
    output = _Output(on_line, tail_lines, log)
    if log is not None:
        log.write(f"$ {shlex.join(argv)}\n")
    started = time.monotonic()
    with spawning():
        proc = subprocess.Popen(
            command,
            cwd=workdir,
            env=clean_env(env, workdir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
        pgid = proc.pid
        register_group(pgid, " ".join(argv)[:200])
    stopped: StopReason | None = None
    try:
        usage = functools.partial(tree_usage if sandboxed else group_usage, pgid)
        stopped = _supervise(proc, output, limits, usage, started, timeout, should_stop, grace_seconds)
    finally:
        # Also on exceptions raised into this thread (time limit, shutdown, JobCancelled): nothing survives.
        signal_group(pgid, signal.SIGKILL)
        proc.wait()
        unregister_group(pgid)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        output.finish()
        if log is not None:
            log.close()
    returncode, sig = _exit_status(proc.returncode, sandboxed)
    if log_path is not None:
        with log_path.open("a", encoding="utf-8") as end:
            end.write(f"[{stopped.value if stopped else 'exit'}: code {returncode}, signal {sig}]\n")
    return ProcessResult(
        argv=tuple(argv),
        returncode=returncode,
        signal=sig,
        stopped=stopped,
        duration_seconds=round(time.monotonic() - started, 3),
        output_bytes=output.bytes,
        tail=tuple(output.tail),
        sandboxed=sandboxed,
        limits=limits,
        timeout_seconds=timeout,
        log_path=str(log_path) if log_path is not None else None,
    )


def _exit_status(code: int, sandboxed: bool) -> tuple[int | None, int | None]:
    if code < 0:
        return None, -code
    # bwrap reports a program ended by a signal as 128 + the signal, like a shell.
    if sandboxed and 128 < code < 128 + 65:
        return None, code - 128
    return code, None


def _supervise(
    proc: subprocess.Popen[bytes],
    output: _Output,
    limits: ProcessLimits,
    usage: Callable[[], GroupUsage],
    started: float,
    timeout: float | None,
    should_stop: Callable[[], bool] | None,
    grace_seconds: float,
) -> StopReason | None:
    """Read output until the program ends or must be stopped; returns why it was stopped, if it was.
    ``usage`` measures the program's processes (its PID namespace's tree when sandboxed, else its group)."""
    selector = selectors.DefaultSelector()
    assert proc.stdout is not None and proc.stderr is not None
    selector.register(proc.stdout, selectors.EVENT_READ, "stdout")
    selector.register(proc.stderr, selectors.EVENT_READ, "stderr")
    deadline = started + timeout if timeout is not None else None
    next_sample = started
    exited_at: float | None = None
    try:
        while selector.get_map():
            _read_ready(selector, output, 0.1)
            now = time.monotonic()
            if exited_at is None and proc.poll() is not None:
                # The leader is done; processes it left in its group go now, and their output is drained.
                exited_at = now
                signal_group(proc.pid, signal.SIGKILL)
            if exited_at is not None:
                if now - exited_at > _DRAIN_SECONDS:
                    break
                continue
            reason = _check(usage, output, limits, now, deadline, should_stop, now >= next_sample)
            if now >= next_sample:
                next_sample = now + _SAMPLE_SECONDS
            if reason is not None:
                _terminate(proc, selector, output, grace_seconds)
                return reason
        proc.wait()
        return None
    finally:
        selector.close()


def _check(
    usage: Callable[[], GroupUsage],
    output: _Output,
    limits: ProcessLimits,
    now: float,
    deadline: float | None,
    should_stop: Callable[[], bool] | None,
    sample: bool,
) -> StopReason | None:
    if should_stop is not None and should_stop():
        return StopReason.CANCELLED
    if deadline is not None and now >= deadline:
        return StopReason.TIMEOUT
    if limits.output_bytes is not None and output.bytes > limits.output_bytes:
        return StopReason.OUTPUT
    if sample and (limits.memory_bytes is not None or limits.processes is not None):
        measured = usage()
        if limits.memory_bytes is not None and measured.rss_bytes > limits.memory_bytes:
            return StopReason.MEMORY
        if limits.processes is not None and measured.processes > limits.processes:
            return StopReason.PROCESSES
    return None


def _read_ready(selector: selectors.BaseSelector, output: _Output, wait: float) -> None:
    for key, _ in selector.select(wait):
        chunk = os.read(key.fd, _READ_BYTES)
        if chunk:
            output.feed(key.data, chunk)
        else:
            selector.unregister(key.fileobj)


def _terminate(
    proc: subprocess.Popen[bytes], selector: selectors.BaseSelector, output: _Output, grace_seconds: float
) -> None:
    """SIGTERM the group, keep reading while it winds down, SIGKILL whatever is left after the grace."""
    signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None and not group_exists(proc.pid):
            break
        if selector.get_map():
            _read_ready(selector, output, 0.05)
        else:
            time.sleep(0.05)
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
