"""Where a user wants to hear about a job: the ``notify`` param any job kind may accept.

Job kinds put ``notify: NotifyTarget | None`` and ``locale: Locale`` in their params Struct; the
notification subsystem reads them from the job's params (falling back to the user's default channel).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Channel = Literal["email", "webhook", "ultramsg", "whatsapp"]
CHANNELS: tuple[str, ...] = ("email", "webhook", "ultramsg", "whatsapp")
Locale = Literal["en", "es"]


class NotifyTarget(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A channel and an address on it: an email address, an https URL, or a phone number."""

    channel: Channel
    to: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
