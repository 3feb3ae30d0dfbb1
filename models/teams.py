"""Teams: groups of people that are granted a role in projects as one.

A team's owners and admins manage its members (the same :func:`may_grant` rules as projects,
with the team role in place of the project role); a project's admins grant a team a role there,
but only a team they are in: a team is never handed a project by a stranger (and then shows its
members data someone else chose).
A member of a team gets the team's project roles; a person's role in a project is the highest
of their own grant and their teams' grants (``models/access.py``). A team never loses its last
owner. A team you are not in does not exist for you, as with projects.

Each change is a use case, called as in :mod:`models.members`: keyword-only arguments,
``session`` first, then ``actor``, who asks.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import accounts
from models.access import (
    RANK,
    Action,
    Forbidden,
    NotFound,
    Principal,
    allows,
    require,
)
from models.audit import audit
from models.members import MemberConflict, MemberError, NoSuchMember, check_grant
from models.tables import Project, ProjectMember, Role, Team, TeamMember


def team_role(session: Session, user_id: int, team_id: int) -> Role | None:
    return session.scalar(
        sa.select(TeamMember.role).where(
            TeamMember.team_id == team_id, TeamMember.user_id == user_id
        )
    )


def _team(
    session: Session, actor: Principal, team_id: int, manage: bool
) -> tuple[Team, Role | None]:
    """The team with the caller's role in it; :class:`NotFound` for outsiders,
    :class:`Forbidden` for a member who may not manage it when ``manage``."""
    team = session.get(Team, team_id)
    role = None if actor.is_operator else team_role(session, actor.user_id, team_id)
    if team is None or (role is None and not actor.is_operator):
        raise NotFound(f"No team {team_id}, or you are not a member of it.")
    if manage and not actor.is_operator and not allows(role, Action.MANAGE_MEMBERS):
        raise Forbidden(f"Your role in team {team.name} is {role}; managing it needs admin.")
    return team, role


def teams_of(session: Session, who: Principal) -> list[tuple[Team, Role | None]]:
    """The teams ``who`` is in, with their role there (every team, role None, for the
    operator), by name."""
    if who.is_operator:
        teams = session.scalars(sa.select(Team).order_by(Team.name, Team.id))
        return [(t, None) for t in teams]
    rows = session.execute(
        sa.select(Team, TeamMember.role)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == who.user_id)
        .order_by(Team.name, Team.id)
    )
    return [(team, Role(role)) for team, role in rows]


def create_team(*, session: Session, actor: Principal, name: str, ip: str | None = None) -> Team:
    """A new team in the first organisation; whoever makes it is its owner."""
    name = accounts.new_group_name(session, Team, name)
    team = Team(organisation=accounts.default_project(session).organisation, name=name)
    if not actor.is_operator:
        team.members = [TeamMember(user_id=actor.user_id, role=Role.OWNER)]
    session.add(team)
    session.flush()
    audit(session, actor.label, "team.create", "team", team.id, ip=ip, name=name)
    return team


def add_to_team(
    *,
    session: Session,
    actor: Principal,
    team_id: int,
    email: str,
    role: Role,
    ip: str | None = None,
) -> TeamMember:
    team, granter = _team(session, actor, team_id, manage=True)
    check_grant(actor, granter, role, "add a team member as")
    user = accounts.find_user(session, email)
    if user is None:
        raise MemberError(f"There is no account for {email}; invite them to a project first.")
    if team_role(session, user.id, team.id) is not None:
        raise MemberConflict(f"{user.email} is in team {team.name} already.")
    member = TeamMember(team=team, user=user, role=role)
    session.add(member)
    session.flush()
    audit(
        session, actor.label, "team.member.add", "team", team.id, ip=ip, email=user.email, role=role
    )
    return member


def remove_from_team(
    *, session: Session, actor: Principal, team_id: int, user_id: int, ip: str | None = None
) -> None:
    team, granter = _team(session, actor, team_id, manage=True)
    member = session.get(TeamMember, (team_id, user_id))
    if member is None:
        raise NoSuchMember(f"User {user_id} is not in team {team.name}.")
    check_grant(actor, granter, member.role, "remove a team member who is")
    email, role = member.user.email, member.role
    session.delete(member)
    session.flush()
    owners = session.scalar(
        sa.select(sa.func.count())
        .select_from(TeamMember)
        .where(TeamMember.team_id == team_id, TeamMember.role == Role.OWNER)
    )
    if not owners:
        raise MemberConflict(f"Team {team.name} would have no owner left.")
    audit(
        session, actor.label, "team.member.remove", "team", team.id, ip=ip, email=email, role=role
    )


def grant_team(
    *,
    session: Session,
    actor: Principal,
    project_id: int,
    team_id: int,
    role: Role,
    ip: str | None = None,
) -> ProjectMember:
    """Give a team a role in a project (or change the role it has there).

    A new grant goes only to a team the granter is in; any other team answers as one that does
    not exist (:func:`_team`), so team ids cannot be probed. A team that has a role in the
    project already is listed among its members, so its role may be changed by the project's
    admins (within :func:`check_grant`).
    """
    granter = require(session, actor, project_id, Action.MANAGE_MEMBERS)
    check_grant(actor, granter, role, "grant a team")
    grant = session.scalar(
        sa.select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.team_id == team_id
        )
    )
    if grant is None:
        team, _ = _team(session, actor, team_id, manage=False)
        grant = ProjectMember(project_id=project_id, team=team, role=role)
        session.add(grant)
    else:
        team = grant.team
        check_grant(actor, granter, grant.role, "change the role of a team that is")
        grant.role = role
    session.flush()
    audit(
        session, actor.label, "member.team", "project", project_id, ip=ip, team=team.name, role=role
    )
    return grant


def revoke_team(
    *, session: Session, actor: Principal, project_id: int, team_id: int, ip: str | None = None
) -> None:
    granter = require(session, actor, project_id, Action.MANAGE_MEMBERS)
    grant = session.scalar(
        sa.select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.team_id == team_id
        )
    )
    if grant is None:
        raise NoSuchMember(f"Team {team_id} has no role in this project.")
    check_grant(actor, granter, grant.role, "remove a team that is")
    name = grant.team.name
    session.delete(grant)
    session.flush()
    audit(session, actor.label, "member.team_remove", "project", project_id, ip=ip, team=name)


def project_names(session: Session, team: Team) -> list[tuple[str, Role]]:
    """The projects the team has a role in, highest role first."""
    rows = session.execute(
        sa.select(Project.name, ProjectMember.role)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(ProjectMember.team_id == team.id)
    )
    return sorted(((n, Role(r)) for n, r in rows), key=lambda x: (-RANK[x[1]], x[0]))
