"""Errors raised inside job code.

JobError
 ├── JobCancelled        the job was cancelled (or its claim was lost); stop quietly
 └── PermanentJobError   fail now, without retries (bad input, a 4xx from a provider)
      └── JobTimedOut     end as timed_out now (e.g. an external service missed the kind's deadline)
"""

from __future__ import annotations


class JobError(Exception):
    """Base of errors raised by job code and the job runtime."""


class JobCancelled(JobError):
    """The job was cancelled or is no longer this worker's; raised by progress()/check_cancelled()."""


class PermanentJobError(JobError):
    """A failure that retrying cannot fix; the job fails at once with this message."""


class JobTimedOut(PermanentJobError):
    """The job ran out of time by its own measure (not the per-message time limit); ends ``timed_out``."""


class OptionUnavailable(ValueError):
    """A job option this deployment cannot run now (e.g. a provider with no API key configured).

    Raised by a kind's ``check_params``; the API answers 503 and stores nothing, so a user is never charged
    for, or kept waiting on, a job that can only fail.
    """

    def __init__(self, message: str, *, option: str, value: str) -> None:
        super().__init__(message)
        self.option, self.value = option, value
