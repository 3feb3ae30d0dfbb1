"""Who may do what: the permission matrix as data, and the one check every caller makes.

A person's role in a project is the highest of their own grant and the grants of the teams they
belong to. The browser pages and the REST API both call :func:`require` inside the session that
then changes the data, so a check and the change it guards see the same rows.

A project a person has no role in does not exist for them: :func:`require` raises
:class:`NotFound` there, not :class:`Forbidden`, so project ids cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.audit import audit
from models.tables import Project, ProjectMember, Role, TeamMember, User

# Most to least: a role may do everything a later one may.
RANK = {Role.OWNER: 4, Role.ADMIN: 3, Role.ENGINEER: 2, Role.VIEWER: 1}


class Action(StrEnum):
    VIEW = "view"  # curves, datasets, clusters and their metrics, members
    IMPORT_DATA = "import_data"
    EXPORT_DATA = "export_data"
    OPERATE_CLUSTER = "operate_cluster"  # start, stop, retry
    CREATE_CLUSTER = "create_cluster"  # also resize: both change what the plant pays
    DELETE_CLUSTER = "delete_cluster"
    REVEAL_SECRETS = "reveal_secrets"  # connection passwords
    MANAGE_MEMBERS = "manage_members"  # and invitations
    VIEW_AUDIT = "view_audit"  # and export it
    DELETE_PROJECT = "delete_project"
    # Placing a project on a cluster (at creation or by a move) also needs create_cluster in the
    # cluster's owning project: the home's owner pays for what it stores.
    MOVE_PROJECT = "move_project"
    SET_RESIDENCY = "set_residency"
    # Ingest tokens: broker logins that may publish the project's curves over MQTT.
    GRANT_INGEST = "grant_ingest"
    # Broker feeds: a plant broker's topic mapped to the project, read with the owner's login.
    MAP_FEEDS = "map_feeds"
    # Evaluation rules: create, edit (a new version once judged), retire.
    EDIT_RULES = "edit_rules"
    # Saved views: anyone who views a project saves private ones; sharing one with the project
    # (and changing one's own shared view) needs share_views, changing others' manage_views.
    SHARE_VIEWS = "share_views"
    MANAGE_VIEWS = "manage_views"


LEAST_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.VIEWER,
    Action.IMPORT_DATA: Role.ENGINEER,
    Action.EXPORT_DATA: Role.ENGINEER,
    Action.OPERATE_CLUSTER: Role.ENGINEER,
    Action.REVEAL_SECRETS: Role.ENGINEER,
    Action.EDIT_RULES: Role.ENGINEER,
    Action.SHARE_VIEWS: Role.ENGINEER,
    Action.CREATE_CLUSTER: Role.ADMIN,
    Action.DELETE_CLUSTER: Role.ADMIN,
    Action.MANAGE_MEMBERS: Role.ADMIN,
    Action.VIEW_AUDIT: Role.ADMIN,
    Action.GRANT_INGEST: Role.ADMIN,
    Action.MANAGE_VIEWS: Role.ADMIN,
    Action.DELETE_PROJECT: Role.OWNER,
    Action.MOVE_PROJECT: Role.OWNER,
    Action.MAP_FEEDS: Role.OWNER,
    Action.SET_RESIDENCY: Role.OWNER,
}


def allows(role: Role | None, action: Action) -> bool:
    return role is not None and RANK[role] >= RANK[LEAST_ROLE[action]]


def may_grant(granter: Role | None, role: Role) -> bool:
    """Admins manage engineers and viewers and other admins; only owners make or remove owners."""
    if not allows(granter, Action.MANAGE_MEMBERS):
        return False
    return role != Role.OWNER or granter == Role.OWNER


class AccessError(PermissionError):
    """Refused: the person may not do this (the message says which role would)."""


class Forbidden(AccessError):
    """The person sees the project or team, but their role there does not allow this."""


class NotFound(AccessError):
    """What the person asked about does not exist for them: missing, or not theirs to see."""


@dataclass(frozen=True)
class Principal:
    """Who acts. ``user_id`` None is the machine's own operator (the CLI, the poller, tests run
    in-process): whoever can run code beside the metadata store can change it anyway."""

    label: str
    user_id: int | None = None

    @property
    def is_operator(self) -> bool:
        return self.user_id is None

    def __str__(self) -> str:
        return self.label


def operator(label: str = "operator") -> Principal:
    return Principal(label)


def _grants(user_id: int) -> sa.Select:
    """(project id, role) of every grant that reaches the user: their own and their teams'."""
    direct = sa.select(ProjectMember.project_id, ProjectMember.role).where(
        ProjectMember.user_id == user_id
    )
    via_team = (
        sa.select(ProjectMember.project_id, ProjectMember.role)
        .join(TeamMember, TeamMember.team_id == ProjectMember.team_id)
        .where(TeamMember.user_id == user_id)
    )
    return direct.union_all(via_team)


