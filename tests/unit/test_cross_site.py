"""The cross-site middleware follows each handler's declared body: a multipart upload handler (such as a job
kind's file form) takes multipart from this site, with the cookie or an API key, and never from another site."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import post
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody
from litestar.testing import create_test_client

from service.auth.cross_site import CrossSiteMiddleware
from service.errors import ServiceError, service_error_handler

PUBLIC_URL = "https://jobs.example.com"


@post("/upload")
async def upload(data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]) -> dict[str, str]:
    return {"kind": str(data["kind"])}


@post("/json")
async def take_json(data: JSONBody[dict[str, str]]) -> dict[str, str]:
    return data


def client() -> Any:
    return create_test_client(
        [upload, take_json],
        middleware=[CrossSiteMiddleware(PUBLIC_URL)],
        exception_handlers={ServiceError: service_error_handler},
        base_url="http://jobs.example.com",
    )


def test_multipart_from_this_site_reaches_a_multipart_handler() -> None:
    files = {"kind": (None, "site"), "file": ("a.zip", b"PK\x03\x04", "application/zip")}
    with client() as c:
        c.cookies.set("genjobs_session", "x")
        for headers in ({"Origin": PUBLIC_URL, "Sec-Fetch-Site": "same-origin"}, {"Origin": "http://jobs.example.com"}):
            response = c.post("/upload", files=files, headers=headers)
            assert response.status_code == 201, response.text
        api_key = c.post(
            "/upload", files=files, headers={"Authorization": "Bearer gj_x", "Origin": "https://evil.example"}
        )
        assert api_key.status_code == 201, api_key.text


def test_multipart_from_another_site_is_refused() -> None:
    files = {"kind": (None, "site")}
    with client() as c:
        c.cookies.set("genjobs_session", "x")
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            response = c.post("/upload", files=files, headers=headers)
            assert response.status_code == 403, response.text
            assert response.json()["error"]["code"] == "cross_site_request"


def test_a_json_handler_refuses_multipart_and_forms_even_from_this_site() -> None:
    with client() as c:
        for kwargs in ({"files": {"a": (None, "b")}}, {"data": {"a": "b"}}, {"content": b'{"a": "b"}'}):
            response = c.post("/json", headers={"Sec-Fetch-Site": "same-origin"}, **kwargs)
            assert response.status_code == 415, response.text
        assert c.post("/json", json={"a": "b"}).status_code == 201
