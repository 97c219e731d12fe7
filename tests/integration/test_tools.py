"""The tool API for LLM agents through a real API process: strict definitions, a call that starts a job,
and errors a model can act on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ApiUser, start_api
from tests.support.services import ServiceProcess


@pytest.fixture(scope="module")
def tools_api_url(start_service: Callable[..., ServiceProcess]) -> Iterator[str]:
    # An API with a generator configured, so website jobs are accepted (no worker runs them here).
    env = {"WEBSITE_GENERATOR_URL": "http://127.0.0.1:9", "PUBLIC_URL": "https://jobs.example.com"}
    proc, url = start_api(start_service, env)
    yield url
    proc.stop()


@pytest.fixture
async def agent(make_user: Callable[..., Awaitable[ApiUser]], tools_api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    user = await make_user()
    async with httpx.AsyncClient(
        base_url=tools_api_url, headers={"Authorization": f"Bearer {user.api_key}"}, timeout=30
    ) as client:
        yield client


def objects_in(schema: Any) -> Iterator[dict[str, Any]]:
    """Every JSON-schema object definition inside ``schema``."""
    if isinstance(schema, dict):
        types = schema.get("type")
        if types == "object" or (isinstance(types, list) and "object" in types):
            yield schema
        for value in schema.values():
            yield from objects_in(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from objects_in(item)


async def test_tool_definitions_are_strict_openai_functions(agent: httpx.AsyncClient) -> None:
    response = await agent.get("/api/tools/openai")
    assert response.status_code == 200
    tools = response.json()
    assert {t["function"]["name"] for t in tools} == {"generate_website", "generate_llms_txt"}
    for tool in tools:
        assert tool["type"] == "function"
        function = tool["function"]
        assert function["strict"] is True
        assert function["description"]
        objects = list(objects_in(function["parameters"]))
        assert objects and objects[0] is function["parameters"]
        for obj in objects:
            assert obj["additionalProperties"] is False, (function["name"], obj)
            assert sorted(obj["required"]) == sorted(obj["properties"]), (function["name"], obj)
    website = next(t["function"]["parameters"] for t in tools if t["function"]["name"] == "generate_website")
    assert website["properties"]["prompt"]["type"] == "string"
    assert website["properties"]["locale"]["type"] == ["string", "null"]


async def test_tool_call_starts_a_job_as_the_caller(agent: httpx.AsyncClient) -> None:
    # Given the arguments exactly as a model emits them: a JSON string with nulls for unused options
    arguments = json.dumps(
        {"prompt": "Una web para mi panadería en Sevilla", "message_to_user": None, "notify": None, "locale": "es"}
    )
    response = await agent.post("/api/tools/openai/call", json={"name": "generate_website", "arguments": arguments})

    # Then the job is started at once and the answer says where to follow it
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"job_id", "status", "tracking_url", "message"}
    assert body["tracking_url"] == f"https://jobs.example.com/generations/{body['job_id']}"
    assert body["tracking_url"] in body["message"]
    assert body["message"].startswith("Empecé a generar el sitio web.")
    job = (await agent.get(f"/api/jobs/{body['job_id']}")).json()
    assert job["kind"] == "website"
    # and the job itself carries the same tracking URL from the first moment
    assert job["result"]["tracking_url"] == body["tracking_url"]
    assert job["params"] == {"prompt": "Una web para mi panadería en Sevilla", "locale": "es"}


async def test_llms_txt_tool_call_maps_the_url(agent: httpx.AsyncClient) -> None:
    arguments = {"url": "https://example.com", "max_urls": 20, "provider": None, "full_text": None}
    arguments |= {"include_paths": None, "exclude_paths": ["/blog/*"]}
    response = await agent.post(
        "/api/tools/openai/call", json={"name": "generate_llms_txt", "arguments": json.dumps(arguments)}
    )
    assert response.status_code == 202, response.text
    job = (await agent.get(f"/api/jobs/{response.json()['job_id']}")).json()
    assert job["params"]["url"] == "https://example.com"
    assert job["params"]["max_urls"] == 20


async def test_invalid_arguments_say_what_to_fix_per_field(agent: httpx.AsyncClient) -> None:
    arguments = json.dumps({"prompt": "short", "colour": "blue", "locale": "fr"})
    response = await agent.post("/api/tools/openai/call", json={"name": "generate_website", "arguments": arguments})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_tool_arguments"
    fields = {e["field"]: e["message"] for e in error["details"]["errors"]}
    assert fields == {"colour": "unknown field"}
    assert "call generate_website again" in error["message"]
    # A too-short prompt is reported under its own name once the shape is right
    response = await agent.post(
        "/api/tools/openai/call",
        json={"name": "generate_website", "arguments": json.dumps({"prompt": "short", "locale": None})},
    )
    assert response.status_code == 400
    errors = response.json()["error"]["details"]["errors"]
    assert [e["field"] for e in errors] == ["prompt"]
    assert "10" in errors[0]["message"]


async def test_arguments_that_are_not_json_and_unknown_tools_are_explained(agent: httpx.AsyncClient) -> None:
    response = await agent.post("/api/tools/openai/call", json={"name": "generate_website", "arguments": "{prompt:"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["errors"][0]["field"] == "arguments"
    response = await agent.post("/api/tools/openai/call", json={"name": "make_coffee", "arguments": "{}"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_tool"
    assert error["details"]["known_tools"] == ["generate_llms_txt", "generate_website"]


@pytest.mark.parametrize(
    ("arguments", "field", "says"),
    [
        ({"prompt": 123, "message_to_user": None, "notify": None, "locale": None}, "prompt", "str"),
        ({"message_to_user": None, "notify": None, "locale": None}, "prompt", "required"),
        ({"prompt": "A site for my bakery", "notify": "me", "locale": None}, "notify", "object"),
        ({"prompt": "A site for my bakery", "notify": {"channel": "fax", "to": "x"}}, "notify", "fax"),
    ],
)
async def test_wrong_types_and_missing_fields_are_named(
    agent: httpx.AsyncClient, arguments: dict[str, Any], field: str, says: str
) -> None:
    response = await agent.post(
        "/api/tools/openai/call", json={"name": "generate_website", "arguments": json.dumps(arguments)}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_tool_arguments"
    [found] = error["details"]["errors"]
    assert found["field"] == field
    assert says in found["message"]
    assert f"{field}: " in error["message"]
