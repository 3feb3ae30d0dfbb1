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
settings apply to one request and temporary tables do not outlive it. A ``multipart/form-data``
body may carry the ``query`` and ``param_*`` as text fields (clickhouse-connect sends bind
parameters so once they pass 4 KiB); external data (a part with a filename) is refused with a
message that says so.

Whoever has the password reaches the node's databases and nothing else: the engine runs under
ClickHouse grants and constraints (:mod:`providers.clusters.node_access`) and every statement
passes the node's gate first (:mod:`providers.clusters.node_gate`). The HTTP side is Tornado's,
with limits:
the password is checked before a body is read, bodies are streamed to a file of the node's and
decompressed with a ceiling (no zip bomb reaches memory), and connections are capped in number
and dropped when idle or when a body stalls.

Run: ``python -m providers.clusters.node DATA_DIR`` (settings in ``DATA_DIR/node.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from providers.clusters.node_access import engine_path, write_engine_config
from providers.clusters.node_gate import VALUES_EXPRESSIONS, Refused, StatementGate
from providers.clusters.node_protocol import (
    AUTHENTICATION_FAILED,
    ERROR_CODE,
    Body,
    QueryFailed,
    credentials,
    read_form,
    refusal,
    split_request,
    too_large,
)

CONFIG = "node.json"
PID_FILE = "node.pid"
LOG_FILE = "node.log"
INCOMING = "incoming"  # request bodies and staged insert data, deleted after each request
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
    # Limits of the HTTP side (older node.json files get these defaults).
    max_body_bytes: int = 256 << 20  # one request body as sent (Curvehouse's batches: ~25 MB)
    max_data_bytes: int = 256 << 20  # ... and once decompressed
    max_query_bytes: int = 1 << 20  # SQL text (ClickHouse itself parses at most 256 KiB)
    max_params_bytes: int = 64 << 20  # bind parameters sent as a form (a 10k-id list: ~80 KB)
    max_connections: int = 512  # below the usual 1,024 open files; idle ones cost no thread
    idle_seconds: float = 10.0  # to send the headers, and between requests on one connection
    body_seconds: float = 120.0  # to send a whole body

    @classmethod
    def read(cls, data: Path) -> NodeConfig:
        known = {f.name for f in fields(cls)}
        stored = json.loads((data / CONFIG).read_text())
        return cls(**{k: v for k, v in stored.items() if k in known})

    def write(self, data: Path) -> None:
        path = data / CONFIG
        path.write_text(json.dumps(asdict(self), indent=2))
        path.chmod(0o600)


def password_digest(salt: str, password: str) -> str:
    return hashlib.sha256((salt + password).encode()).hexdigest()


class Node:
    """The engine side: runs one request's statement on the node's chDB engine, through the
    gate, under the node's grants."""

    def __init__(self, data: Path, config: NodeConfig) -> None:
        import chdb

        self.data, self.config = data, config
        self.incoming = data / INCOMING
        shutil.rmtree(self.incoming, ignore_errors=True)  # what a killed node left behind
        self.incoming.mkdir(mode=0o700)
        write_engine_config(
            data, max_threads=config.max_threads, max_memory_usage=config.max_memory_usage
        )
        self._engine = chdb.connect(engine_path(data))
        self._lock = threading.Lock()  # one query at a time: settings are per connection
        self._engine.query(f"CREATE DATABASE IF NOT EXISTS `{_identifier(config.database)}`")
        self._default_database = config.database
        self._values_expressions(False)
        table_functions = self._engine.query("SELECT name FROM system.table_functions", "TSVRaw")
        self.gate = StatementGate(self._canonical, set(table_functions.bytes().decode().split()))

    def _canonical(self, sql: str) -> str:
        """The engine's own reading of one statement, as text (refuses ``a; b``)."""
        escaped = (
            sql.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
        )
        try:
            result = self._engine.query(
                "SELECT formatQuerySingleLine({q:String})", "TSVRaw", params={"q": escaped}
            )
        except Exception as exc:
            message = str(exc).split(" In scope SELECT formatQuerySingleLine")[0].rstrip(" :.")
            code = ERROR_CODE.search(message)
            raise QueryFailed(int(code.group(1)) if code else 62, message, 400) from exc
        return result.bytes().decode().rstrip("\n")

    def run(
        self,
        sql: str,
        *,
        database: str | None,
        params: dict[str, str],
        settings: dict[str, str],
        data: Path | None,
        fmt: str,
    ) -> tuple[bytes, dict[str, int]]:
        with self._lock:
            try:
                statement = self.gate.check(sql, has_body=data is not None)
            except Refused as exc:
                raise refusal(str(exc)) from exc
            saved: dict[str, str] = {}
            try:
                self._engine.query(f"USE `{_identifier(database or self._default_database)}`")
                for name, value in settings.items():
                    if name.lower() in VALUES_EXPRESSIONS:
                        raise refusal(f"The setting {name} is the node's to set.")
                    saved[name] = self._setting(name)
                    self._engine.query(f"SET {name} = {_literal(value)}")
                if statement.insert_format is None:
                    result = self._engine.query(statement.sql, fmt, params=params)
                    return result.bytes() or b"", _summary(result)
                with tempfile.NamedTemporaryFile(dir=self.incoming, suffix=".values") as inline:
                    if data is None:
                        inline.write(statement.inline_data or b"")
                        inline.flush()
                        data = Path(inline.name)
                    self._values_expressions(statement.values_expressions)
                    try:
                        result = self._engine.query(
                            statement.with_infile(str(data)), "TabSeparated", params=params
                        )
                    finally:
                        self._values_expressions(False)
                return b"", _summary(result)
            except QueryFailed:
                raise
            except Exception as exc:
                message = str(exc)
                code = ERROR_CODE.search(message)
                raise QueryFailed(int(code.group(1)) if code else 1002, message) from exc
            finally:
                for name, value in saved.items():
                    self._engine.query(f"SET {name} = {_literal(value)}")

    def _values_expressions(self, on: bool) -> None:
        for name in VALUES_EXPRESSIONS:
            self._engine.query(f"SET {name} = {int(on)}")

    def _setting(self, name: str) -> str:
        result = self._engine.query("SELECT getSetting({n:String})", "TSVRaw", params={"n": name})
        return result.bytes().decode().rstrip("\n")

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


def authenticate(config: NodeConfig, user: str | None, password: str) -> None:
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


def build_app(node: Node, executor: ThreadPoolExecutor):
    """The node's Tornado application: ``/ping`` and the query handler."""
    import tornado.web

    class PingHandler(tornado.web.RequestHandler):
        def get(self) -> None:
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.write(b"Ok.\n")

    @tornado.web.stream_request_body
    class QueryHandler(tornado.web.RequestHandler):
        def prepare(self) -> None:
            self.body: Body | None = None
            self.form: str | None = None
            self.failure: QueryFailed | None = None
            self.params = {
                k: v[-1].decode("utf-8", "replace") for k, v in self.request.query_arguments.items()
            }
            config = node.config
            try:
                authenticate(config, *credentials(self.request.headers, self.params))
                content_type = self.request.headers.get("Content-Type", "")
                self.form = content_type if "multipart/form-data" in content_type else None
                declared = int(self.request.headers.get("Content-Length") or 0)
                if declared > config.max_body_bytes:
                    raise too_large("body", config.max_body_bytes)
                self.request.connection.set_max_body_size(config.max_body_bytes)
                self.body = Body(
                    node.incoming,
                    self.request.headers.get("Content-Encoding", ""),
                    config.max_data_bytes,
                )
            except (QueryFailed, ValueError) as exc:
                failed = exc if isinstance(exc, QueryFailed) else refusal(str(exc), 400, 1002)
                self.reply_error(failed)
                self.finish()  # Tornado closes the connection: the body is never read

        def data_received(self, chunk: bytes) -> None:
            if self.body is not None and self.failure is None:
                try:
                    self.body.write(chunk)
                except QueryFailed as exc:
                    self.failure = exc

        async def get(self) -> None:
            await self.answer()

        async def post(self) -> None:
            await self.answer()

        async def answer(self) -> None:
            made: list[Path] = []
            try:
                if self.failure is not None:
                    raise self.failure
                self.body.close()
                if self.body.too_large:
                    raise too_large("decompressed body", node.config.max_data_bytes)
                if self.form is not None:  # query and param_* as text fields; no data
                    query, fields = read_form(
                        self.body,
                        self.form,
                        node.config.max_query_bytes,
                        node.config.max_params_bytes,
                    )
                    self.params.update(fields)
                    query, data = query or self.params.get("query", ""), None
                else:
                    query, data, made = split_request(
                        self.params.get("query", ""), self.body, node.config.max_query_bytes
                    )
                if not query.strip():
                    raise QueryFailed(
                        62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)", 400
                    )
                out, summary = await asyncio.get_running_loop().run_in_executor(
                    executor,
                    lambda: node.run(
                        query,
                        database=self.params.get("database") or None,
                        params={k[6:]: v for k, v in self.params.items() if k.startswith("param_")},
                        settings={
                            k: v
                            for k, v in self.params.items()
                            if k not in TRANSPORT
                            and not k.startswith("param_")
                            and SETTING_NAME.match(k)
                        },
                        data=data,
                        fmt=self.params.get("default_format") or "TabSeparated",
                    ),
                )
            except QueryFailed as exc:  # every failure answers, as ClickHouse does
                self.reply_error(exc)
                return
            finally:  # before the answer is flushed: a client never sees leftovers
                self.body.discard()
                for path in made:
                    path.unlink(missing_ok=True)
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header(
                "X-ClickHouse-Query-Id", self.params.get("query_id") or str(uuid.uuid4())
            )
            self.set_header("X-ClickHouse-Timezone", "UTC")
            self.set_header(
                "X-ClickHouse-Summary", json.dumps({k: str(v) for k, v in summary.items()})
            )
            self.write(out)

        def reply_error(self, failed: QueryFailed) -> None:
            self.clear()
            self.set_status(failed.status)
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.set_header("X-ClickHouse-Exception-Code", str(failed.code))
            self.write(str(failed).rstrip() + "\n")

        def on_finish(self) -> None:
            if self.body is not None:
                self.body.discard()

        def on_connection_close(self) -> None:
            if self.body is not None:
                self.body.discard()

        def log_exception(self, *args: Any) -> None:
            pass  # a node serves dashboards' polls; tracebacks go to answers, not the log

    return tornado.web.Application(
        [(r"/ping/?", PingHandler), (r"/.*", QueryHandler)], log_function=lambda handler: None
    )


