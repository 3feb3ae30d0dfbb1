"""The engine busy or away while curves keep coming (issue 18 §1, "nothing lost, nothing
doubled"): a gateway streams curves at QoS 1 to a real mosquitto while the listener's commits

- fail: every engine call raises, as a ClickHouse server that went away does (connection
  refused), and the listener is restarted in the middle of it; or
- block: a file import into the same project is under way (its file read slowly), holding the
  project's write lock as every import does on the built-in engine.

Issue 18 asks for a minute; the outage here is ``CURVEHOUSE_TEST_ENGINE_OUTAGE_SECONDS`` (10 s
by default, 60 to run the issue's case). Through it the listener acks nothing (so the broker
keeps and redelivers what it could not commit), retries with backoff and says in its log what
it waits for; afterwards it catches up, every curve the gateway got a PUBACK for is stored once.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time

import pandas as pd
import pytest
from clickhouse_connect.driver.exceptions import OperationalError

from pipelines.ingest.assemble import build_batch
from pipelines.live.broker import SERVICE_USER
from pipelines.live.listener import ListenerConfig, MqttListener
from pipelines.live.payload import parse_message
from pipelines.live.sink import StoreSink
from pipelines.store import CurveStore, DatasetSpec
from tests.pipelines.live.conftest import StreamingGateway, stored_keys, wait_until

OUTAGE = float(os.environ.get("CURVEHOUSE_TEST_ENGINE_OUTAGE_SECONDS", "10"))
LOGGER = "pipelines.live.listener"


class _Outage:
    """An engine client that raises as an unreachable server does, from ``begin()`` for
    ``OUTAGE`` seconds; other times it is the real client."""

    CALLS = ("query", "command", "insert", "insert_arrow", "raw_insert", "query_arrow")

    def __init__(self, client) -> None:
        self.client = client
        self.until = 0.0
        self.first_refused: float | None = None

    def begin(self) -> None:
        self.until = time.monotonic() + OUTAGE

    @property
    def over(self) -> bool:
        return time.monotonic() >= self.until

    def __getattr__(self, name: str):
        real = getattr(self.client, name)
        if name not in self.CALLS:
            return real

        def call(*args, **kwargs):
            if not self.over:
                if self.first_refused is None:
                    self.first_refused = time.monotonic()
                raise OperationalError(
                    "Error HTTPConnectionPool(host='clickhouse', port=8123): Max retries "
                    "exceeded (Caused by NewConnectionError: [Errno 111] Connection refused)"
                )
            return real(*args, **kwargs)

        return call


class _Acks:
    """Every ack a listener sends, with when."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def watch(self, listener: MqttListener) -> None:
        real = listener.client.ack

        def ack(mid: int, qos: int):
            self.times.append(time.monotonic())
            return real(mid, qos)

        listener.client.ack = ack

    def between(self, start: float, end: float) -> int:
        return sum(start <= t < end for t in self.times)


def _keys(listener: MqttListener) -> list[str]:
    """Record the curve key of every message the listener receives, redeliveries included."""
    seen: list[str] = []
    real = listener.client.on_message

    def on_message(client, userdata, message) -> None:
        seen.append(json.loads(message.payload)["curve_key"])
        real(client, userdata, message)

    listener.client.on_message = on_message
    return seen


def _config(broker) -> ListenerConfig:
    return ListenerConfig(
        host="127.0.0.1",
        port=broker.port,
        username=SERVICE_USER,
        password=broker.service_secret(),
        client_id="busy-test-listener",
        batch_curves=50,
        batch_seconds=0.2,
    )


def _finish(gateway: StreamingGateway, store: CurveStore, more: int = 100) -> set[str]:
    """Let the gateway publish ``more`` curves, stop it, wait for its PUBACKs and for every
    acked curve to be stored; return the acked keys."""
    target = len(gateway.sent) + more
    wait_until(lambda: len(gateway.sent) >= target, 60, "more publishing")
    gateway.stop_publishing()
    published = {key for key, _ in gateway.sent}
    wait_until(lambda: gateway.acked() >= published, 60, "every PUBACK")
    acked = gateway.acked()
    wait_until(lambda: set(stored_keys(store)) >= acked, 60, "every acked curve stored")
    return acked


def _check_once(
    store: CurveStore, gateway: StreamingGateway, acked: set[str], imported: frozenset = frozenset()
) -> None:
    stored = stored_keys(store)
    assert set(stored) >= acked, f"{len(acked - set(stored))} acknowledged curves were lost"
    assert set(stored) <= {key for key, _ in gateway.sent} | imported
    doubled = {key: n for key, n in stored.items() if n != 1}
    assert not doubled, f"stored more than once: {doubled}"


