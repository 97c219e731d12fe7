"""The SSE path's in-process parts: a subscription's inbox and the encoding of events on the wire."""

from __future__ import annotations

import asyncio

import pytest
from litestar.response import ServerSentEventMessage

from service.events.hub import QUEUE_LIMIT, Closed, Subscription
from service.events.wire import HEARTBEAT_CHUNK, encode_event


async def test_a_waiting_client_takes_everything_delivered_meanwhile_at_once() -> None:
    # Given a client waiting on its subscription
    sub = Subscription("ch")
    assert not sub.pending
    waiting = asyncio.ensure_future(sub.wait())
    # When two events arrive before it runs
    sub._deliver(("1-0", "progress", b"{}"))
    sub._deliver(("2-0", "progress", b"{}"))
    await waiting
    # Then one take returns both, oldest first, and leaves the inbox empty
    assert sub.take() == [("1-0", "progress", b"{}"), ("2-0", "progress", b"{}")]
    assert not sub.pending
    assert sub.take() == []  # what a heartbeat's wake-up finds


async def test_events_delivered_before_the_end_are_taken_before_closed() -> None:
    sub = Subscription("ch")
    sub._deliver(("1-0", "status", b"{}"))
    sub._deliver(None)
    sub._deliver(("2-0", "status", b"{}"))  # after the end: dropped
    assert sub.pending
    assert sub.take() == [("1-0", "status", b"{}")]
    with pytest.raises(Closed):
        sub.take()


async def test_a_client_too_far_behind_is_closed() -> None:
    sub = Subscription("ch")
    for n in range(QUEUE_LIMIT + 5):
        sub._deliver((f"{n}-0", "progress", b"{}"))
    assert sub.closed
    assert len(sub.take()) == QUEUE_LIMIT
    with pytest.raises(Closed):
        sub.take()


@pytest.mark.parametrize("data", [b'{"type":"progress","step":"a"}', b'{"a":\n1}', b"x\r\ny"])
def test_events_are_encoded_as_litestar_encodes_them(data: bytes) -> None:
    expected = ServerSentEventMessage(data=data.decode(), event="progress", id="17-3").encode()
    assert encode_event("17-3", "progress", data) == expected


def test_the_heartbeat_is_litestars_comment() -> None:
    assert ServerSentEventMessage(comment="heartbeat", data=None).encode() == HEARTBEAT_CHUNK
