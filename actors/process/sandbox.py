"""The optional bubblewrap sandbox: read-only root, private /tmp, only the job's directory writable, no
network unless a step asks for it, its own PID namespace, and gone when the worker thread that started it is.

``bwrap`` (Debian package ``bubblewrap``) is used when it is installed and works here (a probe run, once
per process): some kernels forbid the namespaces it needs. Without it programs run unsandboxed; the worker
says so at start and ``/api/health`` reports it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import msgspec

_PROBE_TIMEOUT_SECONDS = 10.0


class SandboxPolicy(msgspec.Struct, frozen=True):
    """What a sandboxed program may touch.

    Attributes:
        writable: directories bound read-write (the job's directory); everything else is read-only.
        network: keep the host's network (e.g. ``npm install``); otherwise only a private loopback.
        hidden: directories replaced by an empty tmpfs (e.g. the service's data directory).
    """

    writable: tuple[str, ...] = ()
    network: bool = False
    hidden: tuple[str, ...] = ()


class SandboxStatus(msgspec.Struct, frozen=True):
    available: bool
    # Why not, when not available (for the worker's start message and /api/health).
    reason: str | None = None
    path: str | None = None


def _base_args(bwrap: str) -> list[str]:
    return [
        bwrap,
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        *_python_environment_again(),
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
    ]


def _python_environment_again() -> list[str]:
    """Read-only binds of this worker's Python environment when it lives under /tmp (a checkout there):
    the private /tmp would otherwise hide what the read-only root shows everywhere else."""
    args: list[str] = []
    for prefix in sorted({Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}):
        if prefix.is_relative_to("/tmp"):
            args += ["--ro-bind", str(prefix), str(prefix)]
    return args


@lru_cache(maxsize=1)
def sandbox_status() -> SandboxStatus:
    """Whether programs can be sandboxed here (probed once per process)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxStatus(False, "bwrap (bubblewrap) is not installed; programs run without a sandbox")
    try:
        probe = subprocess.run(
            [*_base_args(bwrap), "--unshare-net", "--", "true"],
            capture_output=True,
            timeout=_PROBE_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxStatus(False, f"bwrap did not run: {type(exc).__name__}", bwrap)
    if probe.returncode != 0:
        detail = probe.stderr.decode(errors="replace").strip()[:200]
        return SandboxStatus(False, f"bwrap is installed but cannot create its namespaces here: {detail}", bwrap)
    return SandboxStatus(True, None, bwrap)


def sandbox_available() -> bool:
    return sandbox_status().available


def sandbox_argv(policy: SandboxPolicy, cwd: Path) -> list[str]:
    """The ``bwrap ... --`` prefix that runs a program under ``policy`` in ``cwd``.

    Raises:
        RuntimeError: bubblewrap is not available (check ``sandbox_available()`` first).
    """
    status = sandbox_status()
    if not status.available or status.path is None:
        raise RuntimeError(status.reason or "bwrap is not available")
    args = _base_args(status.path)
    if not policy.network:
        args.append("--unshare-net")
    for hidden in policy.hidden:
        if Path(hidden).is_dir():
            args += ["--tmpfs", str(Path(hidden).resolve())]
    # After /tmp and the hidden paths: a job directory below one of them is still bound (bwrap creates the
    # mount point inside the tmpfs).
    for path in policy.writable:
        resolved = str(Path(path).resolve())
        args += ["--bind", resolved, resolved]
    args += ["--chdir", str(cwd.resolve()), "--"]
    return args
