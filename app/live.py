"""Live ingest, in the web app's process or alone: the MQTT listener on the plant's broker
(``CURVEHOUSE_MQTT_URL``) or on Curvehouse's own mosquitto, committing each micro-batch into
its project's home. ``curvehouse serve`` starts it beside the pages (unless
``CURVEHOUSE_MQTT_LISTEN=0``), ``curvehouse listen`` runs it without them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.services import Services
from pipelines.live.broker import SERVICE_USER, EmbeddedBroker, Publisher
from pipelines.live.commit import BatchOutcome
from pipelines.live.listener import ListenerConfig, MqttListener
from pipelines.live.sink import StoreSink

# How long a start waits for the broker to accept the listener's session.
SUBSCRIBE_SECONDS = 15.0


class LiveIngestError(RuntimeError):
    """The listener found no session on the broker; the message says what the broker said."""


@dataclass
class LiveIngest:
    """A running listener, and the embedded broker it started (None on the plant's)."""

    listener: MqttListener
    config: ListenerConfig
    broker: EmbeddedBroker | None

    def stop(self) -> None:
        self.listener.stop()
        if self.broker is not None:
            self.broker.stop()


def start_live_ingest(
    services: Services,
    *,
    publishers: Iterable[Publisher] = (),
    on_batch: Callable[[BatchOutcome, float], None] | None = None,
) -> LiveIngest:
    """Start the broker when none is configured (mosquitto, under ``CURVEHOUSE_HOME/broker``,
    with ``publishers``' logins), then the listener, and wait for its session. Raises
    :class:`pipelines.live.broker.BrokerMissingError` without mosquitto, :class:`LiveIngestError`
    when the broker refuses the listener."""
    s = services.settings
    options = {
        "prefix": s.mqtt_topic_prefix,
        "batch_curves": s.mqtt_batch_curves,
        "batch_seconds": s.mqtt_batch_seconds,
        "max_bytes": s.mqtt_max_message_kb << 10,
        "session_seconds": s.mqtt_session_hours * 3600,
    }
    broker = None
    if s.mqtt_url:
        config = ListenerConfig.from_url(s.mqtt_url, **options)
    else:
        broker = EmbeddedBroker(
            s.home.absolute(), port=s.mqtt_port, prefix=s.mqtt_topic_prefix, publishers=publishers
        ).start()
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
    listener = MqttListener(config, sink, on_batch=on_batch).start()
    if not listener.subscribed.wait(SUBSCRIBE_SECONDS):
        said = f" (the broker said: {listener.refused})" if listener.refused else ""
        LiveIngest(listener, config, broker).stop()
        raise LiveIngestError(f"no MQTT session with {config.host}:{config.port}{said}")
    return LiveIngest(listener, config, broker)
