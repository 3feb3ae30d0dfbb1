"""Broker feeds on the plant's broker: one MQTT session per feed, with the login its project's
owner made there, whose messages all go to that project (``models.broker_feeds``).

:class:`FeedListeners` follows the metadata store's feeds (:meth:`sync`, every few seconds): a
new feed starts its listener, a revoked or changed one stops and its session is dropped from
the broker, so the plant's broker keeps nothing queued for it. :meth:`takes` tells the
listener that watches ``<prefix>/+/curves`` with the server's own login which of those topics
a feed reads: that one leaves them to the feed and refuses the others, so on a plant's broker
nothing reaches a project but through a feed. :func:`check_feed` tries a login and a topic on
the broker before a feed is saved, so an owner hears at once what the broker says.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from models.broker_feeds import FeedLogin, filter_matches
from pipelines.live.client import MqttClient
from pipelines.live.commit import BatchOutcome, Sink, project_of
from pipelines.live.listener import ListenerConfig, MqttListener

log = logging.getLogger(__name__)

# How long a feed's check waits for the broker's answers.
CHECK_SECONDS = 10.0


class FeedCheckError(ValueError):
    """The plant's broker refused a feed's login or topic, or could not be reached; the message
    says which, in the broker's words."""


def feed_config(base: ListenerConfig, feed: FeedLogin) -> ListenerConfig:
    """``base`` (the plant's broker, the batch options) with the feed's login, topic, project
    and a client id of its own (the base's and the feed's id), so its session on the broker
    is its own."""
    return replace(
        base,
        username=feed.username,
        password=feed.password,
        client_id=f"{base.client_id}-feed-{feed.id}",
        topic_filter=feed.topic,
        project=feed.project,
    )


def _session(config: ListenerConfig, *, check_topic: bool) -> None:
    """Connect as ``config`` once, with a clean session that ends with the connection (which
    also drops a session the client id had); with ``check_topic``, subscribe to its topic and
    wait for the broker's answer. Raises :class:`FeedCheckError` with the broker's words."""
    done, refused = threading.Event(), []
    client = MqttClient(
        mqtt.CallbackAPIVersion.VERSION2, client_id=config.client_id, protocol=mqtt.MQTTv5
    )
    if config.username is not None:
        client.username_pw_set(config.username, config.password)

    def subscribed(client, userdata, mid, reasons, properties) -> None:
        failed = [r for r in reasons if r.is_failure]
        if failed:
            refused.append(
                f"the broker does not let {config.username!r} read {config.topic!r}: {failed[0]}"
            )
        done.set()

    def connected(client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            refused.append(f"the broker refused the login {config.username!r}: {reason}")
            done.set()
        elif check_topic:
            client.subscribe(config.topic, qos=1)
        else:
            done.set()

    client.on_connect = connected
    client.on_subscribe = subscribed
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 0
    try:
        client.use_tls(config.tls)  # a CA file gone since the start is said here too
        client.connect(config.host, config.port, keepalive=15, clean_start=True, properties=props)
    except (OSError, ssl.SSLError) as exc:
        raise FeedCheckError(
            f"could not reach the plant's broker {config.host}:{config.port}: {exc}"
        ) from None
    client.loop_start()
    try:
        if not done.wait(CHECK_SECONDS):
            raise FeedCheckError(
                f"the plant's broker {config.host}:{config.port} did not answer within "
                f"{CHECK_SECONDS:.0f} s"
            )
        if refused:
            raise FeedCheckError(refused[0])
    finally:
        client.disconnect()
        client.loop_stop()


def check_feed(base: ListenerConfig, username: str, password: str, topic: str) -> None:
    """Raise :class:`FeedCheckError` unless the plant's broker takes the login and lets it
    subscribe to ``topic``."""
    probe = FeedLogin(0, "", topic, username, password)
    _session(replace(feed_config(base, probe), client_id=""), check_topic=True)


class FeedListeners:
    """One :class:`MqttListener` per working feed of ``load()``, on ``base``'s broker."""

    # A message the watch received this soon after a feed's first subscription may have been
    # published before it, so the feed never got it: the watch records it rather than leave it.
    SUBSCRIBED_MARGIN = timedelta(seconds=1)

    def __init__(
        self,
        base: ListenerConfig,
        sink: Sink,
        load: Callable[[], list[FeedLogin]],
        *,
        on_batch: Callable[[BatchOutcome, float], None] | None = None,
    ) -> None:
        self.base, self.sink, self.load, self.on_batch = base, sink, load, on_batch
        self.running: dict[int, tuple[FeedLogin, MqttListener]] = {}
        self._sync = threading.Lock()  # one sync at a time

    def takes(self, topic: str, received_at: datetime) -> bool:
        """Whether a feed of the project ``topic`` names reads it and was subscribed when a
        message received at ``received_at`` was published: then it has that message."""
        project = project_of(topic, self.base.prefix)
        for feed, listener in list(self.running.values()):
            since = listener.first_subscribed
            if (
                feed.project == project
                and since is not None
                and since <= received_at - self.SUBSCRIBED_MARGIN
                and filter_matches(feed.topic, topic)
            ):
                return True
        return False

    def sync(self) -> int:
        """Start the listeners of new feeds, stop those of revoked or changed ones; return how
        many changed. The slow part (stopping a listener, dropping its session) runs once the
        feed is out of the running set, so :meth:`takes` never waits on it."""
        with self._sync:
            feeds = {f.id: f for f in self.load()}
            ended = [
                self.running.pop(fid)
                for fid, (feed, _) in list(self.running.items())
                if feeds.get(fid) != feed
            ]
            for feed, listener in ended:  # first: a changed feed's new session is its id's
                self._end(feed, listener)
            started = [f for fid, f in feeds.items() if fid not in self.running]
            for feed in started:
                config = feed_config(self.base, feed)
                listener = MqttListener(config, self.sink, on_batch=self.on_batch).start()
                self.running[feed.id] = (feed, listener)
                log.info("broker feed %d: reading %s for %s", feed.id, feed.topic, feed.project)
            return len(ended) + len(started)

    def _end(self, feed: FeedLogin, listener: MqttListener) -> None:
        """Stop a feed's listener and drop its session, so the broker queues nothing more."""
        listener.stop()
        try:
            _session(listener.config, check_topic=False)
        except FeedCheckError as exc:  # its login no longer works: the session expires
            log.warning(
                "broker feed %d stopped; its session stays until it expires: %s", feed.id, exc
            )
        log.info("broker feed %d stopped (%s)", feed.id, feed.topic)

    def state(self, feed_id: int) -> str:
        """How the feed's listener stands, in words (for its project's page)."""
        running = self.running.get(feed_id)
        if running is None:
            return "not started yet"
        listener = running[1]
        if listener.refused:
            return f"refused by the broker: {listener.refused}"
        if listener.subscribed.is_set():
            return "reading"
        return "connecting"

    def stop(self) -> None:
        with self._sync:
            running, self.running = list(self.running.values()), {}
        for _, listener in running:
            listener.stop()
