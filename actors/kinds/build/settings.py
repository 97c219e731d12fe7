"""The build kind's settings section, read from ``BUILD_*`` variables and ``PREVIEW_BASE_URL``."""

from __future__ import annotations

import os
from typing import Any

import msgspec

from actors.env import KindEnv, SettingsError, flag
from actors.kinds.build.params import BuildParams, check_output_dir

MB = 1024 * 1024


class BuildSettings(msgspec.Struct, frozen=True):
    artifacts_dir: str = ".data/artifacts"
    public_url: str = "http://127.0.0.1:8000"
    # Where previews are served: this service (``<public_url>/previews/<id>/``) or a separate origin.
    preview_base_url: str = ""
    memory_mb: int = 1024
    cpu_seconds: int = 600
    timeout_seconds: float = 600.0
    output_mb: int = 20
    max_processes: int = 256
    # Builds one worker process runs at once, and the machine's memory use above which it waits to start one.
    concurrency: int = 2
    memory_high_percent: float = 90.0
    cache_hours: float = 24.0
    # npm's cache (shared by builds, writable only during install); empty: ``~/.npm`` of the worker's user.
    npm_cache: str = ""
    # Install only from npm's cache (no network at all): tests, air-gapped hosts.
    npm_offline: bool = False

    @property
    def node_heap_mb(self) -> int:
        """V8's old-space limit: three quarters of the build's memory, leaving room for code and buffers."""
        return max(64, self.memory_mb * 3 // 4)

    def preview_url(self, job_id: object) -> str:
        base = self.preview_base_url or f"{self.public_url.rstrip('/')}/previews"
        return f"{base.rstrip('/')}/{job_id}/"

    def preview_path(self, job_id: object) -> str | None:
        """The preview's path on this service (for the web UI's frame); None when served from elsewhere."""
        return None if self.preview_base_url else f"/previews/{job_id}/"

    def npm_cache_dir(self) -> str:
        return self.npm_cache or os.path.join(os.path.expanduser("~"), ".npm")


def load_settings(env: KindEnv) -> BuildSettings:
    settings = BuildSettings(
        artifacts_dir=env.artifacts_dir,
        public_url=env.public_url,
        preview_base_url=env.text("PREVIEW_BASE_URL").rstrip("/"),
        memory_mb=env.number("BUILD_MEMORY_MB", 1024, int),
        cpu_seconds=env.number("BUILD_CPU_SECONDS", 600, int),
        timeout_seconds=env.number("BUILD_TIMEOUT_SECONDS", 600.0, float),
        output_mb=env.number("BUILD_OUTPUT_MB", 20, int),
        max_processes=env.number("BUILD_MAX_PROCESSES", 256, int),
        concurrency=env.number("BUILD_CONCURRENCY", 2, int),
        memory_high_percent=env.number("BUILD_MEMORY_HIGH_PERCENT", 90.0, float),
        cache_hours=env.number("BUILD_CACHE_HOURS", 24.0, float),
        npm_cache=env.text("BUILD_NPM_CACHE"),
        npm_offline=flag(env.env.get("BUILD_NPM_OFFLINE"), False),
    )
    for name, value in (
        ("BUILD_MEMORY_MB", settings.memory_mb),
        ("BUILD_CPU_SECONDS", settings.cpu_seconds),
        ("BUILD_TIMEOUT_SECONDS", settings.timeout_seconds),
        ("BUILD_OUTPUT_MB", settings.output_mb),
        ("BUILD_MAX_PROCESSES", settings.max_processes),
        ("BUILD_CONCURRENCY", settings.concurrency),
    ):
        if value <= 0:
            raise SettingsError(f"{name} must be positive, got {value}")
    return settings


def check_params(params: BuildParams, settings: Any) -> None:
    check_output_dir(params.output_dir)
