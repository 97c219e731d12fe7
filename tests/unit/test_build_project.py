"""The build kind's pure parts: what a project is, its content hash, its output folder, which preview file
answers a path, the params it accepts, and aging."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from actors.kinds.build.params import check_output_dir
from actors.kinds.build.project import ProjectError, content_hash, detect, output_folder, project_root
from actors.kinds.build.routes import resolve_preview_file
from actors.scheduler.promotion import due_priority


def write(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def package(scripts: dict[str, str] | None = None, **deps: str) -> str:
    return json.dumps({"name": "p", "scripts": scripts or {}, "devDependencies": deps})


def test_a_folder_without_package_json_is_a_static_site_published_as_is(tmp_path: Path) -> None:
    project = detect(write(tmp_path, {"index.html": "<h1>x</h1>"}))
    assert project.type == "static" and project.build_argv() is None
    assert output_folder(project, None) == tmp_path


def test_neither_package_json_nor_index_html_is_refused_with_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"neither a package\.json"):
        detect(write(tmp_path, {"readme.md": "hi"}))
    (tmp_path / "package.json").write_text("{not json")
    with pytest.raises(ProjectError, match="not valid JSON"):
        detect(tmp_path)


def test_npm_ci_with_a_lockfile_npm_install_without(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": package({"build": "vite build"}, vite="5")})
    assert detect(tmp_path).install_argv()[:2] == ["npm", "install"]
    (tmp_path / "package-lock.json").write_text("{}")
    assert detect(tmp_path).install_argv()[:2] == ["npm", "ci"]


def test_build_commands_give_vite_a_relative_base_only_when_vite_builds(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": package({"build": "tsc && vite build"}, vite="5", typescript="5")})
    assert detect(tmp_path).build_argv() == ["npm", "run", "build", "--", "--base=./"]
    write(tmp_path, {"package.json": package({"build": "vite build && node post.js"}, vite="5")})
    assert detect(tmp_path).build_argv() == ["npm", "run", "build"]
    write(tmp_path, {"package.json": package(vite="5")})
    assert detect(tmp_path).build_argv() == ["node_modules/.bin/vite", "build", "--base=./"]
    write(tmp_path, {"package.json": package(react="18")})
    assert detect(tmp_path).build_argv() is None


def test_the_type_check_runs_with_a_tsconfig_and_typescript(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": package(typescript="5")})
    assert not detect(tmp_path).typescript
    (tmp_path / "tsconfig.json").write_text("{}")
    assert detect(tmp_path).typescript


def test_an_archive_with_one_top_folder_is_built_from_inside_it(tmp_path: Path) -> None:
    write(tmp_path, {"my-app/package.json": package(), "__MACOSX/._x": ""})
    assert project_root(tmp_path) == tmp_path / "my-app"
    write(tmp_path, {"other/index.html": ""})
    assert project_root(tmp_path) == tmp_path


def test_the_content_hash_depends_on_files_not_on_their_order_or_times(tmp_path: Path) -> None:
    a = write(tmp_path / "a", {"x.txt": "1", "d/y.txt": "2"})
    b = write(tmp_path / "b", {"d/y.txt": "2", "x.txt": "1"})
    os.utime(b / "x.txt", (0, 0))
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(a, salt="output_dir=out")
    (b / "x.txt").write_text("changed")
    assert content_hash(a) != content_hash(b)
    # A file moved to another name is another project
    c = write(tmp_path / "c", {"x2.txt": "1", "d/y.txt": "2"})
    assert content_hash(a) != content_hash(c)


def test_the_output_folder_is_dist_then_build_or_the_configured_one_never_a_link(tmp_path: Path) -> None:
    write(tmp_path, {"package.json": package({"build": "x"}), "build/index.html": ""})
    project = detect(tmp_path)
    assert output_folder(project, None) == tmp_path / "build"
    write(tmp_path, {"dist/index.html": ""})
    assert output_folder(project, None) == tmp_path / "dist"
    with pytest.raises(ProjectError, match="no out/ folder"):
        output_folder(project, "out")
    (tmp_path / "out").symlink_to("/etc")
    with pytest.raises(ProjectError, match="is a link"):
        output_folder(project, "out")


@pytest.mark.parametrize("value", ["../x", "/abs", "a/../../b", "a b", ".", "dist;rm"])
def test_output_dir_must_be_a_folder_inside_the_project(value: str) -> None:
    with pytest.raises(ValueError, match="output_dir"):
        check_output_dir(value)


def test_output_dir_accepts_plain_relative_folders() -> None:
    for value in (None, "dist", "web/out", "_site"):
        check_output_dir(value)


def test_preview_files_folders_spa_fallback_and_nothing_outside(tmp_path: Path) -> None:
    site = write(tmp_path / "site", {"index.html": "root", "a/index.html": "a", "app.js": "js"})
    (tmp_path / "secret.txt").write_text("secret")
    (site / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (site / "linked").symlink_to(tmp_path)
    assert resolve_preview_file(site, "/") == site / "index.html"
    assert resolve_preview_file(site, "/app.js") == site / "app.js"
    assert resolve_preview_file(site, "/a/") == site / "a" / "index.html"
    assert resolve_preview_file(site, "/route/in/app") == site / "index.html"
    assert resolve_preview_file(site, "/missing.js") is None
    assert resolve_preview_file(site, "/../secret.txt") is None
    assert resolve_preview_file(site, "/leak.txt") is None
    assert resolve_preview_file(site, "/linked/secret.txt") is None
    assert resolve_preview_file(tmp_path / "nothing", "/") is None


def test_aging_earns_normal_after_one_period_and_high_after_two() -> None:
    assert due_priority("low", 119, 120) == "low"
    assert due_priority("low", 121, 120) == "normal"
    assert due_priority("low", 241, 120) == "high"
    assert due_priority("normal", 130, 120) == "normal"
    assert due_priority("normal", 250, 120) == "high"
    assert due_priority("high", 10_000, 120) == "high"
