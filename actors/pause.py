"""Paused queues: a paused queue keeps its messages, and workers take nothing from it until it is resumed.

The set of paused queue names lives in Redis (``genjobs:queues:paused``), so pausing from any API process stops
every worker on every host. Each consumer checks it at most once a second; when its queue is paused it hands
back the messages it had prefetched but not started (they go back to their queue) and idles, renewing its
broker heartbeat so the worker is not taken for dead. A message a worker already started runs to its end.
Delayed messages still move to the queue when due and wait there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from dramatiq import Message, MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.errors import ConnectionClosed

from actors.queue_watch import IDLE_FETCH_SECONDS, QueueWatch, doorbell
from db.live import ScriptCall

log = logging.getLogger("genjobs.worker")
PAUSED_KEY = "genjobs:queues:paused"
CHECK_INTERVAL_SECONDS = 1.0


def paused_queues(client: redis.Redis) -> set[str]:
    return {m.decode() if isinstance(m, bytes) else str(m) for m in client.smembers(PAUSED_KEY)}


class PausableConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer that takes nothing from its queue while the queue is paused, and that, idle,
    waits for its process's ``QueueWatch`` to see messages instead of polling Redis itself."""

    def __init__(self, broker: PausableRedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._checked_at = 0.0
        self._paused = False
        self._watch = broker.queue_watch(timeout / 1000)
        self._watch.register(queue_name)
        # Delayed messages this consumer handed out and still holds: its thread releases each when due.
        self._delayed: set[str] = set()

    def _is_paused(self) -> bool:
        now = time.monotonic()
        if now - self._checked_at >= CHECK_INTERVAL_SECONDS:
            self._checked_at = now
            self._paused = bool(self.broker.client.sismember(PAUSED_KEY, self.queue_name))
        return self._paused

    def ack(self, message: MessageProxy) -> None:
        self._settle("ack", message)

    def nack(self, message: MessageProxy) -> None:
        self._settle("nack", message)

    def _settle(self, command: str, message: MessageProxy) -> None:
        """Acknowledge or reject the message as Dramatiq does; through its rider (``PausableRedisBroker.ride``),
        in one round trip with the rider's own work, when it has one."""
        message_id = message.options["redis_message_id"]
        rider = self.broker.take_rider(message_id)
        if rider is None:
            getattr(super(), command)(message)
            return
        from actors.broker import dispatch_call

        def alone() -> None:
            getattr(super(PausableConsumer, self), command)(message)

        try:
            rider(dispatch_call(self.broker, command, self.queue_name, message_id), alone)
        except redis.ConnectionError as e:
            # Dramatiq tries again every few seconds until Redis is back: with the rider.
            self.broker.ride(message_id, rider)
            raise ConnectionClosed(e) from None  # type: ignore[no-untyped-call]
        except Exception:
            # Not a lost connection (a script that failed): the message is still settled, on its own.
            log.exception("could not %s message %s with its live events; settling it alone", command, message_id)
            getattr(super(), command)(message)
        finally:
            self.queued_message_ids.discard(message.message_id)

    def __next__(self) -> Any:
        if not self._is_paused() and not self.message_cache and self.outstanding_message_count < self.prefetch:
            # Room for a message and none prefetched: wait until the watch sees one (or the idle fetch is due);
            # a fetch that then misses sleeps Dramatiq's shortest backoff, not a long one. Holding delayed
            # messages, one poll interval at most: this thread releases them when due, between two calls.
            # Messages merely running need nothing of this thread (worker threads acknowledge them): a 10-minute
            # build no longer keeps its consumer fetching every 50 ms (measured: 9 ms of CPU a second).
            self._delayed &= self.queued_message_ids
            self._watch.wait(self.queue_name, self._watch.interval if self._delayed else IDLE_FETCH_SECONDS)
            self.misses = 0
        # Checked again after the wait: the queue may have been paused meanwhile.
        if not self._is_paused():
            rings = self._watch.rings(self.queue_name)
            message = super().__next__()  # type: ignore[no-untyped-call]
            if message is None and not self.message_cache:
                self._watch.emptied(self.queue_name, rings)
            elif message is not None and message.options.get("eta") is not None:
                self._delayed.add(message.message_id)
            return message
        if self.message_cache:
            ids = [Message.decode(data).options["redis_message_id"] for data in self.message_cache if data]
            self.message_cache = []
            if ids:
                self.broker.do_requeue(self.queue_name, *ids)
        # Dramatiq's fetches renew the heartbeat; a worker whose only queues are paused fetches nothing.
        from actors.broker import refresh_heartbeat

        refresh_heartbeat(self.broker)
        # Not the worker's poll timeout (50 ms): a resume is seen at the next check anyway.
        time.sleep(CHECK_INTERVAL_SECONDS)
        return None


# Sends a message's acknowledgement (or rejection), given as a script call, in one pipeline with other Redis work
# (a job's last live events); the function given with it settles the message alone, should that pipeline's
# scripts fail other than by a lost connection.
AckRider = Callable[[ScriptCall, Callable[[], None]], None]


class PausableRedisBroker(RedisBroker):
    _watch: QueueWatch | None = None
    _watch_lock = threading.Lock()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self._riders: dict[str, AckRider] = {}

    def ride(self, message_id: str, rider: AckRider) -> None:
        """Have ``rider`` send the acknowledgement of the message with this broker id once its processing
        ended, with work of its own, instead of a round trip for the acknowledgement alone."""
        self._riders[message_id] = rider

    def take_rider(self, message_id: str) -> AckRider | None:
        return self._riders.pop(message_id, None)

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return PausableConsumer

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        """Dramatiq's enqueue, then a ring of the doorbell for the message's queue, so that idle consumers take
        it at once (``actors.queue_watch``). A delayed message rings when it moves to its queue (enqueued again
        by the consumer that held it)."""
        sent: Message[Any] = super().enqueue(message, delay=delay)
        if delay is None:
            try:
                self.client.publish(doorbell(self.client, self.namespace), sent.queue_name)
            except redis.RedisError as exc:
                # The message is in its queue: the watch's next look finds it.
                log.warning("could not ring the doorbell for queue %s: %s", sent.queue_name, exc)
        return sent

    def emit_before(self, signal: str, *args: Any, **kwargs: Any) -> None:
        if signal == "worker_shutdown" and self._watch is not None:
            self._watch.stopping()
        super().emit_before(signal, *args, **kwargs)

    def queue_watch(self, interval: float) -> QueueWatch:
        """The process's one watch of this broker's queues (made by the first consumer)."""
        with self._watch_lock:
            if self._watch is None:
                self._watch = QueueWatch(self.client, self.namespace, interval)
            return self._watch
