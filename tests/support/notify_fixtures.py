"""The notification receivers for the whole test session (every process under test points at them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.notify_receivers import Receivers


@pytest.fixture(scope="session")
def notify_servers() -> Iterator[Receivers]:
    servers = Receivers()
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture
def receivers(notify_servers: Receivers) -> Receivers:
    """The session's receivers, emptied for this test."""
    notify_servers.reset()
    return notify_servers
