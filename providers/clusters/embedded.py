"""Embedded clusters: one ClickHouse node process per cluster, on this machine.

Each cluster gets ``$CURVEHOUSE_HOME/clusters/<key>/``: the node's settings (``node.json``), its
chDB data (``engine/``), its log and its process id. The node process
(:mod:`providers.clusters.node`) is started in its own session, so it keeps serving while the
app restarts; the app finds it again by its handle.

States are what this provider sees: a process that answers ``/ping`` is running; a live process
that does not answer yet is starting; a process that was asked to stop and is gone is stopped;
one that is gone without being asked has failed (its log says why). Sizes map to what a single
process can honour: vCPU to ``max_threads`` and memory to ``max_memory_usage`` per query. Node
counts above one have no local meaning (there is no replication between processes here); they
matter for server and cloud clusters, and the wizard says so.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, ClassVar

from models.identifiers import plain_name
from providers.clusters import ClusterProvider, Connection, Deployment, Observation
from providers.clusters.node import CONFIG, LOG_FILE, PID_FILE, NodeConfig, password_digest
from providers.errors import ProviderError

STOP_MARKER = "stopped"  # written by stop(): a missing process is then stopped, not failed
USERNAME = "default"
# How long stop/delete wait for a process to exit after SIGTERM before SIGKILL.
EXIT_GRACE_SECONDS = 15.0


class EmbeddedClusterProvider(ClusterProvider):
    provider_type: ClassVar[str] = "embedded"
    label: ClassVar[str] = "Embedded (this machine)"
    regions: ClassVar[tuple[str, ...]] = ("local",)

    def __init__(self, home: str | Path, *, host: str = "127.0.0.1") -> None:
        self.root = Path(home).expanduser().resolve() / "clusters"
        self.host = host

    # Actions -----------------------------------------------------------------------------

    def create(self, key: str, spec: Deployment) -> dict[str, Any]:
        """Write the node's settings and start it. A retry after a crash reuses the directory:
        the password is set anew (only the handle returned here knows it)."""
        self.check_region(spec.region)
        data = self._data(key)
        data.mkdir(parents=True, exist_ok=True)
        self._terminate(data)
        password = secrets.token_urlsafe(18)
        salt = secrets.token_hex(8)
        port = _free_port(self.host)
        NodeConfig(
            port=port,
            username=USERNAME,
            password_sha256=password_digest(salt, password),
            salt=salt,
            database=plain_name(spec.name.replace("-", "_")),
            host=self.host,
            **_limits(spec),
        ).write(data)
        (data / STOP_MARKER).unlink(missing_ok=True)
        self._spawn(data)
        return {"key": key, "password": password}

    def start(self, handle: dict[str, Any]) -> dict[str, Any]:
        data = self._existing(handle)
        (data / STOP_MARKER).unlink(missing_ok=True)
        if self._pid(data) is None:
            self._spawn(data)
        return handle

    def stop(self, handle: dict[str, Any]) -> dict[str, Any]:
        data = self._existing(handle)
        (data / STOP_MARKER).touch()
        pid = self._pid(data)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
        return handle

    def resize(self, handle: dict[str, Any], spec: Deployment) -> dict[str, Any]:
        """New limits take effect on the node's next start; a running node is restarted."""
        data = self._existing(handle)
        config = NodeConfig.read(data)
        NodeConfig(**{**config.__dict__, **_limits(spec)}).write(data)
        if self._pid(data) is not None:
            self._terminate(data)
            self._spawn(data)
        return handle

    def delete(self, handle: dict[str, Any]) -> None:
        data = self._data(handle["key"])
        if data.exists():
            self._terminate(data)
            shutil.rmtree(data)

    # Observation -------------------------------------------------------------------------

    def observe(self, handle: dict[str, Any]) -> Observation:
        data = self._data(handle["key"])
        if not (data / CONFIG).exists():
            return Observation("deleted", "no data directory")
        pid = self._pid(data)
        stopping = (data / STOP_MARKER).exists()
        if pid is None:
            if stopping:
                return Observation("stopped", "the node process is not running, as asked")
            return Observation("failed", "the node process exited: " + self._log_tail(data))
        if stopping:
            return Observation("stopping", f"waiting for process {pid} to exit")
        config = NodeConfig.read(data)
        try:
            with urllib.request.urlopen(
                f"http://{config.host}:{config.port}/ping", timeout=2
            ) as answer:
                answered = answer.status == 200
        except (urllib.error.URLError, OSError) as exc:
            return Observation("starting", f"process {pid} does not answer yet ({exc})")
        if not answered:
            return Observation("degraded", f"process {pid} answered /ping with an error")
        return Observation("running", f"process {pid} answers on port {config.port}", {"pid": pid})

    def connection(self, handle: dict[str, Any]) -> Connection:
        config = NodeConfig.read(self._existing(handle))
        return Connection(
            host=config.host,
            port=config.port,
            username=config.username,
            password=handle["password"],
            database=config.database,
        )

    # Processes ---------------------------------------------------------------------------

    def _data(self, key: str) -> Path:
        return self.root / plain_name(key)

    def _existing(self, handle: dict[str, Any]) -> Path:
        data = self._data(handle["key"])
        if not (data / CONFIG).exists():
            raise ProviderError(f"Embedded cluster {handle['key']!r} has no data directory.")
        return data

    def _spawn(self, data: Path) -> None:
        """Start the node as a daemon (it survives the app's restart) and wait only for the
        launcher, which exits once the node has written its pid."""
        (data / PID_FILE).unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, "-m", "providers.clusters.node", "--detach", str(data)],
            check=True,
            stdin=subprocess.DEVNULL,
            cwd=Path(__file__).resolve().parent.parent,
            timeout=30,
        )

    @staticmethod
    def _pid(data: Path) -> int | None:
        """The node's process id, if that process is alive and is this node."""
        try:
            pid = int((data / PID_FILE).read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (OSError, ValueError):
            return None
        if str(data).encode() not in cmdline or stat.rsplit(")", 1)[1].split()[0] == "Z":
            return None
        return pid

    def _terminate(self, data: Path) -> None:
        pid = self._pid(data)
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + EXIT_GRACE_SECONDS
        while self._pid(data) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._pid(data) is not None:
            os.kill(pid, signal.SIGKILL)

    @staticmethod
    def _log_tail(data: Path, lines: int = 5) -> str:
        try:
            text = (data / LOG_FILE).read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " | ".join(text[-lines:]) or "no output"


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _limits(spec: Deployment) -> dict[str, int]:
    return {
        "max_threads": min(spec.size.vcpu_per_node, os.cpu_count() or 1),
        "max_memory_usage": spec.size.memory_gib_per_node * 1024**3,
    }
