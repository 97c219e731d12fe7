"""Errors a browser sees as pages, not as the API's JSON: a page that does not exist, a job that is not the
user's, a link with a wrong or missing part.

The API keeps its JSON errors: ``html_or_json_http_error`` renders a page only for a ``GET``/``HEAD`` of a path
outside ``/api``, ``/static``, ``/schema`` and ``/metrics`` (what a person types or follows).
"""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_404_NOT_FOUND

from service.errors import NotFound, http_error_handler

NOT_PAGES = ("/api/", "/static/", "/schema", "/metrics")


def is_page_request(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page: ``GET``/``HEAD`` of a path that is not the API's or a static file's."""
    path = request.url.path
    return request.method in ("GET", "HEAD") and path != "/api" and not path.startswith(NOT_PAGES)


def error_page(heading: str, message: str, status_code: int) -> Response[Any]:
    """The not-found template with ``heading`` and ``message`` (the header shows no account: no user is known)."""
    return Template(
        template_name="not_found.html",
        context={"heading": heading, "message": message, "user": None},
        status_code=status_code,
        media_type=MediaType.HTML,
    )


def job_not_found_page(request: Request[Any, Any, Any], exc: NotFound) -> Response[Any]:
    """Another user's job, or one that never existed: the same page, as the API gives the same 404."""
    return error_page("Not found", "This generation does not exist, or it is not yours.", HTTP_404_NOT_FOUND)


def bad_link_page(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """A page's query is wrong or missing (``/payment/success`` without a job id, say)."""
    return error_page("This link is not complete", "Part of this link is missing or wrong.", HTTP_400_BAD_REQUEST)


def html_or_json_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """The app's handler of HTTP errors: an HTML not-found page for pages, the API's JSON error otherwise."""
    if exc.status_code == HTTP_404_NOT_FOUND and is_page_request(request):
        return error_page("Not found", "There is no page at this address.", HTTP_404_NOT_FOUND)
    return http_error_handler(request, exc)
