"""The job kinds' own parts of the web UI (``JobKind.web``): their templates, their static files, and what
the pages tell their scripts about every kind.

Templates are named ``kinds/<kind>/<file>`` and read from the kind's ``templates/`` folder; static files are
served at ``/static/kinds/<kind>/<path>`` from its ``static/`` folder. Both look the kind up when asked, so a
kind registered after the app was built (a test's) is served too. No kind is named here.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import msgspec
from jinja2 import BaseLoader, Environment, TemplateNotFound
from litestar import get
from litestar.exceptions import NotFoundException
from litestar.params import PathParameter
from litestar.response import File

from actors.registry import JobKind, all_kinds, get_kind

PREFIX = "kinds/"


def _kind_folder(kind_name: str, part: str) -> Path | None:
    kind = get_kind(kind_name)
    if kind is None or kind.web is None:
        return None
    return Path(kind.web.directory).resolve() / part


def _inside(folder: Path, relative: str) -> Path | None:
    """``folder/relative`` when it is a file inside ``folder`` (no ``..``, no absolute path)."""
    path = (folder / relative).resolve()
    return path if path.is_relative_to(folder) and path.is_file() else None


class KindTemplateLoader(BaseLoader):
    """``kinds/<kind>/<file>``: ``<file>`` in the ``templates/`` folder of the kind's web directory."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        kind_name, _, relative = template.removeprefix(PREFIX).partition("/")
        folder = _kind_folder(kind_name, "templates") if template.startswith(PREFIX) else None
        path = _inside(folder, relative) if folder is not None else None
        if path is None:
            raise TemplateNotFound(template)
        mtime = path.stat().st_mtime
        return path.read_text(encoding="utf-8"), str(path), lambda: path.stat().st_mtime == mtime


@get("/static/kinds/{kind_name:str}/{file_path:path}", include_in_schema=False, exclude_from_auth=True)
async def kind_static_file(
    kind_name: Annotated[str, PathParameter()], file_path: Annotated[str, PathParameter()]
) -> File:
    """A file of the kind's ``static/`` folder (its scripts, styles, images)."""
    folder = _kind_folder(kind_name, "static")
    path = _inside(folder, file_path.lstrip("/")) if folder is not None else None
    if path is None:
        raise NotFoundException(f"no file {file_path!r} for kind {kind_name!r}")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".js":
        media_type = "text/javascript"
    return File(path=path, media_type=media_type, content_disposition_type="inline")


class KindView(msgspec.Struct):
    """What the pages' scripts know of a kind: how to name it, draw its progress and find its script."""

    name: str
    label: str
    phases: list[tuple[str, str, float]]
    artifacts: list[str]
    script: str | None
    detail: bool


def label_of(kind: JobKind) -> str:
    """The kind as people call it: its web label, else its name in words ("word_count" -> "Word count")."""
    if kind.web is not None and kind.web.label:
        return kind.web.label
    return kind.name.replace("_", " ").capitalize()


def kind_view(kind: JobKind) -> KindView:
    web = kind.web
    return KindView(
        name=kind.name,
        label=label_of(kind),
        phases=list(web.phases) if web else [],
        artifacts=[a.name for a in kind.artifacts],
        script=f"/static/kinds/{kind.name}/{web.script}" if web and web.script else None,
        detail=bool(web and web.detail),
    )


def kinds_json() -> str:
    """Every kind's view as JSON for a ``<script type="application/json">`` block ("<" escaped)."""
    views = {name: kind_view(kind) for name, kind in sorted(all_kinds().items())}
    return embeddable_json(views)


def embeddable_json(value: Any) -> str:
    # Embedded in a <script type="application/json"> block: "<" escaped so no value can close the block.
    text = msgspec.json.encode(value).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def kind_forms() -> list[dict[str, str]]:
    """The "new job" forms of the kinds that have one: template name, kind name and label."""
    return [
        {"kind": name, "label": label_of(kind), "template": f"{PREFIX}{name}/{kind.web.form}"}
        for name, kind in sorted(all_kinds().items())
        if kind.web is not None and kind.web.form
    ]


def detail_template(kind_name: str) -> str | None:
    kind = get_kind(kind_name)
    if kind is None or kind.web is None or not kind.web.detail:
        return None
    return f"{PREFIX}{kind_name}/{kind.web.detail}"
