"""The one registry helper, as both the engines and the cluster providers use it."""

import pytest

from providers import ProviderError
from providers.registry import Registry


def test_cluster_providers_are_registered_by_type():
    from providers.clusters import cluster_provider_class, get_cluster_provider

    for key in ("embedded", "server", "cloud"):
        assert cluster_provider_class(key).provider_type == key
    every = r"known: embedded, server, cloud\.$"
    with pytest.raises(ProviderError, match=f"Unknown cluster provider 'ftp'; {every}"):
        get_cluster_provider("ftp")


def test_a_missing_package_is_named_with_how_to_install_it():
    registry = Registry(
        "engine", {"gone": "no_such_package_xyz.module:Thing"}, install_hint="pip install xyz"
    )
    with pytest.raises(ProviderError, match="needs the package 'no_such_package_xyz'; install"):
        registry.load("gone")


def test_the_registry_reads_as_a_mapping_of_kinds():
    registry = Registry("engine", {"a": "m:A", "b": "m:B"})
    assert list(registry) == ["a", "b"]
    assert registry["b"] == "m:B"
    assert len(registry) == 2
