"""ClickHouse deployments. Each provider hands out a clickhouse-connect ``Client``."""

from providers.base import (
    EngineBusyError,
    EngineLimitError,
    Provider,
    ProviderError,
    get_provider,
    provider_from_settings,
    provider_types,
)

__all__ = [
    "EngineBusyError",
    "EngineLimitError",
    "Provider",
    "ProviderError",
    "get_provider",
    "provider_from_settings",
    "provider_types",
]
