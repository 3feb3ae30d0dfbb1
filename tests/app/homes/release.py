"""Letting clusters go at the end of a test: a cluster that is a project's home, or the target
of an open move, cannot be deleted, so tests put everything back first."""

from __future__ import annotations

import sqlalchemy as sa

from models.store import MetadataStore
from models.tables import OPEN_MOVE_STATES, MoveState, Project, ProjectMove


def unhome(store: MetadataStore) -> None:
    """Put every project back on the built-in engine and close every open move."""
    with store.sessions() as session:
        for project in session.scalars(
            sa.select(Project).where(Project.home_cluster_id.isnot(None))
        ):
            project.home_cluster_id = None
        for move in session.scalars(
            sa.select(ProjectMove).where(ProjectMove.state.in_(OPEN_MOVE_STATES))
        ):
            move.state = MoveState.CANCELLED
        session.commit()