def roles_of(session: Session, user_id: int) -> dict[int, Role]:
    """Project id -> the user's effective role there, the highest grant winning."""
    best: dict[int, Role] = {}
    for project_id, role in session.execute(_grants(user_id)):
        role = Role(role)
        if project_id not in best or RANK[role] > RANK[best[project_id]]:
            best[project_id] = role
    return best


def role_in(session: Session, user_id: int, project_id: int) -> Role | None:
    """The user's effective role in the project: own grant or a team's, the highest wins."""
    return roles_of(session, user_id).get(project_id)


def require(session: Session, who: Principal, project_id: int, action: Action) -> Role | None:
    """Return the role that allows ``action``, or raise. The operator needs no role."""
    if who.is_operator:
        return None
    role = role_in(session, who.user_id, project_id)
    if role is None or session.get(Project, project_id) is None:
        raise NotFound(f"No project {project_id}, or you are not a member of it.")
    if not allows(role, action):
        least = LEAST_ROLE[action]
        raise Forbidden(
            f"Your role in this project is {role}; {action.replace('_', ' ')} needs {least} "
            "or higher. Ask a project admin."
        )
    return role


def visible_projects(session: Session, who: Principal) -> list[tuple[Project, Role | None]]:
    """The projects ``who`` may see, with their role (None for the operator), by name."""
    query = sa.select(Project).order_by(Project.name, Project.id)
    if who.is_operator:
        return [(p, None) for p in session.scalars(query)]
    roles = roles_of(session, who.user_id)
    return [(p, roles[p.id]) for p in session.scalars(query.where(Project.id.in_(roles)))]


def people_who_may(session: Session, project_id: int, action: Action) -> list[User]:
    """The people whose role in the project allows ``action``, directly or through a team, by
    name: whom to ask when you may not do it yourself."""
    roles = [role for role in Role if allows(role, action)]
    direct = sa.select(ProjectMember.user_id).where(
        ProjectMember.project_id == project_id, ProjectMember.role.in_(roles)
    )
    via_team = (
        sa.select(TeamMember.user_id)
        .join(ProjectMember, ProjectMember.team_id == TeamMember.team_id)
        .where(ProjectMember.project_id == project_id, ProjectMember.role.in_(roles))
    )
    chosen = sa.select(User).where(User.id.in_(direct.union(via_team)))
    return list(session.scalars(chosen.order_by(User.display_name, User.email)))


def readable_projects(session: Session, who: Principal) -> tuple[str, ...] | None:
    """The curve project labels ``who`` may view (a metadata project's name is its curves'
    ``project`` label); None for the operator, who sees every curve."""
    if who.is_operator:
        return None
    return tuple(p.name for p, role in visible_projects(session, who) if allows(role, Action.VIEW))


def record_export(
    *, session: Session, actor: Principal, kind: str, projects: tuple[str, ...] | None
) -> None:
    """Allow an export from the pages only with ``export_data`` in every project it covers
    (``projects`` None: every project ``actor`` sees), and add it to the audit trail; raises
    :class:`Forbidden` otherwise. The caller commits."""
    if actor.is_operator:
        return
    roles = {p.name: p for p, _ in visible_projects(session, actor)}
    names = projects if projects is not None else tuple(roles)
    for name in names:
        require(session, actor, roles[name].id, Action.EXPORT_DATA)
    for name in names:
        audit(session, actor.label, "curves.export", "project", roles[name].id, kind=kind)
