"""`curvehouse listen` on its own: starts the embedded broker, makes a publisher login, commits
what it publishes, and stops the broker with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from models.settings import Settings
from models.store import open_metadata
from models.tables import Organisation, Project
from tests.pipelines.live.conftest import Gateway, _require_mosquitto
from tests.pipelines.live.test_kill import ROOT, Process


@pytest.mark.integration
def test_listen_alone_ingests_from_the_embedded_broker(tmp_path):
    _require_mosquitto()
    home = tmp_path / "home"
    env = {**os.environ, "CURVEHOUSE_HOME": str(home), "CURVEHOUSE_MQTT_PORT": "0"}
    env.pop("CURVEHOUSE_MQTT_URL", None)
    settings = Settings.from_env({"CURVEHOUSE_HOME": str(home)})
    with open_metadata(settings) as store, store.sessions() as session:
        session.add(Project(name="line1", organisation=Organisation(name="Plant")))
        session.commit()
    listen = Process("listen", "--publisher", "gw1:line1", module="app.cli", env=env)
    try:
        port = int(listen.expect("MQTT broker (mosquitto) on localhost:").rsplit(":", 1)[1])
        listen.expect("Listening to curvehouse/+/curves")
        secret = json.loads((home / "broker" / "publishers.json").read_text())["gw1"]
        gw = Gateway(port, "gw1", secret)
        assert gw.connected.wait(30) and not gw.refused
        body = {"curve_key": "P-1/ST010", "x": [0, 1, 2], "y": [0, 1, 4], "result": "OK"}
        gw.publish("curvehouse/line1/curves", json.dumps(body))
        gw.close()
        assert listen.expect("committed").startswith("committed 1 curve in ")
    finally:
        listen.popen.send_signal(signal.SIGTERM)
        listen.close()
    assert listen.popen.returncode == 0
    deadline = time.monotonic() + 5
    while (home / "broker" / "mosquitto.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not (home / "broker" / "mosquitto.pid").exists()  # the broker stopped with it


@pytest.mark.integration
def test_a_second_listener_of_the_home_is_refused_naming_the_first(tmp_path):
    """Two listeners of one home would take the broker session from each other for as long as
    both run (seen: a reconnect every few seconds, nothing said). The second is refused in
    words naming the first; once the first has stopped, a listener starts again."""
    _require_mosquitto()
    home = tmp_path / "home"
    env = {**os.environ, "CURVEHOUSE_HOME": str(home), "CURVEHOUSE_MQTT_PORT": "0"}
    env.pop("CURVEHOUSE_MQTT_URL", None)
    first = Process("listen", module="app.cli", env=env)
    try:
        first.expect("Listening to curvehouse/+/curves")
        second = subprocess.run(
            [sys.executable, "-m", "app.cli", "listen"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert second.returncode == 2, second.stderr
        assert f"error: PID {first.popen.pid} (" in second.stderr
        assert "CURVEHOUSE_MQTT_LISTEN=0" in second.stderr
        assert "Listening" not in second.stdout
    finally:
        first.popen.send_signal(signal.SIGTERM)
        first.close()
    again = Process("listen", module="app.cli", env=env)
    try:
        again.expect("Listening to curvehouse/+/curves")
    finally:
        again.popen.send_signal(signal.SIGTERM)
        again.close()
