"""What a cluster's probe readings say: ``SELECT 1`` latency and the clients' query rate.

The poller's probes are queries too, and an embedded node runs several engine statements for
each query a client sends (its own ``USE`` and ``SET``), so the engine's ``Query`` counter alone
reads an idle embedded cluster as busy. Each reading therefore keeps what its own probe added to
the counter (``probe_queries``: two client queries' worth, see ``providers.clusters.measure``).
From that comes the number of engine statements per client query; the rate subtracts the
probe's three client queries from every interval and counts the rest in client queries. The
load of other readers of the cluster (a dashboard's storage reading, notebooks) is counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.tables import ClusterProbe

PROBE_CLIENT_QUERIES = 3  # counter read, SELECT 1, counter read (providers.clusters.measure)
OLD_PROBE_QUERIES = 2  # readings without probe_queries: SELECT 1 and one counter read


@dataclass(frozen=True)
class ProbeHistory:
    """One cluster's readings in time order, as arrays for a chart or a summary.

    ``queries_per_second[i]`` is the clients' rate between reading ``i - 1`` and ``i``; it is
    NaN for the first reading and across a restart (the counter began anew).
    """

    at: np.ndarray  # datetime64[us], UTC
    latency_ms: np.ndarray
    queries_per_second: np.ndarray
    client_queries: np.ndarray  # per interval, NaN where the rate is
    seconds: np.ndarray  # per interval, NaN for the first reading

    def __len__(self) -> int:
        return len(self.at)

    def binned(self, seconds: float) -> ProbeHistory:
        """One point per ``seconds`` of wall time (a chart's resolution): the mean latency and
        the clients' rate over the bucket, stamped with the bucket's start."""
        if not len(self):
            return self
        step = int(seconds * 1e6)
        ticks = self.at.astype("datetime64[us]").astype(np.int64) // step
        starts, bucket = np.unique(ticks, return_inverse=True)
        size = len(starts)
        valid = ~np.isnan(self.client_queries)
        queries = np.bincount(bucket[valid], self.client_queries[valid], minlength=size)
        spent = np.bincount(bucket[valid], self.seconds[valid], minlength=size)
        latency = np.bincount(bucket, self.latency_ms, minlength=size) / np.bincount(bucket)
        counted = np.bincount(bucket[valid], minlength=size) > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(counted & (spent > 0), queries / spent, np.nan)
        return ProbeHistory(
            at=(starts * step).astype("datetime64[us]"),
            latency_ms=latency,
            queries_per_second=rate,
            client_queries=np.where(counted, queries, np.nan),
            seconds=np.where(counted, spent, np.nan),
        )

    def mean_rate(self) -> float | None:
        """The clients' queries over the whole history, per second (None: no interval)."""
        valid = ~np.isnan(self.client_queries)
        seconds = float(self.seconds[valid].sum())
        if not valid.any() or seconds <= 0:
            return None
        return float(self.client_queries[valid].sum()) / seconds


def client_queries(totals: np.ndarray, probe_queries: np.ndarray) -> np.ndarray:
    """The queries clients other than the probes sent between consecutive readings.

    ``totals``: the counter after each probe; ``probe_queries``: what each probe added over
    its last two queries (NaN for old readings, whose probes ran two queries and are counted
    one statement per query). The statements per client query are the median over the
    readings, so a query that lands inside one probe does not skew them. NaN across a restart.
    """
    totals = np.asarray(totals, dtype=float)
    own = np.asarray(probe_queries, dtype=float)
    out = np.full(len(totals), np.nan)
    if len(totals) < 2:
        return out
    measured = own[~np.isnan(own) & (own > 0)]
    per_query = float(np.median(measured)) / 2 if len(measured) else 1.0
    steps = np.diff(totals)
    newer = ~np.isnan(own[1:])
    probe = np.where(newer, PROBE_CLIENT_QUERIES, OLD_PROBE_QUERIES)
    statements = np.where(newer, per_query, 1.0)
    counted = np.maximum(0.0, steps / statements - probe)
    out[1:] = np.where(steps >= 0, counted, np.nan)
    return out


def probe_history(session: Session, cluster_id: int, *, since: datetime) -> ProbeHistory:
    """The readings of ``cluster_id`` taken at or after ``since``, oldest first."""
    rows = session.execute(
        sa.select(
            ClusterProbe.at,
            ClusterProbe.latency_ms,
            ClusterProbe.queries_total,
            ClusterProbe.probe_queries,
        )
        .where(ClusterProbe.cluster_id == cluster_id, ClusterProbe.at >= since)
        .order_by(ClusterProbe.at, ClusterProbe.id)
    ).all()
    at = np.array([r.at.replace(tzinfo=None) for r in rows], dtype="datetime64[us]")
    own = np.array([np.nan if r.probe_queries is None else r.probe_queries for r in rows], float)
    queries = client_queries(np.array([r.queries_total for r in rows], float), own)
    seconds = np.full(len(rows), np.nan)
    if len(rows) > 1:
        seconds[1:] = np.diff(at).astype("timedelta64[us]").astype(float) / 1e6
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(seconds > 0, queries / seconds, np.nan)
    return ProbeHistory(
        at=at,
        latency_ms=np.array([r.latency_ms for r in rows], float),
        queries_per_second=rate,
        client_queries=queries,
        seconds=seconds,
    )
