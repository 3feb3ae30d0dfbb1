"""A real API server for the tests: ``tests/app/api/serve_api.py`` in a subprocess on a free
port, with its own CURVEHOUSE_HOME (SQLite metadata store, embedded chDB engine, cluster
nodes) and its own TMPDIR (so uploads can be checked for leftovers).

The test process shares the home's SQLite file to seed accounts and tokens, and runs the
cluster lifecycle as the operator (polling, preparing states, cleaning up): embedded cluster
nodes are processes of their own, so that needs no engine here. Curves go in through the API.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from app.clusters.lifecycle import delete_cluster
from models import accounts
from models.access import operator
from models.settings import Settings
from models.store import MetadataStore, open_metadata
from models.tables import Cluster, ClusterStatus, Organisation, Project, ProjectMember, Role
from tests.app.clusters.waiting import wait_until
from tests.app.homes.release import unhome

ROOT = Path(__file__).resolve().parents[3]
OPERATOR = operator("test-operator")
ROLES = ("owner", "admin", "engineer", "viewer")
PROJECT_A = "press-shop"
PROJECT_B = "weld-shop"
# Where server clusters may be registered (CURVEHOUSE_SERVER_CLUSTER_HOSTS): this machine's
# loopback address, and the name the seeded server cluster uses.
SERVER_CLUSTER_HOSTS = "127.0.0.1,ch.plant.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def curves_csv(prefix: str, stations=("S1", "S2"), count: int = 4) -> bytes:
    """``count`` small curves, alternating stations and OK/NOK, a minute apart."""
    lines = ["curve_key,x,y,station,result,started_at"]
    for i in range(count):
        station, result = stations[i % len(stations)], ("OK", "NOK")[i % 2]
        started = f"2026-11-16T06:{i:02d}:00Z"
        for x in range(5):
            lines.append(f"{prefix}-{i},{x},{(x * (i + 1)) % 7 + 0.5},{station},{result},{started}")
    return ("\n".join(lines) + "\n").encode()


class ApiServer:
    """``serve_api`` in a subprocess; its output goes to ``home/server.log``."""

    def __init__(self, home: Path, tmpdir: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / "server.log"
        env = {
            **os.environ,
            "CURVEHOUSE_HOME": str(home),
            "TMPDIR": str(tmpdir),
            "CURVEHOUSE_SERVER_CLUSTER_HOSTS": SERVER_CLUSTER_HOSTS,
            **(env or {}),
        }
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.app.api.serve_api", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        try:
            self._wait()
        except Exception:
            self.stop()
            raise

    def _wait(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"API server exited early:\n{self.log.read_text()}")
            try:
                if requests.get(f"{self.url}/api/openapi.json", timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.3)
        raise TimeoutError(f"{self.url} did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class World:
    """Two projects: A (``press-shop``) with an owner, admin, engineer and viewer, and B
    (``weld-shop``) owned by ``outsider``, who is in no role in A."""

    server: ApiServer
    home: Path
    tmpdir: Path
    settings: Settings
    store: MetadataStore
    project_a: int
    project_b: int
    users: dict[str, int]
    tokens: dict[str, str]
    emails: dict[str, str]
    curve_a: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def call(self, method: str, path: str, who: str | None = "owner", **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return requests.request(method, self.url + path, headers=headers, timeout=120, **kwargs)

    def make_user(self, email: str, project_id: int | None = None, role: Role | None = None):
        """An account (made once), optionally with a role in a project; returns its id."""
        with self.store.sessions() as session:
            user = accounts.find_user(session, email) or accounts.create_user(
                session=session, email=email, password=None
            )
            if project_id is not None:
                session.add(ProjectMember(project_id=project_id, user_id=user.id, role=role))
            session.commit()
            return user.id

    def token_for(self, email: str, **kwargs) -> str:
        with self.store.sessions() as session:
            user = accounts.find_user(session, email)
            plain, _ = accounts.issue_token(session=session, user=user, name="test", **kwargs)
            session.commit()
            return plain

    def cluster_status(self, cluster_id: int) -> str:
        with self.store.sessions() as session:
            return str(session.get(Cluster, cluster_id).status)

    def settle(self, cluster_id: int, states: set[str]) -> str:
        return str(
            wait_until(
                store=self.store,
                settings=self.settings,
                cluster_id=cluster_id,
                states=states,
                timeout=90,
            ).status
        )

    def clean_up(self) -> None:
        """Delete every live cluster, so no node process outlives the tests (projects living
        on one go back to the built-in engine first: a home cannot be deleted)."""
        unhome(self.store)
        with self.store.sessions() as session:
            live = session.scalars(
                sa.select(Cluster.id).where(Cluster.status != ClusterStatus.DELETED)
            ).all()
        for cluster_id in live:
            with contextlib.suppress(ValueError):  # deleting already
                delete_cluster(
                    store=self.store, settings=self.settings, cluster_id=cluster_id, actor=OPERATOR
                )


def build_world(home: Path, tmpdir: Path, env: dict[str, str] | None = None) -> World:
    settings = Settings(home=home, server_cluster_hosts=tuple(SERVER_CLUSTER_HOSTS.split(",")))
    store = open_metadata(settings)
    emails = {role: f"{role}@plant.example" for role in (*ROLES, "outsider")}
    with store.sessions() as session:
        org = Organisation(name="Plant")
        a, b = Project(organisation=org, name=PROJECT_A), Project(organisation=org, name=PROJECT_B)
        session.add_all([org, a, b])
        users = {
            role: accounts.create_user(session=session, email=email, password=None)
            for role, email in emails.items()
        }
        for role in ROLES:
            session.add(ProjectMember(project=a, user=users[role], role=Role(role)))
        session.add(ProjectMember(project=b, user=users["outsider"], role=Role.OWNER))
        tokens = {
            role: accounts.issue_token(session=session, user=user, name=f"{role} tests")[0]
            for role, user in users.items()
        }
        session.commit()
        ids = {role: user.id for role, user in users.items()}
        project_a, project_b = a.id, b.id
    server = ApiServer(home, tmpdir, env)
    world = World(server, home, tmpdir, settings, store, project_a, project_b, ids, tokens, emails)
    for who, project, prefix in (("owner", project_a, "A"), ("outsider", project_b, "B")):
        answer = world.call(
            "POST",
            f"/api/projects/{project}/datasets?name=seed.csv",
            who,
            data=curves_csv(prefix),
            headers={"Content-Type": "text/csv"},
        )
        assert answer.status_code == 201, answer.text
    curves = world.call("GET", f"/api/projects/{project_a}/curves").json()
    world.curve_a = curves["items"][0]["curve_id"]
    return world


@contextmanager
def hosted(tmp_path_factory, name: str, env: dict[str, str] | None = None):
    """A world with its own server (``env`` added to its environment), taken down (clusters,
    server, store) afterwards."""
    world = build_world(tmp_path_factory.mktemp(f"{name}-home"), tmp_path_factory.mktemp(name), env)
    try:
        yield world
    finally:
        try:
            world.clean_up()
        finally:
            world.server.stop()
            world.store.close()


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    with hosted(tmp_path_factory, "api") as world:
        yield world
