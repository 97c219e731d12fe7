"""Periodic housekeeping: the monthly quota reset and the daily deletion of old artifacts."""

from __future__ import annotations

import shutil
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Job, User


def reset_quotas(sessions: sessionmaker[Session], period_start: datetime) -> dict[str, Any]:
    """Start a new quota period for every user (usage counts jobs finished after it)."""
    with sessions.begin() as session:
        moved = session.execute(
            update(User)
            .where(User.quota_period_start < period_start)
            .values(quota_period_start=period_start)
            .returning(User.id)
        ).all()
    return {"users": len(moved), "period_start": period_start.isoformat()}


def delete_old_artifacts(
    sessions: sessionmaker[Session], artifacts_dir: Path, retention_days: int, now: datetime
) -> dict[str, Any]:
    """Delete the artifact folders of jobs that finished more than ``retention_days`` ago, and folders
    that belong to no job and were last changed before that."""
    if not artifacts_dir.is_dir():
        return {"deleted": 0, "bytes": 0}
    cutoff = now - timedelta(days=retention_days)
    folders: list[tuple[uuid.UUID, Path]] = []
    # A job's own files are in <job id>/, the files sent with it in uploads/<job id>/.
    for parent in (artifacts_dir, artifacts_dir / "uploads"):
        for path in parent.iterdir() if parent.is_dir() else ():
            try:
                folders.append((uuid.UUID(path.name), path))
            except ValueError:
                continue  # not ours: leave it alone
    if not folders:
        return {"deleted": 0, "bytes": 0}
    with sessions() as session:
        ids = list({job_id for job_id, _ in folders})
        rows = {r[0]: r[1] for r in session.execute(select(Job.id, Job.finished_at).where(Job.id.in_(ids)))}
    deleted, freed = 0, 0
    for job_id, path in folders:
        if job_id in rows:
            finished = rows[job_id]
            expired = finished is not None and finished < cutoff
        else:
            expired = path.stat().st_mtime < time.time() - retention_days * 86_400
        if expired and path.is_dir():
            freed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            shutil.rmtree(path, ignore_errors=True)
            deleted += 1
    return {"deleted": deleted, "bytes": freed, "cutoff": cutoff.isoformat()}
