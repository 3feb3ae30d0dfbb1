"""Ingest tokens on Curvehouse's own broker (a real mosquitto): a token made in the metadata
store may publish its project's curves once the listener's login thread has read it; it can
write no other project; revoked, its open connection drops and it cannot come back."""

from __future__ import annotations

import contextlib
import json
import threading

import pytest

from models.access import Principal
from models.ingest_tokens import create_ingest_token, revoke_ingest_token
from models.tables import IngestToken, Project, ProjectMember, Role, User
from pipelines.curves import Curves
from pipelines.live.broker import EmbeddedBroker, Publisher
from pipelines.live.logins import LoginSync
from tests.pipelines.live.conftest import PUBLISHER, Gateway
from tests.pipelines.live.test_broker import _connect
from tests.pipelines.live.test_listener import (  # noqa: F401 (fixtures)
    curve,
    listener,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(sessions):
    """An admin of ``demo``; project ``other`` exists too, with no token."""
    with sessions() as session:
        user = User(email="ada@plant.example", display_name="Ada")
        demo = session.query(Project).filter_by(name="demo").one()
        demo.members.append(ProjectMember(user=user, role=Role.ADMIN))
        session.add(Project(name="other", organisation=demo.organisation))
        session.commit()
        return Principal(user.email, user.id)


def _make(sessions, admin, name="GW 1") -> tuple[str, str, int]:
    with sessions() as session:
        demo = session.query(Project).filter_by(name="demo").one()
        secret, token = create_ingest_token(session=session, actor=admin, project=demo, name=name)
        session.commit()
        return token.login, secret, token.id


def test_a_token_publishes_its_project_only_until_revoked(
    broker,
    listener,  # noqa: F811
    sessions,
    curve_store,
    admin,
):
    logins = LoginSync(broker, sessions, [PUBLISHER])
    login, secret, token_id = _make(sessions, admin)
    assert _connect(broker.port, login, secret) == "Not authorized"  # the broker has not read it
    assert logins.sync() and not logins.sync()  # the second look finds nothing new
    assert _connect(broker.port, login, secret) == "Success"
    assert _connect(broker.port, login, secret + "x") == "Not authorized"
    assert _connect(broker.port, PUBLISHER.username, PUBLISHER.secret) == "Success"

    gw = Gateway(broker.port, login, secret)
    try:
        assert gw.connected.wait(30) and not gw.refused
        gw.publish("curvehouse/demo/curves", json.dumps(curve("T-1")))
        wait_for(lambda: listener.totals.committed == 1)
        # Another project's topic: refused by the broker (PUBACK "not authorized"; paho drops
        # the connection), so nothing reaches the listener.
        with contextlib.suppress(AssertionError, RuntimeError, ValueError):
            gw.publish("curvehouse/other/curves", json.dumps(curve("T-2")))
    finally:
        gw.close()
    gw = Gateway(broker.port, login, secret)
    try:
        assert gw.connected.wait(30) and not gw.refused
        lost = threading.Event()
        gw.client.on_disconnect = lambda *a: lost.set()
        with sessions() as session:
            revoke_ingest_token(
                session=session, actor=admin, token=session.get(IngestToken, token_id)
            )
            session.commit()
        assert logins.sync()
        assert lost.wait(30), "a revoked token's open connection stays up"
    finally:
        gw.client.loop_stop()
    assert _connect(broker.port, login, secret) == "Not authorized"
    # The fixed login still works; its curve, published last, is committed after anything
    # the refused publish could have let through.
    gateway = Gateway(broker.port, PUBLISHER.username, PUBLISHER.secret)
    try:
        gateway.publish("curvehouse/demo/curves", json.dumps(curve("T-3")))
        wait_for(lambda: listener.totals.committed == 2)
    finally:
        gateway.close()
    everything = Curves(curve_store.client, curve_store.database).metadata()
    assert sorted(everything["curve_key"]) == ["T-1", "T-3"]


def test_the_login_thread_reads_new_tokens_by_itself(broker, sessions, admin):
    logins = LoginSync(broker, sessions, [PUBLISHER], every=0.1).start()
    try:
        login, secret, _ = _make(sessions, admin)
        wait_for(lambda: _connect(broker.port, login, secret) == "Success")
    finally:
        logins.stop()


def test_a_second_process_adds_its_login_without_dropping_tokens_or_others(
    broker,
    sessions,
    admin,
):
    """`curvehouse simulate` beside `serve`: it adopts the running broker with its own login;
    the tokens and serve's logins keep working, and a later token change keeps its login."""
    logins = LoginSync(broker, sessions, [PUBLISHER])
    login, secret, token_id = _make(sessions, admin)
    logins.sync()
    simulator = Publisher("curvehouse-simulator", "sim-secret", "demo")
    adopted = EmbeddedBroker(broker.directory.parent, port=0, publishers=[simulator]).start()
    assert adopted.pid == broker.pid  # the same mosquitto, not a second one
    for user, password in ((login, secret), (PUBLISHER.username, PUBLISHER.secret)):
        assert _connect(broker.port, user, password) == "Success", user
    assert _connect(broker.port, simulator.username, simulator.secret) == "Success"
    with sessions() as session:
        token = session.get(IngestToken, token_id)
        revoke_ingest_token(session=session, actor=admin, token=token)
        session.commit()
    assert logins.sync()
    assert _connect(broker.port, login, secret) == "Not authorized"
    assert _connect(broker.port, simulator.username, simulator.secret) == "Success"
    assert _connect(broker.port, PUBLISHER.username, PUBLISHER.secret) == "Success"
