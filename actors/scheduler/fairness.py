"""The fairness pass: wake jobs held by fair scheduling whose owner has free slots.

Workers wake an owner's held jobs as soon as one of its jobs leaves ``running``; this pass is the safety net
for the cases no worker sees (a worker killed mid-job, whose job the sweeper re-claims or fails; a running
job cancelled or a limit raised while no job of that owner finishes).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.orm import Session, sessionmaker

from actors.broker import send_job
from actors.fairness import owner_limit, wake_held
from actors.registry import JobKind, get_kind
from db.fairness import held_owners

log = logging.getLogger("genjobs.fairness")


@dataclass
class FairnessPass:
    sessions: sessionmaker[Session]
    broker: RedisBroker
    default_limit: int

    def run(self) -> list[uuid.UUID]:
        """Release the held jobs that fit in their owners' free slots; returns their ids."""
        with self.sessions() as session:
            pairs = held_owners(session)
        woken: list[uuid.UUID] = []
        for owner_id, kind_name in pairs:
            kind = get_kind(kind_name)
            if kind is None:
                continue
            woken += wake_held(self.sessions, self._send, kind, owner_id, limit=owner_limit(kind, self.default_limit))
        if woken:
            log.info("released %d held job(s)", len(woken))
        return woken

    def _send(self, kind: JobKind, job_id: uuid.UUID, queue: str) -> str:
        return send_job(self.broker, kind, job_id, queue)
