"""Projects and their members.

Anyone with a valid token may make a project and becomes its owner. A project's name is also
the ``project`` label of its curves in ClickHouse, so a name that labels curves already (curves
imported from the command line, not yet adopted by a project) is refused: taking it would hand
those curves to whoever asked first.

Member changes follow :func:`models.access.may_grant` (admins manage admins, engineers and
viewers; only owners make or remove owners), and a project never loses its last owner.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.api.errors import conflict, invalid, not_found
from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import (
    MemberAdd,
    MemberChange,
    MemberOut,
    Page,
    Paging,
    ProjectCreate,
    ProjectOut,
)
from app.api.scope import curve_store, page_list, project_in
from models import accounts
from models.access import Action, Forbidden, may_grant, visible_projects
from models.tables import Organisation, Project, ProjectMember, Role

TAG = "projects"


def project_out(project: Project, role: Role) -> ProjectOut:
    return ProjectOut(
        id=project.id,
        name=project.name,
        organisation=project.organisation.name,
        role=role,
        created_at=project.created_at,
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
        items = [project_out(p, role) for p, role in visible_projects(session, call.who) if role]
        return page_list(items, call.query)


def _label_in_use(call: Call, name: str) -> bool:
    """Whether curves labelled ``name`` are stored already."""
    store = curve_store(call.settings)
    return bool(
        store.client.query(
            f"SELECT count() FROM {store.db}.datasets WHERE project = {{p:String}}",
            parameters={"p": name},
        ).result_rows[0][0]
    )


def _organisation(session: Session) -> Organisation:
    """The organisation new projects go into: the first one (one per installation today)."""
    found = session.scalar(sa.select(Organisation).order_by(Organisation.id).limit(1))
    if found is None:
        found = Organisation(name=accounts.LOCAL_ORGANISATION)
        session.add(found)
    return found


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
    name = call.body.name
    taken = f"A project named {name!r} exists already; choose another name."
    with call.store.sessions() as session:
        if session.scalar(sa.select(Project.id).where(Project.name == name)) is not None:
            raise conflict(taken)
    if _label_in_use(call, name):
        raise conflict(
            f"Curves labelled {name!r} are stored already, outside any project; the operator "
            "gives them a project (`curvehouse serve` does at start). Choose another name."
        )
    with call.store.sessions() as session:
        project = Project(organisation=_organisation(session), name=name)
        project.members = [ProjectMember(user_id=call.who.user_id, role=Role.OWNER)]
        session.add(project)
        try:
            session.flush()
        except IntegrityError:
            raise conflict(taken) from None
        accounts.audit(
            session, call.who.label, "project.create", "project", project.id, call.ip, name=name
        )
        session.commit()
        return project_out(project, Role.OWNER)


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
        return project_out(project, role)


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


def _grant(session: Session, project_id: int, user_id: int) -> ProjectMember:
    member = session.scalar(
        sa.select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )
    if member is None:
        raise not_found(f"User {user_id} is not a member of this project.")
    return member


def _may(granter: Role | None, role: Role, verb: str) -> None:
    if not may_grant(granter, role):
        raise Forbidden(
            f"Your role is {granter}; it may not {verb} {role}. Only owners manage owners, "
            "and only owners and admins manage members."
        )


def _keep_an_owner(session: Session, project: Project) -> None:
    """Refuse (after the change, in its transaction) a project left without an owner."""
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
        session.rollback()
        raise conflict(f"{project.name} would have no owner left; make someone else owner first.")


def _locked(session: Session, call: Call, action: Action) -> tuple[Project, Role | None]:
    project, role = project_in(session, call, call.path["project_id"], action)
    # PostgreSQL: member changes of one project run one after another (SQLite locks anyway).
    session.execute(sa.select(Project.id).where(Project.id == project.id).with_for_update())
    return project, role


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
        project, granter = _locked(session, call, Action.MANAGE_MEMBERS)
        _may(granter, body.role, "add a member as")
        user = accounts.find_user(session, body.email)
        if user is None:
            raise invalid(
                f"There is no account for {body.email}; invite them from the Team page instead."
            )
        if any(m.user_id == user.id for m in project.members):
            raise conflict(f"{user.email} is a member of {project.name} already.")
        member = ProjectMember(project=project, user=user, role=body.role)
        session.add(member)
        session.flush()
        accounts.audit(
            session,
            call.who.label,
            "member.add",
            "project",
            project.id,
            call.ip,
            email=user.email,
            role=str(body.role),
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
        project, granter = _locked(session, call, Action.MANAGE_MEMBERS)
        member = _grant(session, project.id, call.path["user_id"])
        before, after = member.role, call.body.role
        _may(granter, before, "change the role of a member who is")
        _may(granter, after, "make a member")
        member.role = after
        _keep_an_owner(session, project)
        accounts.audit(
            session,
            call.who.label,
            "member.role",
            "project",
            project.id,
            call.ip,
            email=member.user.email,
            before=str(before),
            role=str(after),
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
        project, granter = _locked(session, call, Action.MANAGE_MEMBERS)
        member = _grant(session, project.id, call.path["user_id"])
        _may(granter, member.role, "remove a member who is")
        email, role = member.user.email, member.role
        session.delete(member)
        _keep_an_owner(session, project)
        accounts.audit(
            session,
            call.who.label,
            "member.remove",
            "project",
            project.id,
            call.ip,
            email=email,
            role=str(role),
        )
        session.commit()
