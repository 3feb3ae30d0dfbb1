"""The providers layer: what reaches outside the process.

- :mod:`providers.engines`: the engine the product's curves live in (embedded chDB, a server),
  handing out clickhouse-connect clients.
- :mod:`providers.clusters`: the deployments people create in the cluster wizard (an embedded
  node process, a database on a ClickHouse server, a ClickHouse Cloud service).
- :mod:`providers.mail` and :mod:`providers.server_guard`: outgoing mail, and which hosts a
  server cluster may reach.

Both registries are :class:`providers.registry.Registry`; both raise
:class:`providers.errors.ProviderError`.
"""

from providers.errors import EngineBusyError, EngineLimitError, ProviderError

__all__ = ["EngineBusyError", "EngineLimitError", "ProviderError"]
