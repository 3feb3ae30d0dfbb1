"""SIGKILL of a listener process mid-stream, twice, each time between its commit and its acks:
every published curve is stored exactly once."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import sessionmaker

from models.store import create_metadata_engine, migrate
from models.tables import Organisation, Project

ROOT = Path(__file__).resolve().parents[3]
N = 300


class Process:
    def __init__(self, *args: str, module: str = "tests.pipelines.live.listen_process", env=None):
        self.popen = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.popen.stdout:
            self.lines.put(line.strip())

    def expect(self, prefix: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0 and self.popen.poll() is None, f"no {prefix!r} line"
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line.startswith(prefix):
                return line

    def kill(self) -> None:
        self.popen.kill()
        self.close()

    def close(self) -> None:
        self.popen.wait(30)
        self.reader.join(5)
        self.popen.stdout.close()


@pytest.mark.integration
def test_sigkill_mid_stream_stores_every_curve_once(broker, gateway, tmp_path):
    meta = tmp_path / "meta.db"
    engine = create_metadata_engine(f"sqlite:///{meta}")
    migrate(engine)
    with sessionmaker(engine)() as session:
        session.add(Project(name="demo", organisation=Organisation(name="Plant")))
        session.commit()
    engine.dispose()
    args = ("listen", str(tmp_path / "chdb"), str(meta), str(broker.port))
    args += (broker.service_secret(),)

    listener = Process(*args)
    listener.expect("ready")
    sent = threading.Event()

    def publish() -> None:
        x = np.linspace(0, 1, 50)
        for i in range(N):
            body = {"curve_key": f"S{i:05d}/ST010", "x": x.tolist(), "y": (x * i).tolist()}
            gateway.publish("curvehouse/demo/curves", json.dumps(body))
            time.sleep(0.005)
        sent.set()

    publisher = threading.Thread(target=publish)
    publisher.start()
    skipped = []
    try:
        for _kill in range(2):
            listener.expect("committed")  # committed, its acks not yet sent
            listener.kill()
            listener = Process(*args)
            listener.expect("ready")
        line = listener.expect("committed")
        skipped.append(int(line.split()[3]))  # the redelivered batch was skipped
        publisher.join(30)
        assert sent.is_set()
        while int(line.split()[1]) < N:
            line = listener.expect("committed")
    finally:
        listener.popen.terminate()
        listener.close()
        publisher.join(30)
    counted = Process("count", str(tmp_path / "chdb"))
    stored = json.loads(counted.expect("{"))
    counted.close()
    assert stored == {"rows": N, "keys": N, "listed": N}
    assert skipped[0] > 0
