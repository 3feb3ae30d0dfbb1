"""Teams, their members, and the roles teams are granted in projects.

A team gives each of its members its project roles; a person's role in a project is the highest
of their own grant and their teams' (``models/access.py``). Anyone with a valid token may make a
team and becomes its owner. A team's owners and admins manage its members, with the same
:func:`models.access.may_grant` rules as a project's (only owners make or remove owners), and a
team never loses its last owner. A project's admins grant a role there to a team they are in;
only its owners grant owner. A team you are not in answers 404, like one that does not exist.

A project's open invitations are listed and revoked here too, by those who may invite
(:func:`models.members.open_invitations`); a revoked link is refused like one never made.

The rules are :mod:`models.teams`'s, shared with the Team page; this module only translates.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from app.api.errors import conflict
from app.api.handler import Call
from app.api.projects import member_out
from app.api.registry import API
from app.api.schemas import (
    InvitationOut,
    MemberOut,
    Page,
    Paging,
    TeamCreate,
    TeamDetailOut,
    TeamGrant,
    TeamMemberAdd,
    TeamMemberOut,
    TeamOut,
    TeamProjectOut,
)
from app.api.scope import page_list
from models import members, teams
from models.access import Action, NotFound
from models.tables import Invitation, Role, Team, TeamMember, utcnow

TAG = "teams"
TEAM_ROLE = "The role that counts is yours in the team, not in a project."


def team_out(team: Team, role: Role) -> TeamOut:
    return TeamOut(id=team.id, name=team.name, role=role, created_at=team.created_at)


def team_member_out(member: TeamMember) -> TeamMemberOut:
    return TeamMemberOut(
        user_id=member.user_id,
        email=member.user.email,
        display_name=member.user.display_name,
        role=member.role,
    )


@API.route(
    "GET",
    "/api/teams",
    "Teams I am in, with my role in each",
    query=Paging,
    response=Page[TeamOut],
    tag=TAG,
)
def list_teams(call: Call) -> Page[TeamOut]:
    with call.store.sessions() as session:
        items = [team_out(t, role) for t, role in teams.teams_of(session, call.who) if role]
        return page_list(items, call.query)


@API.route(
    "POST",
    "/api/teams",
    "Make a team; you become its owner",
    body=TeamCreate,
    response=TeamOut,
    status=201,
    errors=(409,),
    tag=TAG,
)
def create_team(call: Call) -> TeamOut:
    name = call.body.name
    with call.store.sessions() as session:
        try:
            team = teams.create_team(session=session, actor=call.who, name=name, ip=call.ip)
            session.commit()
        except IntegrityError:  # made by someone else since the check
            raise conflict(f"A team named {name!r} exists already.") from None
        return team_out(team, Role.OWNER)


@API.route(
    "GET",
    "/api/teams/{team_id}",
    "One team: its members and the projects it has a role in",
    response=TeamDetailOut,
    tag=TAG,
    description="Only the team's members see it; anyone else gets 404.",
)
def get_team(call: Call) -> TeamDetailOut:
    team_id = call.path["team_id"]
    with call.store.sessions() as session:
        mine = {team.id: (team, role) for team, role in teams.teams_of(session, call.who)}
        if team_id not in mine:  # left the team since the handler admitted the request
            raise NotFound(f"There is no team {team_id}, or you are not a member of it.")
        team, role = mine[team_id]
        ids = {grant.project.name: grant.project_id for grant in team.project_memberships}
        members = sorted(team.members, key=lambda m: (m.user.email, m.user_id))
        return TeamDetailOut(
            **team_out(team, role).model_dump(),
            members=[team_member_out(m) for m in members],
            projects=[
                TeamProjectOut(id=ids[name], name=name, role=project_role)
                for name, project_role in teams.project_names(session, team)
            ],
        )


@API.route(
    "POST",
    "/api/teams/{team_id}/members",
    "Add an existing user to a team",
    body=TeamMemberAdd,
    response=TeamMemberOut,
    status=201,
    errors=(403, 409),
    permission=Action.MANAGE_MEMBERS,
    tag=TAG,
    description=TEAM_ROLE,
)
def add_team_member(call: Call) -> TeamMemberOut:
    body = call.body
    with call.store.sessions() as session:
        try:
            member = teams.add_to_team(
                session=session,
                actor=call.who,
                team_id=call.path["team_id"],
                email=body.email,
                role=body.role,
                ip=call.ip,
            )
            session.commit()
        except IntegrityError:  # added by someone else since the check
            raise conflict(f"{body.email} is in this team already.") from None
        return team_member_out(member)


@API.route(
    "DELETE",
    "/api/teams/{team_id}/members/{user_id}",
    "Remove a member from a team",
    status=204,
    errors=(403, 409),
    permission=Action.MANAGE_MEMBERS,
    tag=TAG,
    description=f"{TEAM_ROLE} A team keeps at least one owner (409).",
)
def remove_team_member(call: Call) -> None:
    with call.store.sessions() as session:
        teams.remove_from_team(
            session=session,
            actor=call.who,
            team_id=call.path["team_id"],
            user_id=call.path["user_id"],
            ip=call.ip,
        )
        session.commit()


@API.route(
    "PUT",
    "/api/projects/{project_id}/teams/{team_id}",
    "Grant a team a role in a project, or change the role it has there",
    body=TeamGrant,
    response=MemberOut,
    errors=(403, 409),
    permission=Action.MANAGE_MEMBERS,
    tag=TAG,
    description="Every member of the team gets the role in the project (their own grant wins "
    "when it is higher). A new grant goes only to a team you are in: any other team answers "
    "404, as one that does not exist. Only owners grant owner.",
)
def grant_team(call: Call) -> MemberOut:
    with call.store.sessions() as session:
        try:
            grant = teams.grant_team(
                session=session,
                actor=call.who,
                project_id=call.path["project_id"],
                team_id=call.path["team_id"],
                role=call.body.role,
                ip=call.ip,
            )
            session.commit()
        except IntegrityError:  # granted by someone else at the same moment
            raise conflict("The team was granted a role here at the same moment; retry.") from None
        return member_out(grant)


@API.route(
    "DELETE",
    "/api/projects/{project_id}/teams/{team_id}",
    "Take a team's role in a project away",
    status=204,
    errors=(403,),
    permission=Action.MANAGE_MEMBERS,
    tag=TAG,
    description="Only owners take away a team's owner role.",
)
def revoke_team(call: Call) -> None:
    with call.store.sessions() as session:
        teams.revoke_team(
            session=session,
            actor=call.who,
            project_id=call.path["project_id"],
            team_id=call.path["team_id"],
            ip=call.ip,
        )
        session.commit()


def invitation_out(invitation: Invitation) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        invited_by=invitation.invited_by,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        expired=invitation.expires_at <= utcnow(),
    )


@API.route(
    "GET",
    "/api/projects/{project_id}/invitations",
    "Invitations to a project nobody has accepted yet",
    query=Paging,
    response=Page[InvitationOut],
    errors=(403,),
    permission=Action.MANAGE_MEMBERS,
    tag="projects",
    description="Oldest first, expired ones too (``expired``). For those who may invite; the "
    "links themselves are shown only when made.",
)
def list_invitations(call: Call) -> Page[InvitationOut]:
    with call.store.sessions() as session:
        rows = members.open_invitations(
            session=session, actor=call.who, project_id=call.path["project_id"]
        )
        return page_list([invitation_out(i) for i in rows], call.query)


@API.route(
    "DELETE",
    "/api/projects/{project_id}/invitations/{invitation_id}",
    "Revoke an invitation: its link stops working",
    status=204,
    errors=(403,),
    permission=Action.MANAGE_MEMBERS,
    tag="projects",
    description="Only owners revoke an invitation to become owner. An invitation accepted or "
    "revoked already answers 404. The audit trail records it (member.invite.revoke).",
)
def revoke_invitation(call: Call) -> None:
    with call.store.sessions() as session:
        members.revoke_invitation(
            session=session,
            actor=call.who,
            project_id=call.path["project_id"],
            invitation_id=call.path["invitation_id"],
            ip=call.ip,
        )
        session.commit()
