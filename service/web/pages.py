"""The browser pages: server-rendered shells that small JavaScript modules (``static/js``) bring to life.

Every page except ``/login`` sits behind the same ``AuthMiddleware`` as the API (the session cookie set by
``POST /api/auth/login``); a browser without a valid session is redirected to ``/login?next=<page>``
instead of getting the API's JSON 401. Another user's job is a 404 page, as it is a 404 in the API.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote, urljoin, urlsplit

from litestar import Controller, MediaType, Request, Response, get
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.params import Parameter
from litestar.response import Redirect, Template

from service.auth.admin import require_admin
from service.auth.principal import Principal
from service.errors import NotFound
from service.jobs import service
from service.jobs.schemas import JobOut
from service.resources import get_resources
from service.web.error_pages import bad_link_page, job_not_found_page
from service.web.kind_web import detail_template, embeddable_json, kind_forms, kinds_json

# Choices of the generations list; the API allows up to 100 per page.
PER_PAGE_CHOICES = (5, 10, 20, 50)
DEFAULT_PER_PAGE = 5


# A host that cannot exist, to resolve ``next`` against and see whether it stays on it.
_HERE = "http://here.invalid/"


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only, else ``/``.

    Browsers drop tabs and newlines anywhere in a URL, strip leading control characters and spaces, and read
    a backslash as ``/``, so ``/<TAB>/evil.example`` is ``//evil.example``: another host. Any such character is
    refused outright; what is left is resolved as the browser would and must stay on this origin. (The login
    page's script checks again with the browser's own URL parser before going there.)
    """
    if not target or not target.startswith("/") or any(c <= " " or c in "\x7f\\" for c in target):
        return "/"
    resolved = urlsplit(urljoin(_HERE, target))
    if f"{resolved.scheme}://{resolved.netloc}/" != _HERE or target.startswith("//"):
        return "/"
    return target


def _login_redirect(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Redirect(path=f"/login?next={quote(here, safe='')}")


def embeddable_job_json(job: JobOut) -> str:
    return embeddable_json(job)


class PagesController(Controller):
    """HTML pages; the data they show comes from the JSON API and the SSE streams."""

    include_in_schema = False
    exception_handlers = {  # noqa: RUF012
        NotAuthorizedException: _login_redirect,
        NotFound: job_not_found_page,
        ValidationException: bad_link_page,
    }

    @get("/login", exclude_from_auth=True, media_type=MediaType.HTML)
    async def login(
        self, next_path: Annotated[str | None, Parameter(query="next", max_length=2048)] = None
    ) -> Template:
        """The login form; after success the browser goes to ``next`` (a local path)."""
        return Template(template_name="login.html", context={"next": safe_next(next_path), "user": None})

    @get("/", media_type=MediaType.HTML)
    async def generations(self, request: Request[Principal, Any, Any]) -> Template:
        """The generations list and the "new job" forms of the kinds that have one."""
        return Template(
            template_name="generations.html",
            context={
                "user": request.user,
                "per_page_choices": PER_PAGE_CHOICES,
                "default_per_page": DEFAULT_PER_PAGE,
                "forms": kind_forms(),
                "kinds_json": kinds_json(),
            },
        )

    @get("/generations/{job_id:uuid}", media_type=MediaType.HTML)
    async def generation(self, request: Request[Principal, Any, Any], job_id: uuid.UUID) -> Template:
        """One generation: the result first (the kind's panel, or the generic one), live progress, downloads,
        timings, cancel, delete and retry."""
        job = await service.get_job(get_resources(request.app), request.user, job_id)
        return Template(
            template_name="generation.html",
            context={
                "user": request.user,
                "job_json": embeddable_job_json(job),
                "kinds_json": kinds_json(),
                "detail_template": detail_template(job.kind),
            },
        )

    @get("/admin", media_type=MediaType.HTML)
    async def admin(self, request: Request[Principal, Any, Any]) -> Template:
        """The operator's dashboard (admins; anyone else gets the not-found page): live queues and workers,
        pause/resume, a job search across users with history, retry, cancel and bulk actions."""
        require_admin(request.user)
        return Template(template_name="admin.html", context={"user": request.user})

    @get("/settings", media_type=MediaType.HTML)
    async def settings(self, request: Request[Principal, Any, Any]) -> Template:
        """Notification channel, webhook signing secret and API keys (their data comes from the API)."""
        return Template(template_name="settings.html", context={"user": request.user})

    @get("/payment/success", media_type=MediaType.HTML)
    async def payment_success(self, request: Request[Principal, Any, Any], job: uuid.UUID) -> Template:
        """Where Stripe sends the browser after paying: waits for the confirmation, then shows the job."""
        found = await service.get_job(get_resources(request.app), request.user, job)
        return Template(template_name="payment_success.html", context={"user": request.user, "job_id": str(found.id)})

    @get("/payment/cancel", media_type=MediaType.HTML)
    async def payment_cancel(self, request: Request[Principal, Any, Any], job: uuid.UUID) -> Template:
        """Where Stripe sends the browser after giving up on paying: cancel the job, or go back and pay."""
        found = await service.get_job(get_resources(request.app), request.user, job)
        return Template(
            template_name="payment_cancel.html", context={"user": request.user, "job_json": embeddable_job_json(found)}
        )
