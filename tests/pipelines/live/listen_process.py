"""A listener in its own process, for the SIGKILL test: ``listen`` prints ``committed <stored>``
after each commit and before its acks (which it delays, so a kill lands in that window);
``count`` prints what the engine holds as JSON."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from models.store import create_metadata_engine
from pipelines.curves import Curves
from pipelines.live.broker import SERVICE_USER
from pipelines.live.listener import ListenerConfig, MqttListener
from pipelines.live.sink import StoreSink
from pipelines.store import CurveStore
from providers.engines import get_engine

DATABASE = "curvehouse"
ACK_DELAY = 1.0  # seconds between a batch's commit and its acks


def _store(chdb: str) -> CurveStore:
    client = get_engine("embedded", path=Path(chdb)).client()
    return CurveStore.open(client, DATABASE, sweep_stale_after=0)


class _Reporting(MqttListener):
    def _commit(self, batch):
        outcome = super()._commit(batch)
        if outcome is not None:
            stored = Curves(self.store.client, DATABASE).count()
            print(f"committed {stored} skipped {outcome.skipped}", flush=True)
            time.sleep(ACK_DELAY)  # committed, not yet acked: the window the kill aims at
        return outcome


def listen(chdb: str, meta: str, port: str, secret: str) -> None:
    store = _store(chdb)
    engine = create_metadata_engine(f"sqlite:///{meta}")
    config = ListenerConfig(
        host="127.0.0.1",
        port=int(port),
        username=SERVICE_USER,
        password=secret,
        client_id="kill-test-listener",
        batch_curves=50,
        batch_seconds=0.2,
    )
    listener = _Reporting(config, StoreSink(sessionmaker(engine), lambda p: store))
    listener.store = store
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    listener.start()
    listener.subscribed.wait(30)
    print("ready", flush=True)
    stop.wait()
    listener.stop()


def count(chdb: str) -> None:
    store = _store(chdb)
    db = store.db
    committed = f"dataset_id IN (SELECT dataset_id FROM {db}.datasets)"
    rows, keys = store.client.query(
        f"SELECT count(), uniqExact(curve_key) FROM {db}.curves WHERE {committed}"
    ).result_rows[0]
    listed = store.client.query(f"SELECT sum(curve_count) FROM {db}.datasets").result_rows[0][0]
    print(json.dumps({"rows": rows, "keys": keys, "listed": int(listed or 0)}), flush=True)


if __name__ == "__main__":
    {"listen": listen, "count": count}[sys.argv[1]](*sys.argv[2:])
