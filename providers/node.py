"""One ClickHouse node for an embedded cluster: chDB in its own process, behind ClickHouse's
HTTP interface.

chDB runs one engine per process, inside the process that opens it, so a database inside the
app's own engine could not be reached from a notebook, and every cluster would share one data
directory. A node gives each embedded cluster a process, a data directory and a port of its
own: clickhouse-connect's HTTP client, curl and Curvehouse's server provider reach it exactly
as they reach a ClickHouse server. Stopping the cluster stops the process; its data stays on
disk until the cluster is deleted.

The interface is the part of ClickHouse's HTTP protocol that clients use: the query in the
body or the ``query`` parameter, ``database``, ``param_*`` bound values, settings as URL
parameters, inserts whose data is the body (plain, gzip, deflate or lz4), ``/ping``, errors with
``X-ClickHouse-Exception-Code``, and a password checked on every request (Basic auth,
``X-ClickHouse-User``/``X-ClickHouse-Key`` headers, or ``user``/``password`` parameters).
A ``session_id`` is accepted but holds no state (clickhouse-connect sends one by default):
settings apply to one request and temporary tables do not outlive it. External data in
multipart forms is refused with a message that says so.

Run: ``python -m providers.node DATA_DIR`` (settings in ``DATA_DIR/node.json``).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import hmac
import json
import os
import re
import signal
import sys
import tempfile
import threading
import uuid
import zlib
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CONFIG = "node.json"
PID_FILE = "node.pid"
LOG_FILE = "node.log"
# URL parameters that steer HTTP, not the query; everything else not param_* is a setting.
TRANSPORT = {
    "query",
    "database",
    "user",
    "password",
    "default_format",
    "query_id",
    "compress",
    "decompress",
    "enable_http_compression",
    "send_progress_in_http_headers",
    "http_headers_progress_interval_ms",
    "cancel_http_readonly_queries_on_client_close",
    "wait_end_of_query",
    "client_protocol_version",
    "buffer_size",
    "session_id",  # accepted, but every request runs on its own: no session state
    "session_timeout",
    "session_check",
}
SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
INSERT_WITH_FORMAT = re.compile(r"(?is)^\s*(INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)\s*;?\s*$")
# An insert sent whole in the body: the statement, then its data after one line break.
INSERT_THEN_DATA = re.compile(rb"(?is)^\s*(INSERT\s+INTO\s+.+?\s+FORMAT\s+\w+)[ \t]*\r?\n")
ERROR_CODE = re.compile(r"Code: (\d+)\.")
AUTHENTICATION_FAILED = 516


@dataclass(frozen=True)
class NodeConfig:
    """What a node needs to run; written by the provider, read at start."""

    port: int
    username: str
    password_sha256: str  # hex of sha256(salt + password): the node never stores the secret
    salt: str
    database: str
    host: str = "127.0.0.1"
    max_threads: int = 0  # 0: ClickHouse's default (all cores)
    max_memory_usage: int = 0  # bytes per query; 0: unlimited

    @classmethod
    def read(cls, data: Path) -> NodeConfig:
        return cls(**json.loads((data / CONFIG).read_text()))

    def write(self, data: Path) -> None:
        path = data / CONFIG
        path.write_text(json.dumps(asdict(self), indent=2))
        path.chmod(0o600)


def password_digest(salt: str, password: str) -> str:
    return hashlib.sha256((salt + password).encode()).hexdigest()


class QueryFailed(Exception):
    def __init__(self, code: int, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code, self.status = code, status


class Node:
    """The engine side: runs one request's query on the node's chDB engine."""

    def __init__(self, data: Path, config: NodeConfig) -> None:
        import chdb

        self.data, self.config = data, config
        self._engine = chdb.connect(str(data / "engine"))
        self._lock = threading.Lock()  # one query at a time: settings are per connection
        # The node's size: what a request's own settings fall back to afterwards.
        self._limits = {
            name: int(value)
            for name, value in (
                ("max_threads", config.max_threads),
                ("max_memory_usage", config.max_memory_usage),
            )
            if value
        }
        for name, value in self._limits.items():
            self._engine.query(f"SET {name} = {value}")
        self._engine.query(f"CREATE DATABASE IF NOT EXISTS `{config.database}`")
        self._default_database = config.database

    def run(
        self,
        sql: str,
        *,
        database: str | None,
        params: dict[str, str],
        settings: dict[str, str],
        data: bytes | None,
        fmt: str,
    ) -> tuple[bytes, dict[str, int]]:
        if data is not None:
            match = INSERT_WITH_FORMAT.match(sql)
            if not match:
                raise QueryFailed(
                    62,
                    "Code: 62. DB::Exception: This node takes a request body as data only for "
                    "'INSERT INTO ... FORMAT <format>'. (SYNTAX_ERROR)",
                    400,
                )
        with self._lock:
            applied = []
            try:
                self._engine.query(f"USE `{_identifier(database or self._default_database)}`")
                for name, value in settings.items():
                    self._engine.query(f"SET {name} = {_literal(value)}")
                    applied.append(name)
                if data is not None:
                    return self._insert(match.group(1), match.group(2), data, params)
                result = self._engine.query(sql, fmt, params=params)
                return result.bytes() or b"", _summary(result)
            except QueryFailed:
                raise
            except Exception as exc:
                message = str(exc)
                code = ERROR_CODE.search(message)
                raise QueryFailed(int(code.group(1)) if code else 1002, message) from exc
            finally:
                for name in applied:
                    self._engine.query(f"SET {name} = {self._limits.get(name, 'DEFAULT')}")

    def _insert(
        self, head: str, fmt: str, data: bytes, params: dict[str, str]
    ) -> tuple[bytes, dict[str, int]]:
        with tempfile.NamedTemporaryFile(dir=self.data, suffix=".insert") as staged:
            staged.write(data)
            staged.flush()
            result = self._engine.query(
                f"{head} FROM INFILE '{staged.name}' FORMAT {fmt}", "TabSeparated", params=params
            )
        return b"", _summary(result)

    def close(self) -> None:
        self._engine.close()


def _identifier(name: str) -> str:
    if not SETTING_NAME.match(name):
        raise QueryFailed(81, f"Code: 81. DB::Exception: Database {name!r} is not a name.", 400)
    return name


def _literal(value: str) -> str:
    """A setting value as SQL: numbers as they are, anything else quoted."""
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _summary(result: Any) -> dict[str, int]:
    summary = {}
    for key, method in (("read_rows", "rows_read"), ("read_bytes", "bytes_read")):
        getter = getattr(result, method, None)
        if callable(getter):
            summary[key] = int(getter())
    return summary


def _split(query: str, body: bytes) -> tuple[str, bytes | None]:
    """The statement and the insert data, as ClickHouse reads them: with a ``query``
    parameter the body is data (or the rest of the statement); without one, the body is the
    statement, followed by data when it is an ``INSERT ... FORMAT``."""
    if query:
        if not body:
            return query, None
        if INSERT_WITH_FORMAT.match(query):
            return query, body
        return query + " " + body.decode(), None
    head = INSERT_THEN_DATA.match(body)
    if head:
        return head.group(1).decode(), body[head.end() :]
    return body.decode(), None


def _decoded(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding == "lz4":
        import lz4.frame

        return lz4.frame.decompress(body)
    raise QueryFailed(
        1002, f"Code: 1002. DB::Exception: Content-Encoding {encoding!r} is not supported.", 415
    )


class NodeHandler(BaseHTTPRequestHandler):
    server_version = "CurvehouseNode"
    node: Node  # set on the class built by serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a node serves dashboards' polls; access logs would only fill the disk

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        url = urlsplit(self.path)
        if url.path.rstrip("/") == "/ping":
            self._reply(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
            return
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        try:
            self._authenticate(params)
            if "multipart/form-data" in self.headers.get("Content-Type", ""):
                raise QueryFailed(
                    1002,
                    "Code: 1002. DB::Exception: Multipart forms (external data) are not "
                    "supported by Curvehouse embedded nodes.",
                    400,
                )
            body = _decoded(self._body(), self.headers.get("Content-Encoding", ""))
            query, data = _split(params.get("query", ""), body)
            if not query.strip():
                raise QueryFailed(62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)", 400)
            out, summary = self.node.run(
                query,
                database=params.get("database") or None,
                params={k[6:]: v for k, v in params.items() if k.startswith("param_")},
                settings={
                    k: v
                    for k, v in params.items()
                    if k not in TRANSPORT and not k.startswith("param_") and SETTING_NAME.match(k)
                },
                data=data,
                fmt=params.get("default_format") or "TabSeparated",
            )
        except Exception as exc:  # every failure answers, as ClickHouse does, never a hang-up
            failed = exc if isinstance(exc, QueryFailed) else QueryFailed(1002, f"{exc}", 400)
            message = str(failed).rstrip() + "\n"
            self._reply(
                failed.status,
                message.encode(),
                {
                    "Content-Type": "text/plain; charset=UTF-8",
                    "X-ClickHouse-Exception-Code": str(failed.code),
                },
            )
            return
        self._reply(
            200,
            out,
            {
                "Content-Type": "application/octet-stream",
                "X-ClickHouse-Query-Id": params.get("query_id") or str(uuid.uuid4()),
                "X-ClickHouse-Timezone": "UTC",
                "X-ClickHouse-Summary": json.dumps({k: str(v) for k, v in summary.items()}),
            },
        )

    def _body(self) -> bytes:
        """The request body, sent whole or in chunks (clickhouse-connect streams inserts)."""
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _authenticate(self, params: dict[str, str]) -> None:
        user = self.headers.get("X-ClickHouse-User") or params.get("user")
        password = self.headers.get("X-ClickHouse-Key") or params.get("password") or ""
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user = None
        config = self.node.config
        good_user = hmac.compare_digest(user or "", config.username)
        good_password = hmac.compare_digest(
            password_digest(config.salt, password), config.password_sha256
        )
        if not (good_user and good_password):
            raise QueryFailed(
                AUTHENTICATION_FAILED,
                f"Code: {AUTHENTICATION_FAILED}. DB::Exception: {user or 'default'}: "
                "Authentication failed: password is incorrect, or there is no user with such "
                "name. (AUTHENTICATION_FAILED)",
                401,
            )

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def serve(data: Path) -> None:
    """Run the node until terminated. The port comes from its config."""
    config = NodeConfig.read(data)
    node = Node(data, config)
    handler = type("BoundNodeHandler", (NodeHandler,), {"node": node})
    server = ThreadingHTTPServer((config.host, config.port), handler)
    server.daemon_threads = True
    # SIGTERM (a stop) unwinds serve_forever, so the engine closes cleanly.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"curvehouse node listening on http://{config.host}:{config.port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        node.close()


def detach(data: Path) -> None:
    """Become a daemon: the launching process exits as soon as the node has written its pid
    (so a caller waiting for the launcher then finds it), leaving nothing to reap; the node
    runs in a session of its own with its output in the node's log."""
    ready, written = os.pipe()
    if os.fork():
        os.close(written)
        os.read(ready, 1)  # returns when the node has written its pid, or has died
        os._exit(0)
    os.close(ready)
    os.setsid()
    log = os.open(data / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    (data / PID_FILE).write_text(str(os.getpid()))
    os.write(written, b"1")
    os.close(written)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the node's data directory (holds node.json)")
    parser.add_argument("--detach", action="store_true", help="run in the background")
    args = parser.parse_args(argv)
    data = args.data.resolve()
    if args.detach:
        detach(data)
    serve(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
