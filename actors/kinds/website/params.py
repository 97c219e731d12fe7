"""What a user asks of a website generation."""

from __future__ import annotations

from typing import Annotated

import msgspec

from actors.notify.target import Locale, NotifyTarget

MIN_PROMPT_CHARS = 10
MAX_PROMPT_CHARS = 10_000


class WebsiteParams(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    prompt: Annotated[str, msgspec.Meta(min_length=MIN_PROMPT_CHARS, max_length=MAX_PROMPT_CHARS)]
    # Sent to the user as soon as the job is created (by the notification subsystem).
    message_to_user: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)] | None = None
    notify: NotifyTarget | None = None
    # Language of every message the user sees about this job.
    locale: Locale = "en"

    def __post_init__(self) -> None:
        if len(self.prompt.strip()) < MIN_PROMPT_CHARS:
            raise ValueError(f"prompt must describe the website in at least {MIN_PROMPT_CHARS} characters")

    @property
    def title(self) -> str:
        text = " ".join(self.prompt.split())
        return text if len(text) <= 80 else text[:79] + "…"
