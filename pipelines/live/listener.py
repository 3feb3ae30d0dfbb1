"""The MQTT listener: a persistent QoS 1 session, micro-batches, acks only after the commit.

paho-mqtt (MQTT v5) runs the network on its own thread, which reads each message's payload
(:func:`pipelines.live.payload.parse_message`) and queues it; one committer thread takes up to
``batch_curves`` messages or what came within ``batch_seconds`` of the first, commits them
(:func:`pipelines.live.commit.commit_batch`) and only then acks them, in arrival order. The
session outlives the listener (``clean_start=False`` and a session
expiry), so what the broker sent but was never acked comes back after a crash, and what
arrived meanwhile waits on the broker. ``ReceiveMaximum`` lets the broker have a whole batch in
flight (mosquitto's default is 20 unacked messages).

A message counts as one towards ``batch_curves`` whatever it holds. An engine error acks
nothing: the batch is retried (1 s, doubling to 15 s) while the broker keeps the rest, and each
retry is logged with the error. A commit that blocks (another import holds the project, a server
that does not answer) is logged every ``SLOW_COMMIT_SECONDS`` while it lasts.

An ack names a message by its packet id, which only means something on the connection it came
in on: after a reconnect the broker resends what was unacked (with the same ids when it kept the
session, with ids it hands out anew when it lost it). So an ack is sent only on the connection
the message came in on; a batch committed across a reconnect is acked by its redelivery, which
the commit skips as a duplicate. The epoch that tells connections apart moves before paho's
reconnect empties its send queue (:attr:`MqttClient.before_reconnect`), under the lock the acks
are queued with, so no ack of an old connection reaches a new one.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from pipelines.live.client import MqttClient, Tls
from pipelines.live.commit import (
    Arrival,
    BatchOutcome,
    FeedsTake,
    Sink,
    commit_alone,
    commit_batch,
    project_for,
)
from pipelines.live.payload import parse_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenerConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: Tls | None = None
    client_id: str = "curvehouse-listener"
    prefix: str = "curvehouse"
    batch_curves: int = 500
    batch_seconds: float = 1.0
    max_bytes: int = 16384 << 10
    session_seconds: int = 168 * 3600
    # A broker feed's (pipelines.live.feeds): the filter it reads, and the project every
    # message of it goes to whatever the topic says. Else <prefix>/+/curves, by topic.
    topic_filter: str | None = None
    project: str | None = None

    @classmethod
    def from_url(cls, url: str, ca_file: str | None = None, **options: object) -> ListenerConfig:
        """From ``mqtt[s]://user:password@host[:port]``; ``ca_file`` checks an ``mqtts://``
        broker's certificate (:class:`pipelines.live.client.Tls`)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("an MQTT URL looks like mqtt://user:password@host:1883")
        tls = Tls(ca_file) if parts.scheme == "mqtts" else None
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            **options,  # type: ignore[arg-type]
        )

    @property
    def topic(self) -> str:
        return self.topic_filter or f"{self.prefix}/+/curves"


@dataclass
class _Handle:
    epoch: int
    mid: int
    qos: int


