"""A kind's own web files (``JobKind.web``): its templates by name, its static files by path, never a file
outside its folders; and what the pages' scripts are told of every kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from jinja2 import Environment, TemplateNotFound
from litestar import Litestar
from litestar.testing import TestClient

from actors.registry import JobKind, WebSpec, register_kind
from service.web.kind_web import KindTemplateLoader, detail_template, kind_forms, kind_static_file, kinds_json, label_of


class NoParams(msgspec.Struct):
    pass


def _nothing(ctx: object, params: object) -> None:
    return None


@pytest.fixture
def web_kind(tmp_path: Path) -> Iterator[JobKind]:
    folder = tmp_path / "web"
    (folder / "templates").mkdir(parents=True)
    (folder / "static").mkdir()
    (folder / "templates" / "form.html").write_text("<p>form of {{ who }}</p>")
    (folder / "static" / "kind.js").write_text("export function summary() { return 'x'; }")
    # Beside and above the kind's folders: one and two ``..`` away.
    (folder / "secret.txt").write_text("not to be served")
    (tmp_path / "secret.txt").write_text("not to be served")
    kind = register_kind(
        JobKind(
            name="web_probe",
            params=NoParams,
            handler=_nothing,
            web=WebSpec(
                directory=str(folder),
                label="Probe </script>",
                form="form.html",
                script="kind.js",
                phases=(("a", "Step A", 1.0), ("b", "Step B", 3.0)),
            ),
        )
    )
    register_kind(JobKind(name="plain_probe", params=NoParams, handler=_nothing))
    yield kind


def test_a_kinds_template_is_found_by_name_and_nothing_outside_its_folder(web_kind: JobKind, tmp_path: Path) -> None:
    environment = Environment(loader=KindTemplateLoader(), autoescape=True)
    assert environment.get_template("kinds/web_probe/form.html").render(who="<b>") == "<p>form of &lt;b&gt;</p>"
    for name in (
        "kinds/web_probe/../secret.txt",
        "kinds/web_probe/../../secret.txt",
        f"kinds/web_probe/{tmp_path}/secret.txt",
        "kinds/plain_probe/form.html",
        "kinds/nobody/form.html",
        "form.html",
    ):
        with pytest.raises(TemplateNotFound):
            environment.get_template(name)


def test_a_kinds_static_files_are_served_and_nothing_outside_its_folder(web_kind: JobKind, tmp_path: Path) -> None:
    with TestClient(Litestar(route_handlers=[kind_static_file])) as client:
        response = client.get("/static/kinds/web_probe/kind.js")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")
        assert "summary" in response.text
        for path in (
            "/static/kinds/web_probe/%2e%2e/secret.txt",
            "/static/kinds/web_probe/%2e%2e/%2e%2e/secret.txt",
            "/static/kinds/web_probe/..%2f..%2fsecret.txt",
            f"/static/kinds/web_probe/{tmp_path}/secret.txt",
            "/static/kinds/web_probe/missing.js",
            "/static/kinds/plain_probe/kind.js",
        ):
            assert client.get(path).status_code == 404, path


def test_the_pages_are_told_each_kinds_label_phases_and_script(web_kind: JobKind) -> None:
    text = kinds_json()
    assert "<" not in text
    views = msgspec.json.decode(text)
    assert views["web_probe"] == {
        "name": "web_probe",
        "label": "Probe </script>",
        "phases": [["a", "Step A", 1.0], ["b", "Step B", 3.0]],
        "artifacts": [],
        "script": "/static/kinds/web_probe/kind.js",
        "detail": False,
    }
    # A kind without a web part is named in words and shown by the generic page.
    assert views["plain_probe"]["label"] == "Plain probe"
    assert label_of(web_kind) == "Probe </script>"
    assert detail_template("plain_probe") is None and detail_template("web_probe") is None
    assert {"kind": "web_probe", "label": "Probe </script>", "template": "kinds/web_probe/form.html"} in kind_forms()
    assert all(form["kind"] != "plain_probe" for form in kind_forms())
