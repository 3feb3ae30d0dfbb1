"""Measured health of running clusters: ``SELECT 1`` round trips and query counters.

The poller probes every running cluster each cycle; the dashboard reads p50/p95 over the recent
window and the query rate from two readings of ``system.events``. Readings are kept in this
process's memory (a restart starts a new window).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

WINDOW_SECONDS = 15 * 60
_lock = threading.Lock()
_readings: dict[int, deque[tuple[float, float, int]]] = defaultdict(lambda: deque(maxlen=2000))


@dataclass(frozen=True)
class Health:
    """What the recent window says about one cluster."""

    probes: int
    p50_ms: float | None
    p95_ms: float | None
    queries_per_second: float | None


def probe(cluster_id: int, client: Client) -> float:
    """One ``SELECT 1`` round trip (milliseconds), recorded with the engine's query counter."""
    began = time.perf_counter()
    client.query("SELECT 1")
    elapsed = (time.perf_counter() - began) * 1e3
    total = client.query(
        "SELECT toUInt64(sum(value)) FROM system.events WHERE event = 'Query'"
    ).result_rows[0][0]
    with _lock:
        _readings[cluster_id].append((time.time(), elapsed, int(total)))
    return elapsed


def health(cluster_id: int, now: float | None = None) -> Health:
    now = time.time() if now is None else now
    with _lock:
        recent = [r for r in _readings.get(cluster_id, ()) if now - r[0] <= WINDOW_SECONDS]
    if not recent:
        return Health(0, None, None, None)
    latencies = np.array([r[1] for r in recent])
    rate = None
    if len(recent) >= 2 and recent[-1][0] > recent[0][0]:
        # Each probe itself runs two queries; they are not the users' load.
        counted = recent[-1][2] - recent[0][2] - 2 * (len(recent) - 1)
        rate = max(0.0, counted / (recent[-1][0] - recent[0][0]))
    return Health(
        probes=len(recent),
        p50_ms=float(np.percentile(latencies, 50)),
        p95_ms=float(np.percentile(latencies, 95)),
        queries_per_second=rate,
    )


def forget(cluster_id: int) -> None:
    with _lock:
        _readings.pop(cluster_id, None)
