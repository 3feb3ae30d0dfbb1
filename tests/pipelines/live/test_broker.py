"""The embedded broker: its files, its logins and ACL enforced by a real mosquitto."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import resource
import stat
import threading

import paho.mqtt.client as mqtt
import pytest

from pipelines.live import broker as broker_module
from pipelines.live.broker import (
    SERVICE_USER,
    BrokerMissingError,
    EmbeddedBroker,
    Publisher,
    password_line,
    render_acl,
)
from pipelines.live.client import MqttClient
from tests.pipelines.live.conftest import PUBLISHER, Gateway


def test_password_line_is_pbkdf2_sha512_as_mosquitto_reads_it():
    user, rest = password_line("gw", "pa55").split(":", 1)
    _, kind, iterations, salt, digest = rest.split("$")
    assert (user, kind, iterations) == ("gw", "7", "101")
    expected = hashlib.pbkdf2_hmac("sha512", b"pa55", base64.b64decode(salt), 101, 64)
    assert base64.b64decode(digest) == expected


def test_acl_lets_each_publisher_write_its_own_project_only():
    acl = render_acl("curvehouse", [Publisher("gw", "s", "line 7")])
    assert f"user {SERVICE_USER}\ntopic read curvehouse/+/curves" in acl
    assert "user gw\ntopic write curvehouse/line 7/curves" in acl
    for bad in (Publisher("a b", "s", "p"), Publisher("a:b", "s", "p"), Publisher("a", "s", "x/#")):
        with pytest.raises(ValueError):
            render_acl("curvehouse", [bad])


def test_missing_mosquitto_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setattr(broker_module.shutil, "which", lambda name: None)
    monkeypatch.setattr(broker_module, "_CANDIDATES", ())
    with pytest.raises(BrokerMissingError, match=r"apt install mosquitto.*CURVEHOUSE_MQTT_URL"):
        EmbeddedBroker(tmp_path).start()


def test_files_are_private_and_the_config_is_what_the_listener_needs(broker):
    for name in ("mosquitto.conf", "passwd", "acl", "listener.secret"):
        assert stat.S_IMODE((broker.directory / name).stat().st_mode) == 0o600
    config = broker.config_path.read_text().splitlines()
    assert config[0] == f"listener {broker.port} 127.0.0.1"
    for line in ("persistence true", "max_inflight_messages 0", "max_queued_messages 0"):
        assert line in config
    assert "allow_anonymous false" in config


def _connect(port: int, username: str, secret: str) -> str:
    done, result = threading.Event(), []
    client = MqttClient(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(username, secret)
    client.on_connect = lambda c, u, f, reason, p: (result.append(str(reason)), done.set())
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert done.wait(30)
    finally:
        client.disconnect()
        client.loop_stop()
    return result[0]


def test_wrong_password_and_unknown_login_are_refused(broker):
    assert _connect(broker.port, PUBLISHER.username, PUBLISHER.secret) == "Success"
    assert _connect(broker.port, PUBLISHER.username, "wrong") == "Not authorized"
    assert _connect(broker.port, "nobody", PUBLISHER.secret) == "Not authorized"


def test_a_publisher_reaches_its_own_project_only_and_reload_adds_logins(broker, gateway):
    seen, arrived = [], threading.Event()
    reader = MqttClient(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    reader.username_pw_set(SERVICE_USER, broker.service_secret())
    reader.on_message = lambda c, u, m: (seen.append((m.topic, m.payload)), arrived.set())
    reader.on_connect = lambda c, u, f, r, p: c.subscribe("curvehouse/+/curves", qos=1)
    reader.connect("127.0.0.1", broker.port)
    reader.loop_start()
    try:
        subscribed = threading.Event()
        reader.on_subscribe = lambda *a: subscribed.set()
        reader.subscribe("curvehouse/+/curves", qos=1)
        assert subscribed.wait(30)
        # Refused with PUBACK reason 135; paho 2.2 then drops its connection, so a fresh one.
        intruder = Gateway(broker.port, PUBLISHER.username, PUBLISHER.secret, "intruder")
        assert intruder.connected.wait(30)
        with contextlib.suppress(RuntimeError):
            intruder.publish("curvehouse/other/curves", b"not mine")
        intruder.close()
        gateway.publish("curvehouse/demo/curves", b"mine")
        assert arrived.wait(30)
        assert seen == [("curvehouse/demo/curves", b"mine")]

        assert _connect(broker.port, "gateway-2", "new") == "Not authorized"
        broker.reload([PUBLISHER, Publisher("gateway-2", "new", "other")])
        assert _connect(broker.port, "gateway-2", "new") == "Success"
    finally:
        reader.disconnect()
        reader.loop_stop()


def test_a_second_start_adopts_the_running_broker(broker):
    assert "log_type debug" not in broker.config_path.read_text()  # nobody reads refusals
    watched = EmbeddedBroker(broker.directory.parent, port=0, log_refusals=True).start()
    assert watched.pid == broker.pid and "log_type debug" in broker.config_path.read_text()
    again = EmbeddedBroker(broker.directory.parent, port=0).start()
    assert (again.pid, again.port) == (broker.pid, broker.port)
    assert "log_type debug" in broker.config_path.read_text()  # the watching server's stays
    gw = Gateway(broker.port, PUBLISHER.username, PUBLISHER.secret)
    assert gw.connected.wait(30) and gw.refused == []  # its logins were added to ours
    gw.close()


def test_a_port_taken_between_the_pick_and_the_bind_is_not_mistaken_for_the_broker(
    tmp_path, monkeypatch
):
    """Another program takes the picked port first: mosquitto fails to bind and Curvehouse
    must pick again, not hand out the other program's port (it answers connections too)."""
    import socket

    with socket.socket() as thief:
        thief.bind(("127.0.0.1", 0))
        thief.listen()
        taken = thief.getsockname()[1]
        picks = iter([taken])
        real = broker_module._free_port
        monkeypatch.setattr(broker_module, "_free_port", lambda: next(picks, None) or real())
        running = EmbeddedBroker(tmp_path / "home", port=0, publishers=[PUBLISHER]).start()
        try:
            assert running.port != taken
            gateway = Gateway(running.port, PUBLISHER.username, PUBLISHER.secret)
            assert gateway.connected.wait(30) and not gateway.refused
            gateway.close()
        finally:
            running.stop()


def test_a_client_connects_in_a_process_with_over_1024_open_files(broker):
    """paho's own loop waits with select(), which refuses descriptors above 1023: in a busy
    process (a long test run, a server) it never connected. Ours waits with epoll."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        if hard != resource.RLIM_INFINITY and hard < 1200:
            pytest.skip(f"this machine allows {hard} open files")
        resource.setrlimit(resource.RLIMIT_NOFILE, (2048, hard))
    held = [open(os.devnull) for _ in range(1100)]  # noqa: SIM115
    try:
        gateway = Gateway(broker.port, PUBLISHER.username, PUBLISHER.secret)
        assert gateway.client.socket().fileno() > 1024
        assert gateway.connected.wait(30) and not gateway.refused
        gateway.publish("curvehouse/demo/curves", b"{}")  # a PUBACK comes back
        gateway.close()
    finally:
        for handle in held:
            handle.close()
