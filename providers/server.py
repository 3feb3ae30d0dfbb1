"""A self-managed ClickHouse server (or a cluster's entry node) reached over HTTP(S) by URL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit, urlunsplit

import clickhouse_connect

from providers.base import Provider, ProviderError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


class ServerProvider(Provider):
    """``url`` looks like ``https://user:password@host:8443/database``."""

    provider_type: ClassVar[str] = "server"

    def __init__(self, url: str, *, connect_timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderError(
                f"{redact(url)!r} is not a ClickHouse server URL; expected "
                "http(s)://user:password@host:port/database"
            )
        self.url = url
        self._parts = parts
        self._connect_timeout = connect_timeout

    def client(self, database: str | None = None) -> Client:
        p = self._parts
        secure = p.scheme == "https"
        try:
            return clickhouse_connect.get_client(
                host=p.hostname,
                port=p.port or (8443 if secure else 8123),
                username=unquote(p.username) if p.username else "default",
                password=unquote(p.password) if p.password else "",
                database=database or p.path.strip("/") or None,
                secure=secure,
                connect_timeout=self._connect_timeout,
            )
        except Exception as exc:  # clickhouse-connect raises several types for "unreachable"
            raise ProviderError(f"Cannot reach ClickHouse at {redact(self.url)}: {exc}") from exc

    def describe(self) -> dict[str, Any]:
        return {
            "provider": self.provider_type,
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
