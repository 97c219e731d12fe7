"""A Redis lock with expiry so only one scheduler instance fires periodic work."""

from __future__ import annotations

import uuid

import redis

_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class LeaderLock:
    def __init__(self, client: redis.Redis, key: str = "genjobs:scheduler:leader", ttl_ms: int = 10_000) -> None:
        self._client = client
        self._key = key
        self._ttl_ms = ttl_ms
        self._token = uuid.uuid4().hex
        self._renew = client.register_script(_RENEW_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    def hold(self) -> bool:
        """Take the lock or extend it if already ours; True while this instance leads."""
        if self._renew(keys=[self._key], args=[self._token, self._ttl_ms]):
            return True
        return bool(self._client.set(self._key, self._token, nx=True, px=self._ttl_ms))

    def release(self) -> None:
        self._release(keys=[self._key], args=[self._token])
