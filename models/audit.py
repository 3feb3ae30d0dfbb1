"""The audit trail: :func:`audit` writes every row of it, and one query reads a project's
events for the Team page and the API.

Every writer calls :func:`audit` inside the session that makes the change, so a change and its
row are committed together or not at all.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.tables import AuditEvent, Cluster, ProjectMember, TeamMember, User

SIGN_IN_ACTIONS = ("login", "login.failed", "login.locked", "logout", "session.revoke")

COLUMNS = ("at", "actor", "action", "target_type", "target_id", "detail", "ip")


def audit(
    session: Session,
    actor: str,
    action: str,
    target_type: str,
    target_id: object,
    *,
    ip: str | None = None,
    **detail: object,
) -> None:
    """Add one row: ``actor`` (an e-mail address or a label such as ``setup``) did ``action``
    (``member.add``) to ``target_type`` ``target_id``; ``detail`` is stored as JSON. Nothing
    is committed here."""
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            detail=detail,
            ip=ip,
        )
    )


def project_trail(project_id: int, action: str | None = None) -> sa.Select[tuple[AuditEvent]]:
    """What was done to the project, its members and its clusters, newest first; ``action``
    keeps the events whose action starts with it (``cluster.``, ``member.``)."""
    clusters = sa.select(sa.cast(Cluster.id, sa.String)).where(Cluster.project_id == project_id)
    events = sa.select(AuditEvent).where(
        sa.or_(
            sa.and_(AuditEvent.target_type == "project", AuditEvent.target_id == str(project_id)),
            sa.and_(AuditEvent.target_type == "cluster", AuditEvent.target_id.in_(clusters)),
        )
    )
    if action:
        events = events.where(AuditEvent.action.startswith(action, autoescape=True))
    return events.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())


def member_sign_ins(project_id: int) -> sa.Select[tuple[AuditEvent]]:
    """Sign-ins, failed ones and lockouts of the people in the project (themselves or through
    a team), newest first: what a project's admins may review."""
    direct = sa.select(ProjectMember.user_id).where(
        ProjectMember.project_id == project_id, ProjectMember.user_id.is_not(None)
    )
    via_team = (
        sa.select(TeamMember.user_id)
        .join(ProjectMember, ProjectMember.team_id == TeamMember.team_id)
        .where(ProjectMember.project_id == project_id)
    )
    emails = sa.select(User.email).where(User.id.in_(direct.union(via_team)))
    return (
        sa.select(AuditEvent)
        .where(AuditEvent.action.in_(SIGN_IN_ACTIONS), AuditEvent.actor.in_(emails))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )


def as_row(event: AuditEvent) -> dict[str, object]:
    return {column: getattr(event, column) for column in COLUMNS}
