"""``actors.grouped``: calls that arrive while one runs go together as one call; a group's failure that is not
an outage is only the failing call's; an outage fails each call of the group."""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import pytest

from actors.grouped import Grouped


def _in_threads(count: int, call: Callable[[int], object]) -> dict[int, object]:
    outcomes: dict[int, object] = {}

    def run(n: int) -> None:
        try:
            outcomes[n] = call(n)
        except Exception as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


def test_calls_that_arrive_while_one_runs_go_together() -> None:
    groups: list[list[int]] = []
    release = threading.Event()

    def run_many(arguments: list[int]) -> list[int]:
        groups.append(arguments)
        if len(groups) == 1:
            release.wait(30)  # the first call is under way while the others arrive
        return [a * 10 for a in arguments]

    grouped: Grouped[int, int] = Grouped("test", run_many)
    first = threading.Thread(target=grouped, args=(100,))
    first.start()
    while not groups:
        threading.Event().wait(0.01)
    waiting = threading.Thread(target=lambda: outcomes.update(_in_threads(6, grouped)))
    outcomes: dict[int, object] = {}
    waiting.start()
    # The six calls wait while the first runs, then go in one group, each with its own result
    while len(grouped._waiting) < 6:
        threading.Event().wait(0.01)
    release.set()
    waiting.join(30)
    first.join(30)
    assert groups[0] == [100]
    assert sorted(groups[1]) == list(range(6)) and len(groups) == 2
    assert outcomes == {n: n * 10 for n in range(6)}
    grouped.close()


def test_a_bad_call_fails_alone_and_an_outage_fails_the_group() -> None:
    release = threading.Event()
    calls: list[list[int]] = []

    def run_many(arguments: list[int]) -> list[int]:
        calls.append(arguments)
        if len(calls) == 1:
            release.wait(30)
            return [0]
        if 3 in arguments:
            raise ValueError("three is refused")
        if 7 in arguments:
            raise psycopg.OperationalError("connection lost")
        return arguments

    grouped: Grouped[int, int] = Grouped("test", run_many)
    first = threading.Thread(target=grouped, args=(0,))
    first.start()
    while not calls:
        threading.Event().wait(0.01)
    outcomes: dict[int, object] = {}
    # Given calls 1-4 waiting together behind a first one
    waiting = threading.Thread(target=lambda: outcomes.update(_in_threads(5, grouped)))
    waiting.start()
    while len(grouped._waiting) < 5:
        threading.Event().wait(0.01)
    release.set()
    waiting.join(30)
    # The refused call fails alone; the others of its group get their results
    assert isinstance(outcomes.pop(3), ValueError)
    assert outcomes == {0: 0, 1: 1, 2: 2, 4: 4}
    # An outage (call 7's) fails every call of the group it hit (each caller rides it out)
    release.clear()
    calls.clear()
    first = threading.Thread(target=grouped, args=(0,))
    first.start()
    while not calls:
        threading.Event().wait(0.01)
    outcomes = {}
    waiting = threading.Thread(target=lambda: outcomes.update(_in_threads(8, lambda n: grouped(n + 4))))
    waiting.start()
    while len(grouped._waiting) < 8:
        threading.Event().wait(0.01)
    release.set()
    waiting.join(30)
    first.join(30)
    assert all(isinstance(outcomes[n], psycopg.OperationalError) for n in range(8))
    grouped.close()
    with pytest.raises(RuntimeError):
        grouped(1)
