"""Live ingest, in the web app's process or alone: the MQTT listener on the plant's broker
(``CURVEHOUSE_MQTT_URL``) or on Curvehouse's own mosquitto, committing each micro-batch into
its project's home. ``curvehouse serve`` starts it beside the pages (unless
``CURVEHOUSE_MQTT_LISTEN=0``), ``curvehouse listen`` runs it without them. The demo plant
(``curvehouse simulate``, and ``serve`` with ``CURVEHOUSE_SIMULATE=1``) publishes like a
gateway, over MQTT."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.periodic import Periodic
from app.services import Services
from models.access import Principal
from models.broker_feeds import FeedLogin, create_broker_feed, new_feed, working_feeds
from models.settings import Settings
from models.tables import BrokerFeed, Project
from pipelines.live.broker import (
    SERVICE_USER,
    EmbeddedBroker,
    Publisher,
    kept_publishers,
    topic_of,
)
from pipelines.live.claim import ListeningClaim, claim_listening
from pipelines.live.client import Tls
from pipelines.live.commit import BatchOutcome
from pipelines.live.feeds import FeedCheckError, FeedListeners, check_feed
from pipelines.live.listener import ListenerConfig, MqttListener
from pipelines.live.logins import LoginSync
from pipelines.live.opcua import Connector, StationSource
from pipelines.live.refusals import POLL_SECONDS, BrokerLog, RefusalWatch
from pipelines.live.simulator import MqttPublisher, PlantSimulator, run
from pipelines.live.sink import StoreSink

# How long a start waits for the broker to accept the listener's session.
SUBSCRIBE_SECONDS = 15.0


class LiveIngestError(RuntimeError):
    """The listener found no session on the broker; the message says what the broker said."""


class RefusalLooks(Periodic):
    """The embedded broker's refusals recorded every :data:`POLL_SECONDS`
    (:class:`pipelines.live.refusals.RefusalWatch`)."""

    name = "broker-refusals"

    def __init__(self, watch: RefusalWatch) -> None:
        super().__init__(period=POLL_SECONDS)
        self.watch = watch

    def cycle(self) -> int:
        return self.watch.look()


class FeedLooks(Periodic):
    """The store's broker feeds followed every :data:`POLL_SECONDS`: a new one reads within
    that, a revoked one stops as soon (:class:`pipelines.live.feeds.FeedListeners`)."""

    name = "broker-feeds"

    def __init__(self, feeds: FeedListeners) -> None:
        super().__init__(period=POLL_SECONDS)
        self.feeds = feeds

    def cycle(self) -> int:
        return self.feeds.sync()

    def stop(self) -> None:
        """Stop following the store, then every feed's listener."""
        super().stop()
        self.feeds.stop()


@dataclass
class LiveIngest:
    """A running listener, and the embedded broker it started with the thread keeping its
    logins (None on the plant's), or on the plant's broker the feeds' listeners."""

    listener: MqttListener
    config: ListenerConfig
    broker: EmbeddedBroker | None
    logins: LoginSync | None = None
    refusals: RefusalLooks | None = None
    feeds: FeedLooks | None = None
    claim: ListeningClaim | None = None

    def stop(self) -> None:
        try:
            self._stop()
        finally:
            if self.claim is not None:
                self.claim.release()

    def _stop(self) -> None:
        self.listener.stop()
        if self.feeds is not None:
            self.feeds.stop()
        if self.logins is not None:
            self.logins.stop()
        if self.refusals is not None:
            self.refusals.stop()
            self.refusals.cycle()  # what the broker refused up to now
        if self.broker is not None:
            self.broker.stop()


def start_live_ingest(
    services: Services,
    *,
    publishers: Iterable[Publisher] = (),
    on_batch: Callable[[BatchOutcome, float], None] | None = None,
) -> LiveIngest:
    """Start the broker when none is configured (mosquitto, under ``CURVEHOUSE_HOME/broker``,
    with ``publishers``' logins and the ingest tokens of the metadata store, followed as they
    are made and revoked), then the listener, and wait for its session. On the plant's broker
    (``CURVEHOUSE_MQTT_URL``) the store's broker feeds each get a listener, followed likewise,
    and the URL's login watches ``<prefix>/+/curves`` only to refuse what no feed reads. Raises
    :class:`pipelines.live.broker.BrokerMissingError` without mosquitto, :class:`LiveIngestError`
    when the broker refuses the listener, :class:`pipelines.live.claim.ListenerTaken` when
    another process of this home listens already (one per home)."""
    s = services.settings
    claim = claim_listening(s.home.absolute())
    try:
        return _start(services, claim, publishers, on_batch)
    except BaseException:
        claim.release()
        raise


