"""The only code that changes a job's ``status``.

Every change is one conditional ``UPDATE ... WHERE status IN (allowed sources)`` (``core.transition``), so two
workers can never both claim a job and a finished job can never be moved again; the matching ``job_events`` row
is written in the same statement. Each function returns the live events to publish *after* the caller commits
(see ``db.live``), or ``None`` when the change did not apply. The transitions are grouped by what they serve:
``runs`` (claim, finish, retry, lost workers, cancel, a user's retry), ``waits`` (park, resume) and
``payments`` (paid, expired; and the only writes of the ``payments`` table, as ``sm.payments.<statement>``);
``creation`` inserts a new job, with its payment row when it is paid, and its first audit event.

Errors::

    StateError
     └── InvalidTransition   the job exists but is not in a state the change may start from
"""

from db.state_machine import payments
from db.state_machine.core import (
    Changed,
    InvalidTransition,
    Row,
    StateError,
    current_status,
    record_event,
    set_message_id,
    transition,
)
from db.state_machine.creation import NewJob, create, create_async, create_direct, create_direct_many, created_events
from db.state_machine.payments import NewPayment, expire, mark_paid
from db.state_machine.runs import (
    cancel,
    claim,
    claim_many,
    claimed,
    fail,
    fail_lost,
    reclaim_lost,
    requeue,
    schedule_retry,
    succeed,
    succeed_many,
    succeeded,
)
from db.state_machine.waits import park, resume

__all__ = [
    "Changed",
    "InvalidTransition",
    "NewJob",
    "NewPayment",
    "Row",
    "StateError",
    "cancel",
    "claim",
    "claim_many",
    "claimed",
    "create",
    "create_async",
    "create_direct",
    "create_direct_many",
    "created_events",
    "current_status",
    "expire",
    "fail",
    "fail_lost",
    "mark_paid",
    "park",
    "payments",
    "reclaim_lost",
    "record_event",
    "requeue",
    "resume",
    "schedule_retry",
    "set_message_id",
    "succeed",
    "succeed_many",
    "succeeded",
    "transition",
]
