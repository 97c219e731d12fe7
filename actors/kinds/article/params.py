"""The params of the order kinds' jobs: ids only (the order holds the rest), plus whom to tell.

Jobs of these kinds are created by the orders API (``actors.kinds.article.api``), never by ``POST /api/jobs``
with someone else's order: the handler runs only the job its order names as current.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from actors.notify.target import NotifyTarget

NOTES_MAX = 5000


class OrderJobParams(msgspec.Struct, forbid_unknown_fields=True):
    order_id: str
    notify: NotifyTarget | None = None
    locale: Literal["en", "es"] = "en"


class RevisionJobParams(msgspec.Struct, forbid_unknown_fields=True):
    order_id: str
    notes: Annotated[str, msgspec.Meta(min_length=1, max_length=NOTES_MAX)]
    # Who asked: the customer (a revision request) or an admin (a rejection).
    by: Literal["customer", "admin"] = "customer"
    notify: NotifyTarget | None = None
    locale: Literal["en", "es"] = "en"
