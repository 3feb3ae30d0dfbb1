"""The embedded engine: chDB in this process, reached through clickhouse-connect.

chDB runs one ClickHouse engine per process, at one data path. ``_Engine`` makes that limit
explicit: the first client binds the process to a path, later clients for the same path share
the engine, and a client for a different path is refused with an error that says why, until
every client of the first path has been closed. A data directory held by another process is
detected up front: when that process is a running ``curvehouse serve`` sharing the engine
(:mod:`providers.engines.endpoint`), the client is an HTTP client on its endpoint; otherwise
the error names the holder's PID.
"""

from __future__ import annotations

import fcntl
import gc
import os
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import clickhouse_connect

from providers.engines.base import Engine
from providers.engines.endpoint import EndpointInfo, endpoint_file, pid_alive
from providers.engines.server import ServerEngine
from providers.errors import EngineBusyError, EngineLimitError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


class _Engine:
    """Process-wide state of the one chDB engine."""

    lock: ClassVar[threading.RLock] = threading.RLock()
    path: ClassVar[Path | None] = None
    clients: ClassVar[weakref.WeakSet] = weakref.WeakSet()

    @classmethod
    def open_client(cls, path: Path, database: str | None) -> Client:
        with cls.lock:
            live = [c for c in cls.clients if _is_open(c)]
            if cls.path is not None and cls.path != path and live:
                # Clients nobody holds any more (a dropped notebook explorer, caught in a
                # reference cycle) are not in the way: collect them before refusing.
                del live
                gc.collect()
                live = [c for c in cls.clients if _is_open(c)]
            if cls.path is not None and cls.path != path and live:
                raise EngineLimitError(
                    f"This process already runs the embedded ClickHouse engine at {cls.path}. "
                    f"chDB allows one engine, at one data path, per process, so {path} cannot "
                    f"be opened here while {len(live)} client(s) of the first path are open. "
                    "Close them (provider.close()), use a separate process, or point "
                    "CURVEHOUSE_ENGINE=server at a ClickHouse server."
                )
            if cls.path != path or not live:
                _check_not_held_elsewhere(path)
            path.mkdir(parents=True, exist_ok=True)
            client = _new_client(path, database)
            cls.path = path
            cls.clients.add(client)
            return client


try:  # clickhouse-connect's steps of a new client's set-up (1.13; not public)
    from clickhouse_connect.driver._backend.models import ClientConfig
    from clickhouse_connect.driver._backend.orchestration import init_sequence, run_sync
    from clickhouse_connect.driver._chdbclient import ChdbClient
except ImportError:  # another version: every client asks, as clickhouse-connect does
    ChdbClient = None


if ChdbClient is not None:

    class _AnsweredClient(ChdbClient):
        """A chDB client that takes the engine's version, time zone and settings from the
        process's first client: each new client asked the one engine the same questions
        (about 35 ms of queries; an explorer page opens three clients)."""

        answers: ClassVar[dict[tuple, Any]] = {}

        def _init_common_settings(self, tz_source: Any) -> None:
            settings = self._initial_settings or {}
            key = (self.path, tz_source, tuple(sorted(settings.items())))
            answer = self.answers.get(key)
            if answer is None:
                config = ClientConfig(settings=settings, timezone_policy=tz_source)
                answer = run_sync(init_sequence(config), self._execute_operation)
                self.answers[key] = answer
            self._apply_init_result(answer)


def _new_client(path: Path, database: str | None) -> Client:
    if ChdbClient is None:
        return clickhouse_connect.get_client(interface="chdb", path=str(path), database=database)
    return _AnsweredClient(path=str(path), database=database, settings={})


def _is_open(client: Client) -> bool:
    # clickhouse-connect's chDB backend flags itself closed; unknown shapes count as open.
    return not getattr(getattr(client, "_backend", None), "_closed", False)


def _holder(path: Path) -> str | None:
    """The PID (as written) of another process holding the data directory, else None."""
    status = path / "status"
    if not status.exists():
        return None
    with status.open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = status.read_text(errors="replace")
            return next(
                (
                    line.split(":", 1)[1].strip()
                    for line in text.splitlines()
                    if line.startswith("PID:")
                ),
                "unknown",
            )
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def shared_endpoint(path: Path) -> EndpointInfo | None:
    """The endpoint of the process holding ``path``, when that process serves one: its file
    names the holder's PID and that process is alive (a file a killed server left is not)."""
    holder = _holder(path)
    if holder is None or holder == str(os.getpid()):
        return None
    info = EndpointInfo.read(endpoint_file(path))
    if info is None or str(info.pid) != holder or not pid_alive(info.pid):
        return None
    return info


def _check_not_held_elsewhere(path: Path) -> None:
    """Fail with the holder's PID if another process has the data directory open.

    ClickHouse takes an exclusive ``flock`` on ``<path>/status``; chDB's own error for this case
    is an opaque "Error initializing EmbeddedServer", so we look first.
    """
    pid = _holder(path)
    if pid is None:
        return
    if pid == str(os.getpid()):
        raise EngineBusyError(
            f"This process already has the embedded ClickHouse data at {path} open "
            "outside Curvehouse's provider (for example a direct chdb.connect or "
            "clickhouse_connect.get_client call). Close that connection, or get clients "
            "from the provider so they share the engine."
        )
    raise EngineBusyError(
        f"The embedded ClickHouse data at {path} is in use by another process "
        f"(PID {pid}, often a running `curvehouse serve`). chDB lets one process open a "
        "data directory at a time: stop that process, or use the running app instead."
    )


class EmbeddedEngine(Engine):
    """chDB with its data under ``path`` (by default ``$CURVEHOUSE_HOME/chdb``)."""

    engine_type: ClassVar[str] = "embedded"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().resolve()
        self._clients: list[weakref.ref] = []
        self._in_process = True

    @property
    def in_process(self) -> bool:
        """False once clients go to a serving process's endpoint: another process then owns the
        engine, and imports of its own may be in flight."""
        return self._in_process

    def client(self, database: str | None = None) -> Client:
        """An in-process chDB client; or, while ``curvehouse serve`` holds the data directory
        and shares it, an HTTP client on its endpoint."""
        with _Engine.lock:
            here = _Engine.path == self.path and any(_is_open(c) for c in _Engine.clients)
            shared = None if here else shared_endpoint(self.path)
        if shared is not None:
            client = ServerEngine(shared.url).client(database)
            self._in_process = False
        else:
            client = _Engine.open_client(self.path, database)
            self._in_process = True
        self._clients.append(weakref.ref(client))
        return client

    def release_memory(self, client: Client) -> None:
        """chDB's allocator keeps freed pages for its next queries: after the cache's loads at
        start (1.2 GB read at 100k curves) that held about 0.2 GB more than the process used.
        Only for a client of this process's engine (a cluster's server is left alone)."""
        with _Engine.lock:
            ours = client in _Engine.clients and _Engine.path == self.path
        if ours:
            client.command("SYSTEM JEMALLOC PURGE")

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.engine_type,
            "engine": "chDB (in-process)",
            "path": str(self.path),
        }

    def close(self) -> None:
        for ref in self._clients:
            client = ref()
            if client is not None:
                client.close()
        self._clients.clear()
