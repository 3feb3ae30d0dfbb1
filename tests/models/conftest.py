"""Metadata-store fixtures: every store test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``CURVEHOUSE_TEST_POSTGRES_URL`` when set; otherwise a throwaway cluster
is started from Debian's ``initdb``/``pg_ctl`` (as the ``postgres`` user when the tests run as
root, since PostgreSQL refuses to run as root) and stopped at the end of the session. Without
either the PostgreSQL variant is skipped, unless ``CURVEHOUSE_REQUIRE_POSTGRES=1`` (set by
``.ci/run``) turns that into a failure.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy.orm import Session, sessionmaker

from models.sealing import attach
from models.store import create_metadata_engine, migrate

HOW_TO = (
    "apt-get install postgresql (CI does this in .ci/run), "
    "or set CURVEHOUSE_TEST_POSTGRES_URL=postgresql+psycopg://user:password@host/postgres"
)


def postgres_bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` live: PATH first, then Debian's versioned directories."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(versions[-1]).parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary directory, on a free port, trusting local logins."""

    user = "curvehouse"

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="curvehouse-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.runas: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")  # KeyError: no postgres user to run as
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.runas = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.runas, str(self.bin_dir / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}{tail}")

    def start(self) -> None:
        self._run(
            "initdb",
            *("-D", str(self.data), "-U", self.user, "-A", "trust"),
            *("-E", "UTF8", "--locale=C", "--no-sync"),
        )
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.root / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "60", "start"
        )

    def stop(self) -> None:
        try:
            if self.data.exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CURVEHOUSE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required (CURVEHOUSE_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(f"no PostgreSQL: {reason}; {HOW_TO}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL to a PostgreSQL server on which the tests may create and drop databases."""
    configured = os.environ.get("CURVEHOUSE_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        _unavailable("initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin")
    try:
        server = ThrowawayPostgres(bin_dir)
    except KeyError:
        _unavailable("running as root and there is no 'postgres' user to run the server as")
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[sa.URL]:
    """A fresh, empty database on the PostgreSQL server, dropped afterwards."""
    name = f"curvehouse_test_{uuid.uuid4().hex[:12]}"
    admin = create_metadata_engine(postgres_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.make_url(postgres_url).set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def metadata_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | sa.URL:
    """An empty database's URL on each backend the store supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'curvehouse.db'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def engine(metadata_url: str | sa.URL) -> Iterator[sa.Engine]:
    """An engine on the empty database; not migrated, so tests choose the revision. Cluster
    secrets are sealed with a key made for the test, as :func:`open_metadata` would."""
    engine = create_metadata_engine(metadata_url)
    attach(engine, MultiFernet([Fernet(Fernet.generate_key())]))
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: sa.Engine) -> sessionmaker[Session]:
    """Sessions on a freshly migrated store (SQLite, and PostgreSQL when available)."""
    migrate(engine)
    return sessionmaker(engine)
