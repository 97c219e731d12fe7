"""HTTP handlers of the tool API; each calls one function of ``service.tools``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.status_codes import HTTP_202_ACCEPTED

from service.auth.principal import Principal
from service.resources import get_resources
from service.tools.definitions import all_tools
from service.tools.service import ToolCall, ToolResult, call_tool


class ToolsController(Controller):
    path = "/api/tools"
    tags = ("tools",)

    @get("/openai", operation_id="listOpenAITools")
    async def openai_tools(self) -> list[dict[str, Any]]:
        """OpenAI function-calling definitions (strict JSON schemas) of the tools an agent may call."""
        return [tool.definition() for tool in all_tools().values()]

    @post("/openai/call", operation_id="callOpenAITool", status_code=HTTP_202_ACCEPTED)
    async def call(self, request: Request[Principal, Any, Any], data: ToolCall) -> ToolResult:
        """Start the job a tool call asks for, as the caller; answers at once with the job id and tracking URL."""
        return await call_tool(get_resources(request.app), request.user, data)
