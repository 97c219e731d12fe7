"""SECRET_KEY seals each user's webhook signing secret at rest: the database holds no usable secret, the
worker still signs with it, and a secret stored in clear before sealing is sealed when next used."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import Engine, text

from actors.notify.sealing import SealError, SecretSeal
from tests.conftest import ApiUser
from tests.support.notify_flow import start_job, wait_for_outcome, wait_until
from tests.support.notify_receivers import Receivers
from tests.support.services import ServiceProcess


def stored_secret(engine: Engine, user: ApiUser) -> str:
    with engine.connect() as conn:
        value = conn.execute(
            text("SELECT webhook_secret FROM notification_preferences WHERE user_id = :id"), {"id": user.id}
        ).scalar_one()
    return str(value)


async def test_the_secret_shown_once_is_stored_sealed(
    make_user: Callable[..., Awaitable[ApiUser]], db_engine: Engine, service_env: dict[str, str]
) -> None:
    user = await make_user()
    rotated = await user.client.post("/api/me/notifications/webhook-secret")
    assert rotated.status_code == 201, rotated.text
    secret = rotated.json()["webhook_secret"]
    # The database holds neither the secret nor anything that starts like one
    stored = stored_secret(db_engine, user)
    assert secret not in stored and not stored.startswith("whsec_")
    # Only this deployment's SECRET_KEY opens it
    assert SecretSeal(service_env["SECRET_KEY"]).open(stored) == secret
    with pytest.raises(SealError):
        SecretSeal("another deployment's key").open(stored)


async def test_the_worker_signs_with_the_sealed_secret_and_seals_a_clear_one(
    make_user: Callable[..., Awaitable[ApiUser]],
    worker: ServiceProcess,
    receivers: Receivers,
    db_engine: Engine,
    service_env: dict[str, str],
) -> None:
    # Given a secret stored in clear before sealing existed
    user = await make_user()
    legacy = "whsec_made-before-sealing-0123456789abcdefghijklmnopqrstu"
    with db_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO notification_preferences (user_id, webhook_secret, webhook_secret_created_at)"
                " VALUES (:id, :secret, now())"
            ),
            {"id": user.id, "secret": legacy},
        )
    url = receivers.webhook(f"sealed-{user.id.hex[:8]}", legacy)
    # When a job that notifies the webhook finishes
    job_id = await start_job(user, label="sealed", notify={"channel": "webhook", "to": url})
    await wait_for_outcome(user, job_id, "succeeded")
    # Then the receiver got it with a signature that verifies against the user's secret
    await wait_until(lambda: receivers.delivered(url), "the signed webhook")
    # And the secret is sealed now, and still the same secret
    stored = stored_secret(db_engine, user)
    assert not stored.startswith("whsec_") and legacy not in stored
    assert SecretSeal(service_env["SECRET_KEY"]).open(stored) == legacy
