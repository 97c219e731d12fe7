"""The Litestar application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

from actors.observe.tracing import configure_tracing
from actors.registry import all_kinds, load_kind_modules, resolve
from db.observe.logs import configure_logging
from db.observe.recorder import RECORDER
from service.admin.controller import AdminController
from service.artifacts.controller import ArtifactsController
from service.auth.controller import AuthController
from service.auth.cross_site import CrossSiteMiddleware
from service.auth.middleware import PUBLIC_PATHS, AuthMiddleware
from service.errors import ServiceError, document_errors, internal_error_handler, service_error_handler
from service.events.controller import EventsController
from service.gc_pauses import GcFreezer
from service.input_guard import InputGuardMiddleware
from service.jobs.bulk_controller import JobActionsController
from service.jobs.controller import JobsController
from service.jobs.logs import JobLogsController
from service.jobs.signals_controller import SignalsController
from service.notifications.controller import NotificationsController
from service.payments.admin_controller import PaymentsAdminController
from service.payments.pricing import load_pricing
from service.payments.quote_controller import QuoteController
from service.payments.webhook_controller import StripeWebhookController
from service.quota.controller import QuotaController
from service.resources import open_resources
from service.settings import Settings, get_settings
from service.system.health import HealthController
from service.system.metrics import MetricsController
from service.system.queues import QueuesController
from service.tools.controller import ToolsController
from service.web.assets import static_files_router, template_config
from service.web.error_pages import html_or_json_http_error
from service.web.kind_web import kind_static_file
from service.web.pages import PagesController


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the app; clients (database, Redis, SSE hub) open in the lifespan, not here."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format, batched=True)
    plugins = [OpenTelemetryPlugin(OpenTelemetryConfig())] if configure_tracing("genjobs-api") else []
    load_kind_modules(settings.worker.kind_modules)
    load_pricing(settings.stripe.pricing)  # a bad PRICING stops the start, not the first paid request
    # Routes the job kinds bring (e.g. a site analysis), mounted like the platform's own.
    kind_routes = [handler for kind in all_kinds().values() if kind.routes for handler in resolve(kind.routes)()]
    if not settings.secret_key:
        logging.getLogger("genjobs.api").warning("SECRET_KEY is not set: webhook signing secrets are stored in clear")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        RECORDER.start(settings.redis.url)
        try:
            async with open_resources(settings) as resources, GcFreezer().running():
                app.state.resources = resources
                yield
        finally:
            await anyio.to_thread.run_sync(RECORDER.stop)

    app = Litestar(
        route_handlers=[
            AuthController,
            AdminController,
            JobsController,
            JobLogsController,
            JobActionsController,
            SignalsController,
            EventsController,
            HealthController,
            ArtifactsController,
            QuotaController,
            QueuesController,
            MetricsController,
            QuoteController,
            StripeWebhookController,
            PaymentsAdminController,
            ToolsController,
            NotificationsController,
            PagesController,
            static_files_router(),
            kind_static_file,
            *kind_routes,
        ],
        template_config=template_config(),
        lifespan=[lifespan],
        # Outermost first: a cross-site request is refused before its credentials are looked up.
        # Then bad bytes (NUL, invalid UTF-8, deep JSON) are refused before any handler or query sees them.
        middleware=[
            CrossSiteMiddleware(settings.public_url),
            DefineMiddleware(AuthMiddleware, exclude=PUBLIC_PATHS),
            InputGuardMiddleware(),
        ],
        exception_handlers={
            ServiceError: service_error_handler,
            HTTPException: html_or_json_http_error,
            Exception: internal_error_handler,
        },
        openapi_config=OpenAPIConfig(title="Generation jobs API", version="0.1.0", path="/schema"),
        debug=False,
        # Logging stays as ``configure_logging`` set it (the format of LOG_FORMAT, like the other processes).
        # Litestar's default config would replace the root handler with its queue handler, whose record is
        # formatted twice (on this thread, then again by the listener thread) in Litestar's own text format.
        logging_config=None,
        plugins=plugins,
    )
    document_errors(app)
    return app
