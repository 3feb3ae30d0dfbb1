"""Latency and query rate measured on a real node, kept in the metadata store."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.clusters import probes
from app.clusters.lifecycle import create_cluster
from app.clusters.poller import ClusterPoller
from models.store import open_metadata
from models.tables import ClusterProbe, utcnow
from providers.clusters.configured import provider_for
from tests.app.clusters import test_lifecycle
from tests.app.clusters.test_lifecycle import ACTOR, request
from tests.app.clusters.waiting import wait_until

pytestmark = pytest.mark.integration
world = test_lifecycle.world


def test_the_poller_measures_running_clusters_and_the_readings_outlive_the_server(world):
    store, settings, project = world
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    running = wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    poller = ClusterPoller(store, settings)
    poller.cycle()
    handle = running.provider_config["handle"]
    with provider_for(settings, running).connection(handle).client() as client:
        for _ in range(20):  # the users' load between two probes
            client.query("SELECT count() FROM curves")
    poller.cycle()
    poller.stop()
    seen = probes.health(store, cluster.id)
    assert seen.probes == 2 and 0 < seen.p50_ms <= seen.p95_ms < 5000
    assert seen.queries_per_second > 0
    reopened = open_metadata(settings)  # a restarted server reads the same window
    assert probes.health(reopened, cluster.id) == seen
    reopened.close()


def test_the_probes_themselves_do_not_count_in_the_query_rate(world):
    """Issue 16: an idle embedded cluster read as busy, because every probe's queries (and the
    node's own statements for each) were counted as load."""
    store, settings, project = world
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    running = wait_until(store=store, settings=settings, cluster_id=cluster.id, states={"running"})
    handle = running.provider_config["handle"]
    poller = ClusterPoller(store, settings)
    with provider_for(settings, running).connection(handle).client() as client:
        for _ in range(4):  # nothing but probes
            poller.cycle()
        idle = probes.health(store, cluster.id)
        assert idle.probes == 4 and idle.queries_per_second == 0.0
        for _ in range(20):  # a client's 20 queries between two probes count as 20
            client.query("SELECT count() FROM curves")
        poller.cycle()
        poller.cycle()
    poller.stop()
    assert list(probes.history(store, cluster.id).client_queries[1:]) == [0, 0, 0, 20, 0]
    assert probes.health(store, cluster.id).queries_per_second > 0


def test_no_probe_yet_says_so(world):
    store, _, _ = world
    assert probes.health(store, 12345) == probes.Health(0, None, None, None)


def test_old_readings_are_pruned(world):
    store, settings, project = world
    cluster = create_cluster(store=store, settings=settings, request=request(project), actor=ACTOR)
    with store.sessions() as session:
        for age in (timedelta(days=2), timedelta(minutes=1)):
            session.add(
                ClusterProbe(
                    cluster_id=cluster.id, at=utcnow() - age, latency_ms=1.0, queries_total=5
                )
            )
        session.commit()
    probes.prune(store)
    with store.sessions() as session:
        left = session.scalars(sa.select(ClusterProbe.latency_ms)).all()
    assert left == [1.0]
    assert probes.health(store, cluster.id).probes == 1


def test_readings_are_kept_at_least_as_long_as_the_charts_show():
    assert timedelta(hours=probes.CHART_HOURS) <= probes.KEEP
