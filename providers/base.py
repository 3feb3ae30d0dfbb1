"""Provider contract and registry.

A provider knows how to reach one ClickHouse deployment and returns clickhouse-connect
``Client`` objects for it. Everything above this layer writes its SQL once against that client,
whatever the engine behind it. Backends are imported lazily, so a missing optional package only
matters when that backend is asked for.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from models.settings import Settings


class ProviderError(RuntimeError):
    """A deployment cannot be reached or used; the message says what to do about it."""


class EngineLimitError(ProviderError):
    """The embedded engine is already bound to another data path in this process."""


class EngineBusyError(ProviderError):
    """Another process holds the embedded engine's data directory."""


class Provider(ABC):
    """One ClickHouse deployment."""

    # Registry key, e.g. "embedded" or "server".
    provider_type: ClassVar[str]

    @abstractmethod
    def client(self, database: str | None = None) -> Client:
        """A new client; the caller owns it and should close it when done."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What this deployment is and where it lives, safe to print (no secrets)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the clients this provider handed out, where the backend tracks them."""


# Lazily imported backends: type name -> "module:Class".
_REGISTRY: dict[str, str] = {
    "embedded": "providers.embedded:EmbeddedProvider",
    "server": "providers.server:ServerProvider",
}


def provider_types() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_provider(provider_type: str, **options: Any) -> Provider:
    """Build the provider registered under ``provider_type``."""
    try:
        target = _REGISTRY[provider_type]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise ProviderError(f"Unknown provider {provider_type!r}; known: {known}.") from None
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ProviderError(
            f"The {provider_type} provider needs the package {exc.name!r}; "
            "install it with: pip install 'clickhouse-connect[chdb]'"
        ) from exc
    return getattr(module, class_name)(**options)


def provider_from_settings(settings: Settings) -> Provider:
    """The provider the settings point at: embedded under CURVEHOUSE_HOME, or a server URL."""
    if settings.engine == "server":
        return get_provider("server", url=settings.clickhouse_url)
    return get_provider("embedded", path=settings.chdb_path)
