"""Roles on the Clusters page and in the lifecycle: each action is checked on the server, and
the dashboard shows only what the viewer's role allows."""

from __future__ import annotations

import panel as pn
import pytest

from app.clusters.dashboard import ClusterDashboard
from app.clusters.lifecycle import (
    create_cluster,
    delete_cluster,
    start_cluster,
    stop_cluster,
)
from models.access import Forbidden, NotFound, Principal
from models.tables import Project, ProjectMember, Role, User
from tests.app.clusters.test_lifecycle import ACTOR, request, world  # noqa: F401 - fixture
from tests.app.clusters.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def people(world):  # noqa: F811 - the imported fixture
    """One person per role in the world's project, and one in another project only."""
    store, _, project_id = world
    with store.sessions() as session:
        other = Project(organisation=session.get(Project, project_id).organisation, name="Other")
        session.add(other)
        session.flush()
        found = {}
        for role in [*Role, "outsider"]:
            user = User(email=f"{role}@plant.example", display_name=str(role))
            grant = (other.id, Role.OWNER) if role == "outsider" else (project_id, role)
            session.add(ProjectMember(user=user, project_id=grant[0], role=grant[1]))
            session.flush()
            found[str(role)] = Principal(user.email, user.id)
        session.commit()
    return world, found


def test_each_cluster_action_needs_its_role(people):
    (store, settings, project), who = people
    common = dict(store=store, settings=settings)
    with pytest.raises(Forbidden, match="create cluster needs admin"):
        create_cluster(**common, request=request(project), actor=who["engineer"])
    with pytest.raises(NotFound):
        create_cluster(**common, request=request(project), actor=who["outsider"])
    cluster = create_cluster(**common, request=request(project), actor=who["admin"])
    wait_until(**common, cluster_id=cluster.id, states={"running"})
    with pytest.raises(Forbidden, match="operate cluster needs engineer"):
        stop_cluster(**common, cluster_id=cluster.id, actor=who["viewer"])
    with pytest.raises(NotFound):
        stop_cluster(**common, cluster_id=cluster.id, actor=who["outsider"])
    stop_cluster(**common, cluster_id=cluster.id, actor=who["engineer"])
    wait_until(**common, cluster_id=cluster.id, states={"stopped"})
    with pytest.raises(Forbidden, match="delete cluster needs admin"):
        delete_cluster(**common, cluster_id=cluster.id, actor=who["engineer"])
    start_cluster(**common, cluster_id=cluster.id, actor=who["engineer"])
    wait_until(**common, cluster_id=cluster.id, states={"running"})
    delete_cluster(**common, cluster_id=cluster.id, actor=who["owner"])
    wait_until(**common, cluster_id=cluster.id, states={"deleted"})


def buttons(board: ClusterDashboard) -> list[str]:
    return [b.label for b in board.detail.select(pn.widgets.Button)]


def test_the_dashboard_offers_only_what_the_role_allows(people):
    (store, settings, project), who = people
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    password = cluster.provider_config["handle"]["password"]
    seen = {}
    for role in ("owner", "engineer", "viewer", "outsider"):
        board = ClusterDashboard(store=store, settings=settings, actor=who[role])
        board.selected = cluster.id if not board.table.value.empty else None
        board.refresh()
        board._show_detail()
        board.revealed = True  # as if Reveal had been pressed
        board._show_detail()
        text = "\n".join(str(p.object) for p in board.detail.select(pn.pane.Markdown))
        seen[role] = (list(board.table.value["name"]), buttons(board), password in text)
    assert seen["owner"] == (["press-dev"], ["Stop", "Resize", "Delete", "Hide secret"], True)
    assert "Stop" in seen["engineer"][1] and "Delete" not in seen["engineer"][1]
    assert seen["engineer"][2] is True
    assert seen["viewer"][1] == [] and seen["viewer"][2] is False
    assert seen["outsider"] == ([], [], False)
