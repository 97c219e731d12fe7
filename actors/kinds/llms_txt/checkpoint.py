"""What a crawl has done so far, kept on disk so a retry (after a worker crash or a hand-back) continues
from there instead of starting over.

``discovery.json`` holds the URL list; ``pages.jsonl`` one line per URL fetched (its page or its error).
Lines are appended and flushed as pages complete; a torn last line (the worker died mid-write) is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

import msgspec

from actors.kinds.llms_txt.discovery import Discovery
from actors.kinds.llms_txt.extract import PageInfo


class PageRecord(msgspec.Struct, omit_defaults=True):
    url: str
    final_url: str = ""
    error: str | None = None
    page: PageInfo | None = None


_encode = msgspec.json.Encoder().encode
_decode_record = msgspec.json.Decoder(PageRecord).decode


class Checkpoint:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._discovery = folder / "discovery.json"
        self._pages = folder / "pages.jsonl"
        self._out: IO[bytes] | None = None

    def load_discovery(self) -> Discovery | None:
        try:
            return msgspec.json.decode(self._discovery.read_bytes(), type=Discovery)
        except (FileNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
            return None

    def save_discovery(self, discovery: Discovery) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._discovery.with_suffix(".tmp")
        tmp.write_bytes(_encode(discovery))
        tmp.replace(self._discovery)

    def records(self) -> Iterator[PageRecord]:
        try:
            with self._pages.open("rb") as f:
                for line in f:
                    try:
                        yield _decode_record(line)
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        continue
        except FileNotFoundError:
            return

    def append(self, record: PageRecord) -> None:
        self.append_all([record])

    def append_all(self, records: list[PageRecord]) -> None:
        """Append ``records`` with one write (a batch of extracted pages: one system call, not one each)."""
        if self._out is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._out = self._pages.open("ab")
        self._out.write(b"".join([_encode(record) + b"\n" for record in records]))
        self._out.flush()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
