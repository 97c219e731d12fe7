"""Every counter and histogram the processes record (the gauges are computed at scrape time, see
``service.system.metrics``). README section "Metrics" lists them all."""

from __future__ import annotations

from db.observe.recorder import counter, histogram

WAIT_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)
RUN_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 600.0, 1200.0, 3600.0)
CHECKOUT_BUCKETS = (5.0, 15.0, 30.0, 60.0, 180.0, 600.0, 1800.0, 3600.0)

JOB_TRANSITIONS = counter(
    "genjobs_job_transitions_total", "Job status changes, by kind, queue and new status.", ("kind", "queue", "status")
)
JOB_WAIT = histogram(
    "genjobs_job_queue_wait_seconds",
    "Time a job waited in its queue before a worker claimed it (queued -> running).",
    ("kind", "queue"),
    WAIT_BUCKETS,
)
JOB_RUN = histogram(
    "genjobs_job_run_seconds",
    "Time from a job's first start to its end (succeeded, failed, timed_out, cancelled while running).",
    ("kind", "queue", "status"),
    RUN_BUCKETS,
)
JOB_RETRIES = counter("genjobs_job_retries_total", "Attempts that failed and were scheduled again.", ("kind", "queue"))
SWEEPER_RESENDS = counter(
    "genjobs_sweeper_resends_total", "Messages the sweeper sent again for jobs whose message was lost.", ("queue",)
)
SWEEPER_RECLAIMS = counter(
    "genjobs_sweeper_reclaims_total",
    "Running jobs the sweeper took back from a worker that stopped renewing its lease.",
    ("outcome",),
)
SWEEPER_REQUEUED = counter(
    "genjobs_sweeper_requeued_messages_total", "Messages of dead workers returned to their queue.", ("queue",)
)
LEASE_LOSSES = counter("genjobs_lease_losses_total", "Running jobs whose worker found its claim gone.", ("kind",))
SSE_STREAMS = counter("genjobs_sse_streams_total", "SSE streams opened, by endpoint.", ("stream",))
SSE_EVENTS = counter("genjobs_sse_events_sent_total", "Events written to SSE clients, by event type.", ("type",))
NOTIFICATIONS = counter(
    "genjobs_notifications_total", "Notification delivery attempts, by channel and outcome.", ("channel", "outcome")
)
CHECKOUTS_CREATED = counter("genjobs_payments_checkouts_created_total", "Stripe checkout sessions created.", ("kind",))
PAYMENTS = counter(
    "genjobs_payments_total",
    "Payment outcomes from verified webhooks and refunds: paid, expired, cancelled, refunded.",
    ("outcome",),
)
PAYMENT_AMOUNT = counter(
    "genjobs_payments_amount_total", "Money in minor units (cents) by outcome and currency.", ("outcome", "currency")
)
CHECKOUT_TO_WEBHOOK = histogram(
    "genjobs_payments_checkout_to_webhook_seconds",
    "Time from creating a checkout session to its verified 'paid' webhook.",
    (),
    CHECKOUT_BUCKETS,
)
WEBHOOK_FAILURES = counter(
    "genjobs_payments_webhook_failures_total", "Stripe webhooks refused before handling, by reason.", ("reason",)
)
