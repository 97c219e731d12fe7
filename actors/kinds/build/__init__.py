"""Builds of uploaded website projects: extract, install, type check, build, publish a preview.

This module is the kind's spec (imported by the API too); the build (``job``) runs on workers only and the
routes (``routes``: a site's builds, the previews) in the API only, both named as strings.
"""

from __future__ import annotations

from pathlib import Path

from actors.kinds.build.params import UPLOADS, BuildParams
from actors.kinds.build.settings import check_params, load_settings
from actors.registry import Artifact, JobKind, WebSpec, register_kind

BUILD = register_kind(
    JobKind(
        name="build",
        params=BuildParams,
        handler="actors.kinds.build.job:run_build",
        settings=load_settings,
        check_params=check_params,
        # The build's own wall-time limit (BUILD_TIMEOUT_SECONDS, default 10 min) ends its programs first, with
        # the limit named; this is the backstop for the whole job, waiting for a slot included.
        time_limit_seconds=30 * 60,
        # A failed build fails the same way again: no retries.
        max_retries=0,
        uploads=UPLOADS,
        routes="actors.kinds.build.routes:routes",
        details="actors.kinds.build.history:build_details",
        # A low build waiting this long is promoted to normal, and after twice as long to high (aging).
        promote_after_seconds=120.0,
        title=lambda p: p.site,
        artifacts=(Artifact("process.log", "build-{title}.log", "text/plain; charset=utf-8"),),
        description="Builds an uploaded website project (static, or npm with TypeScript and Vite) and previews it.",
        web=WebSpec(
            directory=str(Path(__file__).parent / "web"),
            label="Build",
            form="form.html",
            detail="detail.html",
            script="kind.js",
            phases=(
                ("waiting", "Waiting for a build slot", 0.02),
                ("extract", "Extracting", 0.05),
                ("install", "Installing dependencies", 0.4),
                ("typecheck", "Type checking", 0.18),
                ("build", "Building", 0.3),
                ("publish", "Publishing", 0.05),
            ),
        ),
    )
)
