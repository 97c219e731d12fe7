"""Article orders: paid articles and backlinks on the catalog's publisher domains (issue 14).

Three kinds, one queue each, share one handler (``job.run_order_job``):

* ``article``          on ``article-generation``: a new article on a catalog domain;
* ``backlink``         on ``backlink-integration``: a backlink woven into an existing catalog article;
* ``article_revision`` on ``backlink-revision``: a revision of an order's latest version (the customer's
  notes or an admin's rejection), on its own queue so revisions never wait behind new generations.

The order itself (``models.Order``) is the customer's aggregate: its status, versions and audit trail; its jobs
do the writing. Waiting for the customer or the admin holds no worker: no job exists while an order waits in
``quality_check`` or ``admin_review``; the next action starts the next job. The API side (orders, admin review,
catalog, pages) is mounted through ``routes``; the catalog CLI through ``cli``.
"""

from __future__ import annotations

from pathlib import Path

from actors.kinds.article import models as _models  # noqa: F401  (the kind's tables join Base.metadata)
from actors.kinds.article.params import OrderJobParams, RevisionJobParams
from actors.kinds.article.settings import load_settings
from actors.kinds.article.statuses import ARTICLE_KIND, BACKLINK_KIND, REVISION_KIND, STEPS
from actors.registry import JobKind, WebSpec, register_kind

HANDLER = "actors.kinds.article.job:run_order_job"


def only_through_orders(params: object, settings: object) -> None:
    """``POST /api/jobs`` cannot start these kinds: an order's jobs are made by the orders API (with the order
    in the same transaction), which does not go through this check."""
    raise ValueError("jobs of this kind are started by the orders API (POST /api/orders), not POST /api/jobs")


_WEIGHTS = {"generating": 6.0}
WEB = WebSpec(
    directory=str(Path(__file__).parent / "web"),
    label="Article order",
    phases=tuple((step, label, _WEIGHTS.get(step, 1.0)) for step, label in STEPS),
)
_COMMON = {
    "handler": HANDLER,
    "settings": load_settings,
    "check_params": only_through_orders,
    # A model call is retried inside the job; the job's own retries cover a model that is down for a while.
    "max_retries": 2,
    "min_backoff_seconds": 15.0,
    "time_limit_seconds": 20 * 60,
    "web": WEB,
    # Many orders of one customer share the model fairly with other customers'.
    "max_running_per_owner": 2,
}

ARTICLE = register_kind(
    JobKind(
        name=ARTICLE_KIND,
        params=OrderJobParams,
        queue="article-generation",
        description="Writes a new article of an order on a catalog domain (created by POST /api/orders).",
        routes="actors.kinds.article.api.controllers:routes",
        cli="actors.kinds.article.cli:add_commands",
        **_COMMON,  # type: ignore[arg-type]
    )
)
BACKLINK = register_kind(
    JobKind(
        name=BACKLINK_KIND,
        params=OrderJobParams,
        queue="backlink-integration",
        description="Integrates an order's backlink into an existing catalog article (created by POST /api/orders).",
        **_COMMON,  # type: ignore[arg-type]
    )
)
REVISION = register_kind(
    JobKind(
        name=REVISION_KIND,
        params=RevisionJobParams,
        queue="backlink-revision",
        description="Revises an order's latest version with the customer's or an admin's notes.",
        **_COMMON,  # type: ignore[arg-type]
    )
)
