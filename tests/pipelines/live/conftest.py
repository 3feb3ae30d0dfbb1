"""A real mosquitto per test (Debian's, as the embedded broker runs it) and MQTT clients.

Without mosquitto these tests skip, unless CURVEHOUSE_REQUIRE_MQTT=1 (set by .ci/run) makes
that a failure.
"""

from __future__ import annotations

import os
import threading

import paho.mqtt.client as mqtt
import pytest

from pipelines.live.broker import BrokerMissingError, EmbeddedBroker, Publisher, find_mosquitto
from pipelines.live.client import MqttClient

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

    def __init__(self, port: int, username: str, secret: str, client_id: str = "") -> None:
        self.refused: list[str] = []
        self.connected = threading.Event()
        self.client = MqttClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"gw-{username}",
            protocol=mqtt.MQTTv5,
        )
        self.client.username_pw_set(username, secret)
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
