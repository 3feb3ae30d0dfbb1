"""The built-in engine's endpoint: while ``curvehouse serve`` holds the embedded chDB, other
processes of the same installation (``curvehouse ingest``, notebooks) reach it over ClickHouse's
HTTP interface on 127.0.0.1 instead of getting :class:`~providers.errors.EngineBusyError`.

chDB lets one process open a data directory, so the serving process keeps its in-process clients
(the explorer's path does not change) and also runs the cluster node's HTTP handler
(:mod:`providers.clusters.node`) on a thread and event loop of its own, over an extra chDB handle
on the *same* engine: ``chdb.connect`` with the connection string clickhouse-connect uses (the
data path, resolved, no options), which shares the engine and has a session of its own.

What it writes: ``$CURVEHOUSE_HOME/engine-endpoint.json`` (beside the ``chdb`` folder, mode 0600:
pid, port, user, a password made at each start); :class:`~providers.engines.embedded.EmbeddedEngine`
in another process reads it when the data directory is held by that pid. The file goes at stop.

Trust: the engine is already running, so ClickHouse grants and settings constraints (what a node's
``users.xml`` gives it) cannot be added to it; the caller runs as chDB's default user and the gate
is the only statement check. It is the node's gate plus what grants would have refused (access
management, dictionaries, functions, ``SET``, the path settings, threads above the cap). Whoever
can read the file can read the data directory and ``secret.key`` beside it, so the endpoint gives
no one more than they have; it listens on loopback only and needs the password on every request.
Cost: the endpoint's queries run one at a time, each with at most ``threads`` threads, so a
notebook's loop leaves the explorer the other cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from providers.clusters.node import (
    Node,
    NodeConfig,
    build_app,
    limited_server,
    password_digest,
)
from providers.clusters.node_access import PATH_SETTINGS
from providers.clusters.node_gate import Refused, StatementGate
from providers.clusters.node_protocol import refusal
from providers.engines.base import Engine
from providers.errors import EngineBusyError

ENDPOINT_FILE = "engine-endpoint.json"
INCOMING = "engine-endpoint-incoming"  # insert data staged for FROM INFILE, beside the file
HOST = "127.0.0.1"
USER = "curvehouse"
# First words (and word pairs) grants would refuse on a node; here nothing else would.
REFUSED_FIRST = frozenset({"SET", "GRANT", "REVOKE", "KILL", "EXECUTE", "MOVE"})
# Words between CREATE/ALTER/DROP and the kind of object the statement is about.
MODIFIERS = frozenset(
    {"OR", "REPLACE", "TEMPORARY", "IF", "NOT", "EXISTS", "ROW", "SETTINGS", "NAMED", "MASKING"}
)
REFUSED_OBJECTS = frozenset(
    {
        "USER",
        "ROLE",
        "QUOTA",
        "POLICY",
        "PROFILE",
        "DICTIONARY",
        "FUNCTION",
        "COLLECTION",
        "WORKLOAD",
        "RESOURCE",
    }
)


def endpoint_file(data_path: Path) -> Path:
    """Where the endpoint of the engine at ``data_path`` (``$CURVEHOUSE_HOME/chdb``) is written."""
    return Path(data_path).parent / ENDPOINT_FILE


@dataclass(frozen=True)
class EndpointInfo:
    """What the endpoint file holds: who serves, where, and the password of this start."""

    pid: int
    port: int
    user: str
    password: str = field(repr=False)
    database: str = ""

    @property
    def url(self) -> str:
        return (
            f"http://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{HOST}:{self.port}/{self.database}"
        )

    @classmethod
    def read(cls, path: Path) -> EndpointInfo | None:
        """The file's contents, or None when it is missing, unreadable or not ours."""
        try:
            data = json.loads(path.read_text())
            return cls(**{k: data[k] for k in cls.__dataclass_fields__})
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, path: Path) -> None:
        """Written whole and private (0600) or not at all: readers never see half a file."""
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.unlink(missing_ok=True)
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(self.__dict__, handle)
        os.replace(partial, path)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


class EndpointGate(StatementGate):
    """The node's gate, plus the refusals a node's grants and constraints make."""

    def _check_tokens(self, words: list) -> None:
        super()._check_tokens(words)
        first = words[0].text.upper() if words and words[0].kind == "word" else ""
        if first in REFUSED_FIRST:
            raise Refused(f"{first} statements are not allowed on the engine endpoint.")
        if first in ("CREATE", "ALTER", "DROP"):
            kind = next((w.text.upper() for w in words[1:] if w.text.upper() not in MODIFIERS), "")
            if kind in REFUSED_OBJECTS:
                raise Refused(f"{first} {kind} is not allowed on the engine endpoint.")
        for word in words:
            name = word.name.lower()
            if name in PATH_SETTINGS or name == "max_threads":
                raise Refused(f"The setting {word.name} is the endpoint's to set.")


