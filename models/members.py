"""Changing who is in a project: add, change a role, remove, invite, list and revoke
invitations. One set of rules for the Team page and the REST API.

Admins manage members below owner; only owners make or remove owners (:func:`may_grant`). A
project never loses its last owner. Every change writes an audit row in the same transaction.
Each change is a use case: keyword-only arguments, ``session`` first, then ``actor``, who asks.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import accounts
from models.access import Action, Forbidden, Principal, may_grant, require
from models.audit import audit
from models.tables import Invitation, Project, ProjectMember, Role


class MemberError(accounts.AccountError):
    """A member change that cannot be made; the message says why."""


class MemberConflict(MemberError):
    """The change clashes with what is there: a member already, the last owner."""


class NoSuchMember(MemberError):
    """The person or team named is not a member."""


class NoSuchInvitation(NoSuchMember):
    """No open invitation with that id in the project: accepted, revoked, or never made."""


def _manage(session: Session, actor: Principal, project_id: int) -> tuple[Project, Role | None]:
    role = require(session, actor, project_id, Action.MANAGE_MEMBERS)
    # PostgreSQL: member changes of one project run one after another (SQLite locks anyway).
    session.execute(sa.select(Project.id).where(Project.id == project_id).with_for_update())
    return session.get(Project, project_id), role


def check_grant(actor: Principal, granter: Role | None, role: Role, verb: str) -> None:
    """Refuse ``verb`` (``"make a member"``) ``role`` by someone whose role is ``granter``."""
    if not actor.is_operator and not may_grant(granter, role):
        raise Forbidden(
            f"Your role is {granter}; it may not {verb} {role}. Only owners manage owners, "
            "and only owners and admins manage members."
        )


def _member(session: Session, project_id: int, user_id: int) -> ProjectMember:
    member = session.scalar(
        sa.select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )
    if member is None:
        raise NoSuchMember(f"User {user_id} is not a member of this project.")
    return member


def _keep_an_owner(session: Session, project: Project) -> None:
    session.flush()
    owners = session.scalar(
        sa.select(sa.func.count())
        .select_from(ProjectMember)
        .where(
            ProjectMember.project_id == project.id,
            ProjectMember.user_id.is_not(None),
            ProjectMember.role == Role.OWNER,
        )
    )
    if not owners:
        raise MemberConflict(
            f"{project.name} would have no owner left; make someone else owner first."
        )


def add_member(
    *,
    session: Session,
    actor: Principal,
    project_id: int,
    email: str,
    role: Role,
    ip: str | None = None,
) -> ProjectMember:
    project, granter = _manage(session, actor, project_id)
    check_grant(actor, granter, role, "add a member as")
    user = accounts.find_user(session, email)
    if user is None:
        raise MemberError(f"There is no account for {email}; invite them instead.")
    if any(m.user_id == user.id for m in project.members):
        raise MemberConflict(f"{user.email} is a member of {project.name} already.")
    member = ProjectMember(project=project, user=user, role=role)
    session.add(member)
    session.flush()
    audit(
        session,
        actor.label,
        "member.add",
        "project",
        project.id,
        ip=ip,
        email=user.email,
        role=role,
    )
    return member


def change_role(
    *,
    session: Session,
    actor: Principal,
    project_id: int,
    user_id: int,
    role: Role,
    ip: str | None = None,
) -> ProjectMember:
    project, granter = _manage(session, actor, project_id)
    member = _member(session, project.id, user_id)
    before = member.role
    check_grant(actor, granter, before, "change the role of a member who is")
    check_grant(actor, granter, role, "make a member")
    member.role = role
    _keep_an_owner(session, project)
    audit(
        session,
        actor.label,
        "member.role",
        "project",
        project.id,
        ip=ip,
        email=member.user.email,
        before=str(before),
        role=str(role),
    )
    return member


def remove_member(
    *, session: Session, actor: Principal, project_id: int, user_id: int, ip: str | None = None
) -> None:
    project, granter = _manage(session, actor, project_id)
    member = _member(session, project.id, user_id)
    check_grant(actor, granter, member.role, "remove a member who is")
    email, role = member.user.email, member.role
    session.delete(member)
    _keep_an_owner(session, project)
    audit(
        session, actor.label, "member.remove", "project", project.id, ip=ip, email=email, role=role
    )


def invite_member(
    *, session: Session, actor: Principal, project_id: int, email: str, role: Role
) -> tuple[str, Invitation]:
    """A one-time link for ``email`` to join as ``role``: ``(secret, row)``."""
    project, granter = _manage(session, actor, project_id)
    check_grant(actor, granter, role, "invite a member as")
    return accounts.invite(session=session, actor=actor, project=project, email=email, role=role)


def open_invitations(*, session: Session, actor: Principal, project_id: int) -> list[Invitation]:
    """The project's invitations nobody has accepted yet, expired ones too, oldest first: for
    those who may invite (and revoke), since each row names an address and a role."""
    require(session, actor, project_id, Action.MANAGE_MEMBERS)
    return list(
        session.scalars(
            sa.select(Invitation)
            .where(Invitation.project_id == project_id, Invitation.accepted_at.is_(None))
            .order_by(Invitation.created_at, Invitation.id)
        )
    )


def revoke_invitation(
    *,
    session: Session,
    actor: Principal,
    project_id: int,
    invitation_id: int,
    ip: str | None = None,
) -> Invitation:
    """Delete an open invitation, so its link is refused like one never made. Revoking
    follows the rules of inviting: only owners revoke an invitation to become owner."""
    project, granter = _manage(session, actor, project_id)
    invitation = session.get(Invitation, invitation_id)
    if (
        invitation is None
        or invitation.project_id != project.id
        or invitation.accepted_at is not None
    ):
        raise NoSuchInvitation(
            f"{project.name} has no open invitation {invitation_id} (accepted, revoked, or "
            "never made)."
        )
    check_grant(actor, granter, invitation.role, "revoke an invitation as")
    session.delete(invitation)
    audit(
        session,
        actor.label,
        "member.invite.revoke",
        "project",
        project.id,
        ip=ip,
        email=invitation.email,
        role=str(invitation.role),
        invited_by=invitation.invited_by,
    )
    return invitation