class MqttListener:
    """Subscribe to ``config.topic`` and commit what arrives. ``on_batch`` hears each
    committed batch's outcome (for a command's output). ``feeds``: on a plant's broker, the
    topics broker feeds take (:func:`pipelines.live.commit.commit_batch`)."""

    # A failed commit is retried after RETRY_SECONDS, doubling up to RETRY_MAX_SECONDS: cheap
    # while the engine is down, and back within 15 s of its return.
    RETRY_SECONDS: ClassVar[float] = 1.0
    RETRY_MAX_SECONDS: ClassVar[float] = 15.0
    # A batch that failed this often while its engine answers is committed message by message
    # (pipelines.live.commit.commit_alone): one no commit takes becomes a dead letter.
    ALONE_AFTER: ClassVar[int] = 3
    # A commit still running after this long is logged (and again every as long).
    SLOW_COMMIT_SECONDS: ClassVar[float] = 5.0

    def __init__(
        self,
        config: ListenerConfig,
        sink: Sink,
        *,
        on_batch: Callable[[BatchOutcome, float], None] | None = None,
        feeds: FeedsTake | None = None,
    ) -> None:
        self.config, self.sink, self.on_batch, self.feeds = config, sink, on_batch, feeds
        self.inbox: queue.Queue[Arrival] = queue.Queue()
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # the broker confirmed the subscription
        # When it first did: from then on the session holds what arrives while we are away.
        self.first_subscribed: datetime | None = None
        self.refused: str | None = None  # the broker's answer when it refused our login
        self.totals = BatchOutcome()
        self.batches = 0
        self.connections = 0  # sessions the broker accepted (1 + the reconnects)
        self.failures = 0  # commits that raised and were retried
        self._epoch = 0
        self._ack_lock = threading.Lock()  # an epoch's acks are queued whole, or not at all
        self._committing: tuple[float, int, str] | None = None  # (since, messages, projects)
        self._stop = threading.Event()
        self._committer: threading.Thread | None = None
        self._watch: threading.Thread | None = None
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        c = self.config
        client = MqttClient(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=c.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if c.username is not None:
            client.username_pw_set(c.username, c.password)
        client.use_tls(c.tls)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.before_reconnect = self._new_connection
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        return client

    # -- network thread ----------------------------------------------------------------------

    def _new_connection(self) -> None:
        """Before each (re)connect: packet ids of the connection before must never be acked
        on the next one (paho empties its send queue right after this)."""
        with self._ack_lock:
            self._epoch += 1

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            self.refused = str(reason)
            log.error("the MQTT broker refused the listener's login: %s", reason)
            return
        self.refused = None
        if self.connections and not flags.session_present:
            log.warning(
                "the MQTT broker %s:%s kept no session for the listener (restarted without "
                "its data, or the session expired): curves published while it was away may "
                "be lost",
                self.config.host,
                self.config.port,
            )
        elif self.connections:
            log.warning("MQTT connection back; the broker kept the listener's session")
        self.connections += 1
        client.subscribe(self.config.topic, qos=1)
        self.connected.set()

    def _on_subscribe(self, client, userdata, mid, reasons, properties) -> None:
        if all(not r.is_failure for r in reasons):
            if self.first_subscribed is None:
                self.first_subscribed = datetime.now(UTC)
            self.subscribed.set()
        else:
            log.error("the MQTT broker refused the subscription to %s", self.config.topic)

    def _on_disconnect(self, client, userdata, flags, reason, properties) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, client, userdata, message) -> None:
        received_at = datetime.now(UTC)
        # Read while the message waits for its batch: the commit, which the message's
        # acknowledgement waits for, then does not pay for it (0.3 ms a 3,000-sample curve).
        # A message that fails in an unforeseen way is read again by the commit, which records it.
        # Watching for the feeds (``feeds``) commits nothing, so it reads nothing.
        parsed = None
        try:
            if self.feeds is None:
                parsed = parse_message(message.payload, max_bytes=self.config.max_bytes)
        except Exception:
            log.exception("reading an MQTT message failed; the commit reads it again")
        self.inbox.put(
            Arrival(
                topic=message.topic,
                payload=message.payload,
                received_at=received_at,
                handle=_Handle(self._epoch, message.mid, message.qos),
                parsed=parsed,
                project=self.config.project,
            )
        )

    # -- committer thread --------------------------------------------------------------------

    def _take(self) -> list[Arrival]:
        try:
            batch = [self.inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + self.config.batch_seconds
        while len(batch) < self.config.batch_curves:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _commit(self, batch: list[Arrival]) -> BatchOutcome | None:
        """Commit, retrying an engine error until it passes or the listener stops."""
        delay, attempt, first = self.RETRY_SECONDS, 0, time.monotonic()
        projects = ", ".join(sorted({project_for(a, self.config.prefix) or "?" for a in batch}))
        while True:
            attempt += 1
            self._committing = (time.monotonic(), len(batch), projects)
            try:
                outcome = commit_batch(
                    batch,
                    sink=self.sink,
                    prefix=self.config.prefix,
                    max_bytes=self.config.max_bytes,
                    feeds=self.feeds,
                )
            except Exception as exc:
                self.failures += 1
                log.warning(
                    "committing %d MQTT messages (project %s) failed, attempt %d, for %.0f s "
                    "now: %s: %s. Nothing of them is acked; the broker keeps them and what "
                    "comes meanwhile. Retrying in %.0f s",
                    len(batch),
                    projects,
                    attempt,
                    time.monotonic() - first,
                    type(exc).__name__,
                    exc,
                    delay,
                    exc_info=attempt == 1,  # the traceback once, not every retry
                )
            else:
                if attempt > 1:
                    log.warning(
                        "committed %d MQTT messages (project %s) at attempt %d, after %.0f s",
                        len(batch),
                        projects,
                        attempt,
                        time.monotonic() - first,
                    )
                return outcome
            finally:
                self._committing = None
            if attempt >= self.ALONE_AFTER and self._engines_answer(batch):
                log.error(
                    "%d MQTT messages (project %s) failed to commit %d times while the engine "
                    "answers: committing them one by one; one that still fails is a dead letter",
                    len(batch),
                    projects,
                    attempt,
                )
                try:
                    return commit_alone(
                        batch,
                        sink=self.sink,
                        prefix=self.config.prefix,
                        max_bytes=self.config.max_bytes,
                        feeds=self.feeds,
                    )
                except Exception as exc:  # the engine went away meanwhile: retry the batch
                    log.warning("committing them one by one stopped: %s", exc)
            if self._stop.wait(delay):
                return None
            delay = min(delay * 2, self.RETRY_MAX_SECONDS)

    def _engines_answer(self, batch: list[Arrival]) -> bool:
        projects = {project_for(a, self.config.prefix) for a in batch} - {None}
        return bool(projects) and all(self.sink.answers(p) for p in projects)

    def _watch_commits(self) -> None:
        """Say what a commit that does not come back is waiting for, while it waits."""
        current, due = None, 0.0
        while not self._stop.wait(1.0):
            committing = self._committing
            if committing is None:
                continue
            since, messages, projects = committing
            if since != current:
                current, due = since, self.SLOW_COMMIT_SECONDS
            waited = time.monotonic() - since
            if waited < due:
                continue
            due += self.SLOW_COMMIT_SECONDS
            log.warning(
                "committing %d MQTT messages (project %s) has waited %.0f s for the engine "
                "(an import into the same project, or a server that does not answer); nothing "
                "is acked until it commits, the broker keeps what comes meanwhile",
                messages,
                projects,
                waited,
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            batch = self._take()
            if not batch:
                continue
            started = time.perf_counter()
            outcome = self._commit(batch)
            if outcome is None:  # stopping: the broker redelivers the batch next time
                return
            with self._ack_lock:
                for arrival in batch:
                    handle = arrival.handle
                    if isinstance(handle, _Handle) and handle.epoch == self._epoch:
                        self.client.ack(handle.mid, handle.qos)
            self._count(outcome)
            if self.on_batch is not None:
                self.on_batch(outcome, time.perf_counter() - started)

    def _count(self, outcome: BatchOutcome) -> None:
        self.totals.add(outcome)
        self.batches += 1

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> MqttListener:
        c = self.config
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = c.session_seconds
        props.ReceiveMaximum = min(65535, 2 * c.batch_curves)
        self.client.connect_async(c.host, c.port, keepalive=15, clean_start=False, properties=props)
        self.client.loop_start()
        self._committer = threading.Thread(target=self._run, name="mqtt-commit", daemon=True)
        self._committer.start()
        self._watch = threading.Thread(target=self._watch_commits, name="mqtt-watch", daemon=True)
        self._watch.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch being committed (and ack it), then disconnect."""
        self._stop.set()
        if self._committer is not None:
            self._committer.join(timeout)
        if self._watch is not None:
            self._watch.join(5)
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> MqttListener:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
