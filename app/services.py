"""The long-lived things a process builds from its settings, once, and hands to whoever serves.

``curvehouse serve`` builds one :class:`Services` and passes it to every page factory, the REST
API, sign-in and the cluster poller; each CLI command builds its own; tests build theirs. Nothing
here is a module-level singleton: two ``Services`` are two sets of stores, which is what a test
with its own home wants.

Each part is built on first use (once, under a lock: sessions and the API's threads may ask
together), so a command that only needs the metadata store never opens the engine.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from models.settings import Settings
from models.store import MetadataStore, open_metadata
from pipelines.curves import Curves
from pipelines.following import Following
from pipelines.homes import Homes
from pipelines.hot import HotCache
from pipelines.previews import previews
from pipelines.store import STALE_SECONDS, CurveStore
from pipelines.views import CurveFilter
from providers.engines import Engine, engine_from_settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from app.api.uploads import ImportGate

MIB = 1024 * 1024
log = logging.getLogger(__name__)
T = TypeVar("T")


class Services:
    """The engine (and its schema step), the metadata store and the hot cache of one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: dict[str, Any] = {}
        self._build_lock = threading.RLock()
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        self._warm_lock = threading.Lock()
        self._warming: threading.Thread | None = None
        self._warm_again = False
        # Where publishers reach this process's MQTT listener ("host:port"), once it runs.
        self.mqtt_address: str | None = None
        # On a plant's broker, how each broker feed's listener stands (feed id -> words), once
        # the listener runs in this process (pipelines.live.feeds.FeedListeners.state).
        self.feed_state: Callable[[int], str] | None = None

    def _once(self, name: str, build: Callable[[], T]) -> T:
        with self._build_lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]

    @property
    def engine(self) -> Engine:
        """Where the curves live: hands out a new clickhouse-connect client per caller."""
        return self._once("engine", lambda: engine_from_settings(self.settings))

    @property
    def metadata(self) -> MetadataStore:
        """The migrated metadata store (users, projects, clusters); its engine pools
        connections for every session and thread."""
        return self._once("metadata", lambda: open_metadata(self.settings))

    @property
    def hot(self) -> HotCache:
        """Filters' samples in memory, shared by every session (entries are read-only)."""
        return self._once(
            "hot",
            lambda: HotCache(
                self.settings.hot_cache_mb * MIB, after_load=self.engine.release_memory
            ),
        )

    @property
    def following(self) -> Following:
        """Live pages' pictures of held filters, shared by every session following a line."""
        return self._once("following", Following)

    @property
    def imports(self) -> ImportGate:
        """Where every import of this process runs, from the API and the Projects page alike,
        so one person's imports at once are counted across both."""
        from app.api.uploads import ImportGate

        return self._once("imports", lambda: ImportGate.of(self.settings))

    def warm_explorer(self) -> threading.Thread:
        """In the background, make the Overview's previews, and hold the built-in engine's
        processes in memory, the largest first, as far as ``CURVEHOUSE_HOT_CACHE_MB`` allows:
        the filters the explorer opens on and offers first. Called when the server starts and
        after each import through the app; asked again while warming, it warms once more when
        done (an import committed meanwhile), never twice at once."""
        with self._warm_lock:
            self._warm_again = True
            if self._warming is None:
                self._warming = threading.Thread(
                    target=self._warm_quietly, name="curvehouse-warm", daemon=True
                )
                self._warming.start()
            return self._warming

    def _warm_quietly(self) -> None:
        while True:
            with self._warm_lock:
                if not self._warm_again:
                    self._warming = None
                    return
                self._warm_again = False
            try:
                held = self._warm()
            except Exception:  # only a head start: views load on demand as before
                log.exception("holding the explorer's curves in memory failed")
            else:
                log.info("holding %d filter(s) of curves in memory for the explorer", held)

    def _warm(self) -> int:
        """:meth:`warm_explorer`'s work, here and now: how many filters are held."""
        store = self.open_store()
        try:
            # The Overview's previews first (about a second): every visitor's landing page.
            previews(self.hot, store.client, store.database, scope=self.homes.builtin.key)
            if self.settings.hot_cache_mb <= 0:
                return 0
            chosen = Curves(store.client, store.database).processes_by_project()
            filters = [
                CurveFilter.of(project=project, process=process)
                for project, process in zip(chosen["project"], chosen["process"], strict=True)
            ]
            return self.hot.warm(
                store.client, store.database, filters, scope=self.homes.builtin.key
            )
        finally:
            store.client.close()

    @property
    def homes(self) -> Homes:
        """Where each project's curves live (the built-in engine or a cluster), and stores on
        those places: what every reader and writer of a project's curves goes through."""
        return self._once("homes", lambda: Homes(self.settings, self.metadata, self.open_store))

    def open_store(self) -> CurveStore:
        """The curve tables on a new client. The first call migrates the schema and sweeps
        leftover staging tables; later ones only open a client."""
        settings = self.settings
        client = self.engine.client()
        with self._schema_lock:
            if self._schema_ready:
                return CurveStore(client, settings.database)
            # The engine in this process: no import of another process can be in flight, so
            # every staging table is a leftover. Through a server's endpoint, or on a server,
            # another process may be importing.
            stale_after = 0 if self.engine.in_process else STALE_SECONDS
            store = CurveStore.open(
                client,
                settings.database,
                sweep_stale_after=stale_after,
                cluster=settings.clickhouse_cluster,
            )
            self._schema_ready = True
            return store

    def client(self) -> Client:
        """A new engine client on the migrated schema, for one session or one runner; the
        caller closes it."""
        return self.open_store().client

    @contextmanager
    def curves(self) -> Iterator[Curves]:
        """Every stored curve (the operator's reader) on a client of its own, closed after."""
        store = self.open_store()
        try:
            yield Curves(store.client, store.database)
        finally:
            store.client.close()

    def close(self) -> None:
        """Release what was built: the metadata store's connections and the engine's clients
        (after a warm-up under way, which holds a client, has finished)."""
        with self._warm_lock:
            self._warm_again = False  # no round after the one under way
            warming = self._warming
        if warming is not None:
            warming.join()
        with self._build_lock:
            metadata, engine = self._built.pop("metadata", None), self._built.pop("engine", None)
            homes = self._built.pop("homes", None)
            imports = self._built.pop("imports", None)
        if imports is not None:
            imports.executor.shutdown(wait=False)  # imports in flight finish on their own
        if homes is not None:
            homes.close()
        if metadata is not None:
            metadata.close()
        if engine is not None:
            engine.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
