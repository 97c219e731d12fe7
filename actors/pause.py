"""Paused queues: a paused queue keeps its messages, and workers take nothing from it until it is resumed.

The set of paused queue names lives in Redis (``genjobs:queues:paused``), so pausing from any API process stops
every worker on every host. Each consumer checks it at most once a second; when its queue is paused it hands
back the messages it had prefetched but not started (they go back to their queue) and idles, renewing its
broker heartbeat so the worker is not taken for dead. A message a worker already started runs to its end.
Delayed messages still move to the queue when due and wait there.
"""

from __future__ import annotations

import time
from typing import Any

import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer

PAUSED_KEY = "genjobs:queues:paused"
CHECK_INTERVAL_SECONDS = 1.0


def paused_queues(client: redis.Redis) -> set[str]:
    return {m.decode() if isinstance(m, bytes) else str(m) for m in client.smembers(PAUSED_KEY)}


class PausableConsumer(_RedisConsumer):
    """Dramatiq's Redis consumer that takes nothing from its queue while the queue is paused."""

    def __init__(self, broker: RedisBroker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)  # type: ignore[no-untyped-call]
        self._checked_at = 0.0
        self._paused = False

    def _is_paused(self) -> bool:
        now = time.monotonic()
        if now - self._checked_at >= CHECK_INTERVAL_SECONDS:
            self._checked_at = now
            self._paused = bool(self.broker.client.sismember(PAUSED_KEY, self.queue_name))
        return self._paused

    def __next__(self) -> Any:
        if not self._is_paused():
            return super().__next__()  # type: ignore[no-untyped-call]
        if self.message_cache:
            ids = [Message.decode(data).options["redis_message_id"] for data in self.message_cache if data]
            self.message_cache = []
            if ids:
                self.broker.do_requeue(self.queue_name, *ids)
        # Dramatiq's fetches renew the heartbeat; a worker whose only queues are paused fetches nothing.
        from actors.broker import refresh_heartbeat

        refresh_heartbeat(self.broker)
        time.sleep(min(self.timeout, 1000) / 1000)
        return None


class PausableRedisBroker(RedisBroker):
    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return PausableConsumer
