"""What both embedded servers share: their error, time limits and log reading."""

from __future__ import annotations

from pathlib import Path

START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0


# sun_path holds 108 bytes on Linux (104 on macOS); keep a margin for the terminating NUL.
MAX_SOCKET_PATH_BYTES = 100


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or stopped."""


def tail_log(path: Path, lines: int = 20) -> str:
    """The last lines of a server's log, for an error message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"
