"""A cluster's password reaches the cluster's databases and nothing else (issue 13, item 1).

Each attack below was run against a live node: with the node before the sandbox, reading the
app's cookie secret through ``file()``, requests from ``url()`` and writes through ``INSERT
INTO FUNCTION file`` all succeeded. Now every one is refused, nothing of the secrets comes
back (not even inside an error message), nothing reaches the listening port, and no file
appears where one was asked for.
"""

from __future__ import annotations

import gzip
import secrets

import clickhouse_connect
import pytest

from tests.providers.clusters.node_fixtures import Listener, start_node

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def canary(home):
    """Secrets where an attacker would look: the app's cookie secret and another node's data."""
    secret = "canary-" + secrets.token_hex(12)
    (home / "cookie-secret").write_text(secret + "\n")
    other = home / "clusters" / "other" / "engine"
    other.mkdir(parents=True)
    (other / "data.bin").write_text(secret + "\n")
    return secret


@pytest.fixture(scope="module")
def listener():
    port = Listener()
    yield port
    port.close()


@pytest.fixture(scope="module")
def node(home, canary):
    running = start_node(home / "clusters" / "c_line1")
    running.ok(
        "CREATE TABLE parts (serial String, force Float64) ENGINE = MergeTree ORDER BY serial"
    )
    yield running
    running.stop()


WRITTEN = "written-by-node.txt"

