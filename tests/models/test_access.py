"""The permission matrix: every role × every action, roles through teams, hidden projects."""

from __future__ import annotations

import pytest

from models.access import (
    LEAST_ROLE,
    RANK,
    Action,
    Forbidden,
    NotFound,
    Principal,
    allows,
    may_grant,
    operator,
    people_who_may,
    readable_projects,
    record_export,
    require,
    role_in,
    visible_projects,
)
from models.tables import (
    AuditEvent,
    Organisation,
    Project,
    ProjectMember,
    Role,
    Team,
    TeamMember,
    User,
)

# The README's matrix, written out by hand: a change to LEAST_ROLE must change this too.
EXPECTED = {
    Action.VIEW: {"owner", "admin", "engineer", "viewer"},
    Action.IMPORT_DATA: {"owner", "admin", "engineer"},
    Action.EXPORT_DATA: {"owner", "admin", "engineer"},
    Action.OPERATE_CLUSTER: {"owner", "admin", "engineer"},
    Action.REVEAL_SECRETS: {"owner", "admin", "engineer"},
    Action.EDIT_RULES: {"owner", "admin", "engineer"},
    Action.SHARE_VIEWS: {"owner", "admin", "engineer"},
    Action.CREATE_CLUSTER: {"owner", "admin"},
    Action.DELETE_CLUSTER: {"owner", "admin"},
    Action.MANAGE_MEMBERS: {"owner", "admin"},
    Action.VIEW_AUDIT: {"owner", "admin"},
    Action.GRANT_INGEST: {"owner", "admin"},
    Action.MANAGE_VIEWS: {"owner", "admin"},
    Action.DELETE_PROJECT: {"owner"},
    Action.MOVE_PROJECT: {"owner"},
    Action.SET_RESIDENCY: {"owner"},
    Action.MAP_FEEDS: {"owner"},
}


def test_the_matrix_covers_every_action():
    assert set(EXPECTED) == set(Action) == set(LEAST_ROLE)


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("role", [*Role, None])
def test_each_role_may_do_exactly_its_actions(role, action):
    assert allows(role, action) == (role is not None and role.value in EXPECTED[action])


def test_ranks_order_the_roles():
    assert sorted(Role, key=RANK.__getitem__, reverse=True) == list(Role)


@pytest.mark.parametrize(
    ("granter", "role", "allowed"),
    [
        (Role.OWNER, Role.OWNER, True),
        (Role.ADMIN, Role.OWNER, False),
        (Role.ADMIN, Role.ADMIN, True),
        (Role.ADMIN, Role.VIEWER, True),
        (Role.ENGINEER, Role.VIEWER, False),
        (Role.VIEWER, Role.VIEWER, False),
        (None, Role.VIEWER, False),
    ],
)
def test_only_owners_make_owners_and_only_admins_grant(granter, role, allowed):
    assert may_grant(granter, role) is allowed


@pytest.fixture
def plant(sessions):
    """Two projects. Ana is an engineer in Press on her own and admin through the Quality
    team; Ben is a viewer in Weld only; Cy has an account and no role anywhere."""
    with sessions() as session:
        org = Organisation(name="Plant")
        ana, ben, cy = (User(email=f"{n}@plant.example", display_name=n) for n in "abc")
        quality = Team(
            organisation=org, name="Quality", members=[TeamMember(user=ana, role="viewer")]
        )
        press = Project(organisation=org, name="Press")
        weld = Project(organisation=org, name="Weld")
        press.members = [
            ProjectMember(user=ana, role=Role.ENGINEER),
            ProjectMember(team=quality, role=Role.ADMIN),
        ]
        weld.members = [ProjectMember(user=ben, role=Role.VIEWER)]
        session.add_all([org, ana, ben, cy, press, weld])
        session.commit()
        ids = {
            x: obj.id
            for x, obj in {"ana": ana, "ben": ben, "cy": cy, "press": press, "weld": weld}.items()
        }
    return sessions, ids


def who(ids, name: str) -> Principal:
    return Principal(f"{name}@plant.example", ids[name])


def test_the_highest_of_own_and_team_grants_wins(plant):
    sessions, ids = plant
    with sessions() as session:
        assert role_in(session, ids["ana"], ids["press"]) == Role.ADMIN
        assert role_in(session, ids["ana"], ids["weld"]) is None
        assert role_in(session, ids["ben"], ids["weld"]) == Role.VIEWER


def test_people_who_may_act_include_team_grants_and_no_one_else(plant):
    sessions, ids = plant
    with sessions() as session:
        # Ana is admin in Press through the Quality team; her own grant is engineer.
        managers = people_who_may(session, ids["press"], Action.MANAGE_MEMBERS)
        assert [u.display_name for u in managers] == ["a"]
        assert people_who_may(session, ids["weld"], Action.MANAGE_MEMBERS) == []
        viewers = people_who_may(session, ids["weld"], Action.VIEW)
        assert [u.display_name for u in viewers] == ["b"]


def test_require_allows_refuses_and_hides(plant):
    sessions, ids = plant
    with sessions() as session:
        assert require(session, who(ids, "ana"), ids["press"], Action.DELETE_CLUSTER) == "admin"
        with pytest.raises(Forbidden, match="viewer; import data needs engineer"):
            require(session, who(ids, "ben"), ids["weld"], Action.IMPORT_DATA)
        # Another team's project, and a project that does not exist, look the same.
        with pytest.raises(NotFound) as other:
            require(session, who(ids, "ben"), ids["press"], Action.VIEW)
        with pytest.raises(NotFound) as missing:
            require(session, who(ids, "ben"), 10_000, Action.VIEW)
        assert str(other.value).replace(str(ids["press"]), "N") == str(missing.value).replace(
            "10000", "N"
        )
        assert require(session, operator(), ids["weld"], Action.DELETE_PROJECT) is None


def test_people_see_only_their_projects(plant):
    sessions, ids = plant
    with sessions() as session:
        names = lambda p: [(project.name, role) for project, role in p]  # noqa: E731
        assert names(visible_projects(session, who(ids, "ana"))) == [("Press", Role.ADMIN)]
        assert names(visible_projects(session, who(ids, "ben"))) == [("Weld", Role.VIEWER)]
        assert names(visible_projects(session, who(ids, "cy"))) == []
        assert names(visible_projects(session, operator())) == [("Press", None), ("Weld", None)]


def test_curve_labels_one_may_read(plant):
    sessions, ids = plant
    with sessions() as session:
        assert readable_projects(session, who(ids, "ana")) == ("Press",)
        assert readable_projects(session, who(ids, "ben")) == ("Weld",)
        assert readable_projects(session, who(ids, "cy")) == ()
        assert readable_projects(session, operator()) is None  # every curve


def test_an_export_needs_export_data_everywhere_it_reaches_and_is_audited(plant):
    sessions, ids = plant
    exports = lambda session: [  # noqa: E731
        (e.actor, e.target_id, e.detail["kind"])
        for e in session.query(AuditEvent).filter(AuditEvent.action == "curves.export")
    ]
    with sessions() as session:
        with pytest.raises(Forbidden, match="export data needs engineer"):
            record_export(session=session, actor=who(ids, "ben"), kind="csv", projects=("Weld",))
        record_export(session=session, actor=operator(), kind="png", projects=None)
        assert exports(session) == []  # the operator's exports are not the projects' business
        record_export(session=session, actor=who(ids, "ana"), kind="csv", projects=None)
        session.commit()
    with sessions() as session:
        assert exports(session) == [("ana@plant.example", str(ids["press"]), "csv")]
