"""Engines: where the product's own curves are read and written, as clickhouse-connect clients.

An engine knows how to reach one ClickHouse deployment (the embedded chDB under
``CURVEHOUSE_HOME`` or a ClickHouse server) and returns ``Client`` objects for it. Everything
above this layer writes its SQL once against that client, whatever the engine behind it.
Clusters made in the wizard are another thing: see :mod:`providers.clusters`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from providers.registry import Registry

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from models.settings import Settings


class Engine(ABC):
    """One ClickHouse deployment the product reads and writes its curves through."""

    # Registry key, e.g. "embedded" or "server".
    engine_type: ClassVar[str]

    @abstractmethod
    def client(self, database: str | None = None) -> Client:
        """A new client; the caller owns it and should close it when done."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What this deployment is and where it lives, safe to print (no secrets)."""

    @property
    def in_process(self) -> bool:
        """Whether this process runs the engine itself (then no other process writes to it)."""
        return False

    def release_memory(self, client: Client) -> None:  # noqa: B027 - optional hook
        """Give back to the system the memory an engine running in this process keeps for
        reuse after large reads (a server's own memory is its own business)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the clients this engine handed out, where the backend tracks them."""


ENGINES: Registry[Engine] = Registry(
    "engine",
    {
        "embedded": "providers.engines.embedded:EmbeddedEngine",
        "server": "providers.engines.server:ServerEngine",
    },
    install_hint="pip install 'clickhouse-connect[chdb]'",
)


def engine_types() -> tuple[str, ...]:
    return tuple(ENGINES)


def get_engine(engine_type: str, **options: Any) -> Engine:
    """Build the engine registered under ``engine_type``."""
    return ENGINES.build(engine_type, **options)


def engine_from_settings(settings: Settings) -> Engine:
    """The engine the settings point at: embedded under CURVEHOUSE_HOME, or a server URL."""
    if settings.engine == "server":
        return get_engine("server", url=settings.clickhouse_url)
    return get_engine("embedded", path=settings.chdb_path)
