"""Clusters: the ClickHouse deployments people create in the wizard and manage on the
dashboard (an embedded node process, a database on a ClickHouse server, a Cloud service)."""

from providers.clusters.base import (
    ClusterActionError,
    ClusterProvider,
    Connection,
    Deployment,
    Observation,
    cluster_provider_class,
    get_cluster_provider,
    measure,
)

__all__ = [
    "ClusterActionError",
    "ClusterProvider",
    "Connection",
    "Deployment",
    "Observation",
    "cluster_provider_class",
    "get_cluster_provider",
    "measure",
]
