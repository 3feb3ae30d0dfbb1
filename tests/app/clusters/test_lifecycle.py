"""The lifecycle on real parts: a SQLite metadata store and embedded node processes."""

from __future__ import annotations

import os
import signal

import pytest
import sqlalchemy as sa

from app.clusters.lifecycle import (
    ClusterRequestError,
    NewCluster,
    create_cluster,
    delete_cluster,
    poll,
    resize_cluster,
    retry_cluster,
    start_cluster,
    stop_cluster,
)
from models.access import operator
from models.cluster_types import cluster_type
from models.settings import Settings
from models.store import open_metadata
from models.tables import AuditEvent, Cluster, ClusterEvent, Organisation, Project
from tests.app.clusters.waiting import wait_until

pytestmark = pytest.mark.integration
# The machine's operator: no role needed (tests/app/test_access.py covers roles).
ACTOR = operator("engineer@plant.example")


@pytest.fixture
def world(tmp_path):
    # Server clusters on this machine only (CURVEHOUSE_SERVER_CLUSTER_HOSTS).
    settings = Settings(home=tmp_path, server_cluster_hosts=("127.0.0.1",))
    store = open_metadata(settings)
    with store.sessions() as session:
        org = Organisation(name="Plant")
        project = Project(organisation=org, name="Press shop")
        session.add_all([org, project])
        session.commit()
        project_id = project.id
    yield store, settings, project_id
    with store.sessions() as session:
        live = session.scalars(sa.select(Cluster).where(Cluster.status != "deleted")).all()
    for cluster in live:  # never leave node processes behind
        delete_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)
    store.close()


def request(project_id: int, name: str = "press-dev", **changes) -> NewCluster:
    fields = dict(
        provider="embedded", region="local", size=cluster_type("development").default_spec()
    )
    return NewCluster(project_id=project_id, name=name, **{**fields, **changes})


def events(store, cluster_id: int) -> list[tuple[str | None, str, str, str]]:
    with store.sessions() as session:
        rows = session.scalars(
            sa.select(ClusterEvent)
            .where(ClusterEvent.cluster_id == cluster_id)
            .order_by(ClusterEvent.id)
        ).all()
        return [(r.from_state, r.to_state, r.action, r.actor) for r in rows]


def test_create_provisions_a_queryable_cluster_with_the_curve_schema(world):
    store, settings, project = world
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    assert cluster.status == "provisioning"
    ready = wait_until(
        store=store, settings=settings, cluster_id=cluster.id, states={"running", "failed"}
    )
    assert ready.status == "running"
    from providers.clusters.embedded import EmbeddedClusterProvider

    provider = EmbeddedClusterProvider(settings.home)
    with provider.connection(ready.provider_config["handle"]).client() as client:
        tables = {r[0] for r in client.query("SHOW TABLES").result_rows}
    assert {"curves", "curve_samples", "datasets"} <= tables
    assert events(store, cluster.id) == [
        (None, "provisioning", "create", ACTOR.label),
        ("provisioning", "running", "provision", "poller"),
    ]


def test_stop_start_resize_delete_are_recorded_as_observed(world):
    store, settings, project = world
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    stop_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)
    assert (
        wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"stopped"}).status
        == "stopped"
    )
    with pytest.raises(ClusterRequestError, match="is stopped"):
        stop_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)
    start_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)
    assert (
        wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"}).status
        == "running"
    )
    bigger = cluster_type("development").default_spec().__class__("development", 2, 8, 32)
    resize_cluster(store=store, settings=settings, cluster_id=cluster.id, size=bigger, actor=ACTOR)
    resized = wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    assert (resized.nodes, resized.vcpu_per_node, resized.memory_gib_per_node) == (2, 8, 32)
    delete_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)
    gone = wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"deleted"})
    assert gone.status == "deleted"
    assert not (settings.home / "clusters" / f"c{cluster.id}").exists()
    with store.sessions() as session:
        audited = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert audited == [
        "cluster.create",
        "cluster.stop",
        "cluster.start",
        "cluster.resize",
        "cluster.delete",
    ]
    assert [e[1] for e in events(store, cluster.id)] == [
        "provisioning",
        "running",
        "stopping",
        "stopped",
        "starting",
        "running",
        "starting",
        "running",
        "deleting",
        "deleted",
    ]


def test_bad_requests_are_refused_and_leave_nothing(world):
    store, settings, project = world
    with pytest.raises(ClusterRequestError, match="lower-case letters"):
        create_cluster(
            store=store, settings=settings, request=request(project, name="X"), actor=ACTOR
        )
    too_big = cluster_type("development").default_spec().__class__("development", 3, 4, 16)
    with pytest.raises(ClusterRequestError, match="1–2 nodes"):
        create_cluster(
            store=store, settings=settings, request=request(project, size=too_big), actor=ACTOR
        )
    create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    with pytest.raises(ClusterRequestError, match="already has a cluster"):
        create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    with store.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Cluster)) == 1


