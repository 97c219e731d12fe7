"""``service.gc_pauses``: the survivors of a full collection are frozen, and returned to the collector later."""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Iterator

import pytest

from service.gc_pauses import GcFreezer


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    """A reference cycle nothing else holds; its weak reference dies only when the collector frees it."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_nothing_is_frozen_until_a_full_collection_happens() -> None:
    freezer = GcFreezer()
    assert freezer.step() is None
    assert gc.get_freeze_count() == 0


def test_the_survivors_of_a_full_collection_are_frozen_and_new_objects_are_not() -> None:
    # Given a freezer and a full collection
    freezer = GcFreezer()
    survivor = Node()
    gc.collect()
    # When it looks
    assert freezer.step() == "froze"
    # Then what survived is frozen (out of the collector's full passes)...
    assert gc.get_freeze_count() > 0
    assert not any(obj is survivor for gen in (0, 1, 2) for obj in gc.get_objects(gen))
    # ...only once per collection
    assert freezer.step() is None
    # and garbage made afterwards is still collected
    young = _cycle()
    gc.collect()
    assert young() is None


def test_a_cycle_that_died_while_frozen_is_collected_after_the_unfreeze() -> None:
    # Given a cycle that was alive (held) when the survivors were frozen
    freezer = GcFreezer(unfreeze_seconds=3600)
    held = _cycle()
    keep = held()
    gc.collect()
    assert freezer.step() == "froze"
    # When it dies, a full collection does not see it (it is frozen)
    del keep
    gc.collect()
    assert held() is not None
    # Then once the frozen objects are due back, the next full collection frees it
    freezer.unfreeze_seconds = 0
    assert freezer.step() == "unfroze"
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert held() is None


async def test_running_freezes_at_start_and_returns_everything_at_the_end() -> None:
    async with GcFreezer().running(interval=3600):
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_a_look_does_not_walk_the_frozen_objects() -> None:
    # Given a million frozen objects (an API holding 10,000 streams holds 1.5 million)
    freezer = GcFreezer()
    held = [[i] for i in range(1_000_000)]
    freezer.freeze()
    # When it looks many times, as it does once a second
    started = time.process_time()
    for _ in range(20):
        freezer.step()
    # Then the looks cost next to nothing (a walk over the frozen objects costs ~0.1 s each)
    assert time.process_time() - started < 0.2
    del held
