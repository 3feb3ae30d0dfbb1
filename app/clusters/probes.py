"""Measured health of running clusters: ``SELECT 1`` round trips and query counters.

The poller probes every running cluster each cycle and keeps the readings in the metadata
store (``cluster_probes``), so p50/p95 over the recent window and the charts of the last hours
survive a restart; the query rate comes from readings of ``system.events``, the probes' own
queries left out (``models/cluster_health.py``). Readings older than a day are pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa

from models.cluster_health import ProbeHistory, probe_history
from models.tables import ClusterProbe, utcnow
from providers.clusters import measure

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from models.store import MetadataStore

WINDOW_SECONDS = 15 * 60
CHART_HOURS = 6  # the dashboard's charts; readings are kept longer (KEEP)
KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Health:
    """What the recent window says about one cluster."""

    probes: int
    p50_ms: float | None
    p95_ms: float | None
    queries_per_second: float | None


def probe(store: MetadataStore, cluster_id: int, client: Client) -> float:
    """One ``SELECT 1`` round trip (milliseconds), recorded with the engine's query counter."""
    reading = measure(client)
    with store.sessions() as session:
        session.add(
            ClusterProbe(
                cluster_id=cluster_id,
                latency_ms=reading.latency_ms,
                queries_total=reading.queries_total,
                probe_queries=reading.probe_queries,
            )
        )
        session.commit()
    return reading.latency_ms


def history(store: MetadataStore, cluster_id: int, hours: float = CHART_HOURS) -> ProbeHistory:
    """The readings of the last ``hours``, oldest first, for the dashboard's charts."""
    with store.sessions() as session:
        return probe_history(session, cluster_id, since=utcnow() - timedelta(hours=hours))


def health(store: MetadataStore, cluster_id: int) -> Health:
    """Latency percentiles and the clients' query rate over the last :data:`WINDOW_SECONDS`."""
    recent = history(store, cluster_id, WINDOW_SECONDS / 3600)
    if not len(recent):
        return Health(0, None, None, None)
    return Health(
        probes=len(recent),
        p50_ms=float(np.percentile(recent.latency_ms, 50)),
        p95_ms=float(np.percentile(recent.latency_ms, 95)),
        queries_per_second=recent.mean_rate(),
    )


def prune(store: MetadataStore) -> None:
    """Drop readings older than :data:`KEEP`."""
    with store.sessions() as session:
        session.execute(sa.delete(ClusterProbe).where(ClusterProbe.at < utcnow() - KEEP))
        session.commit()
