"""What a supervised program ended with, and a sentence about it for the job's error."""

from __future__ import annotations

import enum
import shlex
import signal

import msgspec

from actors.process.limits import ProcessLimits, describe_bytes


class StopReason(enum.StrEnum):
    """Why the runner killed the program (it did not end by itself)."""

    CANCELLED = "cancelled"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    OUTPUT = "output"
    PROCESSES = "processes"


class ProcessResult(msgspec.Struct, frozen=True):
    """The outcome of ``run_process``.

    Attributes:
        argv: the program and its arguments, as asked (without the sandbox or prlimit prefix).
        returncode: the exit code; None when it was ended by a signal (then ``signal`` says which).
        signal: the signal that ended it, if one did.
        stopped: why the runner killed it, if it did.
        duration_seconds: wall time from start to the end of the group.
        output_bytes: bytes of stdout and stderr read.
        tail: the last lines of output (ANSI codes stripped).
        sandboxed: whether it ran inside bubblewrap.
        log_path: the file holding the whole output, if one was asked for.
    """

    argv: tuple[str, ...]
    returncode: int | None
    signal: int | None
    stopped: StopReason | None
    duration_seconds: float
    output_bytes: int
    tail: tuple[str, ...]
    sandboxed: bool
    limits: ProcessLimits
    timeout_seconds: float | None = None
    log_path: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.stopped is None

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def describe(self) -> str:
        """One sentence naming the command and what ended it (for the job's error)."""
        cmd = f"`{self.command}`"
        limits = self.limits
        if self.stopped is StopReason.TIMEOUT:
            return f"{cmd} ran past its time limit of {self.timeout_seconds:g} s and was killed"
        if self.stopped is StopReason.MEMORY and limits.memory_bytes is not None:
            return f"{cmd} exceeded its memory limit of {describe_bytes(limits.memory_bytes)} and was killed"
        if self.stopped is StopReason.OUTPUT and limits.output_bytes is not None:
            return f"{cmd} exceeded its output limit of {describe_bytes(limits.output_bytes)} and was killed"
        if self.stopped is StopReason.PROCESSES:
            return f"{cmd} exceeded its limit of {limits.processes} processes and was killed"
        if self.stopped is StopReason.CANCELLED:
            return f"{cmd} was stopped: the job was cancelled"
        if self.signal == signal.SIGXCPU or (self.signal == signal.SIGKILL and limits.cpu_seconds is not None):
            return f"{cmd} exceeded its CPU time limit of {limits.cpu_seconds} s"
        if self.signal == signal.SIGXFSZ and limits.file_bytes is not None:
            return f"{cmd} wrote a file larger than its limit of {describe_bytes(limits.file_bytes)}"
        if self.signal is not None:
            return f"{cmd} was killed by signal {signal.Signals(self.signal).name}"
        return f"{cmd} exited with code {self.returncode}"
