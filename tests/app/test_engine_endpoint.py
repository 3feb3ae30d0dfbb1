"""Issue 15: while ``curvehouse serve`` holds the built-in engine, ``curvehouse ingest`` and
notebooks of the same home reach it through the server's endpoint instead of a "busy" error, and
what they write is what the served app reads. These run the real ``curvehouse`` command."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import clickhouse_connect
import pytest
import requests

from providers.engines.endpoint import EndpointInfo

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "curvehouse")
OWNER_PASSWORD = "a long owner password 42"
DEMO = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args],
        env={**os.environ, "CURVEHOUSE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def in_python(home: Path, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "CURVEHOUSE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def curves_csv(path: Path, prefix: str, count: int) -> Path:
    lines = ["curve_key,x,y,station,result,started_at"]
    for i in range(count):
        for x in range(5):
            lines.append(
                f"{prefix}-{i},{x},{(x * (i + 1)) % 7 + 0.5},S1,OK,2026-11-16T06:{i:02d}:00Z"
            )
    path.write_text("\n".join(lines) + "\n")
    return path


def answers(base: str, process: subprocess.Popen, home: Path) -> bool:
    """Whether serve answers at ``base``; False if it lost its port to another program."""
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            said = (home / "serve.log").read_text()
            assert "Address already in use" in said, said
            return False
        try:
            requests.get(f"{base}/login", timeout=5)
            return True
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.3)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``curvehouse serve`` on a home with the demo's curves; stopped with Ctrl+C at the end."""
    home = tmp_path_factory.mktemp("endpoint") / "home"
    made = command(home, "demo", "--curves", str(DEMO))
    assert made.returncode == 0, made.stderr
    # The port is free when picked, not when serve binds it: serve's own helpers (its broker,
    # the engine's endpoint) bind free ports first and may take it. Then another port.
    for _attempt in range(3):
        port = free_port()
        log = (home / "serve.log").open("w")
        process = subprocess.Popen(
            [CLI, "serve", "--port", str(port), "--address", "127.0.0.1"],
            env={
                **os.environ,
                "CURVEHOUSE_HOME": str(home),
                "CURVEHOUSE_OWNER_PASSWORD": OWNER_PASSWORD,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        base = f"http://127.0.0.1:{port}"
        if answers(base, process, home):
            break
        log.close()
    else:
        pytest.fail("serve found no free port in three tries")
    yield home, base, process
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    log.close()


def test_ingest_and_a_notebook_reach_the_served_engine(server, tmp_path):
    home, base, _ = server
    before = in_python(
        home, "from pipelines.notebook import open_curves; print(open_curves().count())"
    )
    assert before.returncode == 0, before.stderr
    assert before.stdout.split()[-1] == str(DEMO)

    imported = command(
        home, "ingest", str(curves_csv(tmp_path / "line9.csv", "L9", 7)), "--project", "demo"
    )
    assert imported.returncode == 0, imported.stderr
    assert "busy" not in imported.stderr.lower()

    after = in_python(
        home, "from pipelines.notebook import open_curves; print(open_curves().count())"
    )
    assert after.returncode == 0, after.stderr
    assert after.stdout.split()[-1] == str(DEMO + 7)

    # The served API reads the same engine: the import is one of the project's datasets.
    made = command(home, "token", "create", "owner@localhost", "--name", "endpoint test")
    assert made.returncode == 0, made.stderr
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    projects = requests.get(f"{base}/api/projects", headers=headers, timeout=60).json()["items"]
    demo = next(p for p in projects if p["name"] == "demo")
    datasets = requests.get(
        f"{base}/api/projects/{demo['id']}/datasets", headers=headers, timeout=60
    ).json()["items"]
    assert {d["name"]: d["curve_count"] for d in datasets}.get("line9.csv") == 7, datasets


def test_a_process_through_the_endpoint_leaves_fresh_staging_tables_alone(server):
    """The server may have an import in flight: a CLI command opening the store through the
    endpoint sweeps only staging tables older than STALE_SECONDS, not every one."""
    home, _, _ = server
    info = EndpointInfo.read(home / "engine-endpoint.json")
    client = clickhouse_connect.get_client(
        host="127.0.0.1", port=info.port, username=info.user, password=info.password
    )
    assert client.command("SELECT getSetting('max_threads')") == 1  # CURVEHOUSE_ENDPOINT_THREADS
    staged = "_staging_" + "ab" * 16 + "_curves"
    client.command(f"CREATE TABLE curvehouse.{staged} (k UInt8) ENGINE = MergeTree ORDER BY k")
    try:
        shown = command(home, "info")
        assert shown.returncode == 0, shown.stderr
        assert client.command(f"EXISTS TABLE curvehouse.{staged}") == 1
    finally:
        client.command(f"DROP TABLE IF EXISTS curvehouse.{staged}")
        client.close()


def test_the_endpoint_file_is_the_servers_private_and_gone_after_ctrl_c(server):
    home, _, process = server
    path = home / "engine-endpoint.json"
    info = EndpointInfo.read(path)
    assert info is not None and info.pid == process.pid
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(Exception, match="Authentication failed"):
        clickhouse_connect.get_client(
            host="127.0.0.1", port=info.port, username=info.user, password="not it"
        )
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) in (0, 130)
    assert not path.exists()
    # Without a server, the command line opens the engine in its own process, as before.
    shown = command(home, "info")
    assert shown.returncode == 0, shown.stderr
    assert "in use by another process" not in shown.stderr
