"""A project's dead letters (MQTT messages live ingest refused, recorded by
``pipelines.live.sink``) as its members see them: newest first."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Action, Principal, require
from models.tables import DeadLetter


def dead_letters_of(project_id: int) -> sa.Select:
    """The project's dead letters, newest first (for paging)."""
    return (
        sa.select(DeadLetter)
        .where(DeadLetter.project_id == project_id)
        .order_by(DeadLetter.received_at.desc(), DeadLetter.id.desc())
    )


def recent_dead_letters(
    session: Session, actor: Principal, project_id: int, *, limit: int = 20
) -> tuple[list[DeadLetter], int, datetime | None]:
    """The newest ``limit`` of them, how many there are, and when the last came."""
    require(session, actor, project_id, Action.VIEW)
    rows = list(session.scalars(dead_letters_of(project_id).limit(limit)))
    total = session.scalar(sa.select(sa.func.count()).where(DeadLetter.project_id == project_id))
    return rows, total or 0, rows[0].received_at if rows else None
