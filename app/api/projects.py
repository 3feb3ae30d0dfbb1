"""Projects and their members.

Anyone with a valid token may make a project and becomes its owner. A project's name is also
the ``project`` label of its curves in ClickHouse, so a name that labels curves already (curves
imported from the command line, not yet adopted by a project) is refused: taking it would hand
those curves to whoever asked first.

Member changes follow :func:`models.access.may_grant` (admins manage admins, engineers and
viewers; only owners make or remove owners), and a project never loses its last owner.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session

from app.api.errors import conflict
from app.api.handler import Call
from app.api.moves import move_out
from app.api.registry import API
from app.api.schemas import (
    HomeOut,
    MemberAdd,
    MemberChange,
    MemberOut,
    Page,
    Paging,
    ProjectChange,
    ProjectCreate,
    ProjectOut,
)
from app.api.scope import page_list, project_in
from app.homes.moves import latest_move, view_of
from app.services import Services
from models import members
from models.access import Action, visible_projects
from models.placement import set_residency
from models.tables import Project, ProjectMember, Role
from pipelines import projects
from pipelines.homes import Home

TAG = "projects"


def home_out(home: Home) -> HomeOut:
    return HomeOut(
        kind="builtin" if home.builtin else "cluster",
        cluster_id=home.cluster_id,
        name="built-in engine" if home.builtin else home.label.removeprefix("cluster "),
        status=home.status,
        region=home.region,
    )


def project_out(services: Services, project: Project, role: Role) -> ProjectOut:
    """The project, with its home and its latest move (read in the project's session)."""
    home = services.homes.of_row(project)
    session = object_session(project)
    move = None if session is None else latest_move(session, project.id)
    return ProjectOut(
        id=project.id,
        name=project.name,
        organisation=project.organisation.name,
        role=role,
        created_at=project.created_at,
        home=home_out(home),
        residency=project.residency,
        move=None if move is None else move_out(view_of(session, move)),
    )


def member_out(member: ProjectMember) -> MemberOut:
    user, team = member.user, member.team
    return MemberOut(
        user_id=member.user_id,
        email=user.email if user else None,
        display_name=user.display_name if user else None,
        team_id=member.team_id,
        team=team.name if team else None,
        role=member.role,
    )


@API.route(
    "GET",
    "/api/projects",
    "Projects I am a member of",
    query=Paging,
    response=Page[ProjectOut],
    tag=TAG,
)
def list_projects(call: Call) -> Page[ProjectOut]:
    with call.store.sessions() as session:
        visible = visible_projects(session, call.who)
        items = [project_out(call.services, p, role) for p, role in visible if role]
        return page_list(items, call.query)


@API.route(
    "POST",
    "/api/projects",
    "Make a project; you become its owner",
    body=ProjectCreate,
    response=ProjectOut,
    status=201,
    errors=(409,),
    tag=TAG,
)
def create_project(call: Call) -> ProjectOut:
    body = call.body
    with call.store.sessions() as session:
        try:
            project = projects.create_project(
                session=session,
                homes=call.services.homes,
                actor=call.who,
                name=body.name,
                cluster_id=body.cluster_id,
                residency=body.residency,
                ip=call.ip,
            )
            session.commit()
        except IntegrityError:  # made by someone else since the check
            raise conflict(f"A project named {body.name!r} exists already.") from None
        return project_out(call.services, project, Role.OWNER)


@API.route(
    "GET",
    "/api/projects/{project_id}",
    "One project",
    response=ProjectOut,
    permission=Action.VIEW,
    tag=TAG,
)
def get_project(call: Call) -> ProjectOut:
    with call.store.sessions() as session:
        project, role = project_in(session, call, call.path["project_id"], Action.VIEW)
        return project_out(call.services, project, role)


@API.route(
    "PATCH",
    "/api/projects/{project_id}",
    "Change a project's settings: its residency group",
    body=ProjectChange,
    response=ProjectOut,
    errors=(403, 409),
    permission=Action.SET_RESIDENCY,
    tag=TAG,
)
def change_project(call: Call) -> ProjectOut:
    with call.store.sessions() as session:
        project_id = call.path["project_id"]
        project, role = project_in(session, call, project_id, Action.SET_RESIDENCY)
        set_residency(
            session=session,
            actor=call.who,
            project_id=project_id,
            group=call.body.residency,
            builtin_region=call.services.homes.builtin.region,
            ip=call.ip,
        )
        session.commit()
        return project_out(call.services, project, role)


@API.route(
    "GET",
    "/api/projects/{project_id}/members",
    "Members of a project",
    query=Paging,
    response=Page[MemberOut],
    permission=Action.VIEW,
    tag=TAG,
)
def list_members(call: Call) -> Page[MemberOut]:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        members = sorted(
            project.members,
            key=lambda m: (m.user.email if m.user else "", m.team.name if m.team else ""),
        )
        return page_list([member_out(m) for m in members], call.query)


@API.route(
    "POST",
    "/api/projects/{project_id}/members",
    "Add an existing user to a project",
    body=MemberAdd,
    response=MemberOut,
    status=201,
    errors=(403, 409),
    permission=Action.MANAGE_MEMBERS,
    tag=TAG,
)
def add_member(call: Call) -> MemberOut:
    body = call.body
    with call.store.sessions() as session:
        member = members.add_member(
            session=session,
            actor=call.who,
            project_id=call.path["project_id"],
            email=body.email,
            role=body.role,
            ip=call.ip,
        )
        session.commit()
        return member_out(member)


@API.route(
    "PATCH",
    "/api/projects/{project_id}/members/{user_id}",
    "Change a member's role",
    body=MemberChange,
    response=MemberOut,
    errors=(403, 409),
    permission=Action.MANAGE_MEMBERS,
    tag=TAG,
)
def change_member(call: Call) -> MemberOut:
    with call.store.sessions() as session:
        member = members.change_role(
            session=session,
            actor=call.who,
            project_id=call.path["project_id"],
            user_id=call.path["user_id"],
            role=call.body.role,
            ip=call.ip,
        )
        session.commit()
        return member_out(member)


@API.route(
    "DELETE",
    "/api/projects/{project_id}/members/{user_id}",
    "Remove a member",
    status=204,
    errors=(403, 409),
    permission=Action.MANAGE_MEMBERS,
    tag=TAG,
)
def remove_member(call: Call) -> None:
    with call.store.sessions() as session:
        members.remove_member(
            session=session,
            actor=call.who,
            project_id=call.path["project_id"],
            user_id=call.path["user_id"],
            ip=call.ip,
        )
        session.commit()
