"""Process-wide wiring: settings → provider → schema, done once per process.

Sessions ask for their own client (:func:`session_client`), so no query state is shared
between browser tabs.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from models import accounts
from models.access import Action, Principal, allows, require, visible_projects
from models.audit import audit
from models.settings import Settings, get_settings
from models.store import MetadataStore, open_metadata
from pipelines.curves import Curves
from pipelines.hot import HotCache
from pipelines.store import STALE_SECONDS, CurveStore
from providers.engines import Engine, engine_from_settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

_ready: set[tuple[str, str]] = set()
_ready_lock = threading.Lock()


@lru_cache(maxsize=4)
def engine_for(settings: Settings) -> Engine:
    return engine_from_settings(settings)


def open_store(settings: Settings | None = None) -> CurveStore:
    """A store on a new client; migrations and the leftover sweep run once per process."""
    settings = settings or get_settings()
    client = engine_for(settings).client()
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


def default_project(store: MetadataStore) -> int:
    """The project new clusters go into when none is chosen: made on first use."""
    with store.sessions() as session:
        project = accounts.default_project(session)
        session.commit()
        return project.id


def adopt_curve_projects(settings: Settings) -> list[str]:
    """Give every curve ``project`` label in the engine a metadata project (see
    :func:`models.accounts.adopt_projects`); returns the names made."""
    store = open_store(settings)
    labels = Curves(store.client, settings.database).processes_by_project()["project"]
    with metadata_for(settings).sessions() as session:
        made = accounts.adopt_projects(
            session=session, names=[str(label) for label in labels.unique()]
        )
        session.commit()
        return [p.name for p in made]


def curve_label_in_use(settings: Settings, name: str) -> bool:
    """Whether curves labelled ``name`` are stored already. A new project must not take such a
    name: it would hand whoever makes it curves they were never given."""
    store = open_store(settings)
    try:
        return not Curves(store.client, store.database, projects=(name,)).datasets().empty
    finally:
        store.client.close()


def unowned_label(name: str) -> str:
    """Why a project cannot take a name that already labels stored curves."""
    return (
        f"Curves labelled {name!r} are stored already, outside any project; the operator gives "
        "them a project (curvehouse serve does at start). Choose another name."
    )


def record_export(
    store: MetadataStore, who: Principal, kind: str, projects: tuple[str, ...] | None
) -> None:
    """Allow an export from the pages only with ``export_data`` in every project it covers,
    and write it to the audit trail; raises :class:`~models.access.Forbidden` otherwise."""
    if who.is_operator:
        return
    with store.sessions() as session:
        roles = {p.name: (p, role) for p, role in visible_projects(session, who)}
        names = projects if projects is not None else tuple(roles)
        for name in names:
            project, _ = roles[name]
            require(session, who, project.id, Action.EXPORT_DATA)
        for name in names:
            audit(session, who.label, "curves.export", "project", roles[name][0].id, kind=kind)
        session.commit()


def readable_projects(store: MetadataStore, who: Principal) -> tuple[str, ...] | None:
    """The curve project labels ``who`` may view (a metadata project's name is its curves'
    ``project`` label); None for the operator, who sees every curve."""
    if who.is_operator:
        return None
    with store.sessions() as session:
        return tuple(
            p.name for p, role in visible_projects(session, who) if allows(role, Action.VIEW)
        )


@lru_cache(maxsize=4)
def hot_cache(settings: Settings) -> HotCache:
    """The process's hot curves, shared by every session (entries are read-only)."""
    return HotCache(settings.hot_cache_mb * 1024 * 1024)