# (what, statement); {secret}: the cookie secret's path, {other}: another node's file,
# {home}: the app's home, {port}: a listening port on this machine, {written}: a path the
# statement tries to create.
ATTACKS = [
    ("file() table function", "SELECT * FROM file('{secret}', 'LineAsString')"),
    ("file() on another node's data", "SELECT * FROM file('{other}', 'LineAsString')"),
    ("file() on /etc/passwd", "SELECT * FROM file('/etc/passwd', 'LineAsString')"),
    ("file() with a relative path", "SELECT * FROM file('../../cookie-secret', 'LineAsString')"),
    ("scalar file()", "SELECT file('{secret}')"),
    ("scalar file(), backquoted", "SELECT `file`('{secret}')"),
    ("scalar file(), double-quoted", "SELECT \"file\"('{secret}')"),
    ("scalar file(), comment before the call", "SELECT file/* x */('{secret}')"),
    (
        "file() in a column default",
        "CREATE TABLE d1 (a String DEFAULT file('{secret}')) ENGINE = Memory",
    ),
    ("file() in a view", "CREATE VIEW v1 AS SELECT file('{secret}') AS a"),
    ("file() inside a lambda", "SELECT arrayMap(p -> file(p), ['{secret}'])"),
    ("filesystem()", "SELECT * FROM filesystem('{home}')"),
    ("sqlite()", "SELECT * FROM sqlite('{secret}', 't')"),
    ("icebergLocal()", "SELECT * FROM icebergLocal('{home}')"),
    ("deltaLakeLocal()", "SELECT * FROM deltaLakeLocal('{home}')"),
    ("python() reads the node's objects", "SELECT * FROM python(self)"),
    ("executable()", "SELECT * FROM executable('cat {secret}', 'LineAsString', 'a String')"),
    ("url()", "SELECT * FROM url('http://127.0.0.1:{port}/x', 'LineAsString', 'a String')"),
    (
        "urlCluster()",
        "SELECT * FROM urlCluster('default', 'http://127.0.0.1:{port}/x', 'LineAsString')",
    ),
    ("remote()", "SELECT * FROM remote('127.0.0.1:{port}', system.one)"),
    ("remoteSecure()", "SELECT * FROM remoteSecure('127.0.0.1:{port}', system.one)"),
    ("cluster()", "SELECT * FROM cluster('default', system.one)"),
    ("s3()", "SELECT * FROM s3('http://127.0.0.1:{port}/bucket/x.csv', 'CSV', 'a String')"),
    ("s3Cluster()", "SELECT * FROM s3Cluster('default', 'http://127.0.0.1:{port}/b/x.csv')"),
    ("gcs()", "SELECT * FROM gcs('http://127.0.0.1:{port}/bucket/x.csv', 'CSV', 'a String')"),
    ("hdfs()", "SELECT * FROM hdfs('hdfs://127.0.0.1:{port}/x', 'TSV', 'a String')"),
    ("mysql()", "SELECT * FROM mysql('127.0.0.1:{port}', 'd', 't', 'u', 'p')"),
    ("postgresql()", "SELECT * FROM postgresql('127.0.0.1:{port}', 'd', 't', 'u', 'p')"),
    ("mongodb()", "SELECT * FROM mongodb('127.0.0.1:{port}', 'd', 'c', 'u', 'p', 'a String')"),
    ("redis()", "SELECT * FROM redis('127.0.0.1:{port}', 'k', 'k String, v String')"),
    ("azureBlobStorage()", "SELECT * FROM azureBlobStorage('http://127.0.0.1:{port}/', 'c', 'b')"),
    ("iceberg()", "SELECT * FROM iceberg('http://127.0.0.1:{port}/t/')"),
    ("jdbc()", "SELECT * FROM jdbc('jdbc:mysql://127.0.0.1:{port}/d', 't')"),
    ("odbc()", "SELECT * FROM odbc('DSN=x', 't')"),
    ("dictionary()", "SELECT * FROM dictionary('x')"),
    ("eval()", "SELECT * FROM eval('SELECT 1')"),
    ("fuzzJSON() (runs away with memory)", "SELECT * FROM fuzzJSON('{{\"a\": 1}}') LIMIT 1"),
    ("dictGet()", "SELECT dictGet('x', 'v', 1)"),
    ("File engine", "CREATE TABLE e1 (a String) ENGINE = File(LineAsString, '{secret}')"),
    ("URL engine", "CREATE TABLE e2 (a String) ENGINE = URL('http://127.0.0.1:{port}/', 'TSV')"),
    ("Executable engine", "CREATE TABLE e3 (a String) ENGINE = Executable('cat', 'TSV')"),
    ("ExecutablePool engine", "CREATE TABLE e4 (a String) ENGINE = ExecutablePool('cat', 'TSV')"),
    ("S3 engine", "CREATE TABLE e5 (a String) ENGINE = S3('http://127.0.0.1:{port}/b/x', 'CSV')"),
    ("HDFS engine", "CREATE TABLE e6 (a String) ENGINE = HDFS('hdfs://127.0.0.1:{port}/x', 'TSV')"),
    (
        "MySQL engine",
        "CREATE TABLE e7 (a String) ENGINE = MySQL('127.0.0.1:{port}', 'd', 't', 'u', 'p')",
    ),
    (
        "PostgreSQL engine",
        "CREATE TABLE e8 (a String) ENGINE = PostgreSQL('127.0.0.1:{port}', 'd', 't', 'u', 'p')",
    ),
    ("SQLite engine", "CREATE TABLE e9 (a String) ENGINE = SQLite('{secret}', 't')"),
    ("FileLog engine", "CREATE TABLE e10 (a String) ENGINE = FileLog('{home}', 'LineAsString')"),
    (
        "Kafka engine",
        "CREATE TABLE e11 (a String) ENGINE = Kafka('127.0.0.1:{port}', 't', 'g', 'TSV')",
    ),
    (
        "Distributed engine",
        "CREATE TABLE e12 (a String) ENGINE = Distributed('default', 'plant', 'parts')",
    ),
    ("Dictionary engine", "CREATE TABLE e13 (a String) ENGINE = Dictionary('x')"),
    (
        "QueryRunner engine",
        "CREATE TABLE e14 (query String, database String, settings Map(String, String)) "
        "ENGINE = QueryRunner",
    ),
    (
        "EmbeddedRocksDB engine",
        "CREATE TABLE e15 (k String, v String) ENGINE = EmbeddedRocksDB PRIMARY KEY k",
    ),
    ("Filesystem database", "CREATE DATABASE fs1 ENGINE = Filesystem('{home}')"),
    ("SQLite database", "CREATE DATABASE fs2 ENGINE = SQLite('{secret}')"),
    ("MySQL database", "CREATE DATABASE fs3 ENGINE = MySQL('127.0.0.1:{port}', 'd', 'u', 'p')"),
    (
        "PostgreSQL database",
        "CREATE DATABASE fs4 ENGINE = PostgreSQL('127.0.0.1:{port}', 'd', 'u', 'p')",
    ),
    ("S3 database", "CREATE DATABASE fs5 ENGINE = S3('http://127.0.0.1:{port}/b/')"),
    ("URL database", "CREATE DATABASE fs6 ENGINE = URL('http://127.0.0.1:{port}/')"),
    ("Backup database", "CREATE DATABASE fs7 ENGINE = Backup('plant', File('{written}'))"),
    (
        "a web disk fetches a URL",
        "CREATE TABLE w1 (a Int32) ENGINE = MergeTree ORDER BY a "
        "SETTINGS disk = disk(type = 'web', endpoint = 'http://127.0.0.1:{port}/')",
    ),
    (
        "a local disk on any path",
        "CREATE TABLE w2 (a Int32) ENGINE = MergeTree ORDER BY a "
        "SETTINGS disk = disk(type = 'local', path = '{home}/')",
    ),
    (
        "a disk added later",
        "ALTER TABLE parts MODIFY SETTING disk = disk(type = 'web', endpoint = 'http://127.0.0.1:{port}/')",
    ),
    (
        "file dictionary",
        "CREATE DICTIONARY x1 (k UInt64, v String) PRIMARY KEY k "
        "SOURCE(FILE(path '{secret}' format 'TSV')) "
        "LAYOUT(FLAT()) LIFETIME(0)",
    ),
    (
        "http dictionary",
        "CREATE DICTIONARY x2 (k UInt64, v String) PRIMARY KEY k "
        "SOURCE(HTTP(url 'http://127.0.0.1:{port}/' format 'TSV')) "
        "LAYOUT(FLAT()) LIFETIME(0)",
    ),
    (
        "executable dictionary",
        "CREATE DICTIONARY x3 (k UInt64, v String) PRIMARY KEY k "
        "SOURCE(EXECUTABLE(command 'cat {secret}' format 'TSV')) "
        "LAYOUT(FLAT()) LIFETIME(0)",
    ),
    (
        "clickhouse dictionary on another host",
        "CREATE DICTIONARY x4 (k UInt64, v String) PRIMARY KEY k "
        "SOURCE(CLICKHOUSE(host '127.0.0.1' port {port} table 't')) "
        "LAYOUT(FLAT()) LIFETIME(0)",
    ),
    (
        "INSERT INTO FUNCTION file()",
        "INSERT INTO FUNCTION file('{written}', 'LineAsString') SELECT 'x'",
    ),
    ("INTO OUTFILE", "SELECT 'x' INTO OUTFILE '{written}'"),
    ("FROM INFILE", "INSERT INTO parts FROM INFILE '{secret}' FORMAT LineAsString"),
    ("BACKUP to a file", "BACKUP TABLE parts TO File('{written}')"),
    ("RESTORE from a file", "RESTORE TABLE parts FROM File('{secret}')"),
    (
        "ATTACH a table from a path",
        "ATTACH TABLE a1 FROM '{home}' (a String) ENGINE = File(LineAsString)",
    ),
    ("SYSTEM", "SYSTEM SHUTDOWN"),
    ("CREATE FUNCTION", "CREATE FUNCTION leak AS (x) -> x"),
    ("CREATE USER", "CREATE USER intruder IDENTIFIED WITH no_password"),
    ("GRANT", "GRANT ALL ON *.* TO default"),
    ("two statements", "SELECT 1; SELECT file('{secret}')"),
    (
        "two statements after a comment",
        "SELECT 1 /* ; */; SELECT * FROM file('{secret}', 'LineAsString')",
    ),
    (
        "a statement after inline VALUES",
        "INSERT INTO parts VALUES ('a', 1); SELECT file('{secret}')",
    ),
    (
        "a statement inside inline VALUES",
        "INSERT INTO parts (serial) VALUES ('x'), ((SELECT file('{secret}')))",
    ),
    (
        "a statement after inline FORMAT data",
        "INSERT INTO parts FORMAT CSV \"a\",1\n; SELECT file('{secret}')",
    ),
    (
        "a template format reads a file",
        "SELECT 1 FORMAT Template SETTINGS format_template_row = '{secret}'",
    ),
    (
        "a format schema names a file",
        "SELECT 1 SETTINGS format_schema = '{secret}:M' FORMAT Protobuf",
    ),
    (
        "an error file is written",
        "SELECT 1 SETTINGS input_format_record_errors_file_path = '{written}'",
    ),
    ("the memory limit lifted", "SELECT 1 SETTINGS max_memory_usage = 0"),
    ("the memory limit raised", "SELECT 1 SETTINGS max_memory_usage = 999999999999999"),
    ("the memory limit reset", "SET max_memory_usage = DEFAULT"),
    ("the thread limit raised", "SELECT 1 SETTINGS max_threads = 64"),
    ("introspection", "SELECT addressToSymbol(1) SETTINGS allow_introspection_functions = 1"),
    (
        "expressions in Values turned on",
        "SELECT 1 SETTINGS input_format_values_interpret_expressions = 1",
    ),
    (
        "expressions in Values turned on for the connection",
        "SET input_format_values_interpret_expressions = 1",
    ),
]


