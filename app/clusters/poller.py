"""The background poller: observes every live cluster and probes the running ones.

One per server process, started by ``curvehouse serve``. Its state is the metadata store, so a
restart resumes it; the clients it keeps for probing are only a cache.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import sqlalchemy as sa

from app.clusters import probes
from app.clusters.lifecycle import poll
from models.tables import Cluster, ClusterStatus
from providers.clusters.configured import provider_for

if TYPE_CHECKING:
    from models.settings import Settings
    from models.store import MetadataStore

PERIOD_SECONDS = 2.0
PRUNE_EVERY = 300  # cycles: old probe readings leave about every ten minutes


class ClusterPoller:
    def __init__(self, store: MetadataStore, settings: Settings, period: float = PERIOD_SECONDS):
        self.store, self.settings, self.period = store, settings, period
        self._clients: dict[tuple[int, str], object] = {}
        self._stop = threading.Event()
        self._cycles = 0
        self._thread = threading.Thread(target=self._run, name="cluster-poller", daemon=True)

    def start(self) -> ClusterPoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.cycle()
            self._stop.wait(self.period)

    def cycle(self) -> None:
        """Observe, then probe what is running; a failure is logged, never fatal to the loop."""
        try:
            poll(store=self.store, settings=self.settings)
            self._probe_running()
            self._cycles += 1
            if self._cycles % PRUNE_EVERY == 0:
                probes.prune(self.store)
        except Exception as exc:  # the next cycle tries again
            print(f"cluster poller: {exc}", flush=True)

    def _probe_running(self) -> None:
        with self.store.sessions() as session:
            running = session.scalars(
                sa.select(Cluster).where(Cluster.status == ClusterStatus.RUNNING)
            ).all()
        keep = set()
        for cluster in running:
            handle = cluster.provider_config.get("handle")
            if handle is None:
                continue
            key = (cluster.id, str(sorted(handle.items())))
            keep.add(key)
            try:
                client = self._clients.get(key)
                if client is None:
                    connection = provider_for(self.settings, cluster).connection(handle)
                    client = self._clients[key] = connection.client()
                probes.probe(self.store, cluster.id, client)
            except Exception:
                self._drop(key)
        for key in set(self._clients) - keep:
            self._drop(key)

    def _drop(self, key) -> None:
        client = self._clients.pop(key, None)
        if client is not None:
            client.close()
