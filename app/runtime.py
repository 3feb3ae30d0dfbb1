"""Process-wide wiring: settings → provider → schema, done once per process.

Sessions ask for their own client (:func:`session_client`), so no query state is shared
between browser tabs.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlalchemy as sa

from models.settings import Settings, get_settings
from models.store import MetadataStore, open_metadata
from models.tables import Organisation, Project
from pipelines.hot import HotCache
from pipelines.store import STALE_SECONDS, CurveStore
from providers import Provider, provider_from_settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

_ready: set[tuple[str, str]] = set()
_ready_lock = threading.Lock()


@lru_cache(maxsize=4)
def provider_for(settings: Settings) -> Provider:
    return provider_from_settings(settings)


def open_store(settings: Settings | None = None) -> CurveStore:
    """A store on a new client; migrations and the leftover sweep run once per process."""
    settings = settings or get_settings()
    client = provider_for(settings).client()
    where = settings.clickhouse_url if settings.engine == "server" else str(settings.chdb_path)
    key = (settings.engine, where, settings.database)
    with _ready_lock:
        if key in _ready:
            return CurveStore(client, settings.database)
        # Embedded: this process owns the data directory, so no import of another process can
        # be in flight and every staging table is a leftover.
        stale_after = 0 if settings.engine == "embedded" else STALE_SECONDS
        store = CurveStore.open(
            client,
            settings.database,
            sweep_stale_after=stale_after,
            cluster=settings.clickhouse_cluster,
        )
        _ready.add(key)
        return store


def session_client(settings: Settings | None = None) -> Client:
    return open_store(settings).client


@lru_cache(maxsize=4)
def metadata_for(settings: Settings) -> MetadataStore:
    """The migrated metadata store, opened once per process (its engine pools connections)."""
    return open_metadata(settings)


LOCAL_ORGANISATION = "Local"
DEFAULT_PROJECT = "Default project"


def default_project(store: MetadataStore) -> int:
    """The project clusters go into until projects and login exist: made on first use."""
    with store.sessions() as session:
        project = session.scalar(sa.select(Project).order_by(Project.id).limit(1))
        if project is None:
            organisation = session.scalar(
                sa.select(Organisation).where(Organisation.name == LOCAL_ORGANISATION)
            ) or Organisation(name=LOCAL_ORGANISATION)
            project = Project(organisation=organisation, name=DEFAULT_PROJECT)
            session.add(project)
            session.commit()
        return project.id


@lru_cache(maxsize=4)
def hot_cache(settings: Settings) -> HotCache:
    """The process's hot curves, shared by every session (entries are read-only)."""
    return HotCache(settings.hot_cache_mb * 1024 * 1024)
