"""Shared pytest setup for tests/ and benchmarks/.

chDB runs one engine per process, so the whole session shares one embedded data directory
(a temporary ``CURVEHOUSE_HOME``) and every test gets its own database inside it. The engine
suite also runs on an embedded cluster node (one per session, opt-in ``integration``), which
speaks ClickHouse's HTTP interface the way a server does, and on a server when
``CURVEHOUSE_TEST_CLICKHOUSE_URL`` is set.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid

import pytest

# Must happen before any Curvehouse module reads settings.
_HOME = tempfile.mkdtemp(prefix="curvehouse-test-")
os.environ["CURVEHOUSE_HOME"] = _HOME
os.environ.pop("CURVEHOUSE_ENGINE", None)
os.environ.pop("CURVEHOUSE_DATABASE", None)

OPT_IN = ("integration", "ui", "benchmark")
SERVER_URL = os.environ.get("CURVEHOUSE_TEST_CLICKHOUSE_URL")
# The ClickHouse cluster (remote_servers) that server belongs to, for the multi-node tests.
SERVER_CLUSTER = os.environ.get("CURVEHOUSE_TEST_CLICKHOUSE_CLUSTER")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run",
        default="",
        help="comma-separated opt-in markers to run (integration, ui, benchmark) or 'all'",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("--run")
    enabled = set(OPT_IN) if wanted == "all" else {w.strip() for w in wanted.split(",") if w}
    for item in items:
        if "benchmarks" in item.path.parts:
            item.add_marker(pytest.mark.benchmark)
        for marker in OPT_IN:
            if marker in item.keywords and marker not in enabled:
                item.add_marker(pytest.mark.skip(reason=f"opt-in: pass --run={marker}"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    if SERVER_URL:
        spread = (
            f"multi-node tests ON (cluster {SERVER_CLUSTER})"
            if SERVER_CLUSTER
            else "multi-node tests SKIPPED (set CURVEHOUSE_TEST_CLICKHOUSE_CLUSTER)"
        )
        return [f"ClickHouse server tests: ON (CURVEHOUSE_TEST_CLICKHOUSE_URL is set); {spread}"]
    return [
        "ClickHouse server tests: SKIPPED, set CURVEHOUSE_TEST_CLICKHOUSE_URL="
        "http://user:password@host:8123 to run the engine suite against a real server"
    ]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def embedded_provider():
    from models.settings import Settings
    from providers.engines import get_engine

    provider = get_engine("embedded", path=Settings.from_env().chdb_path)
    yield provider


@pytest.fixture(scope="session")
def node_url(tmp_path_factory):
    """A cluster node started for the session, as a ClickHouse URL with its password."""
    from tests.providers.clusters.node_fixtures import start_node

    node = start_node(tmp_path_factory.mktemp("engine-node") / "node")
    yield f"http://{node.config.username}:{node.password}@127.0.0.1:{node.config.port}"
    node.stop()


@pytest.fixture(
    scope="session",
    params=["embedded", pytest.param("node", marks=pytest.mark.integration), "server"],
)
def engine(request, embedded_provider):
    """Each ClickHouse engine the suite can reach: embedded and a cluster node always, a server
    when configured."""
    if request.param == "embedded":
        return embedded_provider
    if request.param == "node":
        from providers.engines import get_engine

        return get_engine("server", url=request.getfixturevalue("node_url"))
    if not SERVER_URL:
        pytest.skip("no ClickHouse server: set CURVEHOUSE_TEST_CLICKHOUSE_URL to run this variant")
    from providers.engines import get_engine

    return get_engine("server", url=SERVER_URL)


@pytest.fixture
def database(engine, request):
    """A fresh database name on the engine, dropped after the test. A test marked
    ``embedded_only`` checks logic above the engine: its node variant is skipped before any
    data is written (the node keeps the tests of reading and SQL)."""
    spec = getattr(request.node, "callspec", None)
    on_node = spec is not None and spec.params.get("engine") == "node"
    if on_node and request.node.get_closest_marker("embedded_only"):
        pytest.skip("logic above the engine: the embedded run covers it")
    name = f"t_{uuid.uuid4().hex[:12]}"
    client = engine.client()
    yield client, name
    client.command(f"DROP DATABASE IF EXISTS `{name}`")
    client.close()


@pytest.fixture
def store(database):
    from pipelines.store import CurveStore

    client, name = database
    return CurveStore.open(client, name, sweep_stale_after=0)


@pytest.fixture(scope="session")
def browser():
    """One Debian chromium per test process, for tests/ui and the browser benchmarks alike:
    Playwright's sync API runs one instance per thread, so a second one started while this
    lives would fail."""
    from pathlib import Path

    from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        message = f"no chromium at {CHROMIUM}: apt-get install chromium (CI does this in .ci/run)"
        if os.environ.get("CURVEHOUSE_REQUIRE_UI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
