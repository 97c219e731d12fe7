"""The SSE streams: a snapshot from Postgres, the backlog from the Redis Stream, then live events.

Order of operations gives "no gap, no duplicate":
1. subscribe to the live channel (confirmed by Redis) - from now on nothing published is missed;
2. pick the cursor: the client's ``Last-Event-ID`` if the stream still holds everything after it, else the
   stream's newest id, read *before* the snapshot so no change can fall between snapshot and cursor;
3. send the snapshot (only without a usable ``Last-Event-ID``), then the stream entries after the cursor,
   then live events, skipping any entry id at or before the last one sent.

After a snapshot the stream entries after the cursor are not read: each was appended after the cursor was
read, so after the subscription was confirmed, and the append script publishes what it appends, so each
arrives live. Only a resumed stream reads the entries after its ``Last-Event-ID``, which may predate it.

Steps 1 and 2 and the snapshot's read run before the response starts (``open_event_stream``): a job that is
not the caller's is answered 404 by the snapshot's own read, with no separate lookup first.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import cast

import msgspec
import redis.asyncio as aioredis

from db.statuses import TERMINAL
from service.errors import dependency_down
from service.events.hub import Closed, EventHub, Item
from service.events.wire import encode_event, heartbeat, stream_opened

_TERMINAL_VALUES = frozenset({*(s.value for s in TERMINAL), "deleted"})
_ENDING_TYPES = frozenset({"status", "deleted"})
_BACKLOG_CHUNK = 500


class _StatusOnly(msgspec.Struct):
    job_id: str | None = None
    status: str | None = None


_decode_status = msgspec.json.Decoder(_StatusOnly).decode


def parse_entry_id(value: str | None) -> tuple[int, int] | None:
    """A Redis Stream entry id ``<ms>-<seq>`` as a comparable tuple; None if it is not one."""
    if not value:
        return None
    ms, sep, seq = value.strip().partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit():
        return None
    return int(ms), int(seq)


StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]


async def newest_entry_id(client: aioredis.Redis, key: str) -> str:
    last = cast(StreamEntries, await client.xrevrange(key, count=1))
    return last[0][0].decode() if last else "0-0"


async def resumable_from(client: aioredis.Redis, key: str, last_event_id: str | None) -> str | None:
    """``last_event_id`` if every entry after it is still in the stream, else None (send a snapshot).

    ``0-0`` asks for the whole stream from its first entry (a client that wants every step of the job, not
    just the state it is in now); it falls back to a snapshot like any cursor whose entries are gone."""
    cursor = parse_entry_id(last_event_id)
    if cursor is None:
        return None
    try:
        info = await client.xinfo_stream(key)
    except aioredis.ResponseError:  # no such stream (expired, or Redis was emptied)
        return None
    trimmed = parse_entry_id(_as_str(info.get("max-deleted-entry-id")))
    if trimmed is not None and trimmed > cursor:
        return None
    return last_event_id


def _as_str(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None


class StreamPlan(msgspec.Struct):
    """What one SSE response streams."""

    name: str  # the endpoint, for the count of streams opened
    channel: str
    stream_key: str
    last_event_id: str | None
    # Decides whether an event concerns this stream (multiplexed streams filter by job id).
    wants: Callable[[str | None], bool] | None = None
    # Ends the stream once every watched job reached a terminal state (None: never ends by itself).
    watch_until_terminal: tuple[str, ...] | None = None
    # For a resumed stream (no snapshot read): raises if the client may not see it (e.g. a job not its own).
    check: Callable[[], Awaitable[None]] | None = None


# Yielded once by ``event_stream`` when it is set up (subscribed, cursor picked, snapshot read); never sent.
_READY = b": ready\r\n\r\n"


async def open_event_stream(
    hub: EventHub,
    client: aioredis.Redis,
    plan: StreamPlan,
    snapshots: Callable[[], Awaitable[Sequence[tuple[str, str, bytes]]]],
) -> AsyncIterator[bytes]:
    """``event_stream``, set up before it is returned: an error of its setup (a missing job's ``NotFound`` from
    ``snapshots`` or ``plan.check``) is raised here, to be answered instead of a stream.

    Raises:
        ServiceUnavailable: the hub lost Redis while subscribing."""
    messages = event_stream(hub, client, plan, snapshots)
    try:
        ready = await anext(messages)
    except Closed:
        raise dependency_down("redis", "Live events are unavailable right now; please reconnect shortly.") from None
    assert ready is _READY
    stream_opened(plan.name)
    return messages


async def event_stream(
    hub: EventHub,
    client: aioredis.Redis,
    plan: StreamPlan,
    snapshots: Callable[[], Awaitable[Sequence[tuple[str, str, bytes]]]],
) -> AsyncIterator[bytes]:
    """Yield encoded SSE events for one client until the watched jobs end or the client goes away.

    ``snapshots`` returns (job_id, status, json bytes) of the jobs to snapshot; it runs only when the
    client cannot resume from ``Last-Event-ID``. Live events delivered together go out as one chunk.
    """
    sub = await hub.subscribe(plan.channel)
    try:
        state = _StreamState(plan)
        async for chunk in _start(client, plan, state, snapshots):
            yield chunk
        # Live: this generator alone between Litestar and the hub (no wrapper generator per event).
        while not state.finished:
            if not sub.pending:
                await sub.wait()
            items = sub.take()
            chunk = state.accept_all(items) if items else heartbeat()
            if chunk:
                yield chunk
    except Closed:
        return
    finally:
        hub.unsubscribe(sub)


async def _start(
    client: aioredis.Redis,
    plan: StreamPlan,
    state: _StreamState,
    snapshots: Callable[[], Awaitable[Sequence[tuple[str, str, bytes]]]],
) -> AsyncIterator[bytes]:
    """``_READY`` once the cursor is picked and the snapshot read (or access checked), then the snapshot or the
    stream's backlog after the client's ``Last-Event-ID``."""
    cursor_id = await resumable_from(client, plan.stream_key, plan.last_event_id)
    if cursor_id is None:
        cursor_id = await newest_entry_id(client, plan.stream_key)
        snapshot = await snapshots()
        yield _READY
        for job_id, status, body in snapshot:
            yield encode_event(cursor_id, "snapshot", body)
            state.saw_status(job_id, status)
        state.cursor = parse_entry_id(cursor_id) or (0, 0)
        return
    if plan.check is not None:
        await plan.check()
    yield _READY
    state.cursor = parse_entry_id(cursor_id) or (0, 0)
    async for chunk in _backlog(client, plan, state, cursor_id):
        yield chunk


async def _backlog(
    client: aioredis.Redis, plan: StreamPlan, state: _StreamState, cursor_id: str
) -> AsyncIterator[bytes]:
    """Everything the Redis Stream holds after the cursor, in chunks."""
    start = f"({cursor_id}"
    while True:
        entries = cast(StreamEntries, await client.xrange(plan.stream_key, min=start, max="+", count=_BACKLOG_CHUNK))
        chunk = state.accept_all((raw.decode(), fields[b"type"].decode(), fields[b"data"]) for raw, fields in entries)
        if chunk:
            yield chunk
        if state.finished or len(entries) < _BACKLOG_CHUNK:
            return
        start = f"({entries[-1][0].decode()}"


class _StreamState:
    """Cursor, filtering and end-of-stream bookkeeping of one SSE response."""

    __slots__ = ("cursor", "finished", "plan", "remaining")

    def __init__(self, plan: StreamPlan) -> None:
        self.plan = plan
        self.cursor: tuple[int, int] = (0, 0)
        self.remaining = set(plan.watch_until_terminal) if plan.watch_until_terminal is not None else None
        self.finished = False

    def saw_status(self, job_id: str | None, status: str | None) -> None:
        if self.remaining is None or job_id is None:
            return
        if status in _TERMINAL_VALUES:
            self.remaining.discard(job_id)
        self.finished = not self.remaining

    def accept_all(self, items: Iterable[Item]) -> bytes:
        """The encoded SSE events of ``items`` not already sent and concerning this stream, up to and including
        the one that finishes it (later ones are not sent)."""
        out = []
        for item in items:
            encoded = self.accept(*item)
            if encoded is not None:
                out.append(encoded)
            if self.finished:
                break
        return b"".join(out)

    def accept(self, entry_id: str, event_type: str, data: bytes) -> bytes | None:
        """The encoded SSE event of an entry, or None if it was already sent or concerns another job."""
        parsed = parse_entry_id(entry_id)
        if parsed is None or parsed <= self.cursor:
            return None
        self.cursor = parsed
        # Only a filtered stream, and an event that may end it, need the head of the data.
        if self.plan.wants is not None or event_type in _ENDING_TYPES:
            head = _decode_status(data)
            if self.plan.wants is not None and not self.plan.wants(head.job_id):
                return None
            if event_type == "deleted":
                self.saw_status(head.job_id, "deleted")
            elif event_type == "status":
                self.saw_status(head.job_id, head.status)
        return encode_event(entry_id, event_type, data)


def job_ids_filter(job_ids: set[uuid.UUID] | None) -> Callable[[str | None], bool] | None:
    if job_ids is None:
        return None
    wanted = {str(j) for j in job_ids}
    return lambda job_id: job_id in wanted
