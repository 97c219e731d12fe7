"""The queues an operator can see: every declared kind's queues, notifications and refunds."""

from __future__ import annotations

from actors.notify.config import QUEUE as NOTIFY_QUEUE
from actors.payments.refund import REFUND_QUEUE
from actors.registry import all_kinds


def known_queues() -> set[str]:
    return {q for k in all_kinds().values() for q in k.all_queues()} | {NOTIFY_QUEUE, REFUND_QUEUE}