def limited_server(app: Any, config: NodeConfig):
    """Tornado's HTTP server with a cap on open connections: beyond it a new connection is
    answered 503 and closed at once, so idle clients cannot hold every slot."""
    from tornado.httpserver import HTTPServer

    class LimitedServer(HTTPServer):
        def handle_stream(self, stream, address) -> None:
            if len(self._connections) >= config.max_connections:
                stream.write(
                    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                    b"Content-Length: 0\r\n\r\n"
                ).add_done_callback(lambda _: stream.close())
                return
            super().handle_stream(stream, address)

    return LimitedServer(
        app,
        idle_connection_timeout=config.idle_seconds,
        body_timeout=config.body_seconds,
        max_body_size=config.max_body_bytes,
        max_header_size=64 * 1024,
    )


def serve(data: Path) -> None:
    """Run the node until terminated. The port comes from its config."""
    config = NodeConfig.read(data)
    node = Node(data, config)
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="query")

    async def run() -> None:
        server = limited_server(build_app(node, executor), config)
        server.listen(config.port, config.host)
        stop = asyncio.Event()
        # SIGTERM (a stop) ends the loop, so the engine closes cleanly.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        print(f"curvehouse node listening on http://{config.host}:{config.port}", flush=True)
        await stop.wait()
        server.stop()

    try:
        asyncio.run(run())
    finally:
        executor.shutdown(wait=True)
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