@pytest.mark.integration
def test_engine_failing_acks_nothing_retries_with_backoff_and_catches_up(
    broker, sessions, curve_store, caplog
):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    engine = _Outage(curve_store.client)
    failing = CurveStore(engine, curve_store.database)
    sink = StoreSink(sessions, lambda project: failing)
    acks = _Acks()
    first = MqttListener(_config(broker), sink)
    acks.watch(first)
    seen_first = _keys(first)
    second = None
    gateway = None
    first.start()
    try:
        assert first.subscribed.wait(30), first.refused
        gateway = StreamingGateway(broker.port, period=0.02)
        wait_until(lambda: first.totals.committed >= 50, what="the first commits")

        engine.begin()
        wait_until(lambda: first.failures >= 2, 30, "two failed commits")
        stopping = time.monotonic()
        first.stop()  # while its batch is failing: nothing of it is acked
        assert time.monotonic() - stopping < 10, "stop waited for the engine"
        committed_by_first = first.totals.committed
        unacked = set(seen_first) - set(stored_keys(curve_store))
        assert unacked, "the first listener held no uncommitted message"

        second = MqttListener(_config(broker), sink)
        acks.watch(second)
        seen_second = _keys(second)
        second.start()
        assert second.subscribed.wait(30), second.refused
        wait_until(lambda: engine.over, OUTAGE + 30, "the end of the outage")
        wait_until(lambda: second.totals.committed > 0, 60, "the first commit after it")
        # No commit can pass between the first refusal and the end: neither can an ack.
        assert acks.between(engine.first_refused, engine.until) == 0, "acked a failed commit"
        assert unacked <= set(seen_second), "the broker did not redeliver what was not acked"
        acked = _finish(gateway, curve_store)
    finally:
        if gateway is not None:
            gateway.close()
        first.stop()
        if second is not None:
            second.stop()
    _check_once(curve_store, gateway, acked)
    assert first.totals.committed == committed_by_first

    retries = [r for r in caplog.records if "failed, attempt" in r.getMessage()]
    delays = [float(r.args[-1]) for r in retries]
    assert delays[:2] == [1.0, 2.0], delays  # each listener's backoff starts at 1 s
    most = MqttListener.RETRY_MAX_SECONDS
    assert all(b in (1.0, min(2 * a, most)) for a, b in itertools.pairwise(delays))
    # Backoff, not a busy loop (one every 0.2 s would be 50 in 10 s): a dozen at most in a
    # minute's outage.
    assert len(retries) <= 12
    assert "Connection refused" in retries[0].getMessage()
    assert "project demo" in retries[0].getMessage()
    assert any("at attempt" in r.getMessage() for r in caplog.records)  # back, and said so


@pytest.mark.integration
def test_engine_blocked_by_an_import_acks_nothing_says_so_and_catches_up(
    broker, sessions, curve_store, caplog, monkeypatch
):
    caplog.set_level(logging.WARNING, logger=LOGGER)
    monkeypatch.setattr(MqttListener, "SLOW_COMMIT_SECONDS", 2.0)
    listener = MqttListener(_config(broker), StoreSink(sessions, lambda p: curve_store))
    acks = _Acks()
    acks.watch(listener)
    gateway = None
    held = threading.Event()
    release = threading.Event()
    parsed = parse_message(StreamingGateway.payload_of("IMPORT-1", 7).encode(), max_bytes=1 << 20)

    def slow_file():  # an import reading a big file: one batch, then a long wait for the next
        yield build_batch(parsed.curves, ingested_at=pd.Timestamp.now(tz="UTC"))
        held.set()
        release.wait(OUTAGE + 30)

    spec = DatasetSpec(project="demo", kind="import", name="line7-week49.csv")
    importer = threading.Thread(target=lambda: curve_store.write(slow_file(), spec))
    listener.start()
    try:
        assert listener.subscribed.wait(30), listener.refused
        gateway = StreamingGateway(broker.port, period=0.02)
        wait_until(lambda: listener.totals.committed >= 50, what="the first commits")
        importer.start()
        assert held.wait(30)
        began = time.monotonic()
        wait_until(
            lambda: any("has waited" in r.getMessage() for r in caplog.records),
            30,
            "the listener to say it waits",
        )
        acks_then = len(acks.times)
        acked_then = len(gateway.acked())
        wait_until(lambda: time.monotonic() >= began + OUTAGE, OUTAGE + 5, "the outage")
        assert len(gateway.acked()) > acked_then + 50, "the broker stopped taking curves"
        assert len(acks.times) == acks_then, "acked while its commit was blocked"
        release.set()
        importer.join(30)
        acked = _finish(gateway, curve_store)
    finally:
        release.set()
        if gateway is not None:
            gateway.close()
        listener.stop()
    _check_once(curve_store, gateway, acked, frozenset({"IMPORT-1"}))
    assert "IMPORT-1" in stored_keys(curve_store)
    waiting = [r.getMessage() for r in caplog.records if "has waited" in r.getMessage()]
    assert "project demo" in waiting[0] and "for the engine" in waiting[0]
    assert len(waiting) >= 2  # said again while it lasted
