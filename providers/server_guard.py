"""Connections to a URL someone typed: only to allowed hosts, never redirected, failures in our
words.

A "server" cluster makes Curvehouse connect, from inside the plant's network, to a URL a
project owner chose; what the far side answers must not come back to that person either (it
could be an internal service's page). So a guarded connection

- goes only to a host the operator allowed (``models/host_patterns.py``,
  ``CURVEHOUSE_SERVER_CLUSTER_HOSTS``), checked before the first byte is sent and again on every
  connect;
- connects to the address that was checked (the name is resolved once, and TLS still checks
  the certificate against the name), so a name that resolves elsewhere later (DNS rebinding)
  does not get past the check;
- never follows a redirect;
- never reads the body of an error answer: the status and ClickHouse's error code (a number)
  are all that is kept, and :func:`failure_words` says what happened in our own words
  ("could not reach db.plant.local:8443: connection refused").
"""

from __future__ import annotations

import socket
import ssl
from functools import lru_cache
from typing import Any
from urllib.parse import SplitResult

import urllib3
from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_connect.driver.httputil import get_pool_manager_options

from models.host_patterns import admitted
from providers.errors import ProviderError

ENABLE_HINT = (
    "an operator lists the hosts server clusters may use in CURVEHOUSE_SERVER_CLUSTER_HOSTS "
    "(e.g. clickhouse.plant.local:8443, *.ch.plant.local, 10.20.0.0/16)"
)
# ClickHouse's error codes for a refused login: AUTHENTICATION_FAILED, UNKNOWN_USER,
# WRONG_PASSWORD, REQUIRED_PASSWORD.
AUTH_CODES = {516, 192, 193, 194}
EXCEPTION_HEADER = "X-ClickHouse-Exception-Code"


class HostNotAllowed(ProviderError):
    """The URL's host is not one the installation allows for server clusters."""


class ServerAnswered(DatabaseError):
    """The server answered with an error, a redirect or an exception header; its body was not
    read. ``status`` is the HTTP status, ``code`` ClickHouse's error code when it sent one."""

    def __init__(self, status: int, code: int | None) -> None:
        super().__init__(f"HTTP {status}" + (f", ClickHouse error {code}" if code else ""))
        self.status, self.code = status, code


def endpoint(parts: SplitResult) -> tuple[str, int]:
    """The host and port a URL connects to (ClickHouse's HTTP ports by default)."""
    return parts.hostname or "", parts.port or (8443 if parts.scheme == "https" else 8123)


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to now, in the resolver's order; empty if none."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in found))


def check_host(parts: SplitResult, allowed: tuple[str, ...]) -> list[str]:
    """Refuse a host the installation does not allow (:class:`HostNotAllowed`); returns the
    addresses it resolves to now, the first of which a connection should use."""
    host, port = endpoint(parts)
    if not allowed:
        raise HostNotAllowed(
            f"Server clusters are not enabled on this installation: {ENABLE_HINT}."
        )
    addresses = resolve(host, port)
    if not admitted(allowed, host, port, addresses):
        raise HostNotAllowed(
            f"{host}:{port} is not among the hosts this installation allows for server "
            f"clusters; {ENABLE_HINT}."
        )
    return addresses


class _Guarded(urllib3.PoolManager):
    """No redirects, and an error answer's body is never read (:class:`ServerAnswered`)."""

    def urlopen(self, method: str, url: str, redirect: bool = True, **kw: Any):
        response = super().urlopen(method, url, redirect=False, **kw)
        code = response.headers.get(EXCEPTION_HEADER)
        if response.status >= 300 or code:
            response.drain_conn()
            response.release_conn()
            raise ServerAnswered(response.status, int(code) if code and code.isdigit() else None)
        return response


@lru_cache(maxsize=64)
def guarded_pool(server_name: str | None) -> urllib3.PoolManager:
    """One pool per TLS server name (None for plain HTTP), shared by the guarded clients."""
    options = get_pool_manager_options()
    if server_name:
        options.update(assert_hostname=server_name, server_hostname=server_name)
    return _Guarded(**options)


def failure_words(exc: BaseException, parts: SplitResult) -> str:
    """What went wrong talking to the server, in our words: never the far side's text."""
    host, port = endpoint(parts)
    where = f"{host}:{port}"
    if isinstance(exc, ProviderError):  # ours: written in our words already
        return str(exc)
    chain = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for error in chain:
        if isinstance(error, ServerAnswered):
            return f"{where} {_answer_words(error)}"
    for kinds, reason in _TRANSPORT:  # in this order: urllib3's NewConnectionError is also
        if any(isinstance(error, kinds) for error in chain):  # a timeout, by inheritance
            return f"could not reach {where}: {reason}"
    return f"{where} answered with something that is not ClickHouse's HTTP interface"


def _answer_words(error: ServerAnswered) -> str:
    if error.code in AUTH_CODES or error.status in (401, 403):
        return f"refused the login: authentication failed (HTTP {error.status})"
    if 300 <= error.status < 400:
        return f"answered with a redirect (HTTP {error.status}), which is not followed"
    if error.code:
        return f"answered with ClickHouse error {error.code} (HTTP {error.status})"
    return f"answered with HTTP {error.status}"


_TRANSPORT: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((ConnectionRefusedError,), "connection refused"),
    ((ssl.SSLError, urllib3.exceptions.SSLError), "TLS failed"),
    ((socket.gaierror, urllib3.exceptions.NameResolutionError), "its name does not resolve"),
    ((TimeoutError, urllib3.exceptions.TimeoutError), "timed out"),
    ((urllib3.exceptions.ProtocolError, ConnectionError), "the connection was closed"),
    ((urllib3.exceptions.HTTPError, OSError), "no connection"),
)
