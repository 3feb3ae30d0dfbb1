"""The dashboard over a real store and real node processes, without a browser."""

from __future__ import annotations

import panel as pn
import pytest
import sqlalchemy as sa

from app.clusters.charts import EMPTY
from app.clusters.dashboard import ClusterDashboard
from app.clusters.lifecycle import create_cluster
from app.clusters.poller import ClusterPoller
from app.markup import text
from models.tables import AuditEvent
from tests.app.clusters.test_lifecycle import ACTOR, request, world  # noqa: F401 - fixture
from tests.app.clusters.waiting import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def dashboard(world):  # noqa: F811 - the imported fixture
    store, settings, _ = world
    return ClusterDashboard(store=store, settings=settings, actor=ACTOR), world


def markdown(dashboard: ClusterDashboard) -> str:
    """Every text pane of the detail view, nested ones too."""
    return "\n".join(str(pane.object) for pane in dashboard.detail.select(pn.pane.Markdown))


def test_an_empty_store_says_how_to_start(dashboard):
    board, _ = dashboard
    assert board.empty.visible and board.table.value.empty


def test_a_running_cluster_shows_masked_connections_until_revealed(dashboard):
    board, (store, settings, project) = dashboard
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    board.refresh()
    assert list(board.table.value["name"]) == ["press-dev"]
    assert "running" in board.table.value["status"].iloc[0]
    board.table.selection = [0]
    password = cluster.provider_config["handle"]["password"]
    shown = markdown(board)
    assert "get_client" in shown and "********" in shown and password not in shown
    board._toggle_reveal()
    assert password in markdown(board)
    # Issue 16: a reveal on the page is in the audit trail, as the API's is.
    with store.sessions() as session:
        (row,) = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "cluster.reveal")
        ).all()
        assert (row.target_id, row.detail["name"]) == (str(cluster.id), "press-dev")
    # Issue 13, item 13: the store keeps it sealed; Reveal still shows the right one.
    stored = b"".join(p.read_bytes() for p in settings.home.glob("curvehouse.db*"))
    assert b"press-dev" in stored and password.encode() not in stored
    board.status_filter.value = "stopped"
    assert board.table.value.empty


def test_delete_asks_first_and_then_removes_the_cluster(dashboard):
    board, (store, settings, project) = dashboard
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    board.refresh()
    board.table.selection = [0]
    board._ask("delete")
    assert "cannot be undone" in markdown(board)
    board._ask(None)  # Cancel
    assert "cannot be undone" not in markdown(board)
    board._ask("delete")
    board._run("delete")
    wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"deleted"})
    board.refresh()
    assert board.table.value.empty and board.empty.visible


def test_a_refused_action_is_shown_not_raised(dashboard):
    board, (store, settings, project) = dashboard
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    board.refresh()
    board.table.selection = [0]
    board._run("start")  # it is running already
    assert board.message.visible and "it can be started only when" in board.message.object


def buttons(board: ClusterDashboard) -> list[str]:
    return [b.label for b in board.detail.select(pn.widgets.Button)]


def test_a_cluster_that_never_ran_offers_retry_not_start(dashboard):
    board, (store, settings, project) = dashboard
    down = request(
        project,
        name="line-down",
        provider="server",
        region="self-managed",
        provider_options={"url": "http://default:pw@127.0.0.1:9"},
    )
    create_cluster(store=store, settings=settings, request=down, actor=ACTOR)
    board.refresh()
    board.table.selection = [0]
    assert "Retry" in buttons(board) and "Start" not in buttons(board)
    board._run("retry")  # still unreachable: failed again, and it says why
    assert not board.message.visible
    assert text("127.0.0.1:9: connection refused") in markdown(board)  # shown as text
    assert "Retry" in buttons(board)


def test_the_detail_charts_latency_and_query_rate_once_probes_exist(dashboard):
    """Issue 16: latency and query rate over the last hours as charts, with an empty state
    before the first probe; the size in compute units says what a unit is; counts of one are
    singular ("1 probe", "1 table")."""
    board, (store, settings, project) = dashboard
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    board.refresh()
    board.table.selection = [0]
    (empty,) = board.detail.select(lambda p: getattr(p, "name", "") == "charts-empty")
    assert empty.object == EMPTY
    said = markdown(board)
    assert "Size: 1 node × 4 vCPU / 16 GiB, 2 compute units. A compute unit is" in said
    poller = ClusterPoller(store, settings)
    poller.cycle()
    board._show_detail()
    said = markdown(board)
    assert "Latency (`SELECT 1`, 1 probe in the last 15 min)" in said
    assert "(1 table)" in said and "1 tables" not in said
    poller.cycle()
    poller.stop()
    board._show_detail()
    assert not board.detail.select(lambda p: getattr(p, "name", "") == "charts-empty")
    charts = [p for p in board.detail.select(pn.pane.HoloViews)]
    assert [p.name for p in charts] == ["latency-chart", "rate-chart"]
    latency, rate = (chart.object for chart in charts)
    assert latency.vdims[0].name == "Latency of SELECT 1"
    assert rate.vdims[0].name == "Query rate, probes excluded"
    assert len(latency) >= 1 and float(rate.dimension_values(1)[-1]) == 0.0  # only probes ran
