"""One Redis reader per API process, fanning live events out to in-process subscriber queues.

Publishers (``db.live``) append each event to Redis Streams and PUBLISH ``<entry id>\\n<type>\\n<json>`` on
the job's and the owner's channel. The hub holds a single pub/sub connection subscribed to every channel
some local SSE client watches, so 10,000 open streams cost 10,000 subscriptions on one connection instead
of 10,000 blocking reads. Streams fill gaps themselves: after subscribing they read the backlog from the
Redis Stream and drop anything at or before the last id they sent.

If the pub/sub connection breaks, every subscription is closed: clients reconnect with ``Last-Event-ID``
and resume from the stream, so nothing is lost in between.

Heartbeats come from the hub too: one ticker wakes the subscriptions that got nothing for a heartbeat's time,
found oldest first in a dict kept in order of last delivery. A timer per waiting stream (``asyncio.timeout``)
cost five objects per wait for the garbage collector (timer handle, libuv timer, context, the timeout, a bound
method) and a timer armed and cancelled per event; with 10,000 streams the waits outlive the young generations,
and the collections that walked them stopped the event loop for 20-140 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger("genjobs.sse")

# Enough for a burst; a client that falls further behind is disconnected and resumes from the stream.
QUEUE_LIMIT = 1000


class Closed(Exception):
    """The subscription ended (hub stopped, Redis connection lost, or the client fell behind)."""


# (entry id, event type, JSON data) of one live event.
Item = tuple[str, str, bytes]


class Subscription:
    """One SSE client's inbox. A list plus a Future that exists only while the client waits: an
    asyncio.Queue costs ~3 KB per idle stream and an empty deque ~600 B, against a budget of 30 KB a stream.
    The client takes everything delivered since its last take at once (one wake-up, one write for a burst):

        if not sub.pending:
            await sub.wait()
        items = sub.take()
    """

    __slots__ = ("_items", "_waiter", "channel", "closed")

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.closed = False
        self._items: list[Item | None] = []
        self._waiter: asyncio.Future[None] | None = None

    def _deliver(self, item: Item | None) -> None:
        if self.closed:
            return
        if item is None or len(self._items) >= QUEUE_LIMIT:
            # End of subscription, or a client too far behind: it resumes from the stream after reconnecting.
            self.closed = True
            item = None
        self._items.append(item)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    @property
    def pending(self) -> bool:
        """Whether ``take`` has something to return (or raise) without a ``wait``."""
        return bool(self._items) or self.closed

    def wait(self) -> asyncio.Future[None]:
        """Resolves when an event is delivered, the subscription ends, or a heartbeat is due (then ``take``
        returns an empty list). A plain Future, not a coroutine: one object fewer per wait of every stream."""
        self._waiter = asyncio.get_running_loop().create_future()
        return self._waiter

    def take(self) -> list[Item]:
        """Every event delivered since the last take, oldest first (empty after a heartbeat's wake-up). Raises
        Closed once the subscription ended and every event delivered before its end was taken."""
        self._waiter = None
        if not self._items:
            if self.closed:
                raise Closed()
            return []
        # Copied, not replaced: the inbox itself stays an old object the collector's young passes never see.
        items = self._items.copy()
        self._items.clear()
        if items[-1] is None:
            items.pop()
            if not items:
                raise Closed()
        return items  # type: ignore[return-value]  # the only None was the last item


class EventHub:
    def __init__(self, redis_url: str, heartbeat_seconds: float = 15.0) -> None:
        self._client = aioredis.Redis.from_url(redis_url, socket_connect_timeout=3)
        self._pubsub = self._client.pubsub()
        # Local subscribers per channel, and the channels Redis has us subscribed to.
        # A list, not a set: most channels have one subscriber, and 10,000 sets cost ~1.5 MB more.
        self._channels: dict[str, list[Subscription]] = {}
        self._subscribed: set[str] = set()
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        # Channels that lost their last local subscriber; the reaper unsubscribes them in batches.
        self._idle: set[str] = set()
        self._idle_event = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        # Every subscription, in order of its last delivery (oldest first), with the tick of that delivery. The
        # ticker wakes those quiet for ``_heartbeat_ticks`` ticks: between (n-1) and n ticks, at most a heartbeat.
        self._heartbeat_ticks = max(4, math.ceil(heartbeat_seconds))
        self._tick_seconds = heartbeat_seconds / self._heartbeat_ticks
        self._tick = 0
        self._last_delivery: dict[Subscription, int] = {}

    @property
    def subscription_count(self) -> int:
        return sum(len(s) for s in self._channels.values())

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="sse-hub-reader"),
            asyncio.create_task(self._reap(), name="sse-hub-reaper"),
            asyncio.create_task(self._beat(), name="sse-hub-heartbeat"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        old = self._close_all()
        with contextlib.suppress(RedisError, RuntimeError):
            await old.aclose()  # type: ignore[no-untyped-call]
        with contextlib.suppress(RedisError, RuntimeError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._client.aclose()

    async def subscribe(self, channel: str, timeout: float = 5.0) -> Subscription:
        """Subscribe to a channel; returns once Redis confirmed it, so no later publish can be missed."""
        sub = Subscription(channel)
        self._channels.setdefault(channel, []).append(sub)
        self._last_delivery[sub] = self._tick
        self._idle.discard(channel)
        try:
            async with self._lock:
                waiter = self._confirmations.get(channel)
                if channel not in self._subscribed:
                    waiter = asyncio.get_running_loop().create_future()
                    self._confirmations[channel] = waiter
                    self._subscribed.add(channel)
                    await self._pubsub.subscribe(channel)
            if waiter is not None:
                await asyncio.wait_for(asyncio.shield(waiter), timeout)
        except BaseException:
            self.unsubscribe(sub)
            raise
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Release a subscription at once. Synchronous on purpose: it runs in a cancelled stream's
        ``finally``, where any await would be interrupted and leak the subscription."""
        sub.closed = True
        self._last_delivery.pop(sub, None)
        subs = self._channels.get(sub.channel)
        if subs is None or sub not in subs:
            return
        subs.remove(sub)
        if not subs:
            del self._channels[sub.channel]
            self._idle.add(sub.channel)
            self._idle_event.set()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            self._tick += 1
            quiet_since = self._tick - self._heartbeat_ticks
            due = []
            for sub, tick in self._last_delivery.items():
                if tick > quiet_since:
                    break
                due.append(sub)
            for sub in due:
                self._delivered(sub)
                sub._wake()

    def _delivered(self, sub: Subscription) -> None:
        """Move ``sub`` to the end of the delivery order."""
        del self._last_delivery[sub]
        self._last_delivery[sub] = self._tick

    async def _reap(self) -> None:
        while True:
            await self._idle_event.wait()
            self._idle_event.clear()
            async with self._lock:
                channels = [c for c in self._idle if c not in self._channels and c in self._subscribed]
                self._idle.clear()
                if not channels:
                    continue
                self._subscribed.difference_update(channels)
                for channel in channels:
                    self._confirmations.pop(channel, None)
                try:
                    await self._pubsub.unsubscribe(*channels)
                except (RedisError, RuntimeError):
                    log.warning("could not unsubscribe %d channel(s); the reader will reconnect", len(channels))

    async def _run(self) -> None:
        while True:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("SSE hub lost its Redis connection; closing %d subscription(s)", self.subscription_count)
                async with self._lock:
                    old = self._close_all()
                with contextlib.suppress(RedisError, RuntimeError):
                    await old.aclose()  # type: ignore[no-untyped-call]
                await asyncio.sleep(0.5)

    async def _read(self) -> None:
        while True:
            if not self._pubsub.subscribed:
                await asyncio.sleep(0.05)
                continue
            message = await self._pubsub.get_message(ignore_subscribe_messages=False, timeout=1.0)
            if message is None:
                continue
            kind = message["type"]
            channel = message["channel"].decode()
            if kind == "message":
                subs = self._channels.get(channel)
                if not subs:
                    continue
                raw_id, _, rest = message["data"].partition(b"\n")
                event_type, _, data = rest.partition(b"\n")
                item = (raw_id.decode(), event_type.decode(), data)
                for sub in subs:
                    sub._deliver(item)
                    self._delivered(sub)
            elif kind == "subscribe":
                waiter = self._confirmations.pop(channel, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    def _close_all(self) -> aioredis.client.PubSub:
        """End every subscription and start over on a new connection; returns the old pub/sub to close."""
        for subs in self._channels.values():
            for sub in subs:
                sub._deliver(None)
        self._channels.clear()
        self._last_delivery.clear()
        self._subscribed.clear()
        self._idle.clear()
        for waiter in self._confirmations.values():
            if not waiter.done():
                waiter.set_exception(Closed())
        self._confirmations.clear()
        # Subscriptions are re-made by reconnecting clients, on a clean connection.
        old, self._pubsub = self._pubsub, self._client.pubsub()
        return old
