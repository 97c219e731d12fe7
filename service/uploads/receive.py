"""Streaming a ``multipart/form-data`` request body to disk with a size cap.

The body is read chunk by chunk from ``request.stream()`` and fed to ``multipart.PushMultipartParser`` (the
sans-IO parser Litestar itself is built on, by the author of Bottle): file parts go straight to files in the
target directory, text fields are kept (small, capped), and nothing holds the whole body in memory.
Litestar's own form parsing would spool files to a temporary directory first and applies one fixed
per-route limit; here the cap comes from the settings and the files land where the job will find them.

Any error removes the target directory: a refused upload leaves nothing on disk.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import IO, Any

import msgspec
from litestar import Request
from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser

from service.errors import BadRequest, PayloadTooLarge

_PART_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_FIELDS = 20
MAX_FIELD_BYTES = 1024 * 1024
# After the cap is crossed, the rest of the body is read and dropped (up to this many more bytes) so the
# client, still sending, gets the 413 instead of a broken connection.
_DRAIN_FACTOR = 2


class SavedFile(msgspec.Struct, frozen=True):
    """One file part, saved as ``<target dir>/<part name>``."""

    part: str
    # As the client named it: for display only, never used as a path.
    filename: str
    path: str
    size: int
    content_type: str | None


class ReceivedForm(msgspec.Struct):
    fields: dict[str, str]
    files: list[SavedFile]


def is_multipart(request: Request[Any, Any, Any]) -> bool:
    return request.content_type[0] == "multipart/form-data"


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The upload is larger than the limit of {max_bytes} bytes ({max_bytes / 1024 / 1024:g} MB).",
        details={"limit_bytes": max_bytes},
    )


async def receive_form(request: Request[Any, Any, Any], *, max_bytes: int, target_dir: Path) -> ReceivedForm:
    """Read the request's multipart body: file parts into ``target_dir`` (created here), fields into a dict.

    Raises:
        PayloadTooLarge: the body is larger than ``max_bytes`` (announced or counted).
        BadRequest: not multipart, malformed, a part without a usable name, a part twice, too many parts.
    """
    boundary = request.content_type[1].get("boundary")
    if not is_multipart(request) or not boundary:
        raise BadRequest("Expected a multipart/form-data body with a boundary.", code="invalid_multipart")
    announced = request.headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > max_bytes:
        raise _too_large(max_bytes)
    target_dir.mkdir(parents=True)
    receiver = _Receiver(target_dir)
    try:
        await receiver.read(request, boundary, max_bytes)
    except BaseException:
        receiver.close()
        shutil.rmtree(target_dir, ignore_errors=True)
        raise
    return ReceivedForm(receiver.fields, receiver.files)


class _Receiver:
    def __init__(self, target_dir: Path) -> None:
        self.target_dir = target_dir
        self.fields: dict[str, str] = {}
        self.files: list[SavedFile] = []
        self._segment: MultipartSegment | None = None
        self._out: IO[bytes] | None = None
        self._text = bytearray()

    async def read(self, request: Request[Any, Any, Any], boundary: str, max_bytes: int) -> None:
        received = 0
        try:
            with PushMultipartParser(boundary, max_segment_count=MAX_FIELDS, strict=True) as parser:
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > max_bytes:
                        if received > max_bytes * _DRAIN_FACTOR:
                            break
                        continue  # read and dropped (see _DRAIN_FACTOR)
                    # The stream ends with an empty chunk: for the parser, the end of input.
                    for event in parser.parse(chunk):
                        self._event(event)
                    if parser.closed:
                        break
                if received > max_bytes:
                    raise _too_large(max_bytes)
                if not parser.closed:
                    raise BadRequest("The multipart body ended before its closing boundary.", code="invalid_multipart")
        except ParserLimitReached:
            raise BadRequest(f"Too many parts: at most {MAX_FIELDS}.", code="invalid_multipart") from None
        except ParserError as exc:
            raise BadRequest(f"The multipart body is malformed: {exc}", code="invalid_multipart") from None

    def _event(self, event: MultipartSegment | bytes | bytearray | None) -> None:
        if isinstance(event, MultipartSegment):
            self._start(event)
        elif event is None:
            self._end()
        elif self._out is not None:
            self._out.write(event)
        else:
            self._text += event
            if len(self._text) > MAX_FIELD_BYTES:
                name = self._segment.name if self._segment else ""
                raise BadRequest(f"The field {name!r} is longer than {MAX_FIELD_BYTES} bytes.", code="field_too_large")

    def _start(self, segment: MultipartSegment) -> None:
        name = segment.name or ""
        if not _PART_NAME.match(name):
            raise BadRequest(
                f"Part name {name!r} is not allowed: use letters, digits, '_' and '-'.", code="invalid_multipart"
            )
        if name in self.fields or any(f.part == name for f in self.files):
            raise BadRequest(f"The part {name!r} was sent twice.", code="invalid_multipart")
        self._segment = segment
        if segment.filename is not None:
            self._out = (self.target_dir / name).open("xb")

    def _end(self) -> None:
        segment = self._segment
        assert segment is not None
        name = segment.name or ""
        if self._out is not None:
            self._out.close()
            self._out = None
            filename = (segment.filename or "").replace("\x00", "")[:255]
            path = self.target_dir / name
            self.files.append(SavedFile(name, filename, str(path), path.stat().st_size, segment.content_type))
        else:
            try:
                self.fields[name] = self._text.decode(segment.charset or "utf-8")
            except (UnicodeDecodeError, LookupError):
                raise BadRequest(f"The field {name!r} is not valid UTF-8.", code="invalid_multipart") from None
            self._text = bytearray()
        self._segment = None

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
