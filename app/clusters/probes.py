"""Measured health of running clusters: ``SELECT 1`` round trips and query counters.

The poller probes every running cluster each cycle and keeps the readings in the metadata
store (``cluster_probes``), so p50/p95 over the recent window survive a restart; the query
rate comes from two readings of ``system.events``. Readings older than a day are pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import numpy as np
import sqlalchemy as sa

from models.tables import ClusterProbe, utcnow
from providers.clusters import measure

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from models.store import MetadataStore

WINDOW_SECONDS = 15 * 60
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
            )
        )
        session.commit()
    return reading.latency_ms


def health(store: MetadataStore, cluster_id: int) -> Health:
    since = utcnow() - timedelta(seconds=WINDOW_SECONDS)
    with store.sessions() as session:
        recent = session.execute(
            sa.select(ClusterProbe.at, ClusterProbe.latency_ms, ClusterProbe.queries_total)
            .where(ClusterProbe.cluster_id == cluster_id, ClusterProbe.at >= since)
            .order_by(ClusterProbe.at)
        ).all()
    if not recent:
        return Health(0, None, None, None)
    latencies = np.array([r.latency_ms for r in recent])
    rate = None
    seconds = (recent[-1].at - recent[0].at).total_seconds()
    restarted = recent[-1].queries_total < recent[0].queries_total  # the counter began anew
    if len(recent) >= 2 and seconds > 0 and not restarted:
        # Each probe itself runs two queries; they are not the users' load.
        counted = recent[-1].queries_total - recent[0].queries_total - 2 * (len(recent) - 1)
        rate = max(0.0, counted / seconds)
    return Health(
        probes=len(recent),
        p50_ms=float(np.percentile(latencies, 50)),
        p95_ms=float(np.percentile(latencies, 95)),
        queries_per_second=rate,
    )


def prune(store: MetadataStore) -> None:
    """Drop readings older than :data:`KEEP`."""
    with store.sessions() as session:
        session.execute(sa.delete(ClusterProbe).where(ClusterProbe.at < utcnow() - KEEP))
        session.commit()
