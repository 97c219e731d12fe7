"""Each notification channel end to end: a real API and worker, and real SMTP/HTTP receivers on 127.0.0.1.

A job of the ``test_notify`` kind succeeds or fails at once; the worker's finished-job hook sends the
notification message, the notifications actor delivers it, and the job's history records the outcome.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import ApiUser
from tests.support.notify_flow import of_type, start_job, wait_for_outcome, wait_until
from tests.support.notify_receivers import ULTRAMSG_TOKEN, WHATSAPP_TOKEN, Receivers
from tests.support.services import ServiceProcess

MakeUser = Callable[..., Awaitable[ApiUser]]
PUBLIC = "https://genjobs.test"
WORDS = {
    ("succeeded", "en"): "is ready",
    ("succeeded", "es"): "está listo",
    ("failed", "en"): "failed: the source site answered 404 Not Found.",
    ("failed", "es"): "falló: the source site answered 404 Not Found.",
}
EMAIL_WORDS = {
    ("succeeded", "en"): "is ready.",
    ("succeeded", "es"): "está listo.",
    ("failed", "en"): "What went wrong: the source site answered 404 Not Found.",
    ("failed", "es"): "Qué salió mal: the source site answered 404 Not Found.",
}


def phone() -> str:
    return "+3460" + str(uuid.uuid4().int)[:7]


async def webhook_target(user: ApiUser, receivers: Receivers) -> str:
    response = await user.client.post("/api/me/notifications/webhook-secret")
    assert response.status_code == 201, response.text
    return receivers.webhook(uuid.uuid4().hex[:8], response.json()["webhook_secret"])


def no_secrets_in(entries: list[dict[str, object]]) -> None:
    text = json.dumps(entries)
    assert ULTRAMSG_TOKEN not in text and WHATSAPP_TOKEN not in text and "whsec_" not in text


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
async def test_email_has_subject_text_and_html_in_the_users_language(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers, locale: str, outcome: str
) -> None:
    user = await make_user()
    to = f"ana-{uuid.uuid4().hex[:6]}@example.com"
    # Given a job that asks to be told by email in this language
    job_id = await start_job(
        user, label="example.com", fail=outcome == "failed", locale=locale, notify={"channel": "email", "to": to}
    )
    # When it finishes, then one email arrives with both bodies, the words for the outcome and the link
    entries = await wait_for_outcome(user, job_id, outcome)
    [mail] = receivers.delivered(to)
    assert mail.email is not None
    assert mail.email["To"] == to and "genjobs.test" in mail.email["From"]
    assert mail.email["Subject"].endswith("example.com")
    text = mail.email.get_body(("plain",))
    html = mail.email.get_body(("html",))
    assert text is not None and html is not None
    assert EMAIL_WORDS[(outcome, locale)] in text.get_content()
    assert EMAIL_WORDS[(outcome, locale)] in html.get_content()
    assert f"{PUBLIC}/generations/{job_id}" in text.get_content()
    assert f'href="{PUBLIC}/generations/{job_id}"' in html.get_content()
    [sent] = of_type(entries, "notification_sent")
    assert sent["detail"] == {"event": outcome, "channel": "email", "to": "a***@example.com", "attempt": 1}


@pytest.mark.parametrize("locale", ["en", "es"])
async def test_signed_webhook_is_verified_by_the_receiver(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers, locale: str
) -> None:
    user = await make_user()
    url = await webhook_target(user, receivers)
    job_id = await start_job(user, label="hooked", locale=locale, notify={"channel": "webhook", "to": url})
    entries = await wait_for_outcome(user, job_id, "succeeded")
    # The receiver accepted it only because the signature matched the user's secret
    [hook] = receivers.delivered(url)
    assert hook.headers["x-signature"].startswith("t=")
    assert hook.json is not None
    assert hook.json["event"] == "job.succeeded"
    assert hook.json["locale"] == locale
    assert hook.json["job"]["id"] == job_id and hook.json["job"]["status"] == "succeeded"
    assert hook.json["job"]["url"] == f"{PUBLIC}/generations/{job_id}"
    assert WORDS[("succeeded", locale)] in hook.json["message"]
    assert of_type(entries, "notification_sent")[0]["detail"]["to"] == f"http://127.0.0.1:{receivers.http_port}/…"
    no_secrets_in(entries)
    # and the notifications queue shows it among its deliveries in GET /api/queues
    queues = {q["queue"]: q for q in (await user.client.get("/api/queues")).json()}
    assert queues["notifications"]["succeeded_24h"] >= 1


async def test_a_receiver_with_another_secret_rejects_the_webhook_and_it_fails_without_retries(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers
) -> None:
    user = await make_user()
    await user.client.post("/api/me/notifications/webhook-secret")
    # Given a receiver that checks signatures against a different secret
    url = receivers.webhook("wrongsecret", "whsec_not-the-users-secret")
    job_id = await start_job(user, notify={"channel": "webhook", "to": url})
    # Then it answers 401, and we record a permanent failure after that single attempt
    entries = await wait_for_outcome(user, job_id, "succeeded")
    assert [r.status for r in receivers.received(url)] == [401]
    [failed] = of_type(entries, "notification_failed")
    assert "HTTP 401" in failed["detail"]["error"]
    assert failed["detail"]["gave_up"] is False and failed["detail"]["attempt"] == 1
    assert of_type(entries, "notification_attempt_failed", "notification_sent") == []


@pytest.mark.parametrize("locale", ["en", "es"])
async def test_ultramsg_gets_token_number_and_text(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers, locale: str
) -> None:
    user = await make_user()
    to = phone()
    job_id = await start_job(user, label="shop", fail=True, locale=locale, notify={"channel": "ultramsg", "to": to})
    entries = await wait_for_outcome(user, job_id, "failed")
    [msg] = receivers.delivered(to)
    # The receiver checked the instance id and token; the body is the short text
    assert WORDS[("failed", locale)].split(":")[0] in msg.text
    assert "404 Not Found" in msg.text and f"{PUBLIC}/generations/{job_id}" in msg.text
    assert of_type(entries, "notification_sent")[0]["detail"]["channel"] == "ultramsg"
    no_secrets_in(entries)


@pytest.mark.parametrize("locale", ["en", "es"])
async def test_whatsapp_cloud_api_gets_a_text_message(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers, locale: str
) -> None:
    user = await make_user()
    to = phone()
    job_id = await start_job(
        user,
        label="site",
        locale=locale,
        tracking_url="https://gen.example/p/7",
        notify={"channel": "whatsapp", "to": to},
    )
    entries = await wait_for_outcome(user, job_id, "succeeded")
    # WhatsApp wants the number as digits
    [msg] = receivers.delivered(to.lstrip("+"))
    assert msg.json is not None and msg.json["messaging_product"] == "whatsapp"
    assert WORDS[("succeeded", locale)] in msg.text
    # A tracking URL in the job's result is the link
    assert "https://gen.example/p/7" in msg.text
    no_secrets_in(entries)


async def test_passing_failures_are_retried_with_backoff_until_delivered(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers
) -> None:
    user = await make_user()
    to = phone()
    # Given WhatsApp answers 503 twice, then accepts
    receivers.fail(to.lstrip("+"), 503, 503)
    job_id = await start_job(user, notify={"channel": "whatsapp", "to": to})
    entries = await wait_for_outcome(user, job_id, "succeeded")
    assert [r.status for r in receivers.received(to.lstrip("+"))] == [503, 503, 200]
    attempts = of_type(entries, "notification_attempt_failed")
    assert [a["detail"]["attempt"] for a in attempts] == [1, 2]
    assert "HTTP 503" in attempts[0]["detail"]["error"]
    # Exponential: 0.2 s, then 0.4 s
    assert [a["detail"]["retry_in_seconds"] for a in attempts] == [0.2, 0.4]
    assert of_type(entries, "notification_sent")[0]["detail"]["attempt"] == 3


async def test_it_gives_up_after_the_last_attempt(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers
) -> None:
    user = await make_user()
    to = phone()
    receivers.fail(to, 500, 502, 503, 504)
    job_id = await start_job(user, notify={"channel": "ultramsg", "to": to})
    entries = await wait_for_outcome(user, job_id, "succeeded")
    # NOTIFY_MAX_ATTEMPTS=3 in tests
    assert [r.status for r in receivers.received(to)] == [500, 502, 503]
    [failed] = of_type(entries, "notification_failed")
    assert failed["detail"]["gave_up"] is True and failed["detail"]["attempt"] == 3


async def test_a_permanent_refusal_fails_at_once(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers
) -> None:
    user = await make_user()
    to = f"gone-{uuid.uuid4().hex[:6]}@example.com"
    # Given the mail server says the mailbox does not exist (550)
    receivers.fail(to, 550)
    job_id = await start_job(user, notify={"channel": "email", "to": to})
    entries = await wait_for_outcome(user, job_id, "succeeded")
    assert [r.status for r in receivers.received(to)] == [550]
    [failed] = of_type(entries, "notification_failed")
    assert failed["detail"]["error"].startswith("the mail server refused the address (550")
    assert of_type(entries, "notification_attempt_failed") == []


async def test_a_temporary_smtp_refusal_is_retried(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers
) -> None:
    user = await make_user()
    to = f"busy-{uuid.uuid4().hex[:6]}@example.com"
    receivers.fail(to, 451)
    job_id = await start_job(user, notify={"channel": "email", "to": to})
    entries = await wait_for_outcome(user, job_id, "succeeded")
    assert [r.status for r in receivers.received(to)] == [451, 250]
    assert len(of_type(entries, "notification_attempt_failed")) == 1


async def test_message_to_user_is_sent_when_the_job_is_created(
    make_user: MakeUser, worker: ServiceProcess, receivers: Receivers
) -> None:
    user = await make_user()
    to = phone()
    # Given a job that runs for a while and carries a message for the user
    job_id = await start_job(
        user, delay=3, locale="es", message_to_user="Estoy creando tu sitio.", notify={"channel": "ultramsg", "to": to}
    )
    # Then the message arrives while the job still runs, then the success
    await wait_until(lambda: receivers.delivered(to), "the message_to_user")
    job = (await user.client.get(f"/api/jobs/{job_id}")).json()
    assert job["status"] in ("queued", "running")
    first = receivers.delivered(to)[0]
    assert first.text.startswith("Estoy creando tu sitio.") and f"/generations/{job_id}" in first.text
    entries = await wait_for_outcome(user, job_id, "succeeded")
    assert [r.text.split(" ")[0] for r in receivers.delivered(to)] == ["Estoy", "Tu"]
    assert [e["detail"]["event"] for e in of_type(entries, "notification_sent")] == ["message_to_user", "succeeded"]
