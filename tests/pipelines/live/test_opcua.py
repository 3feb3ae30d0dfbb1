"""The OPC UA connector against a press played by an asyncua server: each cycle's curve is read
after its count and published as the MQTT payload a gateway sends; the stations file is
checked with messages that say what to change; and the whole path (OPC UA → mosquitto → the
listener → the engine) stores each cycle once."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import orjson
import pytest

from pipelines.live.opcua import (
    Connector,
    StationConfigError,
    StationSource,
    curve_message,
    load_stations,
)
from pipelines.live.payload import parse_message
from tests.pipelines.live.opcua_press import OpcuaPress
from tests.ui.conftest import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def press():
    running = OpcuaPress(free_port()).start()
    yield running
    running.stop()


def source_of(press: OpcuaPress, **extra) -> StationSource:
    return StationSource(
        endpoint=press.endpoint,
        project="demo",
        station="ST010",
        counter=press.node("CycleCounter"),
        x=press.node("Displacement"),
        y=press.node("Force"),
        **extra,
    )


class Outbox:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.lock = threading.Lock()

    def __call__(self, source: StationSource, payload: bytes) -> None:
        with self.lock:
            self.messages.append(orjson.loads(payload))

    def wait(self, count: int, timeout: float = 30.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} curves came"
            time.sleep(0.05)
        return self.messages


def part(i: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0, 10, 40 + i)
    return x, (i + 1) * np.sqrt(x)


def test_each_cycle_is_read_after_its_count_and_published_with_its_serial(press):
    source = source_of(
        press,
        serial=press.node("PartSerial"),
        result=press.node("Result"),
        fields={"process": "press-fit", "line": "LEJ-L1", "x_unit": "mm", "y_unit": "kN"},
    )
    outbox = Outbox()
    connector = Connector([source], outbox).start()
    try:
        time.sleep(1.0)  # the subscription is set up; count 0 (no part yet) publishes nothing
        assert outbox.messages == []
        for i in range(5):
            press.cycle(*part(i), serial=f"SN-{i:04d}", result="NOK" if i == 3 else "OK")
            outbox.wait(i + 1)  # a press's takt: the next part after this one was read
    finally:
        connector.stop()
    got = outbox.wait(5)
    assert [m["curve_key"] for m in got] == [f"SN-{i:04d}/ST010" for i in range(5)]
    assert [m["result"] for m in got] == ["OK", "OK", "OK", "NOK", "OK"]
    for i, message in enumerate(got):
        x, y = part(i)
        np.testing.assert_array_equal(message["x"], x)
        np.testing.assert_array_equal(message["y"], y)
        assert message["part_serial"] == f"SN-{i:04d}" and message["process"] == "press-fit"
        assert message["ended_at"].endswith("+00:00")


def test_a_connector_started_late_publishes_the_cycle_still_on_the_machine(press):
    press.cycle(*part(0))
    press.cycle(*part(1))
    outbox = Outbox()
    connector = Connector([source_of(press)], outbox).start()
    try:
        (first,) = outbox.wait(1)
        assert first["curve_key"] == "ST010/2"  # no serial: station and count
        np.testing.assert_array_equal(first["y"], part(1)[1])
        press.cycle(*part(2))
        assert [m["curve_key"] for m in outbox.wait(2)] == ["ST010/2", "ST010/3"]
    finally:
        connector.stop()


def test_cycles_made_faster_than_read_are_counted_as_missed_never_hidden(press):
    outbox = Outbox()
    connector = Connector([source_of(press)], outbox).start()
    try:
        time.sleep(1.0)
        for i in range(3):  # three parts within a few ms: one sampling of the counter
            press.cycle(*part(i))
        outbox.wait(1)
        time.sleep(0.5)
        published = len(outbox.messages)
        assert published + connector.missed.get("ST010", 0) == 3
        assert outbox.messages[-1]["curve_key"] == "ST010/3"
        np.testing.assert_array_equal(outbox.messages[-1]["y"], part(2)[1])
    finally:
        connector.stop()


def test_a_machine_that_goes_away_is_followed_again_when_it_is_back():
    port = free_port()
    first = OpcuaPress(port).start()
    outbox = Outbox()
    connector = Connector([source_of(first)], outbox).start()
    try:
        first.cycle(*part(0))
        outbox.wait(1)
        first.stop()
        time.sleep(2)
        again = OpcuaPress(port).start()  # a restarted machine, its counter from 0
        try:
            again.cycle(*part(5))
            message = outbox.wait(2, timeout=60)[-1]
            np.testing.assert_array_equal(message["y"], part(5)[1])
        finally:
            again.stop()
    finally:
        connector.stop()


def test_the_message_is_one_the_listener_accepts():
    source = StationSource(
        "opc.tcp://m:4840", "demo", "ST020", "c", "x", "y", fields={"line": "L1"}
    )
    message = curve_message(source, 7, [0.0, 1.0], [2.0, 3.5], result="OK")
    parsed = parse_message(message, max_bytes=1 << 20)
    assert parsed.refusals == [] and len(parsed.curves) == 1
    (curve,) = parsed.curves
    assert curve.key == "ST020/7" and curve.meta["line"] == "L1" and curve.meta["result"] == "OK"


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("not json", "is not JSON"),
        ({"stations": []}, "at least one station"),
        ({"stations": [{"endpoint": "opc.tcp://m"}]}, "missing project, station, counter, x, y"),
        (
            {
                "stations": [
                    {
                        **dict.fromkeys(("project", "station", "counter", "x", "y"), "a"),
                        "endpoint": "http://m",
                    }
                ]
            },
            "opc.tcp://",
        ),
        (
            {
                "stations": [
                    {
                        **dict.fromkeys(
                            ("endpoint", "project", "station", "counter", "x", "y"), "opc.tcp://a"
                        ),
                        "colour": "red",
                    }
                ]
            },
            "unknown colour",
        ),
        (
            {
                "stations": [
                    {
                        **dict.fromkeys(
                            ("endpoint", "project", "station", "counter", "x", "y"), "opc.tcp://a"
                        ),
                        "fields": {"result": "OK"},
                    }
                ]
            },
            "may not set result",
        ),
    ],
)
def test_a_bad_stations_file_says_what_to_change(tmp_path, document, says):
    path = tmp_path / "stations.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(StationConfigError, match=says):
        load_stations(path)


def test_a_good_stations_file_reads_back(tmp_path):
    path = tmp_path / "stations.json"
    entry = {
        "endpoint": "opc.tcp://press-3:4840",
        "project": "line-7",
        "station": "ST010",
        "counter": "ns=2;s=C",
        "x": "ns=2;s=X",
        "y": "ns=2;s=Y",
        "fields": {"process": "press-fit"},
    }
    path.write_text(json.dumps({"stations": [entry]}))
    (station,) = load_stations(path)
    assert station == StationSource(**entry)
