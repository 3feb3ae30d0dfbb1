"""The built-in engine's endpoint: the engine this process runs, served over ClickHouse's HTTP
interface on loopback to other processes of the installation, with a password and the gate."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from providers.engines.endpoint import ENDPOINT_FILE, EndpointInfo, EngineEndpoint, endpoint_file

pytestmark = pytest.mark.integration


@pytest.fixture
def served(embedded_provider):
    """The session's engine behind an endpoint, on a fresh database."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    own = embedded_provider.client()
    own.command(f"CREATE DATABASE `{database}`")
    endpoint = EngineEndpoint(embedded_provider, database=database, threads=1).start()
    yield endpoint, own
    endpoint.stop()
    own.command(f"DROP DATABASE IF EXISTS `{database}`")
    own.close()


def http_client(info: EndpointInfo, password: str | None = None):
    return clickhouse_connect.get_client(
        host="127.0.0.1",
        port=info.port,
        username=info.user,
        password=info.password if password is None else password,
        database=info.database,
    )


def test_another_client_reads_and_writes_the_same_engine(served):
    endpoint, own = served
    info = endpoint.info
    remote = http_client(info)
    remote.command("CREATE TABLE t (k UInt32, v String) ENGINE = MergeTree ORDER BY k")
    remote.insert("t", [[1, "a"], [2, "b"]], column_names=["k", "v"])
    assert own.query(f"SELECT k, v FROM `{info.database}`.t ORDER BY k").result_rows == [
        (1, "a"),
        (2, "b"),
    ]
    own.command(f"INSERT INTO `{info.database}`.t VALUES (3, 'c')")
    assert remote.command("SELECT count() FROM t") == 3
    assert remote.command("SELECT getSetting('max_threads')") == 1  # the cap
    remote.close()


def test_the_file_is_private_and_gone_after_stop(embedded_provider):
    database = f"t_{uuid.uuid4().hex[:12]}"
    endpoint = EngineEndpoint(embedded_provider, database=database).start()
    path = endpoint_file(embedded_provider.path)
    assert path == embedded_provider.path.parent / ENDPOINT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored["pid"] == os.getpid() and stored["port"] == endpoint.info.port
    assert len(stored["password"]) >= 32 and stored["password"] == endpoint.info.password
    port = endpoint.info.port
    endpoint.stop()
    assert not path.exists()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    again = EngineEndpoint(embedded_provider, database=database).start()
    assert again.info.password != stored["password"]  # a new one at each start
    again.stop()
    own = embedded_provider.client()
    own.command(f"DROP DATABASE IF EXISTS `{database}`")
    own.close()


@pytest.mark.parametrize("password", ["", "wrong"])
def test_a_wrong_password_is_refused(served, password):
    with pytest.raises(DatabaseError, match="Authentication failed"):
        http_client(served[0].info, password=password)


def non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (the one a route out would use)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_it_listens_on_loopback_only(served):
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no address but loopback")
    with pytest.raises(OSError), socket.create_connection((address, served[0].info.port), 5):
        pass


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
        "SELECT 1 INTO OUTFILE '/tmp/endpoint-probe'",
        "CREATE USER intruder IDENTIFIED BY 'x'",
        "GRANT ALL ON *.* TO default",
        "CREATE DICTIONARY d (k UInt64, v String) PRIMARY KEY k "
        "SOURCE(CLICKHOUSE(TABLE 'system.one')) LAYOUT(FLAT()) LIFETIME(0)",
        "CREATE FUNCTION probe AS x -> x",
        "CREATE NAMED COLLECTION probe AS key = 'value'",
        "CREATE SETTINGS PROFILE probe SETTINGS max_memory_usage = 1",
        "ALTER USER default IDENTIFIED BY 'x'",
        "CREATE ROW POLICY probe ON system.one USING 1 TO ALL",
        "SET max_threads = 64",
        "SELECT count() FROM numbers(10) SETTINGS max_threads = 64",
        "SELECT 1 SETTINGS allow_introspection_functions = 1",
        "KILL QUERY WHERE 1",
        "SYSTEM SHUTDOWN",
        "CREATE TABLE x (a String) ENGINE = File(TSV, '/etc/passwd')",
    ],
)
def test_the_gate_refuses_what_grants_would(served, sql):
    remote = http_client(served[0].info)
    with pytest.raises(DatabaseError, match=r"not allowed|endpoint's to set|reaches outside"):
        remote.command(sql)
    remote.close()


