"""The build itself, run by workers: extract -> detect -> install -> type check -> build -> publish.

Every program runs supervised (``JobContext.run_process``): sandboxed with bubblewrap when available (the
network only during install, only the project folder and npm's cache writable), in a clean environment,
killed with its whole process group on cancel or a limit, its lines streamed live as ``log`` events. The
working folder is removed whatever happens; only the published site stays, under ``ARTIFACTS_DIR/<id>/site``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from actors.context import JobContext
from actors.errors import JobTimedOut, PermanentJobError
from actors.kinds.build.cache import (
    find_cached_build,
    link_copy,
    modules_key,
    restore_modules,
    site_dir,
    store_modules,
)
from actors.kinds.build.params import UPLOADS, BuildParams
from actors.kinds.build.project import Project, ProjectError, content_hash, detect, output_folder, project_root
from actors.kinds.build.settings import MB, BuildSettings
from actors.kinds.build.slots import build_slot
from actors.process import ProcessLimits, ProcessResult
from actors.process.job import ProcessTimedOut
from actors.uploads import ExtractLimits, extract_archive, upload_dir

# tsc's one-line diagnostics (``--pretty false``): ``src/main.ts(3,7): error TS2322: ...``.
_TS_ERROR = re.compile(r"^(?P<file>[^\s(][^(]*)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<text>.*)$")
_ERRORS_IN_MESSAGE = 5
# Working folders being deleted in the background (``discard_work``), next to the live ones.
_TRASH_PREFIX = ".removing-"


class BuildFailed(PermanentJobError):
    """A step failed; the message names the command, its exit code and (for the type check) the errors."""


def work_dir(artifacts_dir: str, job_id: object) -> Path:
    return Path(artifacts_dir) / "build-work" / str(job_id)


def run_build(ctx: JobContext, params: BuildParams) -> dict[str, Any]:
    settings: BuildSettings = ctx.settings
    with build_slot(ctx, settings.concurrency, settings.memory_high_percent):
        work = work_dir(settings.artifacts_dir, ctx.job_id)
        shutil.rmtree(work, ignore_errors=True)  # a retry after a crash starts clean
        work.mkdir(parents=True)
        try:
            return _Build(ctx, params, settings, work).run()
        finally:
            discard_work(work)


def discard_work(work: Path) -> None:
    """Remove a build's working folder without making the job wait: it is renamed away at once (no program
    can still be using it: the runner ended every process group) and deleted by a background thread, which
    also deletes what a worker stopped mid-way left renamed (node_modules takes up to 0.2 s to delete)."""
    trash = work.with_name(f"{_TRASH_PREFIX}{work.name}-{uuid.uuid4().hex[:8]}")
    try:
        work.rename(trash)
    except FileNotFoundError:
        return
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
        return
    threading.Thread(target=_empty_trash, args=(work.parent,), name="build-trash", daemon=True).start()


def _empty_trash(parent: Path) -> None:
    for entry in parent.glob(f"{_TRASH_PREFIX}*"):
        shutil.rmtree(entry, ignore_errors=True)


class _Build:
    def __init__(self, ctx: JobContext, params: BuildParams, settings: BuildSettings, work: Path) -> None:
        self.ctx = ctx
        self.params = params
        self.settings = settings
        self.work = work
        self.deadline = time.monotonic() + settings.timeout_seconds
        self.timings: dict[str, float] = {}
        self.limits = ProcessLimits(
            memory_bytes=settings.memory_mb * MB,
            cpu_seconds=settings.cpu_seconds,
            output_bytes=settings.output_mb * MB,
            processes=settings.max_processes,
        )

    def run(self) -> dict[str, Any]:
        ctx, settings = self.ctx, self.settings
        started = time.monotonic()
        ctx.progress(0, 1, "extract")
        limits = ExtractLimits(max_entries=UPLOADS.max_entries, max_total_bytes=UPLOADS.max_unpacked_bytes)
        unpacked = self.work / "src"
        extract_archive(upload_dir(settings.artifacts_dir, ctx.job_id) / "file", unpacked, limits)
        root = project_root(unpacked)
        digest = content_hash(root, salt=f"output_dir={self.params.output_dir or ''}\n")
        self.timings["extract"] = time.monotonic() - started
        hit = find_cached_build(
            ctx.runtime.sessions,
            settings.artifacts_dir,
            digest,
            settings.cache_hours,
            owner_id=ctx.owner_id,
            exclude=ctx.job_id,
        )
        if hit is not None:
            return self._from_cache(*hit)
        project = detect(root)
        ctx.progress(1, 1, "extract")
        installed_from_cache = False
        if project.type == "npm":
            require_programs()
            installed_from_cache = self._install(project)
            self._type_check(project)
            self._build(project)
        return self._publish(project, digest, installed_from_cache, started)

    # -- steps -------------------------------------------------------------------------------------------

    def _install(self, project: Project) -> bool:
        self.ctx.progress(0, 1, "install")
        started = time.monotonic()
        key = None
        lockfile = project.root / "package-lock.json"
        if project.lockfile:
            key = modules_key(self.ctx.owner_id, lockfile, node_version())
            if restore_modules(self.settings.artifacts_dir, key, project.root):
                self._note("node_modules restored from the cache (same lockfile and Node version): nothing to install")
                self.timings["install"] = time.monotonic() - started
                return True
        npm_cache = self.settings.npm_cache_dir()
        Path(npm_cache).mkdir(parents=True, exist_ok=True)
        env = {**self._env(), "npm_config_cache": npm_cache}
        if self.settings.npm_offline:
            env["npm_config_offline"] = "true"
        online = not self.settings.npm_offline
        self._run(project.install_argv(), project, env=env, network=online, writable=(npm_cache,))
        self.timings["install"] = time.monotonic() - started
        if key is not None:
            stored = time.monotonic()
            store_modules(self.settings.artifacts_dir, key, project.root)
            self.timings["cache_modules"] = time.monotonic() - stored
        return False

    def _type_check(self, project: Project) -> None:
        if not project.typescript:
            return
        self.ctx.progress(0, 1, "typecheck")
        started = time.monotonic()
        tsc = project.root / "node_modules" / ".bin" / "tsc"
        argv = [str(tsc.relative_to(project.root)), "--noEmit", "--pretty", "false"]
        result = self._run(argv, project, check=False)
        self.timings["typecheck"] = time.monotonic() - started
        if result.ok:
            return
        if result.stopped is not None or result.signal is not None:
            raise BuildFailed(result.describe())
        errors = [line for line in result.tail if _TS_ERROR.match(line)]
        listed = "; ".join(errors[:_ERRORS_IN_MESSAGE])
        more = f" (and {len(errors) - _ERRORS_IN_MESSAGE} more)" if len(errors) > _ERRORS_IN_MESSAGE else ""
        raise BuildFailed(f"type check failed: {result.describe()}: {listed or 'see the log'}{more}")

    def _build(self, project: Project) -> None:
        argv = project.build_argv()
        if argv is None:
            return
        self.ctx.progress(0, 1, "build")
        started = time.monotonic()
        self._run(argv, project)
        self.timings["build"] = time.monotonic() - started

    def _publish(self, project: Project, digest: str, installed_from_cache: bool, started: float) -> dict[str, Any]:
        self.ctx.progress(0, 1, "publish")
        output = output_folder(project, self.params.output_dir)
        target = site_dir(self.settings.artifacts_dir, self.ctx.job_id)
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        skip = shutil.ignore_patterns("node_modules", ".git") if output == project.root else None
        # symlinks=True copies links as links; the preview refuses to follow any (a link could point anywhere).
        shutil.copytree(output, target, symlinks=True, ignore=skip)
        files = [p for p in target.rglob("*") if p.is_file() and not p.is_symlink()]
        if not (target / "index.html").is_file():
            folder = output.relative_to(project.root).as_posix()
            raise ProjectError(f"the published folder {folder}/ has no index.html")
        self.ctx.progress(1, 1, "publish")
        return {
            "preview_url": self.settings.preview_url(self.ctx.job_id),
            "preview_path": self.settings.preview_path(self.ctx.job_id),
            "site": self.params.site,
            "project": "vite" if project.vite else project.type,
            "cached": False,
            "content_hash": digest,
            "installed_from_cache": installed_from_cache,
            "files": len(files),
            "bytes": sum(p.stat().st_size for p in files),
            "seconds": {step: round(s, 3) for step, s in self.timings.items()},
            "total_seconds": round(time.monotonic() - started, 3),
        }

    def _from_cache(self, source: Any, result: dict[str, Any]) -> dict[str, Any]:
        link_copy(site_dir(self.settings.artifacts_dir, source), site_dir(self.settings.artifacts_dir, self.ctx.job_id))
        self._note(f"identical files were built by job {source}: its result is reused")
        return {
            **result,
            "preview_url": self.settings.preview_url(self.ctx.job_id),
            "preview_path": self.settings.preview_path(self.ctx.job_id),
            "site": self.params.site,
            "cached": True,
            "cached_from": str(source),
        }

    # -- programs ----------------------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        # A clean environment: nothing of the worker's (its database URL, keys) reaches the build.
        return {
            "NODE_OPTIONS": f"--max-old-space-size={self.settings.node_heap_mb}",
            "CI": "true",
            "NO_COLOR": "1",
            "npm_config_update_notifier": "false",
            "npm_config_cache": str(self.work / ".npm"),
        }

    def _run(
        self,
        argv: list[str],
        project: Project,
        *,
        env: dict[str, str] | None = None,
        network: bool = False,
        writable: tuple[str, ...] = (),
        check: bool = True,
    ) -> ProcessResult:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise JobTimedOut(f"the build ran past its time limit of {self.settings.timeout_seconds:g} s")
        try:
            return self.ctx.run_process(
                argv,
                cwd=project.root,
                env=env or self._env(),
                limits=self.limits,
                timeout=remaining,
                network=network,
                check=check,
                writable=writable,
            )
        except ProcessTimedOut as exc:
            # The step had what was left of the build's time: name the build's limit, not the remainder.
            raise JobTimedOut(
                f"the build ran past its time limit of {self.settings.timeout_seconds:g} s: "
                f"`{exc.result.command}` was killed"
            ) from None

    def _note(self, line: str) -> None:
        """A line of our own in the job's log (e.g. why a step was skipped)."""
        self.ctx.log_line(line)


def require_programs() -> None:
    """Node and npm are on the worker's PATH; the message says how to install them when not."""
    missing = [name for name in ("node", "npm") if shutil.which(name) is None]
    if missing:
        raise BuildFailed(f"{' and '.join(missing)} not installed on this worker (apt-get install nodejs npm)")


def node_version() -> str:
    """``node --version``; the message says how to install Node when it is missing."""
    node = shutil.which("node")
    if node is None:
        raise BuildFailed("Node.js is not installed on this worker (apt-get install nodejs npm)")
    # Asked once per binary: an upgraded Node (a new file, a new mtime) is asked again.
    stat = os.stat(node)
    return _node_version(node, stat.st_ino, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _node_version(node: str, inode: int, mtime_ns: int) -> str:
    return subprocess.run([node, "--version"], capture_output=True, text=True, check=True, timeout=30).stdout.strip()
