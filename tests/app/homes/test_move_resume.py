"""The demo (10k curves at full size) moved from the built-in engine to an embedded cluster by
a real ``curvehouse serve``, killed with SIGKILL mid-copy and started again: the new server's
mover takes over the dead one's lease, finishes, and both sides' counts and checksums agree,
with no curve twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from app.clusters.lifecycle import create_cluster, delete_cluster
from app.homes.moves import request_move
from models.settings import Settings
from models.store import open_metadata
from models.tables import AuditEvent, Cluster, MoveState, Project, ProjectMove
from pipelines.homes import Homes
from providers.clusters.configured import provider_for
from tests.app.api.conftest import OPERATOR
from tests.app.clusters.test_lifecycle import request
from tests.app.clusters.waiting import wait_until
from tests.app.homes.release import unhome
from tests.app.test_engine_endpoint import CLI, ROOT, command, free_port

pytestmark = pytest.mark.integration
# The 10k demo with CURVEHOUSE_BENCH_SIZE=full (make bench's size); 1,500 curves (about 35
# batches of 1 MB, the kill lands after the first one or two) keep make test short.
DEMO = 10_000 if os.environ.get("CURVEHOUSE_BENCH_SIZE") == "full" else 1_500


class Server:
    """``curvehouse serve`` on ``home``, moving in 1 MB batches."""

    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.log = (home / "serve.log").open("a")
        self.process = subprocess.Popen(
            [CLI, "serve", "--port", str(self.port), "--address", "127.0.0.1"],
            env={**os.environ, "CURVEHOUSE_HOME": str(home), "CURVEHOUSE_MOVE_BATCH_MB": "1"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 120
        while True:
            assert self.process.poll() is None, (home / "serve.log").read_text()
            try:
                requests.get(f"http://127.0.0.1:{self.port}/login", timeout=5)
                return
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.3)

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=60)
        self.log.close()


def move_row(store) -> ProjectMove:
    with store.sessions() as session:
        move = session.scalar(sa.select(ProjectMove).order_by(ProjectMove.id.desc()).limit(1))
        session.expunge(move)
        return move


def until(store, done, timeout: float = 240.0) -> ProjectMove:
    deadline = time.monotonic() + timeout
    while True:
        move = move_row(store)
        if done(move) or time.monotonic() > deadline:
            return move
        time.sleep(0.2)


def test_a_move_killed_mid_copy_resumes_in_a_restarted_server(tmp_path):
    home = tmp_path / "home"
    made = command(home, "demo", "--curves", str(DEMO), timeout=600)
    assert made.returncode == 0, made.stderr
    settings = Settings(home=home)
    store = open_metadata(settings)
    server = Server(home)
    try:
        with store.sessions() as session:
            demo = session.scalar(sa.select(Project.id).where(Project.name == "demo"))
        cluster = create_cluster(
            store=store, settings=settings, request=request(demo, name="line-prod"), actor=OPERATOR
        )
        assert (
            wait_until(
                store=store, settings=settings, cluster_id=cluster.id, states={"running"}
            ).status
            == "running"
        )
        homes = Homes(settings, store, builtin=lambda: None)
        request_move(
            store=store, homes=homes, actor=OPERATOR, project_id=demo, to_cluster_id=cluster.id
        )
        copying = until(store, lambda m: m.curves_done > 0 or m.state is not MoveState.COPYING)
        assert copying.state is MoveState.COPYING and 0 < copying.curves_done < DEMO, copying
        dead = copying.lease_owner
        server.process.kill()  # SIGKILL: no clean-up of any kind
        server.process.wait(timeout=30)
        server.log.close()
        assert move_row(store).lease_owner == dead

        server = Server(home)
        moved = until(store, lambda m: m.state in (MoveState.SWITCHED, MoveState.FAILED))
        assert moved.state is MoveState.SWITCHED, moved.detail
        assert moved.checks["source"] == moved.checks["target"]
        assert moved.checks["target"]["curves"] == DEMO
        with store.sessions() as session:
            cluster_row = session.get(Cluster, cluster.id)
            connection = provider_for(settings, cluster_row).connection(
                cluster_row.provider_config["handle"]
            )
            resumed = session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == "project.move.resume")
            ).all()
            assert session.get(Project, demo).home_cluster_id == cluster.id
        assert [r.detail["previous"] for r in resumed] == [dead]
        with connection.client() as client:
            rows, distinct = client.query(
                "SELECT count(), uniqExact(curve_id) FROM curves WHERE project = 'demo'"
            ).result_rows[0]
        assert rows == distinct == DEMO
    finally:
        server.stop()
        unhome(store)
        with store.sessions() as session:
            live = session.scalars(sa.select(Cluster.id).where(Cluster.status != "deleted")).all()
        for cluster_id in live:
            delete_cluster(store=store, settings=settings, cluster_id=cluster_id, actor=OPERATOR)
        store.close()
