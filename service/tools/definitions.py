"""The tools offered to LLM agents, as OpenAI function-calling definitions with strict JSON schemas.

OpenAI's strict mode requires every object to list all its properties in ``required`` and to set
``additionalProperties: false``; an optional argument is therefore typed ``[<type>, "null"]`` and the model
sends ``null`` for it. Each tool also knows how to turn its arguments into the params of its job kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from actors.notify.target import CHANNELS, NotifyTarget
from actors.registry import get_kind

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


def _nullable(type_: str, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": [type_, "null"], "description": description, **extra}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


@dataclass(frozen=True)
class Tool:
    name: str
    kind: str
    description: str
    properties: dict[str, Any]
    # Checks the arguments' shape (unknown fields, types) before they become job params.
    arguments: type[msgspec.Struct]
    to_params: Callable[[dict[str, Any]], dict[str, Any]]
    # Job param name -> argument name, to report a job param's error under the name the model used.
    field_names: dict[str, str]

    def definition(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "strict": True,
                "parameters": _object(self.properties),
            },
        }


class WebsiteArguments(msgspec.Struct, forbid_unknown_fields=True):
    prompt: str
    message_to_user: str | None = None
    notify: NotifyTarget | None = None
    locale: str | None = None


class LlmsTxtArguments(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    max_urls: int | None = None
    provider: str | None = None
    full_text: bool | None = None
    include_paths: list[str] | None = None
    exclude_paths: list[str] | None = None
    message_to_user: str | None = None
    notify: NotifyTarget | None = None
    locale: str | None = None


def _without_nulls(args: dict[str, Any]) -> dict[str, Any]:
    """Null means "use the default": leave the param out."""
    return {k: v for k, v in args.items() if v is not None}


def _llms_params(args: dict[str, Any]) -> dict[str, Any]:
    params = _without_nulls(args)
    target = str(params.pop("url"))
    params["url" if "://" in target else "hostname"] = target
    return params


def _kind_accepts(kind: str, field: str) -> bool:
    found = get_kind(kind)
    return found is not None and any(f.name == field for f in msgspec.structs.fields(found.params))


def _notification_properties(kind: str) -> dict[str, Any]:
    """The notification arguments, offered only when the kind's params take them."""
    candidates = {"message_to_user": _MESSAGE_TO_USER, "notify": _NOTIFY, "locale": _LOCALE}
    return {name: schema for name, schema in candidates.items() if _kind_accepts(kind, name)}


def all_tools() -> dict[str, Tool]:
    """The tools, by name (built on demand: kinds may gain notification params when their modules load)."""
    website = Tool(
        name="generate_website",
        kind="website",
        description=(
            "Generate a complete website from a description. Returns at once with a job id and a tracking URL; "
            "the site takes 5-20 minutes and the user is notified when it is ready."
        ),
        properties={
            "prompt": {
                "type": "string",
                "description": "What the website is for and what it should contain (at least 10 characters).",
            },
            **_notification_properties("website"),
        },
        arguments=WebsiteArguments,
        to_params=_without_nulls,
        field_names={},
    )
    llms_txt = Tool(
        name="generate_llms_txt",
        kind="llms_txt",
        description=(
            "Crawl a public website and build its llms.txt and llms-full.txt (llmstxt.org). Returns at once with "
            "a job id and a tracking URL where the files appear when done."
        ),
        properties={
            "url": {"type": "string", "description": "The website's address or hostname, e.g. https://example.com."},
            "max_urls": _nullable("integer", "Most pages to read, 1-5000 (null: 500)."),
            "provider": _nullable(
                "string",
                "How page descriptions are written (null: extractive).",
                enum=["extractive", "ollama", "gemini", None],
            ),
            "full_text": _nullable("boolean", "Also build llms-full.txt with every page's text (null: true)."),
            "include_paths": _nullable(
                "array", "Only pages matching these path globs (null: all).", items={"type": "string"}
            ),
            "exclude_paths": _nullable(
                "array", "Skip pages matching these path globs (null: none).", items={"type": "string"}
            ),
            **_notification_properties("llms_txt"),
        },
        arguments=LlmsTxtArguments,
        to_params=_llms_params,
        field_names={"hostname": "url"},
    )
    return {tool.name: tool for tool in (website, llms_txt)}
