"""Waiting for a cluster to reach a state, as tests need: poll as the server's poller does.

The product never waits: the poller records what a provider observes, and pages show it.
"""

from __future__ import annotations

import time

from app.clusters.lifecycle import poll
from models.settings import Settings
from models.store import MetadataStore
from models.tables import Cluster


def wait_until(
    *,
    store: MetadataStore,
    settings: Settings,
    cluster_id: int,
    states: set[str],
    timeout: float = 60.0,
) -> Cluster:
    """Poll until the cluster reaches one of ``states`` or ``timeout`` runs out; the cluster as
    last seen either way (a test asserts its status)."""
    deadline = time.monotonic() + timeout
    while True:
        poll(store=store, settings=settings)
        with store.sessions() as session:
            cluster = session.get(Cluster, cluster_id)
            if str(cluster.status) in states or time.monotonic() > deadline:
                return cluster
        time.sleep(0.1)
