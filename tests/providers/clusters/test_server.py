"""Server clusters: a database on a ClickHouse server reached by URL.

The server is a real ClickHouse engine over HTTP: an embedded node started for the test, and
also the server in ``CURVEHOUSE_TEST_CLICKHOUSE_URL`` when that is set.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import SERVER_CLUSTER, SERVER_URL
from models.cluster_types import ClusterSpec
from pipelines.schema import MIGRATIONS, ensure_schema
from pipelines.store import ClusterWriteError, CurveStore, DatasetSpec
from pipelines.synthetic import DemoSpec, generate_demo
from providers.clusters import ClusterActionError, Deployment, get_cluster_provider
from providers.clusters.embedded import EmbeddedClusterProvider
from providers.errors import ProviderError
from tests.providers.clusters.test_embedded import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["node", "server"])
def server_url(request, tmp_path_factory):
    """An admin URL of a ClickHouse server, without a database."""
    if request.param == "server":
        if not SERVER_URL:
            pytest.skip("set CURVEHOUSE_TEST_CLICKHOUSE_URL to run against a ClickHouse server")
        yield urlunsplit(urlsplit(SERVER_URL)._replace(path=""))
        return
    nodes = EmbeddedClusterProvider(tmp_path_factory.mktemp("server"))
    handle = nodes.create(
        "c_server",
        Deployment("plant", "local", ClusterSpec("development", 1, 4, 16)),
    )
    wait_for(nodes, handle, "running")
    connection = nodes.connection(handle)
    yield urlunsplit(urlsplit(connection.url(reveal=True))._replace(path=""))
    nodes.delete(handle)


def allow(url: str) -> tuple[str, ...]:
    """The installation's allow-list for the test server: its host (any port)."""
    return (urlsplit(url).hostname,)


def spec(name: str) -> Deployment:
    return Deployment(name, "self-managed", ClusterSpec("production", 5, 16, 128))


def test_create_observe_connect_delete(server_url):
    provider = get_cluster_provider("server", url=server_url, allowed_hosts=allow(server_url))
    name = f"ch_{uuid.uuid4().hex[:8]}"
    handle = provider.create(f"c_{name}", spec(name))
    seen = provider.observe(handle)
    assert seen.state == "running", seen.detail
    assert seen.facts["version"]
    with provider.connection(handle).client() as client:
        assert client.query("SELECT currentDatabase()").result_rows == [(name,)]
    assert provider.create(f"c_{name}", spec(name)) == handle  # idempotent
    provider.delete(handle)
    assert provider.observe(handle).state == "deleted"
    provider.delete(handle)


def test_an_unreachable_server_is_observed_degraded():
    provider = get_cluster_provider(
        "server", url="http://default:pw@127.0.0.1:9", allowed_hosts=("127.0.0.1",)
    )
    seen = provider.observe({"key": "c_x", "database": "x"})
    assert seen.state == "degraded"
    assert "pw" not in seen.detail


def test_lifecycle_actions_it_cannot_take_say_so(server_url):
    provider = get_cluster_provider("server", url=server_url, allowed_hosts=allow(server_url))
    for action in (provider.start, provider.stop):
        with pytest.raises(ClusterActionError, match="Self-managed"):
            action({"key": "c_x", "database": "x"})


def test_a_cluster_the_server_does_not_know_is_refused_before_any_change(server_url):
    provider = get_cluster_provider(
        "server", url=server_url, cluster="no_such_cluster", allowed_hosts=allow(server_url)
    )
    name = f"ch_{uuid.uuid4().hex[:8]}"
    with pytest.raises(ProviderError, match="no ClickHouse cluster named 'no_such_cluster'"):
        provider.create(f"c_{name}", spec(name))
    with (
        get_cluster_provider("server", url=server_url, allowed_hosts=allow(server_url))
        .connection({"key": "c_x", "database": "default"})
        .client() as client
    ):
        assert not client.query(
            "SELECT count() FROM system.databases WHERE name = {n:String}", parameters={"n": name}
        ).result_rows[0][0]


@pytest.mark.skipif(
    not (SERVER_URL and SERVER_CLUSTER),
    reason="set CURVEHOUSE_TEST_CLICKHOUSE_URL and CURVEHOUSE_TEST_CLICKHOUSE_CLUSTER to run "
    "against a multi-node ClickHouse cluster",
)
def test_a_multi_node_cluster_gets_replicated_sharded_tables_on_every_node():
    url = urlunsplit(urlsplit(SERVER_URL)._replace(path=""))
    provider = get_cluster_provider(
        "server", url=url, cluster=SERVER_CLUSTER, allowed_hosts=allow(url)
    )
    name = f"ch_{uuid.uuid4().hex[:8]}"
    handle = provider.create(f"c_{name}", spec(name))
    connection = provider.connection(handle)
    assert connection.cluster == SERVER_CLUSTER
    assert f"'CURVEHOUSE_CLICKHOUSE_CLUSTER': {SERVER_CLUSTER!r}" in connection.notebook()
    try:
        with connection.client() as client:
            assert ensure_schema(client, name, cluster=SERVER_CLUSTER) == [
                m.version for m in MIGRATIONS
            ]
            engines = client.query(
                "SELECT name, engine, uniqExact(hostName()) "
                f"FROM {connection.system_table('tables')} WHERE database = {{d:String}} "
                "GROUP BY name, engine ORDER BY name",
                parameters={"d": name},
            ).result_rows
            nodes = client.query(
                "SELECT count() FROM system.clusters WHERE cluster = {c:String}",
                parameters={"c": SERVER_CLUSTER},
            ).result_rows[0][0]
            assert {(n, e) for n, e, _ in engines} == {
                ("curves", "Distributed"),
                ("curve_samples", "Distributed"),
                ("curves_local", "ReplicatedMergeTree"),
                ("curve_samples_local", "ReplicatedMergeTree"),
                ("curve_features", "Distributed"),
                ("curve_features_local", "ReplicatedMergeTree"),
                ("datasets", "ReplicatedMergeTree"),
                ("schema_migrations", "ReplicatedMergeTree"),
            }
            assert all(on == nodes for *_, on in engines)
            store = CurveStore.open(client, name, cluster=SERVER_CLUSTER)
            with pytest.raises(ClusterWriteError):
                store.write(
                    generate_demo(DemoSpec(curves=2, seed=1)), DatasetSpec("p", "demo", "x")
                )
    finally:
        provider.delete(handle)
    assert provider.observe(handle).state == "deleted"


def test_a_cluster_connection_names_the_cluster_for_notebooks_and_metrics():
    provider = get_cluster_provider(
        "server", url="http://admin:pw@ch1:8123", cluster="plant", allowed_hosts=("ch1",)
    )
    connection = provider.connection({"key": "c_x", "database": "line_a"})
    assert connection.cluster == "plant"
    assert "'CURVEHOUSE_CLICKHOUSE_CLUSTER': 'plant'" in connection.notebook()
    assert connection.system_table("parts") == "clusterAllReplicas(`plant`, system.parts)"
    single = get_cluster_provider("server", url="http://admin:pw@ch1:8123", allowed_hosts=("ch1",))
    plain = single.connection({"key": "c_x", "database": "line_a"})
    assert "CLUSTER" not in plain.notebook()
    assert plain.system_table("parts") == "system.parts"
