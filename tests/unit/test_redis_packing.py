"""hiredis packing of the API's Redis commands (``db.redis_packing``): the same bytes as redis-py's own packing."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis
from redis.exceptions import DataError

from db.redis_packing import PackedConnection

COMMANDS = [
    ("EVALSHA", "a" * 40, 4, "genjobs:job:1:events", b"raw-key", 1000, 10_000, "status", '{"x":"é"}', 86_400, 1.5),
    ("CONFIG GET", "maxmemory"),
    (b"CLIENT SETNAME", "api"),
    ("SET", "k", b"\x00\xff binary"),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_packs_as_redis_py_does(command: tuple[object, ...]) -> None:
    ours = b"".join(PackedConnection().pack_command(*command))
    theirs = b"".join(aioredis.Connection().pack_command(*command))
    assert ours == theirs


def test_a_pipeline_packs_its_commands_in_order() -> None:
    ours = b"".join(PackedConnection().pack_commands([("SET", "a", 1), ("GET", "a")]))
    assert ours == b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n"


def test_a_boolean_is_refused_as_redis_py_refuses_it() -> None:
    with pytest.raises(DataError, match="bool"):
        PackedConnection().pack_command("SET", "k", True)
