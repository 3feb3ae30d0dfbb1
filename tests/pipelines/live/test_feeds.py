"""Broker feeds on a plant's own mosquitto (its logins and ACL, not Curvehouse's): a feed's
topic reaches its project, read with the owner's login; a topic no feed reads reaches nothing
and is recorded as refused; a revoked feed stops; a bad login is refused before it is saved."""

from __future__ import annotations

import json
import time

import pytest

from models.broker_feeds import FeedLogin
from pipelines.curves import Curves
from pipelines.live.feeds import FeedCheckError, FeedListeners, check_feed
from pipelines.live.listener import ListenerConfig, MqttListener
from pipelines.live.sink import StoreSink
from tests.pipelines.live.conftest import Gateway, _require_mosquitto
from tests.pipelines.live.plant import PlantBroker
from tests.pipelines.live.test_listener import curve, dead_letters, wait_for

pytestmark = pytest.mark.integration

LOGINS = {
    "curvehouse": "server-secret",  # CURVEHOUSE_MQTT_URL's login
    "line7-reader": "reader-secret",  # the login demo's owner made for the feed
    "press7": "press-secret",  # line 7's press gateway
    "rogue": "rogue-secret",  # a plant login that may publish to Curvehouse's topics
}
ACL = """user curvehouse
topic read curvehouse/+/curves

user line7-reader
topic read plant/line7/#

user press7
topic write plant/line7/press/curves

user rogue
topic write curvehouse/+/curves
topic write plant/line7/press/curves
"""
FEED = FeedLogin(1, "demo", "plant/line7/#", "line7-reader", LOGINS["line7-reader"])


@pytest.fixture
def plant(tmp_path):
    _require_mosquitto()
    broker = PlantBroker(tmp_path / "plant", LOGINS, ACL)
    yield broker
    broker.stop()


def base(plant) -> ListenerConfig:
    return ListenerConfig.from_url(plant.url("curvehouse"), batch_curves=50, batch_seconds=0.2)


@pytest.fixture
def running(plant, sessions, curve_store):
    """The server's watch of curvehouse/+/curves and the feeds' listeners, as app.live runs
    them on a plant's broker; ``feeds`` is what the store holds."""
    feeds: list[FeedLogin] = [FEED]
    sink = StoreSink(sessions, lambda project: curve_store)
    listeners = FeedListeners(base(plant), sink, lambda: list(feeds))
    listeners.sync()
    watch = MqttListener(base(plant), sink, feeds=listeners.takes).start()
    assert watch.subscribed.wait(30), watch.refused
    for _, listener in listeners.running.values():
        assert listener.subscribed.wait(30), listener.refused
    yield feeds, listeners, watch
    watch.stop()
    listeners.stop()


def gateway(plant, name: str) -> Gateway:
    gw = Gateway(plant.port, name, LOGINS[name])
    assert gw.connected.wait(30) and not gw.refused
    return gw


def keys(store) -> list[str]:
    return sorted(Curves(store.client, store.database).metadata()["curve_key"])


def test_a_feed_brings_its_topic_to_its_project_and_nothing_else_gets_in(
    plant, running, sessions, curve_store
):
    feeds, listeners, watch = running
    press, rogue = gateway(plant, "press7"), gateway(plant, "rogue")
    try:
        press.publish("plant/line7/press/curves", json.dumps(curve("L7-1", station="ST010")))
        rogue.publish("curvehouse/demo/curves", json.dumps(curve("R-1")))  # no feed reads it
        wait_for(lambda: keys(curve_store) == ["L7-1"] and dead_letters(sessions))
        ((reason, _, project, detail),) = dead_letters(sessions)
        assert (reason, project) == ("not_allowed", "demo")
        assert "only through a broker feed its owner mapped" in detail
        assert watch.totals.committed == 0
        # The owner revokes the feed: its topic reaches the project no more.
        feeds.clear()
        assert listeners.sync() == 1 and not listeners.running
        press.publish("plant/line7/press/curves", json.dumps(curve("L7-2")))
        feeds.append(FEED)  # mapped again: the feed's session was dropped, so L7-2 is gone
        listeners.sync()
        ((_, again),) = listeners.running.values()
        assert again.subscribed.wait(30)
        press.publish("plant/line7/press/curves", json.dumps(curve("L7-3")))
        wait_for(lambda: keys(curve_store) == ["L7-1", "L7-3"])
    finally:
        press.close()
        rogue.close()


