"""Delivery guarantees and choices: exactly once, the per-user default, the repair pass, the settings API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator

import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import Engine, func, insert, select

from actors.broker import NAMESPACE, build_broker
from actors.notify.config import QUEUE
from actors.notify.hook import notify_finished
from db.models import Job, Notification
from service.settings import Settings
from tests.conftest import ApiUser
from tests.support.notify_flow import of_type, start_job, wait_for_history, wait_for_outcome, wait_until
from tests.support.notify_receivers import Receivers
from tests.support.services import ServiceProcess

MakeUser = Callable[..., Awaitable[ApiUser]]


def phone() -> str:
    return "+4915" + str(uuid.uuid4().int)[:8]


@pytest.fixture
def broker(settings: Settings) -> Iterator[RedisBroker]:
    b = build_broker(settings.redis.url)
    yield b
    b.client.close()


def notifications_idle(client: redis.Redis) -> bool:
    """No notification message waiting, delayed or in flight (acked messages leave the .msgs hashes)."""
    return not client.hlen(f"{NAMESPACE}:{QUEUE}.msgs") and not client.hlen(f"{NAMESPACE}:{QUEUE}.DQ.msgs")


async def test_the_hook_firing_again_sends_nothing_more(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers, broker: RedisBroker, redis_client: redis.Redis
) -> None:
    user = await make_user()
    to = phone()
    job_id = await start_job(user, notify={"channel": "whatsapp", "to": to})
    # The job itself fires the hook once when it succeeds; fire it twice more, as a repeated hook would
    await wait_for_history(user, job_id, lambda h: any(e["to_status"] == "succeeded" for e in h), "success")
    notify_finished(broker, uuid.UUID(job_id), "succeeded")
    notify_finished(broker, uuid.UUID(job_id), "succeeded")
    entries = await wait_for_outcome(user, job_id, "succeeded")
    await wait_until(lambda: notifications_idle(redis_client), "every notification message to be handled")
    # Then exactly one message reached WhatsApp and one delivery is recorded
    assert len(receivers.received(to.lstrip("+"))) == 1
    entries = await wait_for_outcome(user, job_id, "succeeded")
    assert len(of_type(entries, "notification_sent", "notification_failed", "notification_attempt_failed")) == 1


async def test_the_users_default_channel_is_used_unless_the_job_chooses(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers
) -> None:
    user = await make_user()
    to = f"default-{uuid.uuid4().hex[:6]}@example.com"
    response = await user.client.put("/api/me/notifications", json={"channel": "email", "to": to})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "channel": "email",
        "to": to,
        "webhook_secret_set": False,
        "webhook_secret_created_at": None,
    }
    # A job without a choice goes to the default
    first = await start_job(user, label="by default")
    await wait_for_outcome(user, first, "succeeded")
    assert [m.email["Subject"] for m in receivers.delivered(to) if m.email] == ["Ready: by default"]
    # A job with its own choice goes there only
    other = phone()
    second = await start_job(user, label="chosen", notify={"channel": "ultramsg", "to": other})
    await wait_for_outcome(user, second, "succeeded")
    assert len(receivers.delivered(other)) == 1
    assert len(receivers.delivered(to)) == 1


async def test_no_channel_means_no_notification_and_no_history_noise(
    make_user: MakeUser, worker: ServiceProcess, db_engine: Engine, redis_client: redis.Redis
) -> None:
    # Given a user with no default channel, and a job that chose none
    user = await make_user()
    job_id = await start_job(user)

    def finished() -> bool:
        with db_engine.connect() as conn:
            return conn.scalar(select(Job.status).where(Job.id == uuid.UUID(job_id))) == "succeeded"

    await wait_until(finished, "the job to succeed")
    await asyncio.sleep(1.0)  # room for a notification to be planned, were one wrongly sent
    # Then nothing is planned or sent (no message, no row), and the history has no notification noise
    with db_engine.connect() as conn:
        rows = conn.scalar(
            select(func.count()).select_from(Notification).where(Notification.job_id == uuid.UUID(job_id))
        )
    assert rows == 0
    history = (await user.client.get(f"/api/jobs/{job_id}/history")).json()
    assert [e for e in history if e["type"].startswith("notification")] == []


async def test_the_repair_pass_sends_what_a_crash_left_unsent(
    make_user: MakeUser,
    worker: ServiceProcess,
    scheduler: ServiceProcess,
    receivers: Receivers,
    db_engine: Engine,
) -> None:
    user = await make_user()
    lost, overdue = phone(), phone()
    # Given a job whose final transition was committed but whose notification message was never sent
    # (the process died in between) ...
    crashed_id, retry_id = uuid.uuid4(), uuid.uuid4()
    with db_engine.begin() as conn:
        for job_id, to in ((crashed_id, lost), (retry_id, overdue)):
            conn.execute(
                insert(Job).values(
                    id=job_id,
                    owner_id=user.id,
                    kind="test_notify",
                    params={"notify": {"channel": "ultramsg", "to": to}, "locale": "en"},
                    status="succeeded",
                    queue="test_notify",
                    title="after a crash",
                    result={"done": True},
                    finished_at=func.now(),
                )
            )
        # ... and one whose retry message was lost with Redis: its row is pending and long overdue
        conn.execute(
            insert(Notification).values(
                job_id=retry_id,
                event="succeeded",
                channel="ultramsg",
                recipient=overdue,
                attempts=1,
                last_error="UltraMsg answered HTTP 503",
                next_attempt_at=func.now() - func.make_interval(0, 0, 0, 0, 0, 1),
            )
        )
    # When the scheduler's repair pass runs, then both are delivered, once
    await wait_until(lambda: receivers.delivered(lost) and receivers.delivered(overdue), "the repair pass", 30)
    for job_id in (crashed_id, retry_id):
        entries = await wait_for_outcome(user, str(job_id), "succeeded")
        assert len(of_type(entries, "notification_sent")) == 1
    with db_engine.connect() as conn:
        rows = conn.execute(select(Notification.job_id, Notification.status, Notification.attempts)).all()
    assert sorted((r.status, r.attempts) for r in rows) == [("sent", 1), ("sent", 2)]
    assert len(receivers.received(lost)) == 1 and len(receivers.received(overdue)) == 1


async def test_settings_api_validates_and_shows_the_secret_once(make_user: MakeUser, api_url: str) -> None:
    user = await make_user()
    assert (await user.client.get("/api/me/notifications")).json() == {
        "channel": None,
        "to": None,
        "webhook_secret_set": False,
        "webhook_secret_created_at": None,
    }
    bad = [
        ({"channel": "email", "to": "not-an-address"}, "to", "not an email address"),
        ({"channel": "whatsapp", "to": "12"}, "to", "not a phone number"),
        ({"channel": "webhook", "to": "ftp://example.com/x"}, "to", "not an https:// URL"),
        ({"channel": "email", "to": None}, "to", "this field is required"),
    ]
    for body, field, message in bad:
        response = await user.client.put("/api/me/notifications", json=body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_notification_settings"
        assert error["details"][0]["field"] == field and message in error["details"][0]["message"]
    response = await user.client.put("/api/me/notifications", json={"channel": "sms", "to": "+34600123456"})
    assert response.status_code == 400
    # Choosing the webhook makes the secret and shows it in that answer only
    response = await user.client.put(
        "/api/me/notifications", json={"channel": "webhook", "to": "https://hooks.example.com/in"}
    )
    assert response.status_code == 200, response.text
    secret = response.json()["webhook_secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    shown = (await user.client.get("/api/me/notifications")).json()
    assert shown["webhook_secret_set"] is True and "webhook_secret" not in shown
    assert secret not in str(shown)
    # Rotating gives a new one
    rotated = await user.client.post("/api/me/notifications/webhook-secret")
    assert rotated.status_code == 201 and rotated.json()["webhook_secret"] not in ("", secret)
    # Turning the default off
    response = await user.client.put("/api/me/notifications", json={"channel": None, "to": None})
    assert response.status_code == 200 and response.json()["channel"] is None


async def test_a_jobs_notify_address_is_checked_for_every_kind(make_user: MakeUser, api_url: str) -> None:
    user = await make_user()
    response = await user.client.post(
        "/api/jobs", json={"kind": "test_notify", "params": {"notify": {"channel": "email", "to": "nobody"}}}
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == [
        {"field": "notify.to", "message": "'nobody' is not an email address like name@example.com"}
    ]
    # llms_txt takes notify and locale too: a wrong channel is named as such, not as an unknown field
    response = await user.client.post(
        "/api/jobs",
        json={"kind": "llms_txt", "params": {"hostname": "example.com", "locale": "fr"}},
    )
    assert response.status_code == 400
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "locale" and "unknown field" not in detail["message"]
