"""Article orders end to end: real API and worker processes, Postgres, Redis, a fake Stripe, a fake language
model (tests/support/fake_chat.py) and a local SMTP server for the emails."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import Engine, text

from tests.conftest import ApiUser
from tests.support.fake_chat import FAIL_MARK, FakeChat
from tests.support.fake_stripe import FakeStripe
from tests.support.notify_receivers import Receivers
from tests.support.orders import article_order, make_catalog, wait_for_order, wait_for_subjects
from tests.support.payments import pay_and_notify, wait_for

MakeUser = Callable[..., Awaitable[ApiUser]]
pytestmark = pytest.mark.usefixtures("fresh_stripe", "worker")


async def test_a_paid_order_runs_from_checkout_through_a_revision_and_approval_to_completed(
    api_url: str, make_user: MakeUser, fake_stripe: FakeStripe, fake_chat: FakeChat, receivers: Receivers
) -> None:
    admin, customer = await make_user(admin=True), await make_user()
    catalog = await make_catalog(admin.client)
    # Given an order for a new article: it waits for payment, with the Checkout URL
    created = await customer.client.post("/api/orders", json=article_order(notes="Friendly tone, please."))
    assert created.status_code == 201, created.text
    order = created.json()
    assert (order["status"], order["amount_cents"], order["currency"]) == ("pending_payment", 4900, "usd")
    assert order["payment_url"] and order["step"] == 0 and order["steps_total"] == 5
    [first_job] = order["jobs"]
    assert (first_job["kind"], first_job["queue"], first_job["status"]) == (
        "article",
        "article-generation",
        "pending_payment",
    )
    order_id = order["id"]
    # When Stripe's verified webhook says it is paid
    await pay_and_notify(api_url, fake_stripe, first_job["id"])
    # Then the article is written, checked and stored as version 1, and the customer is told
    ready = await wait_for_order(customer.client, order_id, "quality_check")
    assert (ready["step"], ready["steps_total"], ready["can_request_revision"], ready["can_submit"]) == (
        5,
        5,
        True,
        True,
    )
    v1 = ready["latest_version"]
    assert v1["number"] == 1 and v1["qc_report"]["passed"] and v1["qc_report"]["problems"] == []
    assert "[green tea shop](https://shop.test/green-tea)" in v1["markdown"]
    assert '<a href="https://shop.test/green-tea" rel="nofollow noopener">green tea shop</a>' in v1["html"]
    assert v1["backlink"] == {"target_url": "https://shop.test/green-tea", "anchor_text": "green tea shop"}
    brief = fake_chat.prompts_with("Friendly tone, please.")[-1]
    assert "Brewing green tea" in brief and catalog["article"]["url"] in brief and "Language: English" in brief
    subjects = await wait_for_subjects(receivers, customer.email, 1)
    assert subjects == ["Your article is ready: Brewing green tea (blog.example.com)"]
    mail = receivers.delivered(customer.email)[0].email
    assert mail is not None and f"/orders/{order_id}" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    # When the customer asks for a revision
    revision = await customer.client.post(f"/api/orders/{order_id}/revisions", json={"notes": "Shorter intro."})
    assert revision.status_code == 202, revision.text
    assert revision.json()["status"] == "processing"
    assert [j["queue"] for j in revision.json()["jobs"]] == ["article-generation", "backlink-revision"]
    # Then a second version answers the notes, and the first one is unchanged
    revised = await wait_for_order(customer.client, order_id, "quality_check")
    v2 = revised["latest_version"]
    assert (v2["number"], v2["revision_notes"], v2["revision_by"]) == (2, "Shorter intro.", "customer")
    assert [v["number"] for v in revised["versions"]] == [1, 2]
    again = (await customer.client.get(f"/api/orders/{order_id}/versions/1")).json()
    assert again["markdown"] == v1["markdown"]
    diff = await customer.client.get(f"/api/orders/{order_id}/diff", params={"from": 1, "to": 2})
    assert diff.status_code == 200 and diff.headers["content-type"].startswith("text/plain")
    assert "--- version 1" in diff.text and "+Revised as asked: Shorter intro.." in diff.text
    assert (await wait_for_subjects(receivers, customer.email, 2))[1].startswith("Your revision is ready")

    # When the customer submits version 2, it waits in the admins' review queue
    submitted = await customer.client.post(f"/api/orders/{order_id}/submit", json={"version_id": v2["id"]})
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "admin_review" and submitted.json()["can_submit"] is False
    queue = (await admin.client.get("/api/admin/orders", params={"status": "admin_review"})).json()
    assert [o["id"] for o in queue["items"]] == [order_id]
    # And when an admin approves it, the order is completed and the customer told
    approved = await admin.client.post(f"/api/admin/orders/{order_id}/approve", json={"notes": "Great."})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "completed" and approved.json()["submitted_version_id"] == v2["id"]
    subjects = await wait_for_subjects(receivers, customer.email, 3)
    assert subjects[2] == "Your order is completed: Brewing green tea (blog.example.com)"
    # Every action is audited: who, when, notes
    trail = (await customer.client.get(f"/api/orders/{order_id}/history")).json()
    moves = [(e["type"], e["from_status"], e["to_status"]) for e in trail]
    assert moves == [
        ("created", None, "pending_payment"),
        ("paid", "pending_payment", "processing"),
        ("version_ready", "processing", "quality_check"),
        ("revision", "quality_check", "processing"),
        ("version_ready", "processing", "quality_check"),
        ("submitted", "quality_check", "admin_review"),
        ("approved", "admin_review", "completed"),
    ]
    assert trail[3]["notes"] == "Shorter intro." and trail[3]["actor"] == f"user:{customer.id}"
    assert trail[6]["notes"] == "Great." and trail[6]["actor"] == f"admin:{admin.id}"
    # Actions in the wrong status are refused, naming the status
    late = await customer.client.post(f"/api/orders/{order_id}/revisions", json={"notes": "One more?"})
    assert late.status_code == 409 and "completed" in late.json()["error"]["message"]
    listed = (await customer.client.get("/api/orders")).json()
    assert (listed["total"], listed["items"][0]["id"], listed["items"][0]["status"]) == (1, order_id, "completed")


async def test_an_order_failing_the_quality_check_three_times_is_refunded_and_the_customer_told(
    api_url: str, make_user: MakeUser, fake_stripe: FakeStripe, fake_chat: FakeChat, receivers: Receivers
) -> None:
    admin, customer = await make_user(admin=True), await make_user()
    await make_catalog(admin.client)
    # A topic of this test's own: the fake model is shared by the whole session (the browser test fails one too)
    topic = f"Tea {FAIL_MARK} {uuid.uuid4().hex[:8]}"
    order = (await customer.client.post("/api/orders", json=article_order(topic=topic))).json()
    job_id = order["jobs"][0]["id"]
    session = await pay_and_notify(api_url, fake_stripe, job_id)
    failed = await wait_for_order(customer.client, order["id"], "failed")
    assert failed["latest_version"] is None and failed["versions"] == []
    # Three attempts, each after the first told what the check found
    prompts = fake_chat.prompts_with(topic)
    assert len(prompts) == 3
    assert all("failed the quality check" in p and "The backlink is missing" in p for p in prompts[1:])
    # The payment is refunded in full, and the customer is told so
    refunds = await wait_for(lambda: fake_stripe.refunds_for(session["payment_intent"]), 60, "the refund")
    assert refunds[0]["amount"] == 4900
    [subject] = await wait_for_subjects(receivers, customer.email, 1)
    assert str(subject).strip().startswith("Your order failed and is refunded")
    # (the refund actor stores Stripe's answer just after Stripe made the refund)
    deadline = asyncio.get_running_loop().time() + 60
    while (await customer.client.get(f"/api/orders/{order['id']}")).json()["refund_status"] != "succeeded":
        assert asyncio.get_running_loop().time() < deadline, "the refund's status was never stored"
        await asyncio.sleep(0.2)
    trail = [e["type"] for e in (await customer.client.get(f"/api/orders/{order['id']}/history")).json()]
    assert trail == ["created", "paid", "quality_check_failed"]


async def test_a_complimentary_backlink_order_and_an_admin_rejection(
    make_user: MakeUser, fake_stripe: FakeStripe, receivers: Receivers
) -> None:
    admin, customer = await make_user(admin=True), await make_user()
    catalog = await make_catalog(admin.client)
    body = {
        "type": "backlink",
        "article_id": catalog["article"]["id"],
        "target_url": "https://shop.test/cups",
        "anchor_text": "tea cups",
    }
    # A customer cannot make an order complimentary
    refused = await customer.client.post("/api/orders", json={**body, "complimentary": True})
    assert refused.status_code == 403, refused.text
    # An admin's complimentary order skips payment and runs on backlink-integration
    created = await admin.client.post("/api/orders", json={**body, "complimentary": True, "locale": "es"})
    assert created.status_code == 201, created.text
    order = created.json()
    assert order["status"] == "processing" and order["payment_url"] is None and order["amount_cents"] is None
    assert order["jobs"][0]["queue"] == "backlink-integration"
    ready = await wait_for_order(admin.client, order["id"], "quality_check")
    v1 = ready["latest_version"]
    assert v1["markdown"].startswith("# Tea history") and "[tea cups](https://shop.test/cups)" in v1["markdown"]
    assert v1["backlink"]["article_id"] == catalog["article"]["id"]
    assert not fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert (await wait_for_subjects(receivers, admin.email, 1))[0].startswith("Tu backlink está integrado")
    # The customer's order is not the admin's: another user's order is a 404
    assert (await customer.client.get(f"/api/orders/{order['id']}")).status_code == 404
    # Rejecting needs admin_review: 409 naming the status
    early = await admin.client.post(f"/api/admin/orders/{order['id']}/reject", json={"notes": "No."})
    assert early.status_code == 409 and "quality_check" in early.json()["error"]["message"]
    await admin.client.post(f"/api/orders/{order['id']}/submit", json={"version_id": v1["id"]})
    # A customer cannot use the admin actions (not found, like any admin route)
    assert (await customer.client.post(f"/api/admin/orders/{order['id']}/approve", json={})).status_code == 404
    rejected = await admin.client.post(f"/api/admin/orders/{order['id']}/reject", json={"notes": "Link earlier."})
    assert rejected.status_code == 202, rejected.text
    again = await wait_for_order(admin.client, order["id"], "quality_check")
    v2 = again["latest_version"]
    assert (v2["number"], v2["revision_notes"], v2["revision_by"]) == (2, "Link earlier.", "admin")
    assert v2["markdown"].count("](https://shop.test/cups)") == 1


@pytest.mark.parametrize(
    ("change", "field", "status"),
    [
        ({"domain": "unknown.example.com"}, "domain", 400),
        ({"target_url": "ftp://shop.test/x"}, "target_url", 400),
        ({"target_url": "javascript:alert(1)"}, "target_url", 400),
        ({"anchor_text": "x" * 101}, "anchor_text", 400),
        ({"anchor_text": "  "}, "anchor_text", 400),
        ({"notes": "n" * 5001}, "notes", 400),
        ({"type": "backlink", "article_id": "00000000-0000-4000-8000-000000000000"}, "article_id", 400),
        ({"topic": ""}, "topic", 400),
        ({"min_words": 900, "max_words": 800}, "min_words", 400),
    ],
)
async def test_bad_orders_are_refused_naming_the_field_and_store_nothing(
    make_user: MakeUser, db_engine: Engine, change: dict[str, object], field: str, status: int
) -> None:
    admin, customer = await make_user(admin=True), await make_user()
    await make_catalog(admin.client)
    response = await customer.client.post("/api/orders", json=article_order(**change))
    assert response.status_code == status, response.text
    assert field in response.text
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 0


async def test_stripe_down_stores_no_order(make_user: MakeUser, fake_stripe: FakeStripe, db_engine: Engine) -> None:
    admin, customer = await make_user(admin=True), await make_user()
    await make_catalog(admin.client)
    fake_stripe.mode = "fail"
    response = await customer.client.post("/api/orders", json=article_order())
    assert response.status_code == 503, response.text
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar_one() == 0


async def test_queues_and_catalog(api_url: str, make_user: MakeUser, db_engine: Engine) -> None:
    admin, customer = await make_user(admin=True), await make_user()
    await make_catalog(admin.client)
    # The order kinds' jobs are made by the orders API only
    direct = await customer.client.post(
        "/api/jobs", json={"kind": "article", "params": {"order_id": "00000000-0000-4000-8000-000000000000"}}
    )
    assert direct.status_code == 400 and "POST /api/orders" in direct.text
    with db_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar_one() == 0
    names = {q["queue"] for q in (await customer.client.get("/api/queues")).json()}
    assert {"article-generation", "backlink-integration", "backlink-revision"} <= names
    domains = (await customer.client.get("/api/catalog/domains")).json()
    assert [(d["hostname"], d["articles"], d["article_price_cents"]) for d in domains] == [
        ("blog.example.com", 1, 4900)
    ]
    # Customers read the catalog; only admins change it
    denied = await customer.client.post(
        "/api/catalog/domains", json={"hostname": "x.example", "article_price_cents": 1, "backlink_price_cents": 1}
    )
    assert denied.status_code == 404
    duplicate = await admin.client.post(
        "/api/catalog/domains",
        json={"hostname": "BLOG.example.com", "article_price_cents": 1, "backlink_price_cents": 1},
    )
    assert duplicate.status_code == 409, duplicate.text
    offsite = await admin.client.post(
        "/api/catalog/domains/blog.example.com/articles", json={"title": "x", "url": "https://elsewhere.test/a"}
    )
    assert offsite.status_code == 400 and "url" in offsite.text
