"""Turning a program's output bytes into clean lines: UTF-8 (replacing bad bytes), ANSI codes stripped,
carriage-return progress bars reduced to their last state, over-long lines cut."""

from __future__ import annotations

import re

# CSI sequences (colours, cursor moves), OSC sequences (titles, links) and lone two-byte escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
MAX_LINE_CHARS = 4000


def clean_line(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    if "\r" in text:
        text = text.rsplit("\r", 1)[-1]
    text = _ANSI.sub("", text)
    if len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS] + " [...]"
    return text


class LineSplitter:
    """Accumulates chunks of one stream and hands out its complete lines."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        if b"\n" not in chunk:
            # A line without end (a progress bar, a binary dump) is cut rather than held in memory forever.
            if len(self._buffer) > MAX_LINE_CHARS * 4:
                return [self.flush() or ""]
            return []
        *complete, rest = bytes(self._buffer).split(b"\n")
        self._buffer = bytearray(rest)
        return [clean_line(line) for line in complete]

    def flush(self) -> str | None:
        """The unfinished last line, if any (at the end of the stream)."""
        if not self._buffer:
            return None
        line = clean_line(bytes(self._buffer))
        self._buffer.clear()
        return line
