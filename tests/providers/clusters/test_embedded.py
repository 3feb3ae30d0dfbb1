"""Embedded clusters are real: a node process with its own engine, reached over HTTP."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import clickhouse_connect
import pandas as pd
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from models.cluster_types import ClusterSpec
from providers.clusters import Deployment, get_cluster_provider
from providers.clusters.embedded import EmbeddedClusterProvider
from tests.providers.clusters.deployments import resized

pytestmark = pytest.mark.integration

SPEC = Deployment(name="line_4", region="local", size=ClusterSpec("development", 1, 4, 16))


def wait_for(provider, handle, state: str, timeout: float = 60.0):
    """Poll until the provider observes ``state``; the test fails with what it saw last."""
    deadline = time.monotonic() + timeout
    seen = provider.observe(handle)
    while seen.state != state and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = provider.observe(handle)
    assert seen.state == state, f"expected {state}, last saw {seen.state}: {seen.detail}"
    return seen


def running(pid: int) -> bool:
    """Whether the process lives (an exited node may linger as a zombie of init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def cluster(tmp_path):
    provider = EmbeddedClusterProvider(tmp_path)
    handle = provider.create("c_line4", SPEC)
    yield provider, handle
    provider.delete(handle)


def test_a_new_cluster_answers_queries_with_its_connection(cluster):
    provider, handle = cluster
    wait_for(provider, handle, "running")
    connection = provider.connection(handle)
    with connection.client() as client:
        assert client.query("SELECT currentDatabase()").result_rows == [("line_4",)]
        client.command(
            "CREATE TABLE parts (serial String, force Float64) ENGINE = MergeTree ORDER BY serial"
        )
        client.insert("parts", [["A1", 1.5], ["A2", 2.5]], column_names=["serial", "force"])
        client.insert_df("parts", pd.DataFrame({"serial": ["A3"], "force": [3.0]}))
        total = client.query(
            "SELECT sum(force) FROM parts WHERE force > {low:Float64}", parameters={"low": 1.0}
        ).result_rows
        assert total == [(7.0,)]
        assert list(client.query_df("SELECT serial FROM parts ORDER BY serial")["serial"]) == [
            "A1",
            "A2",
            "A3",
        ]


def test_the_http_url_works_with_curl(cluster):
    provider, handle = cluster
    wait_for(provider, handle, "running")
    url = provider.connection(handle).url(reveal=True)
    out = subprocess.run(
        ["curl", "-sS", "--fail", f"{url}?query=SELECT%20currentDatabase()"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "line_4"


def test_a_wrong_password_is_refused(cluster):
    provider, handle = cluster
    wait_for(provider, handle, "running")
    c = provider.connection(handle)
    with pytest.raises(DatabaseError, match="Authentication failed"):
        clickhouse_connect.get_client(host=c.host, port=c.port, username=c.username, password="x")


def test_errors_come_back_with_the_engine_message(cluster):
    provider, handle = cluster
    wait_for(provider, handle, "running")
    with (
        provider.connection(handle).client() as client,
        pytest.raises(DatabaseError, match="code: 60"),
    ):
        client.query("SELECT * FROM no_such_table")


def test_the_secret_is_masked_unless_revealed(cluster):
    provider, handle = cluster
    connection = provider.connection(handle)
    for text in (connection.url(), connection.python(), connection.notebook()):
        assert handle["password"] not in text
    assert handle["password"] in connection.python(reveal=True)


def test_stop_start_keeps_the_data(cluster):
    provider, handle = cluster
    wait_for(provider, handle, "running")
    with provider.connection(handle).client() as client:
        client.command("CREATE TABLE kept (v UInt8) ENGINE = MergeTree ORDER BY v")
        client.command("INSERT INTO kept VALUES (1), (2)")
    provider.stop(handle)
    wait_for(provider, handle, "stopped")
    with pytest.raises(OSError):
        c = provider.connection(handle)
        urllib.request.urlopen(f"http://{c.host}:{c.port}/ping", timeout=2)
    provider.start(handle)
    wait_for(provider, handle, "running")
    with provider.connection(handle).client() as client:
        assert client.query("SELECT count() FROM kept").result_rows == [(2,)]


def test_resize_changes_the_node_limits(cluster):
    provider, handle = cluster
    wait_for(provider, handle, "running")
    provider.resize(handle, resized(SPEC, vcpu_per_node=1, memory_gib_per_node=32))
    wait_for(provider, handle, "running")
    with provider.connection(handle).client() as client:
        threads, memory = client.query(
            "SELECT getSetting('max_threads'), getSetting('max_memory_usage')"
        ).result_rows[0]
    assert (threads, memory) == (1, 32 * 1024**3)


def test_a_node_that_dies_is_observed_failed(cluster):
    provider, handle = cluster
    seen = wait_for(provider, handle, "running")
    subprocess.run(["kill", "-9", str(seen.facts["pid"])], check=True)
    failed = wait_for(provider, handle, "failed")
    assert "exited" in failed.detail


def test_create_again_with_the_same_key_reuses_the_cluster(cluster):
    provider, handle = cluster
    wait_for(provider, handle, "running")
    with provider.connection(handle).client() as client:
        client.command("CREATE TABLE t (v UInt8) ENGINE = MergeTree ORDER BY v")
    again = provider.create(handle["key"], SPEC)  # a retry after a crash
    wait_for(provider, again, "running")
    with provider.connection(again).client() as client:
        assert client.query("EXISTS TABLE t").result_rows == [(1,)]
    assert len(list(provider.root.iterdir())) == 1


def test_delete_removes_process_and_data(tmp_path):
    provider = get_cluster_provider("embedded", home=tmp_path)
    handle = provider.create("c_gone", SPEC)
    seen = wait_for(provider, handle, "running")
    provider.delete(handle)
    assert provider.observe(handle).state == "deleted"
    assert not (tmp_path / "clusters" / "c_gone").exists()
    assert not running(seen.facts["pid"])
    provider.delete(handle)  # deleting what is gone is fine


def test_a_region_other_than_local_is_refused(tmp_path):
    provider = EmbeddedClusterProvider(tmp_path)
    with pytest.raises(Exception, match="run in local"):
        provider.create("c_x", replace(SPEC, region="aws/eu-central-1"))
    assert not (tmp_path / "clusters").exists()


def test_a_request_settings_apply_to_it_alone(cluster):
    provider, handle = cluster
    wait_for(provider, handle, "running")
    with provider.connection(handle).client() as client:
        sized = client.query("SELECT getSetting('max_threads')").result_rows[0][0]
        assert client.query(
            "SELECT getSetting('max_threads')", settings={"max_threads": 1}
        ).result_rows == [(1,)]
        assert client.query("SELECT getSetting('max_threads')").result_rows == [(sized,)]
        with pytest.raises(DatabaseError, match="code: 81"):
            client.query("SELECT 1", settings={"database": "no_such_db"})
