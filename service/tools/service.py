"""Calling a tool: check the model's arguments, start the job as the calling user, answer at once.

A bad call gets a 400 whose message says what to fix, field by field, in words a model can act on, so it
can correct its arguments and call again.
"""

from __future__ import annotations

from typing import Any

import msgspec

from actors.links import job_page_url
from service.auth.principal import Principal
from service.errors import BadRequest
from service.input_guard import check_json_value, decode_json
from service.jobs.creation import create_job
from service.jobs.params import field_errors
from service.jobs.schemas import CreateJobRequest
from service.resources import Resources
from service.tools.definitions import Tool, all_tools


class ToolCall(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    # The JSON string a model emits as the function's arguments (an object is accepted too).
    arguments: str | dict[str, Any] = "{}"
    idempotency_key: str | None = None


class ToolResult(msgspec.Struct):
    job_id: str
    status: str
    tracking_url: str
    message: str


def _tool_error(tool: Tool, errors: list[dict[str, str]]) -> BadRequest:
    fixes = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return BadRequest(
        f"Invalid arguments for {tool.name}: {fixes}. Fix these arguments and call {tool.name} again.",
        code="invalid_tool_arguments",
        details={"tool": tool.name, "errors": errors},
    )


def parse_arguments(tool: Tool, raw: str | dict[str, Any]) -> dict[str, Any]:
    """The arguments as a dict of the tool's shape, or a tool error saying what is wrong with them."""
    try:
        # Arguments sent as a string are JSON inside JSON: the request's own check could not look inside.
        raw = decode_json(raw.encode() or b"{}", "arguments") if isinstance(raw, str) else raw
        check_json_value(raw, "arguments")
    except BadRequest as exc:
        raise _tool_error(tool, exc.details) from None
    if not isinstance(raw, dict):
        raise _tool_error(tool, [{"field": "arguments", "message": "must be a JSON object"}])
    try:
        args = msgspec.convert(raw, tool.spec.arguments)
    except msgspec.ValidationError as whole:
        errors = field_errors(tool.spec.arguments, raw) or [{"field": "arguments", "message": str(whole)}]
        raise _tool_error(tool, errors) from None
    return {f.name: getattr(args, f.name) for f in msgspec.structs.fields(args)}


async def call_tool(res: Resources, user: Principal, call: ToolCall) -> ToolResult:
    """Start the job a tool call asks for, as ``user``."""
    tools = all_tools()
    tool = tools.get(call.name)
    if tool is None:
        raise BadRequest(
            f"Unknown tool {call.name!r}. Known tools: {', '.join(sorted(tools))}.",
            code="unknown_tool",
            details={"known_tools": sorted(tools)},
        )
    args = parse_arguments(tool, call.arguments)
    params = tool.spec.to_params(msgspec.to_builtins(args))
    request = CreateJobRequest(kind=tool.kind, params=params, idempotency_key=call.idempotency_key)
    try:
        job, _created = await create_job(res, user, request)
    except BadRequest as exc:
        if exc.code != "invalid_params" or not isinstance(exc.details, list):
            raise
        errors = [{**e, "field": tool.spec.field_names.get(e["field"], e["field"])} for e in exc.details]
        raise _tool_error(tool, errors) from None
    tracking = (job.result or {}).get("tracking_url")
    url = tracking if isinstance(tracking, str) else job_page_url(res.settings.public_url, job.id)
    locale = str(args.get("locale") or "en")
    texts = tool.spec.started
    return ToolResult(str(job.id), job.status, url, texts.get(locale, texts["en"]).format(url=url))
