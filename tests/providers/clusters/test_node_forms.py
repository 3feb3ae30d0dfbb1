"""A node takes the query and bind parameters as a ``multipart/form-data`` body, as ClickHouse's
HTTP interface does: clickhouse-connect sends them so once they pass 4 KiB (about 200 curve
ids), and a node used to refuse every form. Forms stay text-only and within limits, and what
they carry goes through the same gate as a URL."""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request

import clickhouse_connect
import pytest

from tests.providers.clusters.node_fixtures import start_node

pytestmark = pytest.mark.integration

MAX_PARAMS = 1 << 20


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    running = start_node(tmp_path_factory.mktemp("forms") / "c_forms", max_params_bytes=MAX_PARAMS)
    running.ok(
        "CREATE TABLE curves (curve_id UInt64, name String) ENGINE = MergeTree ORDER BY curve_id"
    )
    running.ok(
        "INSERT INTO curves SELECT number, concat('c', toString(number)) FROM numbers(30000)"
    )
    yield running
    running.stop()


def form(node, parts: list[tuple[str, str | None, bytes]]) -> tuple[int, str]:
    """POST a multipart form of (name, filename, value) parts; status and text."""
    boundary = "b" + secrets.token_hex(8)
    body = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        body += value + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(
        f"{node.url}/",
        data=body,
        headers={**node.auth(), "Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode(errors="replace")


def test_ten_thousand_ids_as_a_bind_parameter_through_clickhouse_connect(node):
    ids = list(range(0, 30000, 3))
    assert len(ids) == 10_000
    with clickhouse_connect.get_client(
        host="127.0.0.1",
        port=node.config.port,
        username="default",
        password=node.password,
        database="plant",
    ) as client:
        rows = client.query(
            "SELECT count(), sum(curve_id), max(name) FROM curves "
            "WHERE curve_id IN {ids:Array(UInt64)}",
            parameters={"ids": ids},
        ).result_rows
    assert rows == [(10_000, sum(ids), "c9999")]


def test_a_form_with_query_and_params_answers(node):
    status, text = form(
        node,
        [
            ("query", None, b"SELECT count() FROM curves WHERE curve_id IN {ids:Array(UInt64)}"),
            ("param_ids", None, b"[1,2,3]"),
        ],
    )
    assert (status, text.strip()) == (200, "3")


def test_parameters_over_the_limit_are_refused_with_413(node):
    big = b"[" + b",".join(b"1" for _ in range(MAX_PARAMS // 2 + 10)) + b"]"
    status, text = form(
        node,
        [
            ("query", None, b"SELECT length({ids:Array(UInt64)})"),
            ("param_ids", None, big),
        ],
    )
    assert status == 413, text
    assert "limit" in text


def test_a_file_part_is_refused_as_external_data(node):
    status, text = form(
        node,
        [
            ("query", None, b"SELECT * FROM ext"),
            ("ext", "ext.tsv", b"1\n2\n"),
        ],
    )
    assert status == 400, text
    assert "external data" in text


def test_other_form_fields_are_refused(node):
    status, text = form(node, [("query", None, b"SELECT 1"), ("max_threads", None, b"64")])
    assert status == 400, text
    assert "max_threads" in text


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
        "SYSTEM SHUTDOWN",
    ],
)
def test_the_gate_still_refuses_what_a_form_carries(node, query):
    status, text = form(node, [("query", None, query.encode()), ("param_x", None, b"1")])
    assert status in (400, 403), text
    assert "root:" not in text
    assert node.process.poll() is None


def test_a_malformed_form_is_refused(node):
    request = urllib.request.Request(
        f"{node.url}/",
        data=b"not a form",
        headers={**node.auth(), "Content-Type": "multipart/form-data"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)
    error.value.close()
    assert error.value.code == 400