@pytest.mark.parametrize(
    ("settings", "said"),
    [({"max_threads": 4}, "above this endpoint's cap"), ({"format_schema": "x"}, "to set")],
)
def test_settings_beyond_the_cap_are_refused(served, settings, said):
    remote = http_client(served[0].info)
    with pytest.raises(DatabaseError, match=said):
        remote.command("SELECT 1", settings=settings)
    assert remote.command("SELECT 1", settings={"max_threads": 1}) == 1
    remote.close()


def test_a_second_server_on_a_served_home_is_refused(tmp_path):
    home = tmp_path / "home"
    with serving(home):
        result = run(
            f"""
            from providers import EngineBusyError
            from providers.engines import get_engine
            from providers.engines.endpoint import EngineEndpoint
            engine = get_engine("embedded", path=r"{home / "chdb"}")
            try:
                EngineEndpoint(engine, database="d").start()
            except EngineBusyError as exc:
                print(exc)
            """
        )
    assert "Another process already serves the built-in engine" in result.stdout, result.stderr


# Other processes: one holds the engine (serving or not), another opens the same path.

HOLDER = """
import sys, time
from providers.engines import get_engine
from providers.engines.endpoint import EngineEndpoint
engine = get_engine("embedded", path=sys.argv[1])
client = engine.client()
client.command("CREATE DATABASE IF NOT EXISTS d")
client.command("CREATE TABLE IF NOT EXISTS d.t (k UInt32) ENGINE = MergeTree ORDER BY k")
if sys.argv[2] == "serve":
    endpoint = EngineEndpoint(engine, database="d").start()
print("ready", flush=True)
sys.stdin.read()  # until the test closes our stdin
if sys.argv[2] == "serve":
    endpoint.stop()
print(client.command("SELECT count() FROM d.t"), flush=True)
"""


class serving:
    """A process holding the engine at ``home/chdb``, with an endpoint (or, ``serve=False``,
    without); leaving the block stops it and keeps what it printed last in ``said``."""

    def __init__(self, home: Path, serve: bool = True) -> None:
        self.home, self.serve, self.said = home, serve, ""

    def __enter__(self) -> serving:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(self.home / "chdb"), "serve" if self.serve else ""],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc: object) -> None:
        self.said, _ = self.process.communicate(timeout=60)


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_a_second_process_reaches_a_serving_process_instead_of_busy(tmp_path):
    home = tmp_path / "home"
    with serving(home) as holder:
        result = run(
            f"""
            from providers.engines import get_engine
            engine = get_engine("embedded", path=r"{home / "chdb"}")
            client = engine.client("d")
            client.insert("t", [[1], [2], [3]], column_names=["k"])
            print(engine.in_process, client.command("SELECT count() FROM t"))
            """
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.split() == ["False", "3"]
    assert holder.said.strip() == "3"  # the holder's own client sees the rows
    assert not endpoint_file(home / "chdb").exists()


def test_a_holder_without_an_endpoint_is_still_busy(tmp_path):
    home = tmp_path / "home"
    with serving(home, serve=False) as holder:
        result = run(
            f"""
            from providers import EngineBusyError
            from providers.engines import get_engine
            try:
                get_engine("embedded", path=r"{home / "chdb"}").client()
            except EngineBusyError as exc:
                print(exc)
            """
        )
        assert f"in use by another process (PID {holder.process.pid}" in result.stdout


def dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


@pytest.mark.parametrize("whose", ["dead", "not the holder"])
def test_a_stale_endpoint_file_is_ignored(tmp_path, whose):
    """A file a killed server left (its pid is gone), or one naming a live process that does
    not hold the engine, is never followed: the holder is busy, and with no holder the engine
    opens here as before."""
    home = tmp_path / "home"
    pid = dead_pid() if whose == "dead" else os.getpid()
    stale = EndpointInfo(pid=pid, port=1, user="curvehouse", password="x" * 43, database="d")
    with serving(home, serve=False) as holder:
        stale.write(endpoint_file(home / "chdb"))
        result = run(
            f"""
            from providers import EngineBusyError
            from providers.engines import get_engine
            try:
                get_engine("embedded", path=r"{home / "chdb"}").client()
            except EngineBusyError as exc:
                print(exc)
            """
        )
        assert f"in use by another process (PID {holder.process.pid}" in result.stdout
    stale.write(endpoint_file(home / "chdb"))
    result = run(
        f"""
        from providers.engines import get_engine
        engine = get_engine("embedded", path=r"{home / "chdb"}")
        print(engine.in_process, engine.client().command("SELECT count() FROM d.t"))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "0"]