@pytest.mark.parametrize(("what", "statement"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_an_attack_is_refused_and_reaches_nothing(node, home, canary, listener, what, statement):
    written = home / WRITTEN
    sql = statement.format(
        secret=home / "cookie-secret",
        other=home / "clusters" / "other" / "engine" / "data.bin",
        home=home,
        port=listener.port,
        written=written,
    )
    before = listener.hits
    status, answer = node.post(sql)
    assert status != 200, f"{what} was run: {answer!r}"
    assert "Code:" in answer  # ClickHouse's error shape, so clients report it as such
    assert canary not in answer
    assert "root:x:0:0" not in answer
    assert listener.hits == before, f"{what} reached the network"
    assert not written.exists(), f"{what} wrote a file"
    assert node.process.poll() is None, f"{what} brought the node down"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("format_template_row", "{secret}"),
        ("input_format_record_errors_file_path", "{written}"),
        ("max_memory_usage", "0"),
        ("max_threads", "64"),
        ("input_format_values_interpret_expressions", "1"),
    ],
)
def test_settings_in_the_url_are_held_to_the_same_limits(node, home, canary, setting, value):
    value = value.format(secret=home / "cookie-secret", written=home / WRITTEN)
    status, answer = node.post("SELECT 1 FORMAT Template", params={setting: value})
    assert status != 200, answer
    assert canary not in answer
    assert not (home / WRITTEN).exists()