def test_a_region_the_provider_does_not_serve_is_refused_up_front(world):
    store, settings, project = world
    with pytest.raises(ClusterRequestError, match="run in local"):
        create_cluster(
            store=store,
            settings=settings,
            request=request(project, region="aws/us-east-1"),
            actor=ACTOR,
        )
    with pytest.raises(ClusterRequestError, match="Cloud is not configured"):
        create_cluster(
            store=store,
            settings=settings,
            request=request(project, provider="cloud", region="aws/us-east-1"),
            actor=ACTOR,
        )
    with store.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Cluster)) == 0


def test_a_provider_failure_fails_the_cluster_and_says_why(world):
    store, settings, project = world
    unreachable = request(
        project,
        provider="server",
        region="self-managed",
        provider_options={"url": "http://default:pw@127.0.0.1:9"},
    )
    cluster = create_cluster(store=store, settings=settings, request=unreachable, actor=ACTOR)
    assert cluster.status == "failed"
    assert "could not reach 127.0.0.1:9: connection refused" in events_detail(store, cluster.id)
    assert "pw" not in events_detail(store, cluster.id)


def test_a_node_that_dies_while_provisioning_is_cleaned_up(world, monkeypatch):
    store, settings, project = world
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    data = settings.home / "clusters" / f"c{cluster.id}"
    os.kill(int((data / "node.pid").read_text()), signal.SIGKILL)
    failed = wait_until(
        store=store, settings=settings, cluster_id=cluster.id, states={"failed", "running"}
    )
    if failed.status == "running":  # the node answered before it was killed: kill it now
        pytest.skip("the node came up before the kill; the race this test needs did not happen")
    assert failed.status == "failed"
    assert not data.exists()
    poll(store=store, settings=settings)  # nothing left to observe: it stays failed, with why
    assert (
        wait_until(
            store=store, settings=settings, cluster_id=cluster.id, states=set(), timeout=0
        ).status
        == "failed"
    )


def test_a_node_that_crashes_is_failed_and_can_be_started_again(world):
    store, settings, project = world
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    data = settings.home / "clusters" / f"c{cluster.id}"
    os.kill(int((data / "node.pid").read_text()), signal.SIGKILL)
    crashed = wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"failed"})
    assert crashed.status == "failed" and data.exists()  # a crash keeps the data
    start_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)
    again = wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    assert again.status == "running"


def test_polling_resumes_from_the_store_after_a_restart(world):
    store, settings, project = world
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    store.close()
    reopened = open_metadata(settings)  # a new server process would do just this
    ready = wait_until(store=reopened, settings=settings, cluster_id=cluster.id, states={"running"})
    assert ready.status == "running"
    assert poll(store=reopened, settings=settings) == []
    reopened.close()


def events_detail(store, cluster_id: int) -> str:
    with store.sessions() as session:
        return " ".join(
            e.detail
            for e in session.scalars(
                sa.select(ClusterEvent).where(ClusterEvent.cluster_id == cluster_id)
            )
        )


def test_a_failed_provisioning_is_retried_not_started(world, tmp_path):
    """A server that was down when the cluster was created: Retry provisions it once it is up."""
    from urllib.parse import urlsplit, urlunsplit

    from models.cluster_types import ClusterSpec
    from providers.clusters import Deployment
    from providers.clusters.embedded import EmbeddedClusterProvider
    from tests.providers.clusters.test_embedded import wait_for

    store, settings, project = world
    nodes = EmbeddedClusterProvider(tmp_path / "server")
    server = nodes.create("c_srv", Deployment("srv", "local", ClusterSpec("development", 1, 4, 16)))
    wait_for(nodes, server, "running")
    url = urlunsplit(urlsplit(nodes.connection(server).url(reveal=True))._replace(path=""))
    nodes.stop(server)
    wait_for(nodes, server, "stopped")
    try:
        down = request(
            project, provider="server", region="self-managed", provider_options={"url": url}
        )
        cluster = create_cluster(store=store, settings=settings, request=down, actor=ACTOR)
        assert cluster.status == "failed"
        with pytest.raises(ClusterRequestError, match="never ran: its provisioning failed"):
            start_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)

        again = retry_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)
        assert again.status == "failed"  # still down: failed again, with why
        assert events(store, cluster.id)[-2:] == [
            ("failed", "provisioning", "retry", ACTOR.label),
            ("provisioning", "failed", "retry", ACTOR.label),
        ]

        nodes.start(server)
        wait_for(nodes, server, "running")
        retry_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)
        up = wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
        assert up.status == "running"
        with pytest.raises(ClusterRequestError, match="only a cluster whose provisioning failed"):
            retry_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)
        with store.sessions() as session:
            audited = session.scalars(
                sa.select(AuditEvent.action).where(AuditEvent.target_id == str(cluster.id))
            ).all()
        assert audited.count("cluster.retry") == 2
        delete_cluster(store=store, settings=settings, cluster_id=cluster.id, actor=ACTOR)
    finally:  # the world fixture deletes what is left, while the server still answers
        wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"deleted"})
        nodes.delete(server)
