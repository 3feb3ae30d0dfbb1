"""What Curvehouse's own broker refuses becomes dead letters (pipelines.live.refusals): the log
lines read once, across restarts, and a real mosquitto's refusal of a publish to another
project's topic recorded under that project with the login that sent it."""

from __future__ import annotations

import contextlib
import json
import logging
import time

import pytest

from models.tables import DeadLetter, Organisation, Project
from pipelines.live.broker import EmbeddedBroker
from pipelines.live.refusals import NOT_ALLOWED, BrokerLog, RefusalWatch
from pipelines.live.sink import StoreSink
from tests.pipelines.live.conftest import PUBLISHER, Gateway, _require_mosquitto

LINES = [
    "1796528069: New connection from 127.0.0.1:57680 on port 18831.",
    "1796528069: New client connected from 127.0.0.1:57680 as press3 (p2, c1, k60, u'ing-a1').",
    "1796528069: Denied PUBLISH from press3 (d0, q1, r0, m1, 'curvehouse/b/curves', ... (7 bytes))",
    "1796528069: Sending PUBACK to press3 (m1, rc135)",
    "1796528070: Sending CONNACK to 127.0.0.1 (0, 5)",
    "1796528070: Client <unknown> disconnected, not authorised.",
    "1796528071: Received PUBLISH from press7 (d0, q1, r0, m1, 'curvehouse/a/curves', ... "
    "(2 bytes))",
    "1796528072: Denied PUBLISH from other (d0, q1, r0, m2, 'elsewhere/x', ... (12 bytes))",
]


def write(path, lines, end="\n"):
    with path.open("a") as f:
        f.write("\n".join(lines) + end)


def test_denied_publishes_and_refused_logins_are_read_once(tmp_path):
    path = tmp_path / "mosquitto.log"
    write(path, LINES[:5])
    write(path, ["1796528070: Sending CONN"], end="")  # a line being written: not read yet
    reader = BrokerLog(path)
    denied, refused = reader.read()
    assert [(d.client, d.login, d.topic, d.size) for d in denied] == [
        ("press3", "ing-a1", "curvehouse/b/curves", 7)
    ]
    assert refused == ["127.0.0.1"]
    note = denied[0].note("curvehouse", {"b": 4}.get)
    assert (note.project, note.project_id, note.refusal.reason) == ("b", 4, NOT_ALLOWED)
    assert "login 'ing-a1' (client 'press3') may not publish" in note.refusal.detail
    assert (note.payload_bytes, note.payload_head) == (7, "")
    assert note.received_at.isoformat() == "2026-12-06T03:34:29+00:00"
    assert reader.read()[0] == denied  # not committed: read again
    reader.commit()
    assert reader.read() == ([], [])

    with path.open("a") as f:  # the rest of the half-written line, then more
        f.write("ACK to 10.0.0.9 (0, 5)\n")
    write(path, LINES[5:])
    write(
        path,
        [
            "1796528080: Denied PUBLISH from press3 (d0, q1, r0, m9, 'curvehouse/c/curves', "
            "... (3 bytes))"
        ],
    )
    again = BrokerLog(path)  # a restart: starts where the last commit ended
    denied, refused = again.read()
    assert refused == ["10.0.0.9"]
    assert [(d.client, d.login, d.topic) for d in denied] == [
        ("other", "", "elsewhere/x"),
        ("press3", "ing-a1", "curvehouse/c/curves"),  # its login known from before
    ]
    assert denied[0].note("curvehouse", {}.get).project == ""  # not a project's topic


def test_a_log_past_its_limit_is_emptied_and_keys_stay_unique(tmp_path):
    path = tmp_path / "mosquitto.log"
    write(path, LINES)
    reader = BrokerLog(path, max_bytes=100)
    first, _ = reader.read()
    reader.commit()
    assert path.stat().st_size == 0
    write(path, LINES)  # the same lines at the same places of the emptied log
    second, _ = reader.read()
    assert [d.topic for d in second] == [d.topic for d in first]
    assert not {d.key for d in first} & {d.key for d in second}


@pytest.fixture
def broker(tmp_path):
    """Curvehouse's broker as a server that records refusals starts it."""
    _require_mosquitto()
    running = EmbeddedBroker(
        tmp_path / "home", port=0, publishers=[PUBLISHER], log_refusals=True
    ).start()
    yield running
    running.stop()


@pytest.mark.integration
def test_a_publish_to_another_projects_topic_is_recorded_there(broker, sessions, caplog):
    with sessions() as session:
        other = Project(name="other", organisation=session.query(Organisation).one())
        session.add(other)
        session.commit()
        other_id = other.id
    sink = StoreSink(sessions, store_for=lambda project: None)

    def watch() -> RefusalWatch:
        return RefusalWatch(
            BrokerLog(broker.log_path),
            prefix="curvehouse",
            record=sink.record,
            project_id=sink.project_id,
        )

    watch().look()  # what the broker logged at its start
    gateway = Gateway(broker.port, PUBLISHER.username, PUBLISHER.secret, client_id="press-3")
    try:
        assert gateway.connected.wait(30) and not gateway.refused
        with contextlib.suppress(AssertionError, RuntimeError, ValueError):
            gateway.publish("curvehouse/other/curves", json.dumps({"curve_key": "K"}))
    finally:
        gateway.close()
    wrong = Gateway(broker.port, PUBLISHER.username, "not-the-secret", client_id="press-4")
    assert wrong.connected.wait(30) and wrong.refused
    wrong.close()

    deadline = time.monotonic() + 10  # mosquitto writes its log as it goes
    with caplog.at_level(logging.WARNING, logger="pipelines.live.refusals"):
        while watch().look() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(3):  # further looks, by this or a restarted watch, add nothing
            watch().look()
    with sessions() as session:
        (letter,) = session.query(DeadLetter).all()
        assert (letter.project_id, letter.project_name, letter.reason) == (
            other_id,
            "other",
            NOT_ALLOWED,
        )
        assert letter.topic == "curvehouse/other/curves"
        assert f"login '{PUBLISHER.username}' (client 'press-3')" in letter.detail
        assert letter.payload_bytes == len(json.dumps({"curve_key": "K"}))
    assert any("refused a login from 127.0.0.1" in r.getMessage() for r in caplog.records)
