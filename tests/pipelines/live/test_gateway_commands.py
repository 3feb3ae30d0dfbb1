"""`curvehouse opcua` and `curvehouse simulate` beside a running `curvehouse listen`: each adopts
its broker with a login of its own (the others' keep working), and what it publishes is
committed, every curve once."""

from __future__ import annotations

import json
import os
import re
import signal

import numpy as np
import pytest

from models.settings import Settings
from models.store import open_metadata
from models.tables import Organisation, Project
from tests.pipelines.live.conftest import Gateway, _require_mosquitto
from tests.pipelines.live.opcua_press import OpcuaPress
from tests.pipelines.live.test_kill import Process
from tests.ui.conftest import free_port

pytestmark = pytest.mark.integration


def committed(listen: Process, wanted: int) -> int:
    total = 0
    while total < wanted:
        line = listen.expect("committed", timeout=60)
        total += int(re.match(r"committed ([\d,]+) curves?", line)[1].replace(",", ""))
    return total


def test_opcua_and_simulate_publish_beside_listen(tmp_path):
    _require_mosquitto()
    home = tmp_path / "home"
    env = {**os.environ, "CURVEHOUSE_HOME": str(home), "CURVEHOUSE_MQTT_PORT": "0"}
    env.pop("CURVEHOUSE_MQTT_URL", None)
    settings = Settings.from_env({"CURVEHOUSE_HOME": str(home)})
    with open_metadata(settings) as store, store.sessions() as session:
        session.add(Project(name="line1", organisation=Organisation(name="Plant")))
        session.commit()
    press = OpcuaPress(free_port()).start()
    stations = tmp_path / "stations.json"
    stations.write_text(
        json.dumps(
            {
                "stations": [
                    {
                        "endpoint": press.endpoint,
                        "project": "line1",
                        "station": "ST010",
                        "counter": press.node("CycleCounter"),
                        "x": press.node("Displacement"),
                        "y": press.node("Force"),
                        "serial": press.node("PartSerial"),
                        "fields": {"process": "press-fit"},
                    }
                ]
            }
        )
    )
    listen = Process("listen", "--publisher", "gw1:line1", module="app.cli", env=env)
    gateways = []
    try:
        port = int(listen.expect("MQTT broker (mosquitto) on localhost:").rsplit(":", 1)[1])
        listen.expect("Listening to curvehouse/+/curves")
        opcua = Process("opcua", "--stations", str(stations), module="app.cli", env=env)
        gateways.append(opcua)
        assert "over OPC UA for 'line1' on 127.0.0.1:" in opcua.expect("Reading 1 station")
        for i in range(3):  # at the press's takt: each part's curve read before the next
            x = np.linspace(0, 5, 30)
            press.cycle(x, (i + 1) * x, serial=f"SN-{i}")
            assert committed(listen, 1) == 1
        simulate = Process(
            "simulate",
            "--project",
            "line1",
            "--rate",
            "50/s",
            "--stations",
            "ST010",
            module="app.cli",
            env=env,
        )
        gateways.append(simulate)
        simulate.expect("Publishing the demo plant's parts to curvehouse/line1/curves")
        simulate.expect("published 100 curves", timeout=60)  # its progress, every 100
        simulate.popen.send_signal(signal.SIGTERM)
        sent = int(re.search(r"published ([\d,]+)", simulate.expect("Stopped:"))[1])
        assert committed(listen, sent) == sent
        # listen's own publisher login still works beside the two gateways' logins.
        secret = json.loads((home / "broker" / "publishers.json").read_text())["gw1"]
        gw = Gateway(port, "gw1", secret)
        assert gw.connected.wait(30) and not gw.refused
        gw.publish(
            "curvehouse/line1/curves", json.dumps({"curve_key": "K", "x": [0, 1], "y": [1, 2]})
        )
        gw.close()
        assert committed(listen, 1) == 1
    finally:
        for process in gateways:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
            process.close()
        listen.popen.send_signal(signal.SIGTERM)
        listen.close()
        press.stop()
    assert [p.popen.returncode for p in gateways] == [0, 0]
