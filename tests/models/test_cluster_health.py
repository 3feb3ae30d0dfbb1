"""Probe readings as arrays: the clients' query rate with the probes left out, and history for
the dashboard's charts (issue 16), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from models.cluster_health import client_queries, probe_history
from models.tables import (
    Cluster,
    ClusterProbe,
    ClusterStatus,
    Organisation,
    Project,
    ProviderKey,
    utcnow,
)

NAN = np.nan
# An embedded node runs 9 engine statements per client query: a probe's last two queries add
# 18 to the counter, a whole probe (three queries) 27.
NODE = 9


def test_an_idle_node_has_no_client_queries_however_many_statements_its_probes_run():
    totals = np.array([100, 127, 154, 181])
    np.testing.assert_equal(client_queries(totals, np.full(4, 2 * NODE)), [NAN, 0, 0, 0])


def test_client_queries_are_counted_once_each_and_probes_left_out():
    # 20 client queries between the 2nd and 3rd probes; one query landed inside the last probe,
    # which the median of the probes' own cost ignores.
    totals = np.array([100, 127, 127 + 27 + 20 * NODE, 127 + 27 + 20 * NODE + 27 + NODE])
    own = np.array([18, 18, 18, 18 + NODE])
    np.testing.assert_equal(client_queries(totals, own), [NAN, 0, 20, 1])


def test_a_server_counts_one_statement_per_query_and_a_restart_breaks_the_count():
    totals = np.array([50, 53, 58, 4, 7])
    np.testing.assert_equal(client_queries(totals, np.full(5, 2)), [NAN, 0, 2, NAN, 0])


def test_readings_from_before_probes_measured_themselves_subtract_two_queries():
    totals = np.array([10, 12, 17, 20])
    own = np.array([NAN, NAN, NAN, 2])
    np.testing.assert_equal(client_queries(totals, own), [NAN, 0, 3, 0])


def test_one_reading_has_no_rate():
    np.testing.assert_equal(client_queries(np.array([10]), np.array([2])), [NAN])


@pytest.fixture
def cluster_id(sessions):
    with sessions() as session:
        project = Project(organisation=Organisation(name="Plant"), name="Press shop")
        cluster = Cluster(
            project=project,
            name="press-dev",
            type_key="development",
            provider=ProviderKey.EMBEDDED,
            region="local",
            nodes=1,
            vcpu_per_node=4,
            memory_gib_per_node=16,
            status=ClusterStatus.RUNNING,
        )
        session.add(cluster)
        session.commit()
        return cluster.id


def add_readings(sessions, cluster_id, readings) -> None:
    """``readings``: (seconds ago, latency, counter, probe's own) per probe."""
    now = utcnow()
    with sessions() as session:
        for ago, latency, total, own in readings:
            session.add(
                ClusterProbe(
                    cluster_id=cluster_id,
                    at=now - timedelta(seconds=ago),
                    latency_ms=latency,
                    queries_total=total,
                    probe_queries=own,
                )
            )
        session.commit()


def test_history_returns_the_window_as_arrays_oldest_first(sessions, cluster_id):
    add_readings(
        sessions,
        cluster_id,
        [
            (7 * 3600, 99.0, 1, 18),  # older than the window
            (120, 4.0, 1000, 18),
            (60, 6.0, 1027 + 30 * NODE, 18),
            (0, 5.0, 1027 + 30 * NODE + 27, 18),
        ],
    )
    with sessions() as session:
        history = probe_history(session, cluster_id, since=utcnow() - timedelta(hours=6))
    assert len(history) == 3 and history.at.dtype == np.dtype("datetime64[us]")
    assert np.all(np.diff(history.at) > np.timedelta64(59, "s"))
    np.testing.assert_equal(history.latency_ms, [4.0, 6.0, 5.0])
    np.testing.assert_equal(history.client_queries, [NAN, 30, 0])
    np.testing.assert_allclose(history.queries_per_second, [NAN, 0.5, 0.0], atol=1e-3)
    assert history.mean_rate() == pytest.approx(30 / 120, abs=1e-3)
    per_minute = history.binned(60)
    assert len(per_minute) <= 3 and np.nansum(per_minute.client_queries) == 30


def test_no_readings_is_an_empty_history(sessions, cluster_id):
    with sessions() as session:
        history = probe_history(session, cluster_id, since=utcnow() - timedelta(hours=6))
    assert len(history) == 0 and history.mean_rate() is None
    assert len(history.binned(60)) == 0


def test_binned_history_averages_latency_and_sums_queries_per_bucket(sessions, cluster_id):
    base = utcnow().replace(second=30, microsecond=0) - timedelta(minutes=5)
    ago = [(utcnow() - (base + timedelta(seconds=s))).total_seconds() for s in (0, 10, 20, 70)]
    add_readings(
        sessions,
        cluster_id,
        [
            (ago[0], 2.0, 0, 2),
            (ago[1], 4.0, 3 + 10, 2),
            (ago[2], 6.0, 16 + 10, 2),
            (ago[3], 8.0, 29 + 5, 2),
        ],
    )
    with sessions() as session:
        history = probe_history(session, cluster_id, since=utcnow() - timedelta(hours=1))
    shown = history.binned(60)
    np.testing.assert_allclose(shown.latency_ms, [4.0, 8.0])
    np.testing.assert_allclose(shown.client_queries, [20, 5])
    np.testing.assert_allclose(shown.queries_per_second, [1.0, 0.1], rtol=1e-3)
    assert shown.at[0] == np.datetime64(base.replace(second=0, tzinfo=None), "us")