def _start(
    services: Services,
    claim: ListeningClaim,
    publishers: Iterable[Publisher],
    on_batch: Callable[[BatchOutcome, float], None] | None,
) -> LiveIngest:
    s = services.settings
    options = {
        "prefix": s.mqtt_topic_prefix,
        "batch_curves": s.mqtt_batch_curves,
        "batch_seconds": s.mqtt_batch_seconds,
        "max_bytes": s.mqtt_max_message_kb << 10,
        "session_seconds": s.mqtt_session_hours * 3600,
    }
    broker = logins = None
    if s.mqtt_url:
        config = plant_broker(s, **options)
    else:
        broker = EmbeddedBroker(
            s.home.absolute(), port=s.mqtt_port, prefix=s.mqtt_topic_prefix, log_refusals=True
        )
        logins = LoginSync(broker, services.metadata.sessions, publishers)
        logins.sync()  # the files the broker starts with
        broker.start()
        logins.start()
        config = ListenerConfig(
            host="127.0.0.1",
            port=broker.port,
            username=SERVICE_USER,
            password=broker.service_secret(),
            **options,
        )

    def store_for(project: str):
        return services.homes.store(services.homes.for_writing(project), project=project)

    sink = StoreSink(services.metadata.sessions, store_for, lambda store: store.client.close())
    feeds = None
    if broker is None:  # the plant's: a project takes only what its feeds read
        feeds = FeedLooks(FeedListeners(config, sink, lambda: _feeds(services), on_batch=on_batch))
        feeds.cycle()
        feeds.start()
    refusals = None
    if broker is not None:  # a plant's broker keeps its own record of what it refuses
        refusals = RefusalLooks(
            RefusalWatch(
                BrokerLog(broker.log_path),
                prefix=s.mqtt_topic_prefix,
                record=sink.record,
                project_id=sink.project_id,
            )
        ).start()
    listener = MqttListener(
        config, sink, on_batch=on_batch, feeds=feeds.feeds.takes if feeds else None
    ).start()
    live = LiveIngest(listener, config, broker, logins, refusals, feeds, claim)
    if not listener.subscribed.wait(SUBSCRIBE_SECONDS):
        said = f" (the broker said: {listener.refused})" if listener.refused else ""
        live.stop()
        raise LiveIngestError(f"no MQTT session with {config.host}:{config.port}{said}")
    return live


def _feeds(services: Services) -> list[FeedLogin]:
    with services.metadata.sessions() as session:
        return working_feeds(session)


# A person's broker login checks: one every CHECK_EVERY seconds (a feed's check tries a
# password on the plant's broker, which must not become a way to guess them).
CHECK_EVERY = 2.0
_checked: dict[str, float] = {}
_checks = threading.Lock()


def plant_broker(settings: Settings, **options: object) -> ListenerConfig:
    """The plant's broker (``CURVEHOUSE_MQTT_URL``) as this installation's listener reads it:
    its client id names the installation (its home), so two Curvehouses reading one plant
    broker keep sessions of their own, and feeds' ids follow it."""
    install = hashlib.sha256(str(settings.home.absolute()).encode()).hexdigest()[:10]
    return ListenerConfig.from_url(
        settings.mqtt_url,
        ca_file=settings.mqtt_ca_path,
        client_id=f"curvehouse-{install}",
        **options,
    )


def check_new_feed(
    services: Services,
    session: Session,
    *,
    actor: Principal,
    project: Project,
    name: str,
    topic: str,
    username: str,
    password: str,
) -> tuple[str, str, str, str]:
    """``(name, topic, username, password)`` of a feed ``actor`` may map, once its login works
    on the plant's broker. Raises in words first what the store refuses (the role, the form,
    another feed's topics), then :class:`FeedCheckError` with the broker's words, or when this
    server reads no plant broker, or a second check comes within :data:`CHECK_EVERY`."""
    settings = services.settings
    checked = new_feed(
        session=session,
        actor=actor,
        project=project,
        name=name,
        topic=topic,
        username=username,
        password=password,
        prefix=settings.mqtt_topic_prefix,
    )
    if not settings.mqtt_url:
        raise FeedCheckError(
            "This server takes live curves on Curvehouse's own broker, where ingest tokens say "
            "who may publish; broker feeds map a plant broker's topics (CURVEHOUSE_MQTT_URL)."
        )
    with _checks:
        now, last = time.monotonic(), _checked.get(str(actor), -CHECK_EVERY)
        if now - last < CHECK_EVERY:
            raise FeedCheckError(
                f"One broker login check every {CHECK_EVERY:.0f} s: try again in a moment."
            )
        _checked[str(actor)] = now
    _, topic, username, password = checked
    check_feed(plant_broker(settings), username, password, topic)
    return checked


def save_feed(
    services: Services,
    session: Session,
    *,
    actor: Principal,
    project: Project,
    checked: tuple[str, str, str, str],
) -> BrokerFeed:
    """The feed :func:`check_new_feed` passed, stored (the store checks it again)."""
    name, topic, username, password = checked
    return create_broker_feed(
        session=session,
        actor=actor,
        project=project,
        name=name,
        topic=topic,
        username=username,
        password=password,
        prefix=services.settings.mqtt_topic_prefix,
    )


