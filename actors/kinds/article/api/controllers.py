"""HTTP handlers of orders, the admin review and the catalog; each calls one function that does the work.

Mounted by the API through the ``article`` kind's ``routes``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_202_ACCEPTED

from actors.kinds.article.api import orders
from actors.kinds.article.api.catalog_service import CatalogController
from actors.kinds.article.api.schemas import (
    ApproveRequest,
    CreateOrder,
    OrderEventOut,
    OrderOut,
    OrderPage,
    RejectRequest,
    RevisionRequest,
    SubmitRequest,
    VersionOut,
)
from actors.kinds.article.api.views import (
    diff_text,
    history,
    load_order,
    one_version,
    order_out,
    order_page,
    version_out,
    versions_of,
)
from actors.kinds.article.models import Order
from actors.kinds.article.statuses import ORDER_STATUSES
from service.auth.admin import require_admin
from service.auth.principal import Principal
from service.errors import BadRequest
from service.resources import get_resources

AnyRequest = Request[Principal, Any, Any]


async def _detail(request: AnyRequest, order_id: uuid.UUID) -> OrderOut:
    res = get_resources(request.app)
    async with res.sessions() as session, session.begin():
        order = await load_order(session, request.user, order_id)
        return await order_out(session, order, detail=True)


class OrdersController(Controller):
    path = "/api/orders"
    tags = ("orders",)

    @post("/", operation_id="createOrder", status_code=HTTP_201_CREATED)
    async def create(self, request: AnyRequest, data: CreateOrder) -> Response[OrderOut]:
        """A new article or backlink order; a paid one answers with ``payment_url`` (Stripe Checkout)."""
        order = await orders.create_order(get_resources(request.app), request.user, data)
        body = await _detail(request, order.id)
        return Response(body, status_code=HTTP_201_CREATED, headers={"Location": f"/api/orders/{order.id}"})

    @get("/", operation_id="listOrders")
    async def list_orders(
        self,
        request: AnyRequest,
        page: Annotated[int, Parameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> OrderPage:
        """The caller's orders, newest first."""
        res = get_resources(request.app)
        async with res.sessions() as session, session.begin():
            return await order_page(session, [Order.owner_id == request.user.id], page, per_page)

    @get("/{order_id:uuid}", operation_id="getOrder")
    async def get_order(self, request: AnyRequest, order_id: uuid.UUID) -> OrderOut:
        """Status, step X of 5, the latest version (content when ready), jobs and versions."""
        return await _detail(request, order_id)

    @get("/{order_id:uuid}/versions", operation_id="listOrderVersions")
    async def versions(self, request: AnyRequest, order_id: uuid.UUID) -> list[VersionOut]:
        res = get_resources(request.app)
        async with res.sessions() as session, session.begin():
            order = await load_order(session, request.user, order_id)
            return [version_out(v, content=False) for v in await versions_of(session, order)]

    @get("/{order_id:uuid}/versions/{number:int}", operation_id="getOrderVersion")
    async def version(self, request: AnyRequest, order_id: uuid.UUID, number: int) -> VersionOut:
        res = get_resources(request.app)
        async with res.sessions() as session, session.begin():
            order = await load_order(session, request.user, order_id)
            return version_out(await one_version(session, order, number), content=True)

    @get("/{order_id:uuid}/diff", operation_id="diffOrderVersions", media_type="text/plain")
    async def diff(
        self,
        request: AnyRequest,
        order_id: uuid.UUID,
        from_: Annotated[int, Parameter(query="from", ge=1)],
        to: Annotated[int, Parameter(ge=1)],
    ) -> str:
        """A unified diff of two versions' Markdown."""
        res = get_resources(request.app)
        async with res.sessions() as session, session.begin():
            order = await load_order(session, request.user, order_id)
            return await diff_text(session, order, from_, to)

    @get("/{order_id:uuid}/history", operation_id="orderHistory")
    async def order_history(self, request: AnyRequest, order_id: uuid.UUID) -> list[OrderEventOut]:
        """The audit trail: every status change and action (who, when, notes), oldest first."""
        res = get_resources(request.app)
        async with res.sessions() as session, session.begin():
            return await history(session, await load_order(session, request.user, order_id))

    @post("/{order_id:uuid}/revisions", operation_id="requestRevision", status_code=HTTP_202_ACCEPTED)
    async def revise(self, request: AnyRequest, order_id: uuid.UUID, data: RevisionRequest) -> OrderOut:
        """A revision of the latest version (a ``backlink-revision`` job); only in ``quality_check``."""
        await orders.request_revision(get_resources(request.app), request.user, order_id, data.notes)
        return await _detail(request, order_id)

    @post("/{order_id:uuid}/submit", operation_id="submitOrder", status_code=200)
    async def submit(self, request: AnyRequest, order_id: uuid.UUID, data: SubmitRequest) -> OrderOut:
        """Submit a version for the admin's approval; only in ``quality_check``."""
        await orders.submit(get_resources(request.app), request.user, order_id, data.version_id)
        return await _detail(request, order_id)


class AdminOrdersController(Controller):
    path = "/api/admin/orders"
    tags = ("orders",)

    @get("/", operation_id="adminListOrders")
    async def review_queue(
        self,
        request: AnyRequest,
        status: Annotated[str | None, Parameter(max_length=32)] = "admin_review",
        page: Annotated[int, Parameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> OrderPage:
        """Admins: every order in ``status`` (default ``admin_review``: the review queue), oldest first page."""
        require_admin(request.user)
        if status is not None and status not in ORDER_STATUSES:
            raise BadRequest(f"Unknown status {status!r}.", code="invalid_status", details={"known": ORDER_STATUSES})
        res = get_resources(request.app)
        conditions = [Order.status == status] if status else []
        async with res.sessions() as session, session.begin():
            return await order_page(session, conditions, page, per_page)

    @post("/{order_id:uuid}/approve", operation_id="approveOrder", status_code=200)
    async def approve(self, request: AnyRequest, order_id: uuid.UUID, data: ApproveRequest | None = None) -> OrderOut:
        """The submitted version is final; the order is completed and the customer told."""
        require_admin(request.user)
        notes = data.notes if data is not None else ""
        await orders.approve(get_resources(request.app), request.user, order_id, notes)
        return await _detail(request, order_id)

    @post("/{order_id:uuid}/reject", operation_id="rejectOrder", status_code=HTTP_202_ACCEPTED)
    async def reject(self, request: AnyRequest, order_id: uuid.UUID, data: RejectRequest) -> OrderOut:
        """Back to the writer with the admin's notes (a revision job)."""
        require_admin(request.user)
        await orders.reject(get_resources(request.app), request.user, order_id, data.notes)
        return await _detail(request, order_id)


def routes() -> list[Any]:
    """What the API mounts for the order kinds (``JobKind.routes`` of ``article``)."""
    from actors.kinds.article.web.pages import OrderPagesController

    return [OrdersController, AdminOrdersController, CatalogController, OrderPagesController]
