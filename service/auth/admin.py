"""The admin check every admin-only handler uses."""

from __future__ import annotations

from service.auth.principal import Principal
from service.errors import NotFound


def require_admin(user: Principal) -> None:
    # Like another user's job, an admin action is not found rather than forbidden: it reveals nothing.
    if not user.is_admin:
        raise NotFound("Not found.", code="not_found")
