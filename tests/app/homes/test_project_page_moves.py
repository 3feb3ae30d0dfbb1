"""The Projects page's detail of a selected project, without a browser: where it lives, its
residency, "Move to…", and its latest move in each state with the buttons that state allows for
owners. Moves are rows inserted as the mover would leave them; no node is needed."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from app.pages.projects import ProjectsPanel
from app.services import Services
from models import accounts
from models.access import Principal
from models.move_states import MoveAction
from models.settings import Settings
from models.tables import (
    AuditEvent,
    ClusterStatus,
    MoveState,
    Project,
    ProjectMember,
    ProjectMove,
    Role,
)
from tests.models.test_placement import PASSWORD, cluster

CHECKS = {
    "source": {"curves": 1200, "points": 96000, "samples": 1200, "sample_points": 96000},
    "target": {"curves": 1200, "points": 96000, "samples": 1200, "sample_points": 96000},
}


@pytest.fixture
def plant(tmp_path):
    """Project line-7 (owner Olga, admin Adam) and project infra owning clusters eu-prod
    (Cloud, running) and line-dev (embedded, stopped), where both are admins."""
    services = Services(Settings(home=tmp_path))
    with services.metadata.sessions() as session:
        line = accounts.default_project(session)
        infra = Project(organisation=line.organisation, name="infra")
        session.add(infra)
        people = {}
        for name, role in (("olga", Role.OWNER), ("adam", Role.ADMIN)):
            user = accounts.create_user(
                session=session, email=f"{name}@plant.example", password=PASSWORD
            )
            session.add(ProjectMember(project=line, user=user, role=role))
            session.add(ProjectMember(project=infra, user=user, role=Role.ADMIN))
            people[name] = Principal(user.email, user.id)
        eu = cluster(infra, "eu-prod", "aws/eu-central-1")
        dev = cluster(infra, "line-dev", "local")
        dev.status = ClusterStatus.STOPPED
        session.add_all([eu, dev])
        session.commit()
        ids = {"eu": eu.id, "dev": dev.id, "line": line.id, "name": line.name}
    yield services, ids, people
    services.close()


def opened(plant, who: str = "olga") -> ProjectsPanel:
    """The page as ``who`` sees it, with line-7 selected."""
    services, ids, people = plant
    panel = ProjectsPanel(services=services, who=people[who])
    panel.select(ids["name"])
    assert panel.detail.project_id == ids["line"]
    return panel


def insert_move(plant, state: MoveState, **fields) -> int:
    services, ids, _ = plant
    with services.metadata.sessions() as session:
        move = ProjectMove(
            project_id=ids["line"],
            to_cluster_id=ids["eu"],
            state=state,
            requested_by="olga@plant.example",
            **fields,
        )
        session.add(move)
        session.commit()
        return move.id


def said(pane) -> str:
    """What a Markdown or Alert pane reads as (its values are escaped by app.markup.text)."""
    return html.unescape(pane.object)


def visible_buttons(panel: ProjectsPanel) -> set[str]:
    return {b.label for b in panel.detail.buttons.values() if b.visible}


def test_a_selected_project_shows_its_home_and_where_it_may_move(plant):
    panel = opened(plant)
    detail = panel.detail
    assert detail._view.visible
    assert "the built-in engine" in said(detail.where)
    assert "No residency pin" in said(detail.where)
    assert detail.residency.value == "any region"
    assert list(detail.move_to.options) == [
        "cluster eu-prod (aws/eu-central-1, infra)",
        "cluster line-dev (local, infra)",
    ]  # not the built-in engine: it lives there
    assert detail.move.visible and not detail.who_may.visible
    assert said(detail.move_state) == "No move yet."
    assert not detail.progress.visible and visible_buttons(panel) == set()
    assert detail._following is None  # no served session: refresh() is called by hand
    panel.table.selection = []
    assert not detail._view.visible


def test_clicking_move_asks_for_it_and_cancel_cancels_it(plant):
    services, ids, _ = plant
    panel = opened(plant)
    detail = panel.detail
    detail.move_to.value = "cluster line-dev (local, infra)"
    detail.move.clicks += 1
    assert detail.message.alert_type == "success", said(detail.message)
    assert "waits until that cluster runs" in said(detail.message)
    assert "waiting" in said(detail.move_state)
    assert "the built-in engine → cluster line-dev" in said(detail.move_state)
    assert visible_buttons(panel) == {"Cancel the move"}
    assert detail.progress.value == 0
    assert said(detail.copied) == "Nothing copied yet: it waits for cluster line-dev to run."
    detail.move.clicks += 1  # a second one is refused in words
    assert detail.message.alert_type == "danger"
    assert "already has a move that is waiting" in said(detail.message)

    detail.buttons[MoveAction.CANCEL].clicks += 1
    assert "cancelled" in said(detail.move_state)
    assert visible_buttons(panel) == set()
    with services.metadata.sessions() as session:
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("project.move.%"))
        ).all()
        (move,) = session.scalars(sa.select(ProjectMove)).all()
        assert move.state is MoveState.CANCELLED and move.to_cluster_id == ids["dev"]
    assert sorted(actions) == ["project.move.cancel", "project.move.request"]

    detail.move_to.value = (
        "cluster eu-prod (aws/eu-central-1, infra)"  # a running target: copying at once
    )
    detail.move.clicks += 1
    assert "copying" in said(detail.move_state)


def test_a_copying_move_shows_its_progress_and_refresh_follows_the_mover(plant):
    services, _, _ = plant
    move_id = insert_move(
        plant,
        MoveState.COPYING,
        curves_done=30,
        curves_total=120,
        samples_done=3000,
        samples_total=12000,
    )
    panel = opened(plant)
    detail = panel.detail
    assert detail.progress.visible and detail.progress.value == 25
    assert said(detail.copied) == "30 of 120 curves copied (25 %)"
    assert visible_buttons(panel) == {"Cancel the move"}
    with services.metadata.sessions() as session:
        move = session.get(ProjectMove, move_id)
        move.curves_done, move.samples_done = 90, 9000
        session.commit()
    detail.refresh()
    assert detail.progress.value == 75
    assert said(detail.copied).startswith("90 of 120 curves copied")


@pytest.mark.parametrize(
    ("state", "percent", "copied"),
    [
        (MoveState.COPYING, 0, "Counting the curves to copy…"),
        (MoveState.FAILED, 0, "0 of 0 curves copied (0 %)"),
        (MoveState.SWITCHED, 100, "0 of 0 curves copied (100 %)"),  # a project with no curves
    ],
)
def test_nothing_counted_is_no_progress_until_the_copy_is_through(plant, state, percent, copied):
    insert_move(plant, state)
    detail = opened(plant).detail
    assert detail.progress.value == percent
    assert said(detail.copied) == copied


def test_refresh_follows_the_switch_to_the_new_home(plant):
    services, ids, _ = plant
    move_id = insert_move(plant, MoveState.CHECKING, curves_done=120, curves_total=120)
    panel = opened(plant)
    detail = panel.detail
    assert visible_buttons(panel) == {"Cancel the move"}
    assert panel.table.value.loc[0, "lives on"] == "the built-in engine"
    with services.metadata.sessions() as session:  # what the mover does on a passed check
        session.get(Project, ids["line"]).home_cluster_id = ids["eu"]
        move = session.get(ProjectMove, move_id)
        move.state, move.checks = MoveState.SWITCHED, CHECKS
        session.commit()
    detail.refresh()
    assert "cluster **eu-prod**" in said(detail.where)
    assert panel.table.value.loc[0, "lives on"] == "cluster eu-prod (running)"
    assert panel.detail.project_id == ids["line"]
    assert "the built-in engine" in detail.move_to.options
    assert visible_buttons(panel) == {"Delete the old copy"}


def test_a_failed_move_says_why_and_offers_resume_and_cancel(plant):
    insert_move(plant, MoveState.FAILED, detail="Dataset <b>line 7</b> differs: 3 curves here.")
    panel = opened(plant)
    detail = panel.detail
    assert detail.move_detail.visible and detail.move_detail.alert_type == "danger"
    assert "<b>" not in detail.move_detail.object  # shown as text, never as markup
    assert said(detail.move_detail) == "Dataset <b>line 7</b> differs: 3 curves here."
    assert visible_buttons(panel) == {"Resume", "Cancel the move"}
    detail.buttons[MoveAction.RESUME].clicks += 1
    assert "copying" in said(detail.move_state)
    assert not detail.move_detail.visible  # resuming clears the old failure


def test_a_switched_move_shows_both_checks_and_offers_only_deleting_the_old_copy(plant):
    services, ids, _ = plant
    insert_move(plant, MoveState.SWITCHED, checks=CHECKS, curves_done=1200, curves_total=1200)
    with services.metadata.sessions() as session:
        session.get(Project, ids["line"]).home_cluster_id = ids["eu"]
        session.commit()
    panel = opened(plant)
    detail = panel.detail
    assert "cluster **eu-prod**" in said(detail.where)
    assert "**running**" in said(detail.where)
    assert "cluster eu-prod (aws/eu-central-1, infra)" not in detail.move_to.options
    assert "the built-in engine" in detail.move_to.options
    assert detail.checks.visible
    rows = said(detail.checks).splitlines()
    assert rows[2] == "| | curves | points | sample rows | sample points |"
    assert rows[4] == "| old copy | 1,200 | 96,000 | 1,200 | 96,000 |"
    assert rows[5] == "| new copy | 1,200 | 96,000 | 1,200 | 96,000 |"
    assert detail.progress.value == 100
    assert visible_buttons(panel) == {"Delete the old copy"}
    detail.buttons[MoveAction.CONFIRM].clicks += 1
    assert "cleaning" in said(detail.move_state)
    assert visible_buttons(panel) == set()


def test_someone_else_sees_the_move_but_is_told_who_may_act(plant):
    insert_move(plant, MoveState.FAILED, detail="The target stopped answering.")
    panel = opened(plant, "adam")
    detail = panel.detail
    assert not detail.move.visible and not detail.move_to.visible
    assert detail.who_may.visible and "owners" in said(detail.who_may)
    assert "failed" in said(detail.move_state)
    assert visible_buttons(panel) == set()
    assert detail.residency.disabled and not detail.save_residency.visible


def test_an_owner_changes_the_residency_and_a_refusal_says_why(plant):
    services, ids, _ = plant
    panel = opened(plant)
    detail = panel.detail
    detail.residency.value = "EU"
    detail.save_residency.clicks += 1
    assert detail.message.alert_type == "danger"
    assert "pinned to EU" in said(detail.message)
    detail.residency.value = "On premises"
    detail.save_residency.clicks += 1
    assert detail.message.alert_type == "success", said(detail.message)
    assert "Residency: On premises" in said(detail.where)
    with services.metadata.sessions() as session:
        assert session.get(Project, ids["line"]).residency == "on-premises"
    assert panel.table.value.loc[0, "residency"] == "on-premises"
    assert panel.detail.project_id == ids["line"]  # the selection outlived the table's reload


def test_the_create_form_shows_its_choices_and_places_the_project(plant):
    services, _, people = plant
    panel = ProjectsPanel(services=services, who=people["olga"])
    # Labels are the values: Panel draws an option whose value is None as a blank box.
    assert panel.home.get_root().value == "the built-in engine"
    assert panel.residency.get_root().value == "any region"
    panel.project_name.value = "line-8"
    panel.home.value = "cluster eu-prod (aws/eu-central-1, infra)"
    panel.residency.value = "EU"
    panel.create.clicks += 1  # asks the chosen cluster, which has no node here: refused
    assert said(panel.message) == (
        "Project line-8's curves live on cluster eu-prod, which is not provisioned."
    )
    panel.residency.value = "United States"
    panel.create.clicks += 1  # residency is checked first, against the chosen home
    assert "pinned to United States" in said(panel.message)
    assert "line-8" not in set(panel.table.value["project"])
