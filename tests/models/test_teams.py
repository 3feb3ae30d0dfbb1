"""Teams: made by anyone, managed by their admins, granted project roles by project admins."""

from __future__ import annotations

import pytest

from models import accounts
from models.access import Forbidden, NotFound, Principal, role_in, visible_projects
from models.members import MemberConflict
from models.tables import ProjectMember, Role
from models.teams import (
    add_to_team,
    create_team,
    grant_team,
    remove_from_team,
    revoke_team,
    teams_of,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def plant(sessions):
    with sessions() as session:
        project = accounts.default_project(session)
        people = {}
        for name in ("owner", "lead", "ana", "ben"):
            user = accounts.create_user(
                session=session, email=f"{name}@plant.example", password=PASSWORD
            )
            people[name] = Principal(user.email, user.id)
        session.add(ProjectMember(project=project, user_id=people["owner"].user_id, role="owner"))
        session.commit()
        return sessions, project.id, people


def test_a_team_grant_reaches_its_members_and_ends_with_them(plant):
    sessions, pid, who = plant
    with sessions() as session:
        team = create_team(session=session, actor=who["lead"], name="Quality")
        add_to_team(
            session=session,
            actor=who["lead"],
            team_id=team.id,
            email="ana@plant.example",
            role=Role.VIEWER,
        )
        add_to_team(
            session=session,
            actor=who["lead"],
            team_id=team.id,
            email="owner@plant.example",
            role=Role.VIEWER,
        )
        grant_team(
            session=session, actor=who["owner"], project_id=pid, team_id=team.id, role=Role.ENGINEER
        )
        session.commit()
        assert role_in(session, who["ana"].user_id, pid) == Role.ENGINEER
        assert [p.name for p, _ in visible_projects(session, who["ana"])] == ["Default project"]
        remove_from_team(
            session=session, actor=who["lead"], team_id=team.id, user_id=who["ana"].user_id
        )
        assert role_in(session, who["ana"].user_id, pid) is None
        add_to_team(
            session=session,
            actor=who["lead"],
            team_id=team.id,
            email="ben@plant.example",
            role=Role.VIEWER,
        )
        revoke_team(session=session, actor=who["owner"], project_id=pid, team_id=team.id)
        assert role_in(session, who["ben"].user_id, pid) is None


def test_teams_are_managed_by_their_admins_and_hidden_from_others(plant):
    sessions, _, who = plant
    with sessions() as session:
        team = create_team(session=session, actor=who["lead"], name="Quality")
        add_to_team(
            session=session,
            actor=who["lead"],
            team_id=team.id,
            email="ana@plant.example",
            role=Role.VIEWER,
        )
        session.commit()
        with pytest.raises(Forbidden, match="managing it needs admin"):
            add_to_team(
                session=session,
                actor=who["ana"],
                team_id=team.id,
                email="ben@plant.example",
                role=Role.VIEWER,
            )
        with pytest.raises(NotFound):
            add_to_team(
                session=session,
                actor=who["ben"],
                team_id=team.id,
                email="ben@plant.example",
                role=Role.OWNER,
            )
        with pytest.raises(MemberConflict, match="no owner left"):
            remove_from_team(
                session=session, actor=who["lead"], team_id=team.id, user_id=who["lead"].user_id
            )
        session.rollback()
        assert [t.name for t, _ in teams_of(session, who["ana"])] == ["Quality"]
        assert teams_of(session, who["ben"]) == []


def test_only_project_admins_grant_teams_and_only_owners_grant_owner(plant):
    sessions, pid, who = plant
    with sessions() as session:
        team = create_team(session=session, actor=who["lead"], name="Quality")
        with pytest.raises(NotFound):
            grant_team(
                session=session,
                actor=who["lead"],
                project_id=pid,
                team_id=team.id,
                role=Role.VIEWER,
            )
        session.add(ProjectMember(project_id=pid, user_id=who["ben"].user_id, role=Role.ADMIN))
        add_to_team(
            session=session,
            actor=who["lead"],
            team_id=team.id,
            email="ben@plant.example",
            role=Role.VIEWER,
        )
        session.flush()
        with pytest.raises(Forbidden, match="may not grant a team owner"):
            grant_team(
                session=session, actor=who["ben"], project_id=pid, team_id=team.id, role=Role.OWNER
            )
        grant_team(
            session=session, actor=who["ben"], project_id=pid, team_id=team.id, role=Role.ADMIN
        )
        with pytest.raises(accounts.NameTaken):
            create_team(session=session, actor=who["ben"], name="Quality")


def test_a_project_admin_grants_only_teams_they_are_in_and_others_look_nonexistent(plant):
    """Issue 13, item 12: no project handed to a team without its consent, no team ids to
    probe. A team the granter is not in answers exactly like a team that does not exist."""
    sessions, pid, who = plant
    with sessions() as session:
        theirs = create_team(session=session, actor=who["lead"], name="Theirs")
        session.commit()
        with pytest.raises(NotFound) as hidden:
            grant_team(
                session=session,
                actor=who["owner"],
                project_id=pid,
                team_id=theirs.id,
                role=Role.VIEWER,
            )
        with pytest.raises(NotFound) as missing:
            grant_team(
                session=session,
                actor=who["owner"],
                project_id=pid,
                team_id=999_999,
                role=Role.VIEWER,
            )
        assert str(hidden.value).replace(str(theirs.id), "N") == str(missing.value).replace(
            "999999", "N"
        )
        session.rollback()
        assert role_in(session, who["lead"].user_id, pid) is None

        ours = create_team(session=session, actor=who["owner"], name="Ours")
        grant_team(
            session=session, actor=who["owner"], project_id=pid, team_id=ours.id, role=Role.VIEWER
        )
        add_to_team(
            session=session,
            actor=who["lead"],
            team_id=theirs.id,
            email="owner@plant.example",
            role=Role.VIEWER,
        )
        grant_team(
            session=session, actor=who["owner"], project_id=pid, team_id=theirs.id, role=Role.VIEWER
        )  # now they are in it
        session.commit()
        assert role_in(session, who["lead"].user_id, pid) == Role.VIEWER
