"""What providers/clusters.py measures on a real node, and its classes read without building."""

from __future__ import annotations

import pytest

from providers.clusters import cluster_provider_class, measure
from providers.clusters.embedded import EmbeddedClusterProvider
from providers.errors import ProviderError
from tests.providers.clusters.test_embedded import SPEC, cluster, wait_for  # noqa: F401 - fixture


def test_a_provider_class_is_read_without_building_one():
    embedded = cluster_provider_class("embedded")
    assert embedded is EmbeddedClusterProvider
    assert (embedded.label, embedded.regions) == ("Embedded (this machine)", ("local",))
    assert cluster_provider_class("server").regions == ("self-managed",)
    with pytest.raises(ProviderError, match="Unknown cluster provider 'ftp'; known: embedded"):
        cluster_provider_class("ftp")


@pytest.mark.integration
def test_storage_and_probes_are_read_from_the_node(cluster):  # noqa: F811 - the fixture
    provider, handle = cluster
    wait_for(provider, handle, "running")
    connection = provider.connection(handle)
    empty = connection.storage()
    assert (empty.rows, empty.tables, empty.bytes_on_disk) == (0, 0, 0)
    with connection.client() as client:
        client.command("CREATE TABLE parts (serial String) ENGINE = MergeTree ORDER BY serial")
        client.insert("parts", [["A1"], ["A2"], ["A3"]], column_names=["serial"])
        first = measure(client)
        for _ in range(5):
            client.query("SELECT count() FROM parts")
        second = measure(client)
    held = connection.storage()
    assert (held.rows, held.tables, held.nodes) == (3, 1, 1) and held.bytes_on_disk > 0
    assert 0 < first.latency_ms < 5000
    # The five queries and the first probe's second query, at least, were counted between.
    assert second.queries_total - first.queries_total >= 6
