"""The two build caches.

- **Results**: a succeeded build of byte-identical files (``content_hash``) by the same owner finished within
  ``BUILD_CACHE_HOURS`` is reused (never another user's: its job id would leak, and with it its preview):
  its published site is copied (hard links) to the new job, which succeeds at once with ``cached: true``.
  The lookup reads the ``jobs`` table, so it needs no table of its own and forgets a build deleted with its
  job.
- **node_modules**, by (owner, lockfile hash, Node version), under ``ARTIFACTS_DIR/build-cache/node_modules/``:
  a second build with the same lockfile copies the tree and installs nothing. A tree is stored right after
  an install succeeded, as hard links (cheap: it is on the build's critical path); a build that then changes
  a file of its node_modules in place changes the stored one too, which is why the key has the owner: a
  user can only ever spoil their own cache. Restoring copies the files (never links), so a restored tree
  can never write back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Job
from db.statuses import JobStatus

KIND = "build"
_MODULES_KEEP_SECONDS = 7 * 86_400


def find_cached_build(
    sessions: sessionmaker[Session],
    artifacts_dir: str,
    content_hash: str,
    hours: float,
    *,
    owner_id: uuid.UUID,
    exclude: uuid.UUID,
) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """The owner's newest succeeded build of the same files within ``hours`` whose site is still on disk."""
    if hours <= 0:
        return None
    since = datetime.now(UTC) - timedelta(hours=hours)
    with sessions() as session:
        rows = session.execute(
            select(Job.id, Job.result)
            .where(
                Job.kind == KIND,
                Job.owner_id == owner_id,
                Job.status == JobStatus.SUCCEEDED.value,
                Job.deleted_at.is_(None),
                Job.finished_at > since,
                Job.result["content_hash"].astext == content_hash,
                Job.id != exclude,
            )
            .order_by(Job.finished_at.desc())
            .limit(5)
        ).all()
    for job_id, result in rows:
        if result and site_dir(artifacts_dir, job_id).is_dir():
            return job_id, dict(result)
    return None


def site_dir(artifacts_dir: str, job_id: object) -> Path:
    """Where a build's published files are (served at ``/previews/<job id>/``)."""
    return Path(artifacts_dir) / str(job_id) / "site"


def link_copy(source: Path, target: Path) -> None:
    """Copy a tree with hard links where the filesystem allows (published sites are never written again)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(source, target, copy_function=os.link, symlinks=False)
    except OSError:
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, symlinks=False)


def modules_key(owner_id: object, lockfile: Path, node_version: str) -> str:
    digest = hashlib.sha256(lockfile.read_bytes())
    digest.update(f"\0node {node_version}\0owner {owner_id}".encode())
    return digest.hexdigest()[:32]


def _modules_dir(artifacts_dir: str, key: str) -> Path:
    return Path(artifacts_dir) / "build-cache" / "node_modules" / key


def restore_modules(artifacts_dir: str, key: str, project: Path) -> bool:
    """Copy a cached node_modules into ``project``; False when there is none."""
    cached = _modules_dir(artifacts_dir, key) / "node_modules"
    if not cached.is_dir():
        return False
    # cp keeps the symlinks of node_modules/.bin and copies fast (reflinks where the filesystem has them).
    try:
        subprocess.run(["cp", "-a", "--reflink=auto", str(cached), str(project / "node_modules")], check=True)
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(project / "node_modules", ignore_errors=True)
        return False
    os.utime(cached.parent)
    return True


def store_modules(artifacts_dir: str, key: str, project: Path) -> None:
    """Keep ``project/node_modules`` under ``key`` (atomically: a concurrent build sees all of it or nothing)."""
    final = _modules_dir(artifacts_dir, key)
    source = project / "node_modules"
    if final.exists() or not source.is_dir():
        return
    staging = final.with_name(f".{key}.{uuid.uuid4().hex}")
    staging.mkdir(parents=True)
    try:
        subprocess.run(["cp", "-al", str(source), str(staging / "node_modules")], check=True)
        staging.rename(final)
    except (OSError, subprocess.CalledProcessError):
        pass  # another build stored the same key first, or the disk is full: the next build installs again
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _prune(final.parent)


def _prune(parent: Path) -> None:
    cutoff = time.time() - _MODULES_KEEP_SECONDS
    for entry in parent.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue
