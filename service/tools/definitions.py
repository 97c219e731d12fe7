"""The tools offered to LLM agents, as OpenAI function-calling definitions with strict JSON schemas.

OpenAI's strict mode requires every object to list all its properties in ``required`` and to set
``additionalProperties: false``; an optional argument is therefore typed ``[<type>, "null"]`` and the model
sends ``null`` for it. Each kind declares its own tool (``JobKind.tool``), which also knows how to turn its
arguments into the kind's params; this module adds the notification arguments and the strict wrapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from actors.notify.target import CHANNELS
from actors.registry import ToolSpec, all_kinds, get_kind

_LOCALE = {
    "type": ["string", "null"],
    "enum": ["en", "es", None],
    "description": "Language of the messages the user gets about this job: en or es (null: en).",
}
_MESSAGE_TO_USER = {
    "type": ["string", "null"],
    "description": "A short message sent to the user right away on their notification channel (null: none).",
}
_NOTIFY = {
    "anyOf": [
        {
            "type": "object",
            "description": "Where to tell the user when the job is done.",
            "properties": {
                "channel": {"type": "string", "enum": list(CHANNELS)},
                "to": {
                    "type": "string",
                    "description": "Email address, https webhook URL or phone number in international format.",
                },
            },
            "required": ["channel", "to"],
            "additionalProperties": False,
        },
        {"type": "null"},
    ],
    "description": "Where to notify the user when the job ends (null: the user's default channel).",
}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


@dataclass(frozen=True)
class Tool:
    """A kind's tool (``JobKind.tool``) with the notification arguments its params take."""

    kind: str
    spec: ToolSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def properties(self) -> dict[str, Any]:
        return {**self.spec.properties, **_notification_properties(self.kind)}

    def definition(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.spec.name,
                "description": self.spec.description,
                "strict": True,
                "parameters": _object(self.properties),
            },
        }


def _kind_accepts(kind: str, field: str) -> bool:
    found = get_kind(kind)
    return found is not None and any(f.name == field for f in msgspec.structs.fields(found.params))


def _notification_properties(kind: str) -> dict[str, Any]:
    """The notification arguments, offered only when the kind's params take them."""
    candidates = {"message_to_user": _MESSAGE_TO_USER, "notify": _NOTIFY, "locale": _LOCALE}
    return {name: schema for name, schema in candidates.items() if _kind_accepts(kind, name)}


def all_tools() -> dict[str, Tool]:
    """The tools of every kind that offers one, by tool name."""
    return {kind.tool.name: Tool(name, kind.tool) for name, kind in all_kinds().items() if kind.tool is not None}
