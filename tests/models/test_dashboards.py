"""Dashboards in the metadata store: panels keep their kind, fields and places exactly; a
malformed panel or two on one cell are refused by number; private dashboards are their owner's
alone, viewers read shared ones and never change them, admins manage others' shared ones,
another project's dashboards do not exist; view panels show views the saver may open, shared
ones on a shared dashboard; every change audited; migration 0015 goes up and down."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Forbidden, NotFound, operator
from models.accounts import NameTaken
from models.dashboards import (
    change_panels,
    checked_panels,
    create_dashboard,
    delete_dashboard,
    find_dashboard,
    may_change,
    project_dashboards,
    rename_dashboard,
    share_dashboard,
)
from models.names import BadName
from models.saved_views import delete_view, save_view
from models.store import current_revision, migrate
from models.tables import AuditEvent, Dashboard, Project
from tests.models.test_access import plant, who  # noqa: F401 (the fixture)
from tests.models.test_migrations import MONDAY, downgrade, insert
from tests.models.test_saved_views import press  # noqa: F401 (the fixture)

KPI = {
    "kind": "kpi",
    "metric": "nok_rate",
    "filter": {"station": "S1"},
    "x": 0,
    "y": 0,
    "w": 3,
    "h": 2,
}
TREND = {
    "kind": "trend",
    "metric": "parts",
    "bucket": "hour",
    "filter": {"live": "shift"},
    "title": "Parts this shift",
    "x": 3,
    "y": 0,
    "w": 9,
    "h": 3,
}


def view_panel(view_id: int, x: int = 0, y: int = 3) -> dict:
    return {"kind": "view", "view_id": view_id, "x": x, "y": y, "w": 6, "h": 4}


def actions(session, project_id):
    return session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.target_id == str(project_id), AuditEvent.action.startswith("dashboard."))
        .order_by(AuditEvent.id)
    ).all()


def test_panels_keep_their_fields_and_places():
    panels = checked_panels([KPI, TREND, view_panel(4)])
    assert panels == [KPI, TREND, view_panel(4)]
    assert checked_panels([{**KPI, "title": ""}]) == [KPI]  # no title: none kept


@pytest.mark.parametrize(
    ("panel", "words"),
    [
        ({**KPI, "kind": "chart"}, "Panel 1: the kind is one of view, kpi, trend"),
        ({**KPI, "view_id": 3}, "Panel 1: a kpi panel has no view_id"),
        ({**KPI, "x": 10}, "Panel 1: x is a whole number from 0 to 9"),
        ({**KPI, "w": 0}, "Panel 1: w is a whole number from 1 to 12"),
        ({**KPI, "h": True}, "Panel 1: h is a whole number"),
        ({**KPI, "metric": ""}, "Panel 1: metric is text"),
        ({**KPI, "filter": {"station": "S\x001"}}, "control characters"),
        ({**KPI, "filter": ["station"]}, "filter is a mapping"),
        (view_panel(0), "view_id is a whole number from 1"),
        ({k: v for k, v in TREND.items() if k != "bucket"}, "Panel 1: bucket is text"),
    ],
)
def test_a_malformed_panel_is_refused_by_number(panel, words):
    with pytest.raises(BadName, match=words):
        checked_panels([panel])


def test_two_panels_on_one_cell_are_refused():
    with pytest.raises(BadName, match="Panels 1 and 2 overlap at column 2, row 1"):
        checked_panels([KPI, {**KPI, "x": 2, "y": 1}])
    with pytest.raises(BadName, match="at most 24 panels"):
        checked_panels([{**KPI, "x": 0, "y": y, "w": 1, "h": 1} for y in range(25)])


def test_private_dashboards_are_their_owners_alone(press):  # noqa: F811
    sessions, ids = press
    dan, eve, ana, ben = (who(ids, n) for n in ("dan", "eve", "ana", "ben"))
    with sessions() as session:
        project = session.get(Project, ids["press"])
        board = create_dashboard(
            session=session, actor=eve, project=project, name="mine", panels=[KPI]
        )
        session.commit()
        assert find_dashboard(session, eve, board.id).panels == [KPI]
        assert may_change(session, eve, board)
        for other in (dan, ana, ben):
            with pytest.raises(NotFound, match=f"no dashboard {board.id}"):
                find_dashboard(session, other, board.id)
            assert board not in (
                project_dashboards(session, other, project) if other is not ben else []
            )
        with pytest.raises(NotFound):
            project_dashboards(session, ben, project)  # Weld's viewer: Press does not exist
        with pytest.raises(NotFound):
            find_dashboard(session, eve, board.id, project_id=ids["weld"])
        with pytest.raises(NameTaken):
            create_dashboard(session=session, actor=eve, project=project, name="mine")
        # Another person may use the same name.
        create_dashboard(session=session, actor=dan, project=project, name="mine")


def test_viewers_read_shared_dashboards_and_never_change_them(press):  # noqa: F811
    sessions, ids = press
    dan, eve, ana = (who(ids, n) for n in ("dan", "eve", "ana"))
    with sessions() as session:
        project = session.get(Project, ids["press"])
        with pytest.raises(Forbidden, match="share views needs engineer"):
            create_dashboard(session=session, actor=eve, project=project, name="x", shared=True)
        board = create_dashboard(
            session=session, actor=dan, project=project, name="Line 1", panels=[KPI], shared=True
        )
        session.commit()
        assert find_dashboard(session, eve, board.id) is board
        assert not may_change(session, eve, board)
        for change in (
            lambda: change_panels(session=session, actor=eve, board=board, panels=[TREND]),
            lambda: rename_dashboard(session=session, actor=eve, board=board, name="mine"),
            lambda: share_dashboard(session=session, actor=eve, board=board, shared=False),
            lambda: delete_dashboard(session=session, actor=eve, board=board),
        ):
            with pytest.raises(Forbidden):
                change()
        assert (board.panels, board.name, board.shared) == ([KPI], "Line 1", True)
        # Ana is admin (through her team): she manages Dan's shared dashboard.
        change_panels(session=session, actor=ana, board=board, panels=[KPI, TREND])
        rename_dashboard(session=session, actor=ana, board=board, name="Line 1, mornings")
        share_dashboard(session=session, actor=ana, board=board, shared=False)
        session.commit()
        with pytest.raises(NotFound):
            find_dashboard(session, ana, board.id)  # Dan's alone again
        delete_dashboard(session=session, actor=dan, board=board)
        session.commit()
        assert actions(session, ids["press"]) == [
            "dashboard.create",
            "dashboard.change",
            "dashboard.rename",
            "dashboard.unshare",
            "dashboard.delete",
        ]


def test_view_panels_show_views_the_saver_may_open(press):  # noqa: F811
    sessions, ids = press
    dan, eve = who(ids, "dan"), who(ids, "eve")
    with sessions() as session:
        project = session.get(Project, ids["press"])
        weld = session.get(Project, ids["weld"])
        private = save_view(session=session, actor=dan, project=project, name="p", query={})
        shared = save_view(
            session=session, actor=dan, project=project, name="s", query={}, shared=True
        )
        elsewhere = save_view(session=session, actor=operator(), project=weld, name="w", query={})
        session.flush()
        # Eve may not show Dan's private view, nor a view of another project.
        for view in (private, elsewhere):
            with pytest.raises(BadName, match=f"Panel 1: there is no saved view {view.id}"):
                create_dashboard(
                    session=session,
                    actor=eve,
                    project=project,
                    name="e",
                    panels=[view_panel(view.id)],
                )
        board = create_dashboard(
            session=session,
            actor=dan,
            project=project,
            name="d",
            panels=[view_panel(private.id), view_panel(shared.id, x=6)],
        )
        # Shared, it would show teammates a hole: share the view first.
        with pytest.raises(BadName, match="the saved view “p” is private"):
            share_dashboard(session=session, actor=dan, board=board, shared=True)
        assert not board.shared
        change_panels(session=session, actor=dan, board=board, panels=[view_panel(shared.id)])
        share_dashboard(session=session, actor=dan, board=board, shared=True)
        # A view deleted later leaves its panel; the dashboard still saves with it.
        delete_view(session=session, actor=dan, view=shared)
        moved = [view_panel(shared.id, x=2), {**KPI, "y": 8}]
        change_panels(session=session, actor=dan, board=board, panels=moved)
        session.commit()
        assert find_dashboard(session, eve, board.id).panels == moved


def test_dashboards_go_with_their_project(press):  # noqa: F811
    sessions, ids = press
    with sessions() as session:
        project = session.get(Project, ids["press"])
        create_dashboard(session=session, actor=who(ids, "dan"), project=project, name="d")
        session.commit()
        session.delete(project)
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(Dashboard)) == 0


def test_migration_0015_adds_the_table_and_goes_down_and_up(engine):
    migrate(engine, "0014")
    with engine.begin() as connection:
        organisation = insert(connection, "organisations", name="Plant F", created_at=MONDAY)
        project = insert(
            connection, "projects", organisation_id=organisation, name="Line 9", created_at=MONDAY
        )
    assert "dashboards" not in sa.inspect(engine).get_table_names()
    migrate(engine, "0015")
    assert current_revision(engine) == "0015"
    with engine.begin() as connection:  # as an older Curvehouse would have left the row
        row = sa.table(
            "dashboards",
            *(sa.column(c) for c in ("project_id", "name", "created_by", "shared")),
            sa.column("panels", sa.JSON()),
            sa.column("created_at", sa.DateTime(timezone=True)),
            sa.column("updated_at", sa.DateTime(timezone=True)),
        )
        connection.execute(
            row.insert().values(
                project_id=project,
                name="line 9",
                created_by="operator",
                shared=True,
                panels=[KPI],
                created_at=MONDAY,
                updated_at=MONDAY,
            )
        )
    with Session(engine) as session:
        board = find_dashboard(session, operator(), 1)
        assert (board.name, board.panels, board.created_at) == ("line 9", [KPI], MONDAY)
    downgrade(engine, "0014")
    assert "dashboards" not in sa.inspect(engine).get_table_names()
    migrate(engine)
    assert "dashboards" in sa.inspect(engine).get_table_names()
