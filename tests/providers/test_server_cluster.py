"""Server clusters: a database on a ClickHouse server reached by URL.

The server is a real ClickHouse engine over HTTP: an embedded node started for the test, and
also the server in ``CURVEHOUSE_TEST_CLICKHOUSE_URL`` when that is set.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import SERVER_URL
from models.cluster_types import ClusterSpec
from providers.clusters import ClusterActionError, Deployment, get_cluster_provider
from providers.embedded_cluster import EmbeddedClusterProvider
from tests.providers.test_embedded_cluster import wait_for

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


def spec(name: str) -> Deployment:
    return Deployment(name, "self-managed", ClusterSpec("production", 5, 16, 128))


def test_create_observe_connect_delete(server_url):
    provider = get_cluster_provider("server", url=server_url)
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
    provider = get_cluster_provider("server", url="http://default:pw@127.0.0.1:9")
    seen = provider.observe({"key": "c_x", "database": "x"})
    assert seen.state == "degraded"
    assert "pw" not in seen.detail


def test_lifecycle_actions_it_cannot_take_say_so(server_url):
    provider = get_cluster_provider("server", url=server_url)
    for action in (provider.start, provider.stop):
        with pytest.raises(ClusterActionError, match="Self-managed"):
            action({"key": "c_x", "database": "x"})
