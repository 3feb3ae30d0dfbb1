"""Open the metadata store: an engine, its schema migrated to this code's revision, sessions.

The default store is a SQLite file in ``CURVEHOUSE_HOME``; ``CURVEHOUSE_DATABASE_URL`` points at
PostgreSQL instead (``postgresql+psycopg://user:password@host/curvehouse``, with
``pip install 'psycopg[binary]'``). Both are tested. The database should be Curvehouse's own:
its tables have plain names (``users``, ``projects``) and Alembic's ledger is ``alembic_version``.

Migrations run on every start and are a no-op when the store is current. A store migrated by a
newer Curvehouse is refused rather than used, because this code cannot know what changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import MultiFernet
from sqlalchemy.orm import Session, sessionmaker

from models.home import private_home
from models.sealing import attach, has_sealed, load_keys, seal_existing
from models.settings import Settings
from models.tables import BrokerFeed, Cluster

# What the store keeps sealed: cluster secrets and the broker logins of feeds.
SEALED_COLUMNS = ((Cluster.__table__, "provider_config"), (BrokerFeed.__table__, "login"))

MIGRATIONS = Path(__file__).with_name("migrations")
# A bare backend name gets the one driver Curvehouse is tested with, and the package it needs.
DEFAULT_DRIVERS = {"postgresql": "psycopg", "postgres": "psycopg"}
DRIVER_PACKAGES = {"psycopg": "psycopg[binary]"}


class MetadataError(RuntimeError):
    """The metadata store cannot be opened as configured."""


class MetadataDriverError(MetadataError):
    """The database driver for ``CURVEHOUSE_DATABASE_URL`` is not installed."""


class MetadataVersionError(MetadataError):
    """The store was migrated by a newer Curvehouse than this one."""


def metadata_url(url: str | sa.URL) -> sa.URL:
    """Parse ``url``; ``postgresql://`` and ``postgres://`` become ``postgresql+psycopg://``.

    Raises :class:`MetadataDriverError` naming the package when the driver is missing, instead
    of SQLAlchemy's ``No module named 'psycopg'``.
    """
    parsed = sa.make_url(url)
    if parsed.drivername in DEFAULT_DRIVERS:
        parsed = parsed.set(drivername=f"postgresql+{DEFAULT_DRIVERS[parsed.drivername]}")
    driver = parsed.get_driver_name()
    if driver in DRIVER_PACKAGES and find_spec(driver) is None:
        raise MetadataDriverError(
            f"The metadata database {parsed.render_as_string(hide_password=True)} needs the "
            f"{driver} driver: pip install '{DRIVER_PACKAGES[driver]}'"
        )
    return parsed


def _enforce_foreign_keys(dbapi_connection, connection_record) -> None:
    # SQLite ignores foreign keys unless asked, per connection: no cascades, no RESTRICT.
    dbapi_connection.execute("PRAGMA foreign_keys = ON")
    # Deleted and overwritten rows are zeroed, not left in free pages of the file (a value
    # stored in clear before it was sealed, a revoked token's row).
    dbapi_connection.execute("PRAGMA secure_delete = ON")


def create_metadata_engine(url: str | sa.URL) -> sa.Engine:
    """An engine for ``url`` that behaves the same on SQLite and PostgreSQL (foreign keys on)."""
    engine = sa.create_engine(metadata_url(url))
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _enforce_foreign_keys)
    return engine


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration, built in code: no ``alembic.ini`` ships or is read.

    :func:`migrate` is the way in; this is for the other Alembic commands (downgrade, history).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The revision this code migrates to."""
    head = _scripts().get_current_head()
    assert head is not None, "models/migrations/versions holds no revision"
    return head


def current_revision(engine: sa.Engine) -> str | None:
    """The store's revision, None when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _refuse_unknown(connection: sa.Connection, scripts: ScriptDirectory) -> None:
    stored = MigrationContext.configure(connection).get_current_heads()
    known = {script.revision for script in scripts.walk_revisions()}
    unknown = [revision for revision in stored if revision not in known]
    if unknown:
        url = connection.engine.url.render_as_string(hide_password=True)
        raise MetadataVersionError(
            f"The metadata database {url} is at revision {', '.join(unknown)}, which this "
            f"Curvehouse does not know (it goes up to {scripts.get_current_head()}). A newer "
            "Curvehouse migrated it: upgrade Curvehouse, or set CURVEHOUSE_DATABASE_URL to "
            "another database."
        )


def migrate(bind: sa.Engine | str | sa.URL, revision: str = "head") -> None:
    """Upgrade the store to ``revision`` (this code's newest by default); safe on every start.

    On PostgreSQL the whole upgrade is one transaction. On SQLite, where DDL cannot be rolled
    back, foreign keys are switched off while tables are rebuilt (dropping a parent table would
    otherwise cascade into its children's rows) and checked afterwards.
    """
    engine = bind if isinstance(bind, sa.Engine) else create_metadata_engine(bind)
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                _set_foreign_keys(connection, on=False)
            try:
                _upgrade(connection, revision)
                if sqlite:
                    _check_foreign_keys(connection)
            finally:
                if sqlite:
                    _set_foreign_keys(connection, on=True)
    finally:
        if engine is not bind:
            engine.dispose()


def _upgrade(connection: sa.Connection, revision: str) -> None:
    with connection.begin():
        _refuse_unknown(connection, _scripts())
        command.upgrade(alembic_config(connection), revision)


def _set_foreign_keys(connection: sa.Connection, *, on: bool) -> None:
    # SQLite ignores this inside a transaction. pysqlite opens none for a PRAGMA; the commit ends
    # SQLAlchemy's implicit one, so the migration can begin its own.
    connection.exec_driver_sql(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    connection.commit()


def _check_foreign_keys(connection: sa.Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    connection.commit()
    if broken:
        raise MetadataError(f"Migration left rows whose parent is missing: {broken[:5]}")


@dataclass(frozen=True)
class MetadataStore:
    """The migrated store: ``sessions()`` opens a session; ``close()`` releases connections.

    Sessions keep loaded attributes after commit (``expire_on_commit=False``), so a page can
    show what it just saved without another query.
    """

    engine: sa.Engine
    sessions: sessionmaker[Session]

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> MetadataStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_metadata(settings: Settings) -> MetadataStore:
    """Open the configured store: create ``home`` (private, see ``models/home.py``) and a
    SQLite file's directory, migrate, attach the key that seals cluster secrets."""
    private_home(settings.home)
    url = metadata_url(settings.metadata_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Made 0600 before SQLite opens it, whatever the process's umask (a notebook's).
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    engine = create_metadata_engine(url)
    try:
        migrate(engine)
        _seal(engine, settings)
    except BaseException:
        engine.dispose()
        raise
    return MetadataStore(engine, sessionmaker(engine, expire_on_commit=False))


def _seal(engine: sa.Engine, settings: Settings) -> None:
    """Attach the key that seals cluster secrets, check it opens those already sealed, and seal
    what an older Curvehouse stored in clear (``models/sealing.py``)."""
    with engine.begin() as connection:
        sealed = any(has_sealed(connection, table, column) for table, column in SEALED_COLUMNS)
        keys = load_keys(settings, create=not sealed)
        attach(engine, MultiFernet(keys))
        for table, column in SEALED_COLUMNS:
            seal_existing(connection, settings, table, column, rotate=len(keys) > 1)
