"""Issue 13, item 8, through the lifecycle and the Clusters page: a server cluster pointed at a
hostile server fails with our words in its events, and a host the installation does not allow
is refused before any request reaches it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.clusters.dashboard import ClusterDashboard
from app.clusters.lifecycle import (
    ClusterRequestError,
    create_cluster,
    poll,
    retry_cluster,
)
from models.tables import Cluster, ClusterEvent
from tests.app.clusters.test_dashboard import markdown
from tests.app.clusters.test_lifecycle import ACTOR, request, world  # noqa: F401 - fixture
from tests.providers.hostile_server import SECRET, HostileServer

pytestmark = pytest.mark.integration


@pytest.fixture(params=["500", "500-clickhouse", "401", "200-garbage"])
def hostile(request):
    server = HostileServer(request.param)
    yield server
    server.close()


def server_request(project: int, url: str):
    return request(
        project,
        name="plant-ch",
        provider="server",
        region="self-managed",
        provider_options={"url": url},
    )


def test_what_a_hostile_server_sends_never_reaches_events_or_the_page(world, hostile):  # noqa: F811
    store, settings, project = world
    allowed = settings.with_overrides(server_cluster_hosts=(f"127.0.0.1:{hostile.port}",))
    cluster = create_cluster(
        store=store, settings=allowed, request=server_request(project, hostile.url()), actor=ACTOR
    )
    assert cluster.status == "failed" and hostile.requests > 0
    retry_cluster(store=store, settings=allowed, cluster_id=cluster.id, actor=ACTOR)
    poll(store=store, settings=allowed)
    with store.sessions() as session:
        details = session.scalars(
            sa.select(ClusterEvent.detail).where(ClusterEvent.cluster_id == cluster.id)
        ).all()
    said = "\n".join(details)
    assert f"127.0.0.1:{hostile.port}" in said  # it says what failed, in our words
    assert SECRET not in said and "<script>" not in said
    board = ClusterDashboard(store=store, settings=allowed, actor=ACTOR)
    board.refresh()
    board.table.selection = [0]
    page = markdown(board)
    assert "answered with" in page or "refused the login" in page  # the events are shown
    assert SECRET not in page and "script" not in page


def test_a_host_the_installation_does_not_allow_is_refused_before_any_request(world):  # noqa: F811
    store, settings, project = world
    hostile = HostileServer("200-garbage", host="127.0.0.2")  # not 127.0.0.1, the allowed one
    try:
        for where in (settings, settings.with_overrides(server_cluster_hosts=())):
            with pytest.raises(ClusterRequestError, match="CURVEHOUSE_SERVER_CLUSTER_HOSTS"):
                create_cluster(
                    store=store,
                    settings=where,
                    request=server_request(project, hostile.url()),
                    actor=ACTOR,
                )
        assert hostile.requests == 0
        with store.sessions() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Cluster)) == 0
    finally:
        hostile.close()
