"""Moving a project's curves to another home: what a person asks (request, cancel, resume,
confirm), checked and recorded. The work itself is the mover's (:mod:`app.homes.mover`).

Which action may start from which state, and with which permission, is
``models/move_states.py``; the REST API and the project page call these functions, so they
cannot disagree. Each commits its own transaction and writes one audit row.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Action, NotFound, Principal, require
from models.audit import audit
from models.move_states import TRANSITIONS, MoveAction
from models.placement import lock_project
from models.residency import check_home, load_residency
from models.store import MetadataStore
from models.tables import (
    OPEN_MOVE_STATES,
    Cluster,
    ClusterStatus,
    MoveState,
    ProjectMove,
)
from pipelines.homes import Homes, home_of_cluster, label_of


class MoveRequestError(ValueError):
    """A move the rules refuse now, with a message for the person who asked."""


@dataclass(frozen=True)
class MoveView:
    """A move as the pages and the API show it."""

    id: int
    project: str
    state: str
    source: str  # "the built-in engine", "cluster line9-dev"
    target: str
    requested_by: str
    requested_at: object
    switched_at: object
    finished_at: object
    detail: str
    datasets: tuple[int, int]  # (done, total)
    curves: tuple[int, int]
    samples: tuple[int, int]
    checks: dict

    @property
    def percent(self) -> float:
        """Copied share of the samples (of the curves while no samples are counted). With
        nothing counted: 0 before the copy is through (waiting, counting, failed or cancelled
        early), 100 after it (a project with no curves)."""
        done, total = self.samples if self.samples[1] else self.curves
        if total == 0:
            return 100.0 if self.state in _COPIED else 0.0
        return min(100.0, 100.0 * done / total)


# States a move reaches only once everything is copied.
_COPIED = frozenset({MoveState.CHECKING, MoveState.SWITCHED, MoveState.CLEANING, MoveState.DONE})


def _label(session: Session, cluster_id: int | None) -> str:
    cluster = None if cluster_id is None else session.get(Cluster, cluster_id)
    if cluster_id is not None and cluster is None:
        return f"cluster {cluster_id}"  # deleted since
    return label_of(cluster)


def view_of(session: Session, move: ProjectMove) -> MoveView:
    return MoveView(
        id=move.id,
        project=move.project.name,
        state=str(move.state),
        source=_label(session, move.from_cluster_id),
        target=_label(session, move.to_cluster_id),
        requested_by=move.requested_by,
        requested_at=move.requested_at,
        switched_at=move.switched_at,
        finished_at=move.finished_at,
        detail=move.detail,
        datasets=(move.datasets_done, move.datasets_total),
        curves=(move.curves_done, move.curves_total),
        samples=(move.samples_done, move.samples_total),
        checks=dict(move.checks or {}),
    )


def latest_move(session: Session, project_id: int) -> ProjectMove | None:
    """The project's most recent move, whatever its state."""
    return session.scalar(
        sa.select(ProjectMove)
        .where(ProjectMove.project_id == project_id)
        .order_by(ProjectMove.id.desc())
        .limit(1)
    )


def request_move(
    *,
    store: MetadataStore,
    homes: Homes,
    actor: Principal,
    project_id: int,
    to_cluster_id: int | None,
    ip: str | None = None,
) -> MoveView:
    """Ask to move the project's curves to ``to_cluster_id`` (None: the built-in engine).

    Needs move_project in the project and create_cluster in the target cluster's project (its
    owners pay for what it stores). Refused in words when the target is the current home, is
    going away, lies outside the project's residency group, or another move is open. The move
    waits while its target is not running yet."""
    request = TRANSITIONS[MoveAction.REQUEST]
    with store.sessions() as session:
        require(session, actor, project_id, request.needs)
        project = lock_project(session, project_id)
        target = None if to_cluster_id is None else session.get(Cluster, to_cluster_id)
        if to_cluster_id is not None:
            missing = f"No cluster {to_cluster_id}, or you are not a member of its project."
            if target is None or target.status is ClusterStatus.DELETED:
                raise NotFound(missing)
            try:
                require(session, actor, target.project_id, Action.CREATE_CLUSTER)
            except NotFound:
                raise NotFound(missing) from None
            if target.status is ClusterStatus.DELETING:
                raise MoveRequestError(f"Cluster {target.name} is being deleted; choose another.")
        if project.home_cluster_id == to_cluster_id:
            where = homes.of_row(project).label
            raise MoveRequestError(f"Project {project.name} already lives on {where}.")
        latest = latest_move(session, project_id)
        state = None if latest is None or latest.state not in OPEN_MOVE_STATES else latest.state
        refusal = request.refusal(project.name, state)
        if refusal:
            raise MoveRequestError(refusal)
        to_home = homes.builtin if target is None else home_of_cluster(target)
        group = None if project.residency is None else load_residency().group(project.residency)
        check_home(group, to_home.region, project=project.name, home_label=to_home.label)
        running = target is None or target.status is ClusterStatus.RUNNING
        move = ProjectMove(
            project_id=project_id,
            from_cluster_id=project.home_cluster_id,
            to_cluster_id=to_cluster_id,
            state=request.target(None, target_running=running),
            requested_by=actor.label,
        )
        session.add(move)
        session.flush()
        audit(
            session,
            actor.label,
            "project.move.request",
            "project",
            project_id,
            ip=ip,
            move=move.id,
            source=homes.of_row(project).label,
            target=to_home.label,
        )
        session.commit()
        return view_of(session, move)


def act_on_move(
    *,
    store: MetadataStore,
    actor: Principal,
    project_id: int,
    action: MoveAction,
    ip: str | None = None,
) -> MoveView:
    """Cancel, resume or confirm the project's latest move, as ``models/move_states.py``
    allows from its state. Cancelling drops what was copied (the mover does it); confirming
    deletes the old copy (the mover does it, after copying any late import it finds there)."""
    transition = TRANSITIONS[action]
    if action is MoveAction.REQUEST:
        raise ValueError("use request_move")
    with store.sessions() as session:
        require(session, actor, project_id, transition.needs)
        project = lock_project(session, project_id)
        move = latest_move(session, project_id)
        state = None if move is None else move.state
        refusal = transition.refusal(project.name, state)
        if refusal:
            raise MoveRequestError(refusal)
        before = move.state
        move.state = transition.target(before)
        move.detail = "" if action is MoveAction.RESUME else move.detail
        move.lease_owner = move.lease_until = None  # the mover takes it up afresh
        audit(
            session,
            actor.label,
            f"project.move.{action}",
            "project",
            project_id,
            ip=ip,
            move=move.id,
            before=str(before),
            after=str(move.state),
        )
        session.commit()
        return view_of(session, move)
