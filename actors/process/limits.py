"""Resource limits of a supervised process and the ``prlimit`` arguments that apply them.

Kernel rlimits are per process and inherited by children; they are set by util-linux ``prlimit`` on
itself just before it execs the program, so nothing runs between ``fork`` and ``exec`` in our threaded
worker (``preexec_fn`` is unsafe there). What an rlimit cannot bound for a whole group is watched by the
runner instead (``actors.process.watch``): resident memory summed over the group, the number of processes,
the bytes of output.

RLIMIT_AS is never used: Node (V8) reserves far more address space than it touches and fails at start
under any useful RLIMIT_AS. The memory bound is the group's resident set, measured; ``data_bytes``
(RLIMIT_DATA) is an optional per-process backstop for programs that allocate faster than the watch samples.
"""

from __future__ import annotations

import shutil

import msgspec

MB = 1024 * 1024


class ProcessLimits(msgspec.Struct, frozen=True):
    """Limits of one supervised program; ``None`` means no limit of that kind.

    Attributes:
        memory_bytes: resident memory of the whole process group (sampled; the group is killed above it).
        cpu_seconds: CPU time per process (RLIMIT_CPU: SIGXCPU, then SIGKILL 2 s of CPU later).
        open_files: open file descriptors per process (RLIMIT_NOFILE).
        output_bytes: bytes of stdout + stderr together; the group is killed above it.
        file_bytes: size of any file a process writes (RLIMIT_FSIZE: SIGXFSZ).
        processes: processes alive at once in the group (sampled; the group is killed above it).
        data_bytes: private writable memory per process (RLIMIT_DATA), a hard backstop to ``memory_bytes``.
    """

    memory_bytes: int | None = 1024 * MB
    cpu_seconds: int | None = None
    open_files: int | None = 4096
    output_bytes: int | None = 20 * MB
    file_bytes: int | None = None
    processes: int | None = 256
    data_bytes: int | None = None


def prlimit_path() -> str | None:
    return shutil.which("prlimit")


def prlimit_argv(limits: ProcessLimits, prlimit: str) -> list[str]:
    """``prlimit --cpu=... -- `` prefix for the limits the kernel enforces; empty when there are none."""
    options: list[str] = []
    if limits.cpu_seconds is not None:
        options.append(f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 2}")
    if limits.open_files is not None:
        options.append(f"--nofile={limits.open_files}:{limits.open_files}")
    if limits.file_bytes is not None:
        options.append(f"--fsize={limits.file_bytes}:{limits.file_bytes}")
    if limits.data_bytes is not None:
        options.append(f"--data={limits.data_bytes}:{limits.data_bytes}")
    return [prlimit, *options, "--"] if options else []


def describe_bytes(n: int) -> str:
    if n >= 1024 * MB and n % (1024 * MB) == 0:
        return f"{n // (1024 * MB)} GB"
    if n >= MB:
        return f"{n / MB:g} MB"
    return f"{n} bytes"
