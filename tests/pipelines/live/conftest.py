"""A real mosquitto per test (Debian's, as the embedded broker runs it) and MQTT clients.

Without mosquitto these tests skip, unless CURVEHOUSE_REQUIRE_MQTT=1 (set by .ci/run) makes
that a failure.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from pipelines.live.broker import BrokerMissingError, EmbeddedBroker, Publisher, find_mosquitto
from pipelines.live.client import MqttClient, Tls

PUBLISHER = Publisher("gateway-1", "gw-secret-1", "demo")


def _require_mosquitto() -> None:
    try:
        find_mosquitto()
    except BrokerMissingError as exc:
        if os.environ.get("CURVEHOUSE_REQUIRE_MQTT") == "1":
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture
def broker(tmp_path):
    """Curvehouse's embedded broker on a free port, with one publisher for project ``demo``."""
    _require_mosquitto()
    running = EmbeddedBroker(tmp_path / "home", port=0, publishers=[PUBLISHER]).start()
    yield running
    running.stop()


class Gateway:
    """A publisher as a plant gateway is: MQTT v5, QoS 1, waits for each PUBACK."""

    def __init__(
        self, port: int, username: str, secret: str, client_id: str = "", tls: Tls | None = None
    ) -> None:
        self.refused: list[str] = []
        self.connected = threading.Event()
        self.client = MqttClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"gw-{username}",
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(username, secret)
        self.client.use_tls(tls)
        self.client.on_connect = self._on_connect
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self.refused.append(str(reason))
        self.connected.set()

    def publish(self, topic: str, payload: bytes | str) -> None:
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(5)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def gateway(broker):
    gw = Gateway(broker.port, PUBLISHER.username, PUBLISHER.secret)
    assert gw.connected.wait(30) and not gw.refused
    yield gw
    gw.close()


class StreamingGateway:
    """A gateway streaming curves, as a PLC gateway with store-and-forward does: MQTT v5, QoS 1,
    one curve every ``period`` seconds from a thread of its own, never waiting for a PUBACK.
    paho keeps what the broker has not acknowledged and sends it again after its reconnect (1-2
    s apart), so a broker restart costs the gateway nothing. ``acked()`` is what the broker
    PUBACKed: the curves that must be stored."""

    def __init__(
        self,
        port: int,
        *,
        topic: str = "curvehouse/demo/curves",
        period: float = 0.02,
        points: int = 50,
        client_id: str = "gw-stream",
    ) -> None:
        self.topic, self.period = topic, period
        self.x = [i / (points - 1) for i in range(points)]
        self.sent: list[tuple[str, int]] = []  # (curve key, mid) in publishing order
        # (mid, refused, when): appended on paho's network thread, which holds paho's lock then
        self._pubacks: list[tuple[int, bool, float]] = []
        self._stop = threading.Event()
        self.client = MqttClient(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(PUBLISHER.username, PUBLISHER.secret)
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_publish = lambda c, u, mid, reason, p: self._pubacks.append(
            (mid, reason.is_failure, time.monotonic())
        )
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name="gateway", daemon=True)
        self._thread.start()

    @staticmethod
    def payload_of(key: str, i: int, points: int = 50) -> str:
        x = [n / (points - 1) for n in range(points)]
        return json.dumps({"curve_key": key, "x": x, "y": [v * i for v in x]})

    def payload(self, i: int) -> str:
        return self.payload_of(f"S{i:05d}/ST010", i, len(self.x))

    def _run(self) -> None:
        i = 0
        while not self._stop.wait(self.period):
            info = self.client.publish(self.topic, self.payload(i), qos=1)
            self.sent.append((f"S{i:05d}/ST010", info.mid))
            i += 1

    def acked(self, outside: tuple[float, float] | None = None) -> set[str]:
        """The keys whose PUBACK said success (mids are unique below 65,535 publishes); with
        ``outside=(t0, t1)`` (``time.monotonic()`` instants) only PUBACKs before t0 or after t1."""
        keys = dict((mid, key) for key, mid in self.sent)
        t0, t1 = outside or (math.inf, -math.inf)
        return {
            keys[mid]
            for mid, refused, when in list(self._pubacks)
            if not refused and not t0 <= when <= t1
        }

    def refused(self) -> int:
        return sum(refused for _, refused, _ in list(self._pubacks))

    def stop_publishing(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def close(self) -> None:
        self.stop_publishing()
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def restart_broker(broker):
    """``restart(signal)``: stop the running broker with SIGTERM or SIGKILL and start it again
    on the same port and data directory, as a plant's service manager would; it must come back
    on that port (the old connections' TIME_WAIT does not make it move), or no gateway finds
    it."""
    current = [broker]

    def restart(sig: int = signal.SIGTERM) -> EmbeddedBroker:
        old = current[-1]
        port = old.port
        if sig == signal.SIGKILL:
            os.kill(old.pid, signal.SIGKILL)
        old.stop()  # SIGTERM and wait (after a SIGKILL: reaps it)
        again = EmbeddedBroker(old.directory.parent, port=port, publishers=old.publishers)
        current.append(again.start())
        assert again.port == port, f"the broker came back on port {again.port}, not {port}"
        return again

    yield restart
    for running in current[1:]:
        running.stop()


@pytest.fixture
def sessions(tmp_path):
    """A metadata store (SQLite) with project ``demo``."""
    from sqlalchemy.orm import sessionmaker

    from models.store import create_metadata_engine, migrate
    from models.tables import Organisation, Project

    engine = create_metadata_engine(f"sqlite:///{tmp_path / 'meta.db'}")
    migrate(engine)
    made = sessionmaker(engine, expire_on_commit=False)
    with made() as session:
        session.add(Project(name="demo", organisation=Organisation(name="Plant")))
        session.commit()
    yield made
    engine.dispose()


@pytest.fixture
def curve_store(embedded_provider):
    """A curve store in a database of its own on the session's embedded engine."""
    import uuid

    from pipelines.store import CurveStore

    name = f"t_{uuid.uuid4().hex[:12]}"
    client = embedded_provider.client()
    yield CurveStore.open(client, name, sweep_stale_after=0)
    client.command(f"DROP DATABASE IF EXISTS `{name}`")


def stored_keys(store) -> dict[str, int]:
    """Each committed curve key with the number of committed rows it has (1 when stored once).
    Each commit record's own count is checked against its rows: records are read first, since
    a commit attaches its rows before it writes its record (a listener may be committing)."""
    db = store.db
    listed = dict(
        store.client.query(
            f"SELECT toString(dataset_id), curve_count FROM {db}.datasets"
        ).result_rows
    )
    rows = store.client.query(
        f"SELECT toString(dataset_id), curve_key FROM {db}.curves "
        "WHERE toString(dataset_id) IN {ids:Array(String)}",
        parameters={"ids": list(listed)},
    ).result_rows
    counts: dict[str, int] = {}
    per_dataset: dict[str, int] = {}
    for dataset, key in rows:
        counts[key] = counts.get(key, 0) + 1
        per_dataset[dataset] = per_dataset.get(dataset, 0) + 1
    assert per_dataset == {d: int(n) for d, n in listed.items() if n}, "records disagree with rows"
    return counts


def wait_until(check, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``check`` every 0.1 s; fail after ``timeout`` seconds saying ``what``."""
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(0.1)
