"""The provider behind a cluster row, configured from the installation's settings.

One place builds providers, so the lifecycle, the dashboard, the poller, the REST API and a
project's home (:mod:`pipelines.homes`) reach a cluster the same way: embedded nodes under
``CURVEHOUSE_HOME``, a server on a host the installation allows, Cloud with its API key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.tables import ProviderKey
from providers.clusters.base import ClusterProvider, get_cluster_provider
from providers.errors import ProviderError

if TYPE_CHECKING:
    from models.settings import Settings
    from models.tables import Cluster


class ProviderNotConfigured(ProviderError):
    """The installation has no settings for this kind of cluster (Cloud without its key)."""


def provider_for(settings: Settings, cluster: Cluster) -> ClusterProvider:
    """The provider running ``cluster``, configured from settings and the cluster's row."""
    return provider_of(settings, str(cluster.provider), cluster.provider_config.get("options"))


def provider_of(settings: Settings, key: str, options: dict | None = None) -> ClusterProvider:
    """Embedded nodes live under ``home``; a server is given per cluster (``options``) and must
    be on a host the installation allows (``CURVEHOUSE_SERVER_CLUSTER_HOSTS``, checked by the
    provider before any request: the one check the wizard, the lifecycle and the API share);
    cloud clusters use the API key in settings."""
    if key == ProviderKey.SERVER:
        options = options or {}
        return get_cluster_provider(
            "server",
            url=str(options.get("url", "")),
            cluster=options.get("cluster"),
            allowed_hosts=settings.server_cluster_hosts,
        )
    if key == ProviderKey.EMBEDDED:
        return get_cluster_provider("embedded", home=settings.home)
    if key == ProviderKey.CLOUD:
        cloud = settings.cloud
        if not cloud.configured:
            raise ProviderNotConfigured(
                "ClickHouse Cloud is not configured: set CURVEHOUSE_CLOUD_ORGANIZATION_ID, "
                "CURVEHOUSE_CLOUD_KEY_ID and CURVEHOUSE_CLOUD_KEY_SECRET."
            )
        return get_cluster_provider(
            "cloud",
            organization_id=cloud.organization_id,
            key_id=cloud.key_id,
            key_secret=cloud.key_secret.get_secret_value(),
            base_url=cloud.api_url,
        )
    return get_cluster_provider(key, **(options or {}))
