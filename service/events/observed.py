"""Counts SSE streams opened and events written (``db.observe.catalog``) around any event generator."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.response import ServerSentEventMessage

from db.observe import catalog
from db.observe.recorder import inc


async def counted(
    stream: str, messages: AsyncIterator[ServerSentEventMessage]
) -> AsyncIterator[ServerSentEventMessage]:
    """Yield ``messages``, counting them; closing this generator (a client that went away) closes theirs at once,
    so its subscription is released without waiting for garbage collection."""
    inc(catalog.SSE_STREAMS, stream)
    try:
        async for message in messages:
            inc(catalog.SSE_EVENTS, message.event or ("heartbeat" if message.comment else "message"))
            yield message
    finally:
        aclose = getattr(messages, "aclose", None)
        if aclose is not None:
            await aclose()
