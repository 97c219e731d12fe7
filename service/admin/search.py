"""Job search across users for admins: by id, owner email (part of it), kind, status and creation time."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, func, select

from db.models import Job, User
from service.admin.schemas import AdminJobPage, AdminJobRow
from service.resources import Resources


async def search_jobs(
    res: Resources,
    *,
    job_id: uuid.UUID | None,
    owner: str | None,
    kind: str | None,
    status: str | None,
    created_after: datetime | None,
    created_before: datetime | None,
    page: int,
    per_page: int,
) -> AdminJobPage:
    conditions: list[ColumnElement[bool]] = [Job.deleted_at.is_(None)]
    if job_id is not None:
        conditions.append(Job.id == job_id)
    if owner:
        # Escaped: an email's own % or _ is matched literally.
        pattern = owner.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(func.lower(User.email).like(f"%{pattern}%", escape="\\"))
    if kind:
        conditions.append(Job.kind == kind)
    if status:
        conditions.append(Job.status == status)
    if created_after is not None:
        conditions.append(Job.created_at >= created_after)
    if created_before is not None:
        conditions.append(Job.created_at < created_before)
    base = select(Job, User.email).join(User, User.id == Job.owner_id).where(*conditions)
    async with res.sessions() as session:
        total = await session.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = (
            await session.execute(
                base.order_by(Job.created_at.desc(), Job.id.desc()).offset((page - 1) * per_page).limit(per_page)
            )
        ).all()
    items = [
        AdminJobRow(
            id=job.id,
            owner_id=job.owner_id,
            owner_email=email,
            kind=job.kind,
            status=job.status,
            queue=job.queue,
            attempts=job.attempts,
            created_at=job.created_at,
            finished_at=job.finished_at,
            error=job.error,
        )
        for job, email in rows
    ]
    return AdminJobPage(items, int(total), page, per_page)
