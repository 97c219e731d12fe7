"""``redis.asyncio`` connections that pack commands with hiredis, as redis-py's blocking connections do.

redis-py's asyncio connection packs every command in Python (an encode call and a few byte joins per
argument); its blocking connection hands the whole command to ``hiredis.pack_command`` when hiredis is
installed. Creating a job sends two script calls of about a dozen arguments each: profiled in the API
(cProfile), packing them took more CPU than the rest of the Redis round trip. Pass ``PackedConnection`` as
``connection_class`` to ``from_url`` (``redis://`` URLs; a ``unix://`` or ``rediss://`` URL picks its own class
and packs in Python).
"""

from __future__ import annotations

from typing import Any

import hiredis
import redis.asyncio as aioredis
from redis.exceptions import DataError


class PackedConnection(aioredis.Connection):
    def pack_command(self, *args: Any) -> list[bytes]:
        # As redis-py does: a command name given with its first arguments ("CONFIG GET") is split.
        if isinstance(args[0], str):
            args = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            args = (*args[0].split(), *args[1:])
        if bool in map(type, args):
            # redis-py's encoder refuses booleans (is True "1" or "True"?); hiredis would send them as 1/0.
            raise DataError("Invalid input of type: 'bool'. Convert to a bytes, string, int or float first.")
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:
            raise DataError(str(exc)) from None