def test_insert_data_never_becomes_a_statement(node, home, canary):
    """Data sent in the body after an ``INSERT ... FORMAT`` query is data, whatever it says;
    and a query that hides a second statement before its FORMAT is refused."""
    status, answer = node.post(
        "INSERT INTO parts FORMAT CSV",
        body=f"x,1\n; SELECT file('{home}/cookie-secret')\n".encode(),
    )
    assert status != 200 and canary not in answer
    status, answer = node.post(
        f"INSERT INTO parts SELECT file('{home}/cookie-secret'), 1; INSERT INTO parts FORMAT CSV",
        body=b"y,2\n",
    )
    assert status != 200 and canary not in answer
    assert node.ok("SELECT count() FROM parts WHERE serial IN ('x', 'y')").strip() == "0"


def test_what_a_cluster_is_for_still_works(node):
    """Tables, inserts of every kind, parameters, views, partitions, settings within limits."""
    node.ok("CREATE TABLE IF NOT EXISTS work (k String, v Float64) ENGINE = MergeTree ORDER BY k")
    node.ok("INSERT INTO work VALUES ('a', 1.5), ('b', 2.5)")
    node.ok("INSERT INTO work FORMAT CSV", body=b"c,3.5\nd,4.5\n")
    node.ok(None, body=b"INSERT INTO work FORMAT TSV\ne\t5.5\n")
    node.ok(
        "INSERT INTO work FORMAT CSV",
        body=gzip.compress(b"f,6.5\n"),
        headers={"Content-Encoding": "gzip"},
    )
    node.ok(
        "INSERT INTO work VALUES ({k:String}, {v:Float64})",
        params={"param_k": "it's; SELECT file('/etc/passwd')", "param_v": "7.5"},
    )
    assert node.ok("SELECT count(), sum(v) FROM work").split() == ["7", "31.5"]
    assert (
        node.ok(
            "SELECT k FROM work WHERE v > {low:Float64} ORDER BY k LIMIT 1",
            params={"param_low": "6"},
        ).strip()
        == "f"
    )
    node.ok("CREATE VIEW IF NOT EXISTS big AS SELECT k FROM work WHERE v > 3")
    assert node.ok("SELECT count() FROM big").strip() == "5"
    node.ok("CREATE TABLE IF NOT EXISTS staged AS work")
    node.ok("INSERT INTO staged SELECT concat(k, '2'), v FROM work")
    node.ok("ALTER TABLE work ATTACH PARTITION tuple() FROM staged")
    assert node.ok("SELECT count() FROM work").strip() == "14"
    assert node.ok("SELECT sum(number) FROM numbers(10) SETTINGS max_threads = 1").strip() == "45"
    assert "file(" in node.ok("SELECT 'a file(x) in a string is only text'")


def test_clickhouse_connect_works_through_the_gate(node):
    with clickhouse_connect.get_client(
        host="127.0.0.1",
        port=node.config.port,
        username="default",
        password=node.password,
        database="plant",
    ) as client:
        client.command(
            "CREATE TABLE IF NOT EXISTS cc (k String, v UInt32) ENGINE = MergeTree ORDER BY k"
        )
        client.insert("cc", [["a", 1], ["b", 2]], column_names=["k", "v"])
        client.command(
            "INSERT INTO cc VALUES ({k:String}, {v:UInt32})", parameters={"k": "c", "v": 3}
        )
        assert client.query("SELECT sum(v) FROM cc").result_rows == [(6,)]
        assert client.query(
            "SELECT k FROM cc WHERE k IN {ks:Array(String)} ORDER BY k",
            parameters={"ks": ["a", "c"]},
        ).result_rows == [("a",), ("c",)]
