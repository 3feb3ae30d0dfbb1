"""A self-managed ClickHouse server (or a cluster's entry node) reached over HTTP(S) by URL.

The operator's own server (``CURVEHOUSE_CLICKHOUSE_URL``) is trusted. A URL a project owner typed
(a "server" cluster) is not: it is given ``allowed_hosts`` and then goes through
``providers/server_guard.py`` (allowed hosts only, the checked address, no redirects, failures in
our words).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit, urlunsplit

import clickhouse_connect

from providers.engines.base import Engine
from providers.errors import ProviderError
from providers.server_guard import (
    ServerAnswered,
    check_host,
    endpoint,
    failure_words,
    guarded_pool,
)

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


class ServerEngine(Engine):
    """``url`` looks like ``https://user:password@host:8443/database``."""

    engine_type: ClassVar[str] = "server"

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 10.0,
        allowed_hosts: tuple[str, ...] | None = None,
    ) -> None:
        """``allowed_hosts``: None for the operator's own server; for a URL someone typed, the
        host patterns it must match (checked here, before any request, and on every connect)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderError(
                f"{redact(url)!r} is not a ClickHouse server URL; expected "
                "http(s)://user:password@host:port/database"
            )
        self.url = url
        self._parts = parts
        self._connect_timeout = connect_timeout
        self._allowed = None if allowed_hosts is None else tuple(allowed_hosts)
        if self._allowed is not None:
            check_host(parts, self._allowed)

    def client(self, database: str | None = None) -> Client:
        p = self._parts
        secure = p.scheme == "https"
        host, port = endpoint(p)
        options: dict[str, Any] = {
            "host": host,
            "port": port,
            "username": unquote(p.username) if p.username else "default",
            "password": unquote(p.password) if p.password else "",
            "database": database or p.path.strip("/") or None,
            "secure": secure,
            "connect_timeout": self._connect_timeout,
        }
        if self._allowed is not None:
            return self._guarded_client(options)
        try:
            return clickhouse_connect.get_client(**options)
        except Exception as exc:  # clickhouse-connect raises several types for "unreachable"
            raise ProviderError(f"Cannot reach ClickHouse at {redact(self.url)}: {exc}") from exc

    def _guarded_client(self, options: dict[str, Any]) -> Client:
        """A client on an address just checked against the allow-list (the list or the DNS may
        have changed since the cluster was registered), trying each in turn as a resolver's
        caller would; the name stays the Host header and the name TLS checks."""
        p = self._parts
        host, port = endpoint(p)
        addresses = check_host(p, self._allowed or ())
        if not addresses:
            raise ProviderError(f"could not reach {host}:{port}: its name does not resolve")
        pool = guarded_pool(host if p.scheme == "https" else None)
        failure: BaseException | None = None
        for address in addresses:
            try:
                return clickhouse_connect.get_client(
                    **{**options, "host": address},
                    server_host_name=host,
                    pool_mgr=pool,
                    show_clickhouse_errors=False,
                )
            except ServerAnswered as exc:  # it answered: another address would not help
                failure = exc
                break
            except Exception as exc:
                failure = exc
        raise ProviderError(failure_words(failure, p)) from None

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.engine_type,
            "engine": "ClickHouse server",
            "url": redact(self.url),
        }


def redact(url: str) -> str:
    """The URL with its password masked, for logs and screens."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
