"""Broker feeds over HTTP, on a server whose CURVEHOUSE_MQTT_URL is a plant's own mosquitto:
only owners map one; the login is tried on the broker first and refused in its words; the
password is never answered; revoking ends it. On a server with its own broker, feeds are
refused in words (ingest tokens are the way there)."""

from __future__ import annotations

import time

import pytest

from app.live import CHECK_EVERY
from tests.app.api.conftest import hosted
from tests.pipelines.live.conftest import _require_mosquitto
from tests.pipelines.live.plant import PlantBroker

pytestmark = pytest.mark.integration

LOGINS = {"curvehouse": "server-secret", "line7-reader": "reader-Secret-9"}
ACL = "user curvehouse\ntopic read curvehouse/+/curves\n\nuser line7-reader\ntopic read line7/#\n"


@pytest.fixture(scope="module")
def plant_world(tmp_path_factory):
    _require_mosquitto()
    plant = PlantBroker(tmp_path_factory.mktemp("plant") / "broker", LOGINS, ACL)
    try:
        with hosted(
            tmp_path_factory, "feeds", {"CURVEHOUSE_MQTT_URL": plant.url("curvehouse")}
        ) as world:
            yield world
    finally:
        plant.stop()


def body(**given) -> dict:
    return {
        "name": "line 7 presses",
        "topic": "line7/+/curves",
        "username": "line7-reader",
        "password": LOGINS["line7-reader"],
        **given,
    }


def test_an_owner_maps_a_feed_the_broker_accepts_and_revokes_it(plant_world):
    world = plant_world
    feeds = f"/api/projects/{world.project_a}/broker-feeds"
    wrong = world.call("POST", feeds, json=body(password="guess"))
    assert wrong.status_code == 422, wrong.text
    assert "refused the login 'line7-reader': Not authorized" in wrong.json()["error"]["message"]
    assert world.call("POST", feeds, "admin", json=body()).status_code == 403
    hurried = world.call("POST", feeds, json=body())  # a second try at once: refused
    assert hurried.status_code == 422 and "One broker login check every 2 s" in hurried.text
    time.sleep(CHECK_EVERY)
    made = world.call("POST", feeds, json=body())
    assert made.status_code == 201, made.text
    feed = made.json()
    assert feed["topic"] == "line7/+/curves" and feed["username"] == "line7-reader"
    assert LOGINS["line7-reader"] not in made.text
    listed = world.call("GET", feeds).json()
    assert [f["id"] for f in listed["items"]] == [feed["id"]]
    assert LOGINS["line7-reader"] not in world.call("GET", feeds).text
    again = world.call("POST", feeds, json=body(name="twice"))
    assert again.status_code == 422 and "Another feed reads" in again.json()["error"]["message"]
    bad_topic = world.call("POST", feeds, json=body(topic="line7/#/x"))
    assert bad_topic.status_code == 422 and "# stands alone" in bad_topic.json()["error"]["message"]
    overlapping = world.call("POST", feeds, json=body(topic="line7/#"))
    assert overlapping.status_code == 422 and "Another feed reads some of the topics" in (
        overlapping.text
    )
    others = world.call("POST", feeds, json=body(topic="curvehouse/B/curves"))
    assert others.status_code == 422 and "is project 'B''s topic" in others.text
    assert world.call("DELETE", f"{feeds}/{feed['id']}", "admin").status_code == 403
    assert world.call("DELETE", f"{feeds}/{feed['id']}").status_code == 204
    assert world.call("GET", feeds).json()["items"] == []
    assert world.call("DELETE", f"{feeds}/{feed['id']}").status_code == 404
    audit = world.call("GET", f"/api/projects/{world.project_a}/audit").json()["items"]
    assert {"broker_feed.create", "broker_feed.revoke"} <= {e["action"] for e in audit}


def test_a_server_on_its_own_broker_refuses_feeds_in_words(world):
    answer = world.call("POST", f"/api/projects/{world.project_a}/broker-feeds", json=body())
    assert answer.status_code == 422
    assert "ingest tokens say who may publish" in answer.json()["error"]["message"]