def test_a_feed_on_curvehouse_s_own_topic_commits_it_once(plant, sessions, curve_store):
    """Both the server's watch and the feed receive curvehouse/demo/curves: the watch leaves
    it to the feed, so it is stored once and nothing is refused."""
    mapped = FeedLogin(2, "demo", "curvehouse/demo/curves", "curvehouse", LOGINS["curvehouse"])
    sink = StoreSink(sessions, lambda project: curve_store)
    listeners = FeedListeners(base(plant), sink, lambda: [mapped])
    listeners.sync()
    watch = MqttListener(base(plant), sink, feeds=listeners.takes).start()
    rogue = gateway(plant, "rogue")
    try:
        assert watch.subscribed.wait(30)
        ((_, listener),) = listeners.running.values()
        assert listener.subscribed.wait(30)
        time.sleep(1.1)  # the watch leaves it to a feed subscribed a second before
        rogue.publish("curvehouse/demo/curves", json.dumps(curve("C-1")))
        # The feed counts its batch after the commit and the ack: wait for its count too.
        wait_for(
            lambda: (
                keys(curve_store) == ["C-1"]
                and watch.totals.passed == 1
                and listener.totals.committed == 1
            )
        )
        assert dead_letters(sessions) == []
    finally:
        rogue.close()
        watch.stop()
        listeners.stop()


def test_a_feed_s_login_is_checked_on_the_broker_before_it_is_saved(plant):
    check_feed(base(plant), "line7-reader", LOGINS["line7-reader"], "plant/line7/#")
    with pytest.raises(FeedCheckError, match="refused the login 'line7-reader': Not authorized"):
        check_feed(base(plant), "line7-reader", "wrong", "plant/line7/#")
    gone = ListenerConfig(host="127.0.0.1", port=1)
    with pytest.raises(FeedCheckError, match="could not reach the plant's broker"):
        check_feed(gone, "line7-reader", "x", "plant/line7/#")


def test_a_feed_whose_login_the_broker_refuses_says_so(plant, sessions, curve_store):
    wrong = FeedLogin(3, "demo", "plant/line7/#", "line7-reader", "not-its-password")
    listeners = FeedListeners(
        base(plant), StoreSink(sessions, lambda p: curve_store), lambda: [wrong]
    )
    listeners.sync()
    try:
        wait_for(lambda: listeners.state(3).startswith("refused by the broker"))
        assert "Not authorized" in listeners.state(3)
        assert listeners.state(99) == "not started yet"
    finally:
        listeners.stop()


def test_what_a_feed_the_broker_refuses_would_read_is_recorded_not_lost(
    plant, sessions, curve_store
):
    """A feed on demo's Curvehouse topic whose login the broker refuses reads nothing, so the
    watch does not leave the topic to it: a message there is a dead letter, not dropped."""
    wrong = FeedLogin(4, "demo", "curvehouse/demo/curves", "curvehouse", "not-its-password")
    sink = StoreSink(sessions, lambda project: curve_store)
    listeners = FeedListeners(base(plant), sink, lambda: [wrong])
    listeners.sync()
    watch = MqttListener(base(plant), sink, feeds=listeners.takes).start()
    rogue = gateway(plant, "rogue")
    try:
        assert watch.subscribed.wait(30)
        wait_for(lambda: listeners.state(4).startswith("refused by the broker"))
        rogue.publish("curvehouse/demo/curves", json.dumps(curve("W-1")))
        wait_for(lambda: dead_letters(sessions))
        ((reason, _, project, _),) = dead_letters(sessions)
        assert (reason, project) == ("not_allowed", "demo") and watch.totals.passed == 0
    finally:
        rogue.close()
        watch.stop()
        listeners.stop()
