"""The project page's live-ingest card, without a browser: where to publish, ingest tokens for
admins only (the secret shown once, with a command that works as written), and refused
messages newest first for every member."""

from __future__ import annotations

import asyncio
import html
import re
import shlex
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.live import CHECK_EVERY
from app.pages.projects import ProjectsPanel
from app.projects.live import IngestTokens, publish_command
from app.services import Services
from models.settings import Settings
from models.store import open_metadata
from models.tables import (
    AuditEvent,
    DeadLetter,
    IngestToken,
    Project,
    Role,
)
from tests.app.people import project_with


@pytest.fixture
def plant(tmp_path):
    """Project line-9: Ada its admin, Vic a viewer."""
    settings = Settings(home=tmp_path, database=f"t_{uuid.uuid4().hex[:12]}")
    store = open_metadata(settings)
    with store.sessions() as session:
        people = project_with(session, "line-9", {"ada": Role.ADMIN, "vic": Role.VIEWER})
    store.close()
    services = Services(settings)
    services.mqtt_address = "localhost:1883"
    yield services, people
    services.close()


def card(plant, who: str):
    services, people = plant
    panel = ProjectsPanel(services=services, who=people[who])
    panel.select("line-9")
    return panel.detail.live


def said(pane) -> str:
    return html.unescape(pane.object)


def test_an_admin_makes_a_token_shown_once_with_a_working_command_and_revokes_it(plant):
    live = card(plant, "ada")
    assert "`curvehouse/line-9/curves` on `localhost:1883`" in said(live.where)
    tokens = live.grants
    assert isinstance(tokens, IngestTokens) and len(live.tokens.objects) == 1
    tokens.grant_name.value = "press 3 gateway"
    shown = tokens.create()
    login = re.search(r"`(ing-[0-9a-f]{12})`", shown)[1]
    secret = re.search(r"`(chi_[\w-]+)`", shown)[1]
    command = shlex.split(re.search(r"```\n(.+)\n```", shown)[1])
    assert command[:7] == ["mosquitto_pub", "-h", "localhost", "-p", "1883", "-u", login]
    assert command[command.index("-P") + 1] == secret
    assert command[command.index("-t") + 1] == "curvehouse/line-9/curves"
    services, _ = plant
    with services.metadata.sessions() as session:
        (token,) = session.scalars(sa.select(IngestToken)).all()
        assert token.login == login and secret not in token.token_hash + token.broker_hash
    listed = tokens.listed.objects[0].objects[0].object
    assert "press 3 gateway" in listed and login in listed and secret not in listed
    tokens.revoke(token.id)
    assert "No ingest token works" in tokens.listed.objects[0].object
    with services.metadata.sessions() as session:
        actions = set(session.scalars(sa.select(AuditEvent.action)))
    assert {"ingest_token.create", "ingest_token.revoke"} <= actions


def test_a_viewer_sees_where_and_the_refused_messages_but_no_tokens(plant):
    services, _ = plant
    live = card(plant, "vic")
    assert live.grants is None and live.tokens.objects == []
    assert said(live.letters_said) == "No message for this project was refused."
    assert not live.letters.visible
    now = datetime.now(UTC)
    with services.metadata.sessions() as session:
        project = session.scalars(sa.select(Project)).one()
        for i, reason in enumerate(["not_json", "conflict"]):
            session.add(
                DeadLetter(
                    project_id=project.id,
                    project_name="line-9",
                    topic="curvehouse/line-9/curves",
                    reason=reason,
                    detail=f"detail {i}",
                    curve_key="P-1" if reason == "conflict" else None,
                    payload_head="{",
                    payload_bytes=10 + i,
                    payload_sha256=f"{i:064d}",
                    received_at=now + timedelta(seconds=i),
                )
            )
        session.commit()
    live.read_letters()
    assert said(live.letters_said).startswith("**2 messages refused**, the last at")
    table = live.letters.value
    assert table["reason"].tolist() == ["conflict", "not_json"]
    assert table["curve"].tolist() == ["P-1", ""] and live.letters.visible


def test_without_a_listener_the_card_says_so_and_the_command_names_the_broker():
    assert "-h BROKER -p 1883" in publish_command(None, "ing-1", "chi_x", "t")


FEED_LOGINS = {"curvehouse": "server-secret", "line9-reader": "reader-secret"}


@pytest.fixture
def on_plant_broker(tmp_path):
    """Project line-9 on a server whose CURVEHOUSE_MQTT_URL is a plant's mosquitto: Olu its
    owner, Ada its admin."""
    from tests.pipelines.live.conftest import _require_mosquitto
    from tests.pipelines.live.plant import PlantBroker

    _require_mosquitto()
    broker = PlantBroker(
        tmp_path / "plant",
        FEED_LOGINS,
        "user curvehouse\ntopic read curvehouse/+/curves\n\n"
        "user line9-reader\ntopic read line9/#\n",
    )
    settings = Settings(
        home=tmp_path / "home",
        database=f"t_{uuid.uuid4().hex[:12]}",
        mqtt_url=broker.url("curvehouse"),
    )
    store = open_metadata(settings)
    with store.sessions() as session:
        people = project_with(session, "line-9", {"olu": Role.OWNER, "ada": Role.ADMIN})
    store.close()
    services = Services(settings)
    services.mqtt_address = f"127.0.0.1:{broker.port}"
    services.feed_state = lambda feed_id: "reading"
    yield services, people
    services.close()
    broker.stop()


def test_on_a_plant_broker_an_owner_maps_a_feed_the_broker_accepts(on_plant_broker):
    from app.projects.live import BrokerFeeds

    live = card(on_plant_broker, "olu")
    assert "takes the topics its broker feeds read, and nothing else" in said(live.where)
    feeds = live.grants
    assert isinstance(feeds, BrokerFeeds)
    assert "No feed: nothing on the plant's broker" in said(feeds.listed.objects[0])
    feeds.grant_name.value, feeds.topic.value = "line 9 presses", "line9/+/curves"
    feeds.username.value, feeds.password.value = "line9-reader", "wrong"
    assert feeds.create() is None and feeds.refused.visible
    assert "refused the login 'line9-reader': Not authorized" in said(feeds.refused)
    time.sleep(CHECK_EVERY)  # one check every 2 s
    feeds.password.value = FEED_LOGINS["line9-reader"]
    clicked(feeds)  # as the button does: the check off the event loop
    shown = said(feeds.shown_once)
    assert "`line9/+/curves` now reaches this project" in shown
    assert feeds.password.value == "" and not feeds.refused.visible
    (row,) = feeds.listed.objects
    listed = said(row[0])
    assert "`line9/+/curves`, read as `line9-reader` (reading)" in listed
    assert FEED_LOGINS["line9-reader"] not in listed + shown
    feeds.revoke(_first_id(feeds))
    assert "No feed" in said(feeds.listed.objects[0])


def clicked(feeds) -> None:
    """The card's button pressed: its coroutine run to its end on a loop of its own (in a
    thread, as another test in this process may have left a loop running in this one)."""
    worker = threading.Thread(target=lambda: asyncio.run(feeds._clicked(None)))
    worker.start()
    worker.join(60)
    assert not worker.is_alive()


def _first_id(feeds) -> int:
    with feeds._services.metadata.sessions() as session:
        project = session.get(Project, feeds._project_id)
        return feeds._working(session, project)[0][0]


def test_on_a_plant_broker_admins_neither_map_feeds_nor_make_tokens(on_plant_broker):
    live = card(on_plant_broker, "ada")
    assert live.grants is None and live.tokens.objects == []
