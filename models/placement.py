"""Where a project's curves may live: its residency group and its home, as use cases.

Both take keyword-only ``session`` then ``actor``, check with :func:`models.access.require`,
write one audit row and leave the commit to the caller. Moving stored curves is a move's job
(``project_moves``, :mod:`models.move_states`); :func:`set_home` only places a project whose
curves are not stored yet, at its creation.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Action, NotFound, Principal, require
from models.audit import audit
from models.residency import ResidencyError, ResidencyGroup, check_home, load_residency
from models.tables import OPEN_MOVE_STATES, Cluster, ClusterStatus, Project, ProjectMove

# The built-in engine's region. A caller whose built-in engine is a server
# (CURVEHOUSE_ENGINE=server) passes "self-managed".
BUILTIN_REGION = "local"


class PlacementError(ValueError):
    """The home cannot be set now: a move is open, or the cluster is going away."""


def _where(cluster: Cluster | None, builtin_region: str) -> tuple[str, str]:
    """(region, label for messages) of a home: ``cluster``, or None for the built-in engine."""
    if cluster is None:
        return builtin_region, "the built-in engine"
    return cluster.region or "", f"cluster {cluster.name}"


def lock_project(session: Session, project_id: int) -> Project:
    """The project, its row locked for this transaction (PostgreSQL), so placement changes and
    move requests of one project run one after another."""
    session.execute(sa.select(Project.id).where(Project.id == project_id).with_for_update())
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"There is no project {project_id}.")
    return project


def _group(key: str | None) -> ResidencyGroup | None:
    return None if key is None else load_residency().group(key)


def set_residency(
    *,
    session: Session,
    actor: Principal,
    project_id: int,
    group: str | None,
    builtin_region: str = BUILTIN_REGION,
    ip: str | None = None,
) -> None:
    """Pin the project to residency ``group`` (None: no pin). Refused with
    :class:`~models.residency.ResidencyError` when the project's home already lies outside it:
    move the project first."""
    require(session, actor, project_id, Action.SET_RESIDENCY)
    project = lock_project(session, project_id)
    wanted = _group(group)
    region, label = _where(project.home_cluster, builtin_region)
    check_home(wanted, region, project=project.name, home_label=label)
    before = project.residency
    project.residency = group
    audit(
        session,
        actor.label,
        "project.residency",
        "project",
        project_id,
        ip=ip,
        before=before,
        after=group,
    )


def set_home(
    *,
    session: Session,
    actor: Principal,
    project_id: int,
    cluster_id: int | None,
    builtin_region: str = BUILTIN_REGION,
    ip: str | None = None,
) -> None:
    """Make ``cluster_id`` (None: the built-in engine) the home of a project with no stored
    curves yet. Needs move_project in the project and create_cluster in the cluster's owning
    project (whoever owns a cluster pays for what it stores), and a region inside the project's
    residency group."""
    require(session, actor, project_id, Action.MOVE_PROJECT)
    project = lock_project(session, project_id)
    before = project.home_cluster_id
    cluster = None if cluster_id is None else session.get(Cluster, cluster_id)
    if cluster_id is not None:
        if cluster is None:
            raise NotFound(f"No cluster {cluster_id}, or you are not a member of its project.")
        try:
            require(session, actor, cluster.project_id, Action.CREATE_CLUSTER)
        except NotFound:
            raise NotFound(
                f"No cluster {cluster_id}, or you are not a member of its project."
            ) from None
        if cluster.status in (ClusterStatus.DELETING, ClusterStatus.DELETED):
            raise PlacementError(f"Cluster {cluster.name} is {cluster.status}; choose another.")
    open_move = session.scalar(
        sa.select(ProjectMove.id).where(
            ProjectMove.project_id == project_id, ProjectMove.state.in_(OPEN_MOVE_STATES)
        )
    )
    if open_move is not None:
        raise PlacementError(f"Project {project.name} is being moved; wait for the move to end.")
    region, label = _where(cluster, builtin_region)
    check_home(_group(project.residency), region, project=project.name, home_label=label)
    project.home_cluster = cluster
    audit(
        session,
        actor.label,
        "project.home",
        "project",
        project_id,
        ip=ip,
        before=before,
        after=cluster_id,
    )


__all__ = [
    "BUILTIN_REGION",
    "PlacementError",
    "ResidencyError",
    "lock_project",
    "set_home",
    "set_residency",
]
