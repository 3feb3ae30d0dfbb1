"""A cluster node run for tests the way the embedded provider runs it, plus small HTTP helpers
that speak to it without clickhouse-connect (so a test controls every byte it sends)."""

from __future__ import annotations

import base64
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

from providers.clusters.node import NodeConfig, password_digest

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningNode:
    data: Path
    config: NodeConfig
    password: str
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.config.port}"

    def auth(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.config.username}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def post(
        self,
        sql: str | None = None,
        *,
        body: bytes = b"",
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, str]:
        """POST to the node; the status and the body as text, for answers and errors alike."""
        query = dict(params or {})
        if sql is not None and body:
            query["query"] = sql
        data = body if body else (sql or "").encode()
        request = urllib.request.Request(
            f"{self.url}/?{urlencode(query)}",
            data=data,
            headers={**self.auth(), **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def ok(self, sql: str, **kwargs) -> str:
        status, text = self.post(sql, **kwargs)
        assert status == 200, text
        return text

    def peak_rss_kib(self) -> int:
        """The node process's peak resident memory so far (VmHWM)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_node(data: Path, **limits) -> RunningNode:
    """Start ``python -m providers.clusters.node`` on ``data`` in the foreground of a subprocess."""
    data.mkdir(parents=True, exist_ok=True)
    password, salt = secrets.token_urlsafe(12), secrets.token_hex(8)
    config = NodeConfig(
        port=free_port(),
        username="default",
        password_sha256=password_digest(salt, password),
        salt=salt,
        database="plant",
        max_threads=1,
        max_memory_usage=2 * 1024**3,
    )
    config = replace(config, **limits)
    config.write(data)
    with (data / "node.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "providers.clusters.node", str(data)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    node = RunningNode(data, config, password, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((data / "node.log").read_text())
        try:
            with urllib.request.urlopen(f"{node.url}/ping", timeout=1):
                return node
        except OSError:
            time.sleep(0.1)
    node.stop()
    raise TimeoutError("the node did not answer /ping")


class Listener:
    """A TCP port that counts who connects to it: any request a node makes leaves a trace."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]
        self.hits = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                peer, _ = self.socket.accept()
            except OSError:
                return
            self.hits += 1
            peer.close()

    def close(self) -> None:
        self.socket.close()
