"""The order pages of the web UI: the orders list, one order (live progress, the article rendered safely,
revision form, submit, version history with diffs) and the admin review queue.

Server-rendered shells (templates in ``templates/``, served as ``kinds/article/...``) that the kind's script
(``static/orders.js``) fills from the orders API; behind the same session login as the other pages.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, MediaType, Request, get
from litestar.response import Template

from service.auth.admin import require_admin
from service.auth.principal import Principal
from service.web.pages import PagesController


class OrderPagesController(Controller):
    include_in_schema = False
    exception_handlers = PagesController.exception_handlers

    @get("/orders", media_type=MediaType.HTML)
    async def orders(self, request: Request[Principal, Any, Any]) -> Template:
        return Template(template_name="kinds/article/orders.html", context={"user": request.user})

    @get("/orders/{order_id:uuid}", media_type=MediaType.HTML)
    async def order(self, request: Request[Principal, Any, Any], order_id: uuid.UUID) -> Template:
        context = {"user": request.user, "order_id": str(order_id)}
        return Template(template_name="kinds/article/order.html", context=context)

    @get("/admin/orders", media_type=MediaType.HTML)
    async def review(self, request: Request[Principal, Any, Any]) -> Template:
        require_admin(request.user)
        return Template(template_name="kinds/article/review.html", context={"user": request.user})
