"""paho-mqtt's client, waiting on its socket through :mod:`selectors` (epoll) instead of
``select()``.

``select()`` refuses file descriptors above 1023. A process that holds many open files (the
engine's parts, a server's sessions, a long test run) gets sockets numbered higher, and paho
2.x then took every refusal for a lost connection: it reconnected forever and never received
a CONNACK. Only the one waiting step (paho's ``_loop``) is replaced; reading, writing and
keep-alive stay paho's own (``loop_read``, ``loop_write``, ``loop_misc``). ``_loop`` is not
public API, so pyproject pins paho-mqtt below 3, and a test runs a client with 1,100 files
open.

Over TLS the handshake is paho's but for one thing: a socket whose handshake fails is closed
(paho left it open until the garbage collector found it).

``before_reconnect`` is called before each (re)connect, before paho empties its send queue: the
listener's acks name packet ids of one connection, and it must stop queueing them there first
(paho's own ``on_pre_connect`` comes after the queue is emptied, so an ack queued in between
would go out on the new connection).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.client import MQTTErrorCode

_GONE = (mqtt._ConnectionState.MQTT_CS_DISCONNECTING, mqtt._ConnectionState.MQTT_CS_DISCONNECTED)


@dataclass(frozen=True)
class Tls:
    """``mqtts://``: the broker's certificate is checked, and its host name, against
    ``ca_file`` (a plant's own CA, PEM; ``CURVEHOUSE_MQTT_CA_FILE``) or the system's CAs."""

    ca_file: str | None = None


class MqttClient(mqtt.Client):
    """A paho client whose network loop works with any file descriptor."""

    before_reconnect: Callable[[], None] | None = None

    def use_tls(self, tls: Tls | None) -> None:
        """Connect over TLS when ``tls`` is given (see :class:`Tls`): Python's default client
        context, which checks the certificate and the host name."""
        if tls is not None:
            self.tls_set_context(ssl.create_default_context(cafile=tls.ca_file))

    def _ssl_wrap_socket(self, tcp_sock: socket.socket) -> ssl.SSLSocket:
        """paho's, but the TLS socket is closed when the handshake fails (a certificate the
        context refuses), where paho left it open. The context checks the host name."""
        ssl_sock = self._ssl_context.wrap_socket(
            tcp_sock, server_hostname=self._host, do_handshake_on_connect=False
        )
        try:
            ssl_sock.settimeout(self._connect_timeout)
            ssl_sock.do_handshake()
        except BaseException:
            ssl_sock.close()
            raise
        return ssl_sock

    def reconnect(self) -> MQTTErrorCode:
        if self.before_reconnect is not None:
            self.before_reconnect()
        return super().reconnect()

    def _loop(self, timeout: float = 1.0) -> MQTTErrorCode:
        if timeout < 0.0:
            raise ValueError("Invalid timeout.")
        sock = self._sock
        if sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        pending = sock.pending() if hasattr(sock, "pending") else 0  # bytes TLS holds already
        wake = self._sockpairR  # written to by publish() and friends, to stop the wait
        with selectors.DefaultSelector() as selector:
            try:
                wanted = selectors.EVENT_READ
                if self.want_write():
                    wanted |= selectors.EVENT_WRITE
                selector.register(sock, wanted)
                if wake is not None:
                    selector.register(wake, selectors.EVENT_READ)
                ready = selector.select(0.0 if pending else timeout)
            except (OSError, ValueError, TypeError):  # the socket closed under us
                if self._state not in _GONE:
                    self._state = mqtt._ConnectionState.MQTT_CS_CONNECTION_LOST
                return MQTTErrorCode.MQTT_ERR_CONN_LOST
        readable = {key.fileobj for key, events in ready if events & selectors.EVENT_READ}
        writable = {key.fileobj for key, events in ready if events & selectors.EVENT_WRITE}
        if sock in readable or pending:
            rc = self.loop_read()
            if rc or self._sock is None:
                return rc
        if wake is not None and wake in readable:
            writable.add(sock)  # a publish is queued: try to send it now
            with contextlib.suppress(BlockingIOError):
                wake.recv(10000)
        if sock in writable:
            rc = self.loop_write()
            if rc or self._sock is None:
                return rc
        return self.loop_misc()
