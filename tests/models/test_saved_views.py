"""Saved views in the metadata store: private ones are their owner's alone, shared ones the
project's; engineers share, viewers never change a shared view, admins manage others' shared
views, another project's views do not exist; every change audited; migration 0013 goes up and
down."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Forbidden, NotFound, operator
from models.accounts import NameTaken
from models.names import BadName
from models.saved_views import (
    change_view,
    delete_view,
    find_view,
    may_change,
    project_views,
    rename_view,
    save_view,
    share_view,
)
from models.store import current_revision, migrate
from models.tables import AuditEvent, Project, ProjectMember, Role, SavedView, User
from tests.models.test_access import plant, who  # noqa: F401 (the fixture)
from tests.models.test_migrations import MONDAY, downgrade, insert

STATE = {"project": "Press", "station": "S1,S2", "x": "0,12", "cmap": "fire"}


@pytest.fixture
def press(plant):  # noqa: F811
    """Press with Ana (admin through her team), Dan (engineer), Eve (viewer); Weld with Ben."""
    sessions, ids = plant
    with sessions() as session:
        project = session.get(Project, ids["press"])
        for name, role in (("dan", Role.ENGINEER), ("eve", Role.VIEWER)):
            user = User(email=f"{name}@plant.example", display_name=name)
            project.members.append(ProjectMember(user=user, role=role))
            session.flush()
            ids[name] = user.id
        session.commit()
    return sessions, ids


def actions(session, project_id):
    return session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.target_id == str(project_id), AuditEvent.action.startswith("view."))
        .order_by(AuditEvent.id)
    ).all()


def test_private_views_are_their_owners_alone(press):
    sessions, ids = press
    dan, eve, ana, ben = (who(ids, n) for n in ("dan", "eve", "ana", "ben"))
    with sessions() as session:
        project = session.get(Project, ids["press"])
        view = save_view(session=session, actor=eve, project=project, name="S1 NOK", query=STATE)
        session.commit()
        assert (view.owner_id, view.shared, view.query) == (ids["eve"], False, STATE)
        assert find_view(session, eve, view.id) is view
        assert [v.name for v in project_views(session, eve, project)] == ["S1 NOK"]
        for other in (dan, ana):  # an admin too: private is private
            assert project_views(session, other, project) == []
            with pytest.raises(NotFound) as hidden:
                find_view(session, other, view.id)
            with pytest.raises(NotFound):
                rename_view(session=session, actor=other, view=view, name="mine now")
            assert not may_change(session, other, view)
        with pytest.raises(NotFound) as missing:
            find_view(session, dan, 999_999)
        # Hidden and missing read alike, so ids cannot be probed.
        assert str(hidden.value).replace(str(view.id), "N") == str(missing.value).replace(
            "999999", "N"
        )
        with pytest.raises(NotFound):  # Ben is not in Press at all
            find_view(session, ben, view.id)
        with pytest.raises(NotFound):
            project_views(session, ben, project)
        assert find_view(session, operator(), view.id) is view


def test_viewers_save_privately_and_never_change_a_shared_view(press):
    sessions, ids = press
    dan, eve, ana = (who(ids, n) for n in ("dan", "eve", "ana"))
    with sessions() as session:
        project = session.get(Project, ids["press"])
        with pytest.raises(Forbidden, match="viewer; share views needs engineer"):
            save_view(session=session, actor=eve, project=project, name="x", query={}, shared=True)
        mine = save_view(session=session, actor=eve, project=project, name="mine", query={})
        with pytest.raises(Forbidden):
            share_view(session=session, actor=eve, view=mine, shared=True)
        shared = save_view(
            session=session, actor=dan, project=project, name="NOK", query=STATE, shared=True
        )
        session.commit()
        assert find_view(session, eve, shared.id) is shared
        assert [v.name for v in project_views(session, eve, project)] == ["NOK", "mine"]
        assert not may_change(session, eve, shared)
        for attempt in (
            lambda: rename_view(session=session, actor=eve, view=shared, name="renamed"),
            lambda: share_view(session=session, actor=eve, view=shared, shared=False),
            lambda: change_view(session=session, actor=eve, view=shared, query={}),
            lambda: delete_view(session=session, actor=eve, view=shared),
        ):
            with pytest.raises(Forbidden):
                attempt()
        session.rollback()
        assert (shared.name, shared.shared, shared.query) == ("NOK", True, STATE)
        # Its owner (an engineer) and an admin may change it.
        assert may_change(session, dan, shared) and may_change(session, ana, shared)
        rename_view(session=session, actor=dan, view=shared, name="NOK at S1")
        rename_view(session=session, actor=ana, view=shared, name="NOK at S1 and S2")
        session.commit()
        assert shared.name == "NOK at S1 and S2"


def test_an_engineer_changes_only_their_own_shared_views(press):
    sessions, ids = press
    dan, ana = who(ids, "dan"), who(ids, "ana")
    with sessions() as session:
        project = session.get(Project, ids["press"])
        anas = save_view(
            session=session, actor=ana, project=project, name="Ana's", query=STATE, shared=True
        )
        session.commit()
        with pytest.raises(Forbidden, match="engineer; manage views needs admin"):
            delete_view(session=session, actor=dan, view=anas)
        assert not may_change(session, dan, anas)


def test_rename_share_change_and_delete_are_audited(press):
    sessions, ids = press
    dan, ana, eve = who(ids, "dan"), who(ids, "ana"), who(ids, "eve")
    with sessions() as session:
        project = session.get(Project, ids["press"])
        view = save_view(session=session, actor=dan, project=project, name="v", query=STATE)
        rename_view(session=session, actor=dan, view=view, name="v")  # the same: nothing
        rename_view(session=session, actor=dan, view=view, name="press NOK")
        share_view(session=session, actor=dan, view=view, shared=True)
        share_view(session=session, actor=dan, view=view, shared=True)  # nothing
        change_view(session=session, actor=dan, view=view, query={**STATE, "norm": "log"})
        share_view(session=session, actor=ana, view=view, shared=False)  # an admin unshares
        session.commit()
        with pytest.raises(NotFound):  # private again: Dan's alone
            find_view(session, eve, view.id)
        view_id = view.id
        delete_view(session=session, actor=dan, view=view)
        session.commit()
        assert session.get(SavedView, view_id) is None
        assert actions(session, ids["press"]) == [
            "view.create",
            "view.rename",
            "view.share",
            "view.change",
            "view.unshare",
            "view.delete",
        ]
        details = session.scalars(
            sa.select(AuditEvent.detail)
            .where(AuditEvent.action.in_(["view.rename", "view.delete"]))
            .order_by(AuditEvent.id)
        ).all()
        assert details[0] == {"view": view_id, "before": "v", "after": "press NOK"}
        assert details[1]["query"] == {**STATE, "norm": "log"}
        actors = session.scalars(
            sa.select(AuditEvent.actor).where(AuditEvent.action == "view.unshare")
        ).all()
        assert actors == ["ana@plant.example"]


def test_names_are_checked_and_unique_per_owner(press):
    sessions, ids = press
    dan, eve = who(ids, "dan"), who(ids, "eve")
    with sessions() as session:
        project = session.get(Project, ids["press"])
        save_view(session=session, actor=dan, project=project, name="NOK", query={}, shared=True)
        with pytest.raises(NameTaken):
            save_view(session=session, actor=dan, project=project, name=" NOK ", query={})
        other = save_view(session=session, actor=dan, project=project, name="OK", query={})
        with pytest.raises(NameTaken):
            rename_view(session=session, actor=dan, view=other, name="NOK")
        # Someone else may use the name: the list says whose each view is.
        save_view(session=session, actor=eve, project=project, name="NOK", query={})
        with pytest.raises(BadName):
            save_view(session=session, actor=eve, project=project, name="a\nb", query={})
        with pytest.raises(BadName):
            save_view(session=session, actor=eve, project=project, name="q", query={"s": "\x1b"})
        with pytest.raises(BadName):
            save_view(
                session=session,
                actor=eve,
                project=project,
                name="many",
                query={f"k{n}": "v" for n in range(41)},
            )


def test_a_removed_owner_leaves_shared_views_to_the_project(press):
    sessions, ids = press
    dan, ana = who(ids, "dan"), who(ids, "ana")
    with sessions() as session:
        project = session.get(Project, ids["press"])
        view = save_view(
            session=session, actor=dan, project=project, name="kept", query={}, shared=True
        )
        session.commit()
        session.delete(session.get(User, ids["dan"]))
        session.commit()
        session.refresh(view)
        assert view.owner_id is None
        assert find_view(session, ana, view.id) is view
        delete_view(session=session, actor=ana, view=view)
        session.commit()


def test_views_go_with_their_project(press):
    sessions, ids = press
    with sessions() as session:
        project = session.get(Project, ids["press"])
        save_view(session=session, actor=who(ids, "dan"), project=project, name="v", query={})
        session.commit()
        session.delete(project)
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(SavedView)) == 0


def test_migration_0013_adds_the_table_and_goes_down_and_up(engine):
    migrate(engine, "0012")
    with engine.begin() as connection:
        organisation = insert(connection, "organisations", name="Plant F", created_at=MONDAY)
        project = insert(
            connection, "projects", organisation_id=organisation, name="Line 9", created_at=MONDAY
        )
    assert "saved_views" not in sa.inspect(engine).get_table_names()
    migrate(engine, "0013")
    assert current_revision(engine) == "0013"
    with engine.begin() as connection:
        insert(
            connection,
            "saved_views",
            project_id=project,
            name="line 9",
            created_by="operator",
            shared=True,
            query={"station": "S1"},
            created_at=MONDAY,
            updated_at=MONDAY,
        )
    with Session(engine) as session:
        view = find_view(session, operator(), 1)
        assert (view.name, view.query, view.created_at) == ("line 9", {"station": "S1"}, MONDAY)
    downgrade(engine, "0012")
    assert "saved_views" not in sa.inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT id FROM projects")).scalars().all() == [project]
    migrate(engine)
    assert "saved_views" in sa.inspect(engine).get_table_names()


def test_the_operator_opens_and_lists_every_view(press):
    """The operator (no user id) is whoever runs code beside the store: nothing is hidden."""
    sessions, ids = press
    with sessions() as session:
        project = session.get(Project, ids["press"])
        save_view(session=session, actor=who(ids, "eve"), project=project, name="e", query={})
        session.commit()
        assert [v.name for v in project_views(session, operator(), project)] == ["e"]