def map_feed(
    services: Services, session: Session, *, actor: Principal, project: Project, **given: str
) -> BrokerFeed:
    """Check a feed (:func:`check_new_feed`) and store it: the API's one call."""
    checked = check_new_feed(services, session, actor=actor, project=project, **given)
    return save_feed(services, session, actor=actor, project=project, checked=checked)


SIMULATOR = "curvehouse-simulator"  # the demo plant's broker login


def connect_publisher(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    tls: Tls | None,
    name: str,
    who: str,
) -> MqttPublisher:
    """A gateway's MQTT connection (``name`` starts its client id), once the broker took it;
    :class:`LiveIngestError` naming ``who`` and quoting the broker when it did not."""
    publisher = MqttPublisher(host, port, username, password, tls=tls, name=name)
    if not publisher.connected.wait(SUBSCRIBE_SECONDS) or publisher.refused:
        publisher.close(0)
        said = f" (the broker said: {publisher.refused})" if publisher.refused else ""
        raise LiveIngestError(f"{who} could not connect to {host}:{port}{said}")
    return publisher


def simulator_login(services: Services, project: str) -> Publisher:
    """The embedded broker's login for the demo plant, its password kept under
    ``CURVEHOUSE_HOME/broker``."""
    return kept_publishers(services.settings.home.absolute() / "broker", [(SIMULATOR, project)])[0]


@dataclass
class Simulation:
    """The demo plant publishing on a thread of its own."""

    publisher: MqttPublisher
    stop_event: threading.Event
    thread: threading.Thread
    sent: list[int]

    def stop(self) -> int:
        """Stop, let the broker take what was sent, and say how many curves went out."""
        self.stop_event.set()
        self.thread.join(10)
        self.publisher.close()
        return self.sent[0]


def start_simulation(
    *,
    host: str,
    port: int,
    username: str,
    password: str,
    project: str,
    prefix: str,
    rate: float,
    stations: tuple[int, ...],
    tls: Tls | None = None,
    report: Callable[[int], None] | None = None,
) -> Simulation:
    """Connect as a gateway and publish the demo plant's curves at ``rate`` per second to
    ``<prefix>/<project>/curves``. Raises :class:`LiveIngestError` when the broker refuses."""
    publisher = connect_publisher(
        host, port, username, password, tls=tls, name=SIMULATOR, who="the simulator"
    )
    simulator = PlantSimulator(rate=rate, stations=stations, project=project)
    topic = topic_of(prefix, project)
    stop, sent = threading.Event(), [0]

    def work() -> None:
        sent[0] = run(
            simulator, lambda due: publisher.publish(topic, due.payload), stop, report=report
        )

    thread = threading.Thread(target=work, name="curvehouse-simulator", daemon=True)
    thread.start()
    return Simulation(publisher, stop, thread, sent)


OPCUA = "curvehouse-opcua"  # the OPC UA gateway's broker logins: one per project


def opcua_logins(services: Services, projects: Iterable[str]) -> dict[str, Publisher]:
    """The embedded broker's logins for the OPC UA gateway, one per project (a login may
    publish one project's curves), their passwords kept under ``CURVEHOUSE_HOME/broker``."""
    wanted = sorted(set(projects))
    names = [(f"{OPCUA}-{hashlib.sha256(p.encode()).hexdigest()[:10]}", p) for p in wanted]
    kept = kept_publishers(services.settings.home.absolute() / "broker", names)
    return {p.project: p for p in kept}


@dataclass
class OpcuaGateway:
    """The OPC UA connector and its MQTT connections, one per project."""

    connector: Connector
    publishers: dict[str, MqttPublisher]
    sent: list[int]

    def stop(self) -> int:
        """Stop reading, let the broker take what was sent; how many curves went out."""
        self.connector.stop()
        for publisher in self.publishers.values():
            publisher.close()
        return self.sent[0]


def start_opcua(
    stations: list[StationSource],
    *,
    host: str,
    port: int,
    logins: dict[str, tuple[str, str]],
    prefix: str,
    tls: Tls | None = None,
    report: Callable[[int], None] | None = None,
) -> OpcuaGateway:
    """Read the stations' curves over OPC UA and publish them like a gateway, with
    ``logins[project]`` (username, password) for each project's topic. Raises
    :class:`LiveIngestError` when the broker refuses a login."""
    publishers: dict[str, MqttPublisher] = {}
    try:
        for project in sorted({s.project for s in stations}):
            username, password = logins[project]
            publishers[project] = connect_publisher(
                host, port, username, password, tls=tls, name=OPCUA, who="the OPC UA gateway"
            )
    except LiveIngestError:
        for opened in publishers.values():
            opened.close(0)
        raise
    sent, lock = [0], threading.Lock()

    def publish(source: StationSource, payload: bytes) -> None:
        publishers[source.project].publish(topic_of(prefix, source.project), payload)
        with lock:
            sent[0] += 1
            if report is not None and sent[0] % 100 == 0:
                report(sent[0])

    return OpcuaGateway(Connector(stations, publish).start(), publishers, sent)
