"""What an unpacked upload is: its root folder, its content hash, and the commands that build it.

Detection follows the files: no ``package.json`` is a static site published as it is; with one, ``npm ci``
when ``package-lock.json`` is there (``npm install`` otherwise), ``tsc --noEmit`` when ``tsconfig.json`` is
there and TypeScript is a dependency, then the ``build`` script, or ``vite build`` when Vite is a dependency
and there is no build script. Vite builds get ``--base=./`` so the output works under any preview path.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import msgspec

from actors.errors import PermanentJobError

OUTPUT_DIRS = ("dist", "build")
VITE_BASE = "--base=./"


class ProjectError(PermanentJobError):
    """The upload is not a project we can build (the message says what is missing)."""


class Project(msgspec.Struct, frozen=True):
    root: Path
    # "static" (published as is) or "npm".
    type: str
    lockfile: bool = False
    typescript: bool = False
    vite: bool = False
    build_script: str | None = None

    def install_argv(self) -> list[str]:
        return ["npm", "ci" if self.lockfile else "install", "--no-audit", "--no-fund"]

    def build_argv(self) -> list[str] | None:
        """The build command; None when nothing needs building (a package.json without a build)."""
        if self.build_script is not None:
            # npm appends what follows ``--`` to the script's last command: Vite's base only when that is Vite.
            last = self.build_script.split("&&")[-1]
            return ["npm", "run", "build", *(["--", VITE_BASE] if "vite build" in last else [])]
        if self.vite:
            return ["node_modules/.bin/vite", "build", VITE_BASE]
        return None


def project_root(unpacked: Path) -> Path:
    """The folder holding the project: the archive's own top folder when everything is inside one."""
    entries = [p for p in unpacked.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir() and not (unpacked / "package.json").exists():
        return entries[0]
    return unpacked


def detect(root: Path) -> Project:
    """The project in ``root``.

    Raises:
        ProjectError: neither a ``package.json`` nor an ``index.html``, or a ``package.json`` that is not JSON.
    """
    manifest = root / "package.json"
    if not manifest.is_file():
        if not (root / "index.html").is_file():
            raise ProjectError(
                "the upload has neither a package.json (a Node project) nor an index.html (a static site)"
            )
        return Project(root, "static")
    try:
        package: dict[str, Any] = json.loads(manifest.read_bytes())
    except ValueError as exc:
        raise ProjectError(f"package.json is not valid JSON: {exc}") from None
    if not isinstance(package, dict):
        raise ProjectError("package.json must be a JSON object")
    deps: dict[str, Any] = {}
    for section in ("dependencies", "devDependencies"):
        value = package.get(section)
        if isinstance(value, dict):
            deps.update(value)
    scripts = package.get("scripts")
    build = scripts.get("build") if isinstance(scripts, dict) else None
    return Project(
        root,
        "npm",
        lockfile=(root / "package-lock.json").is_file(),
        typescript=(root / "tsconfig.json").is_file() and "typescript" in deps,
        vite="vite" in deps,
        build_script=build if isinstance(build, str) and build.strip() else None,
    )


def content_hash(root: Path, *, salt: str = "") -> str:
    """SHA-256 over every file's relative path and bytes (not the archive's: re-zipping changes nothing)."""
    digest = hashlib.sha256(salt.encode())
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        file_digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                file_digest.update(chunk)
        digest.update(file_digest.digest())
    return digest.hexdigest()


def output_folder(project: Project, configured: str | None) -> Path:
    """The folder the build wrote (or the project itself for a static site).

    Raises:
        ProjectError: the configured or default folder is missing, or is a link or outside the project.
    """
    if project.type == "static" and configured is None:
        return project.root
    names = (configured,) if configured else OUTPUT_DIRS
    for name in names:
        candidate = project.root / name
        if candidate.is_symlink():
            raise ProjectError(f"the output folder {name}/ is a link")
        if candidate.is_dir() and candidate.resolve().is_relative_to(project.root.resolve()):
            return candidate
    wanted = " or ".join(f"{n}/" for n in names)
    raise ProjectError(f"the build wrote no {wanted} folder (set params.output_dir to the folder it writes)")