class AttachedNode(Node):
    """The node's engine side over an extra handle on the engine this process already runs.

    Unlike :class:`Node` it writes no engine configuration (the engine is started) and closes
    only its own handle."""

    def __init__(self, conn_str: str, config: NodeConfig, incoming: Path) -> None:
        import chdb

        self.data, self.config = incoming.parent, config
        self.incoming = incoming
        shutil.rmtree(incoming, ignore_errors=True)  # what a killed server left behind
        incoming.mkdir(mode=0o700)
        self._engine = chdb.connect(conn_str)
        self._lock = threading.Lock()  # one query at a time: the explorer keeps the rest
        if config.max_threads:
            self._engine.query(f"SET max_threads = {int(config.max_threads)}")
        self._engine.query(f"CREATE DATABASE IF NOT EXISTS `{config.database}`")
        self._default_database = config.database
        self._values_expressions(False)
        table_functions = self._engine.query("SELECT name FROM system.table_functions", "TSVRaw")
        self.gate = EndpointGate(self._canonical, set(table_functions.bytes().decode().split()))

    def run(self, sql: str, *, settings: dict[str, str], **rest: Any) -> tuple[bytes, dict]:
        for name, value in settings.items():
            lowered = name.lower()
            if lowered in PATH_SETTINGS or lowered in ("readonly", "profile"):
                raise refusal(f"The setting {name} is the endpoint's to set.")
            if lowered == "max_threads" and not _within(value, self.config.max_threads):
                raise refusal(
                    f"max_threads={value} is above this endpoint's cap of "
                    f"{self.config.max_threads} (CURVEHOUSE_ENDPOINT_THREADS)."
                )
        return super().run(sql, settings=settings, **rest)


def _within(value: str, cap: int) -> bool:
    try:
        number = int(value)
    except ValueError:
        return False
    return 1 <= number <= cap if cap else True


class EngineEndpoint:
    """Serves ``engine`` on a free loopback port, from :meth:`start` to :meth:`stop`.

    It holds one client of the engine's own meanwhile: chDB closes an engine with its last
    handle, and the provider must have opened it (an engine chDB opened outside the provider
    would look held by a stranger to it)."""

    def __init__(self, engine: Engine, *, database: str, threads: int = 1) -> None:
        """``engine``: the embedded engine (:class:`~providers.engines.embedded.EmbeddedEngine`)."""
        self.engine = engine
        self.data_path = Path(engine.path)
        self.file = endpoint_file(self.data_path)
        self.database = database
        self.threads = threads
        self.info: EndpointInfo | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._anchor: Any = None

    def start(self) -> EngineEndpoint:
        """Listen, then write the endpoint file; returns once requests are answered."""
        from tornado.netutil import bind_sockets

        self._anchor = self.engine.client()
        if not self.engine.in_process:
            self._anchor.close()
            self._anchor = None
            raise EngineBusyError(
                f"Another process already serves the built-in engine at {self.data_path} "
                f"(see {self.file}): stop it first, one server per home."
            )
        password, salt = secrets.token_urlsafe(32), secrets.token_hex(16)
        config = NodeConfig(
            port=0,
            username=USER,
            password_sha256=password_digest(salt, password),
            salt=salt,
            database=self.database,
            host=HOST,
            max_threads=self.threads,
        )
        node = AttachedNode(os.path.realpath(self.data_path), config, self.file.parent / INCOMING)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="endpoint")
        sockets = bind_sockets(0, HOST)
        port = sockets[0].getsockname()[1]
        ready = threading.Event()

        async def run() -> None:
            server = limited_server(build_app(node, executor), config)
            server.add_sockets(sockets)
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            ready.set()
            await self._stop.wait()
            server.stop()
            await server.close_all_connections()

        def main() -> None:
            try:
                asyncio.run(run())
            finally:
                ready.set()
                executor.shutdown(wait=True)
                node.close()
                shutil.rmtree(node.incoming, ignore_errors=True)

        self._thread = threading.Thread(target=main, name="engine-endpoint", daemon=True)
        self._thread.start()
        ready.wait()
        self.info = EndpointInfo(os.getpid(), port, USER, password, self.database)
        self.info.write(self.file)
        return self

    def stop(self) -> None:
        """Remove the file first (no new caller finds it), then close the port and the handle."""
        if self.info is not None and EndpointInfo.read(self.file) == self.info:
            self.file.unlink(missing_ok=True)
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._thread = self._loop = self._stop = None
        self.info = None
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None

    def __enter__(self) -> EngineEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
