"""Where a project's curves live, and a client on that place.

A project's *home* is the built-in engine (``CURVEHOUSE_ENGINE``: chDB under
``CURVEHOUSE_HOME``, or the operator's server) or one of the clusters on the Clusters page
(``projects.home_cluster_id``). Every reader and writer of a project's curves (the explorer,
the Overview, the REST API, imports, the CLI, notebooks) asks :class:`Homes` for the project's
home and a store on it, so a project's curves are written to and read from that one database.

A home that is stopped, starting, failed or going away is refused in words
(:class:`HomeUnavailable`) without a network call; a running one that does not answer is
refused the same way, as ``unreachable``. Nothing else about other projects changes.

No Panel here: notebooks and the CLI resolve homes with the same code as the server.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa

from models.placement import BUILTIN_REGION
from models.settings import Settings
from models.store import MetadataStore
from models.tables import Cluster, ClusterStatus, MoveState, Project, ProjectMove
from pipelines.configured import StoredFeatures
from pipelines.curves import Curves
from pipelines.rules.current import StoredRules
from pipelines.store import STALE_SECONDS, CurveStore
from providers.clusters import Connection
from providers.clusters.configured import provider_for
from providers.engines.server import ServerEngine
from providers.errors import ProviderError

log = logging.getLogger(__name__)

BUILTIN_KEY = "builtin"
UNREACHABLE = "unreachable"
# A cluster home in one of these states is asked; any other is refused without a call.
REACHABLE = frozenset({ClusterStatus.RUNNING, ClusterStatus.DEGRADED})
# How long a cluster's connection details are reused before they are read again (a Cloud
# service's endpoint is an API call; a restarted node may listen on a new port).
CONNECTION_SECONDS = 30.0


@dataclass(frozen=True)
class Home:
    """Where one project's curves live: the built-in engine (``cluster_id`` None) or a cluster."""

    # "builtin" or "cluster-<id>": the memory cache and client pools are per key, and two
    # readings of one home are equal whatever its state was when each was read.
    key: str
    label: str = field(compare=False)  # "the built-in engine", "cluster line9-dev"
    cluster_id: int | None = field(default=None, compare=False)
    status: str = field(default=ClusterStatus.RUNNING.value, compare=False)
    region: str = field(default=BUILTIN_REGION, compare=False)
    provider: str = field(default="built-in", compare=False)

    @property
    def builtin(self) -> bool:
        return self.cluster_id is None

    @property
    def reachable(self) -> bool:
        """Worth a call: the built-in engine, or a running (or degraded) cluster."""
        return self.builtin or self.status in REACHABLE


@dataclass(frozen=True)
class Holding:
    """What one home stores of one project."""

    curves: int = 0
    points: int = 0
    bytes: float = 0.0  # compressed, estimated from the home's bytes per point


class HomeUnavailable(ProviderError):
    """A project's home cannot answer: stopped, starting, failed, going away or unreachable."""

    def __init__(self, home: Home, status: str, *, project: str | None = None, why: str = ""):
        self.home, self.status, self.project = home, status, project
        whose = f"Project {project}'s curves live on" if project else "These curves live on"
        if status == UNREACHABLE:
            said = f"{whose} {home.label}, which does not answer"
            said += f" ({why})." if why else "."
        else:
            said = f"{whose} {home.label}, which is {status}."
            if status in (ClusterStatus.STOPPED, ClusterStatus.FAILED):
                said += " Start it on the Clusters page to see them."
            elif status in (ClusterStatus.STARTING, ClusterStatus.PROVISIONING):
                said += " They can be seen once it is running."
        super().__init__(said)


class ProjectMoving(RuntimeError):
    """Writes to a project wait while its move compares both copies."""


BUILTIN_LABEL = "the built-in engine"


def label_of(cluster: Cluster | None) -> str:
    """Where a project's curves live, in words: its cluster, or None for the built-in engine."""
    return BUILTIN_LABEL if cluster is None else home_of_cluster(cluster).label


def home_of_cluster(cluster: Cluster) -> Home:
    """The home a cluster row stands for."""
    return Home(
        key=f"cluster-{cluster.id}",
        label=f"cluster {cluster.name}",
        cluster_id=cluster.id,
        status=str(cluster.status),
        region=cluster.region or "",
        provider=str(cluster.provider),
    )


@dataclass
class _Reach:
    connection: Connection
    engine: ServerEngine
    token: str  # changes when the address or password does
    read_at: float


class Homes:
    """Resolves projects to homes and opens stores on them, for one process.

    ``builtin`` opens a store on the built-in engine (:meth:`app.services.Services.open_store`
    migrates its schema once); cluster homes are reached through their provider's connection,
    with one engine (and its connection pool) per address, and their schema checked once.
    """

    def __init__(
        self,
        settings: Settings,
        metadata: MetadataStore,
        builtin: Callable[[], CurveStore],
    ) -> None:
        self.settings = settings
        self.metadata = metadata
        self._builtin = builtin
        self.builtin = Home(
            key=BUILTIN_KEY,
            label=BUILTIN_LABEL,
            region="self-managed" if settings.engine == "server" else BUILTIN_REGION,
        )
        self._reach: dict[int, _Reach] = {}
        self._ready: set[str] = set()  # tokens whose schema was checked
        self._lock = threading.Lock()

    # Resolution -------------------------------------------------------------------------

    def of(self, project: str) -> Home:
        """The home of the project named ``project`` (the built-in engine for a name no project
        has: curves imported before projects existed)."""
        return self.of_many([project])[project]

    def of_row(self, project: Project) -> Home:
        """The home of a project row a session has loaded already."""
        cluster = project.home_cluster
        return self.builtin if cluster is None else home_of_cluster(cluster)

    def of_many(self, projects: Iterable[str]) -> dict[str, Home]:
        """Each named project's home, read in one query."""
        names = list(dict.fromkeys(projects))
        homes = dict.fromkeys(names, self.builtin)
        if not names:
            return homes
        with self.metadata.sessions() as session:
            rows = session.execute(
                sa.select(Project.name, Cluster)
                .join(Cluster, Project.home_cluster_id == Cluster.id)
                .where(Project.name.in_(names))
            ).all()
            for name, cluster in rows:
                homes[name] = home_of_cluster(cluster)
        return homes

    def grouped(self, projects: Iterable[str]) -> dict[Home, list[str]]:
        """The projects by home, the built-in engine first, then clusters by id."""
        by_home: dict[Home, list[str]] = {}
        for name, home in self.of_many(projects).items():
            by_home.setdefault(home, []).append(name)
        return dict(sorted(by_home.items(), key=lambda item: item[0].cluster_id or 0))

    def on_clusters(self) -> dict[Home, list[str]]:
        """Every project that lives on a cluster, by cluster."""
        with self.metadata.sessions() as session:
            names = session.scalars(
                sa.select(Project.name).where(Project.home_cluster_id.is_not(None))
            ).all()
        return {h: p for h, p in self.grouped(names).items() if not h.builtin}

    # Stores -----------------------------------------------------------------------------

    def store(self, home: Home, *, project: str | None = None) -> CurveStore:
        """A store on a new client of ``home`` (the caller closes ``store.client``), its schema
        migrated on first use, judging what it writes by the project's current rules.
        :class:`HomeUnavailable` when the home cannot answer."""
        store = self._open(home, project)
        store.rules = StoredRules(self.metadata)
        store.configured = StoredFeatures(self.metadata)
        return store

    def _open(self, home: Home, project: str | None) -> CurveStore:
        if home.builtin:
            return self._builtin()
        if not home.reachable:
            raise HomeUnavailable(home, home.status, project=project)
        reach = self._reached(home, project)
        try:
            client = reach.engine.client()
        except ProviderError as exc:
            self.forget(home)
            raise HomeUnavailable(home, UNREACHABLE, project=project, why=str(exc)) from None
        database = reach.connection.database
        with self._lock:
            ready = reach.token in self._ready
        if ready:
            return CurveStore(client, database)
        try:
            store = CurveStore.open(
                client,
                database,
                sweep_stale_after=STALE_SECONDS,
                cluster=reach.connection.cluster,
            )
        except Exception:
            client.close()
            raise
        with self._lock:
            self._ready.add(reach.token)
        return store

    def token(self, home: Home) -> str:
        """Changes when ``home``'s address or password does: a client opened under another
        token belongs to an old address."""
        if home.builtin:
            return BUILTIN_KEY
        with self._lock:
            reach = self._reach.get(home.cluster_id)
        return reach.token if reach else ""

    def _reached(self, home: Home, project: str | None) -> _Reach:
        with self._lock:
            reach = self._reach.get(home.cluster_id)
            if reach is not None and time.monotonic() - reach.read_at < CONNECTION_SECONDS:
                return reach
        with self.metadata.sessions() as session:
            cluster = session.get(Cluster, home.cluster_id)
            handle = None if cluster is None else cluster.provider_config.get("handle")
            if cluster is None or handle is None:
                raise HomeUnavailable(home, "not provisioned", project=project)
            try:
                connection = provider_for(self.settings, cluster).connection(handle)
            except ProviderError as exc:
                raise HomeUnavailable(home, UNREACHABLE, project=project, why=str(exc)) from None
        url = connection.url(reveal=True)
        token = f"{home.key}:{hashlib.sha256(url.encode()).hexdigest()[:16]}"
        with self._lock:
            old = self._reach.get(home.cluster_id)
            if old is not None and old.token == token:
                old.read_at = time.monotonic()
                return old
            engine = ServerEngine(url, allowed_hosts=connection.allowed_hosts)
            reach = self._reach[home.cluster_id] = _Reach(
                connection, engine, token, time.monotonic()
            )
        return reach

    def forget(self, home: Home) -> None:
        """Read ``home``'s connection again on next use (it moved, or stopped answering)."""
        if home.builtin:
            return
        with self._lock:
            reach = self._reach.pop(home.cluster_id, None)
            if reach is not None:
                self._ready.discard(reach.token)

    # Readers and writers ----------------------------------------------------------------

    @contextmanager
    def reader(self, project: str) -> Iterator[Curves]:
        """The project's curves on a client of its home, closed after."""
        with self._reading(self.of(project), (project,), project=project) as curves:
            yield curves

    @contextmanager
    def _reading(
        self, home: Home, projects: tuple[str, ...], *, project: str | None = None
    ) -> Iterator[Curves]:
        """``projects``' curves on a client of ``home``, closed after (``project`` names the
        one a refusal speaks of)."""
        store = self.store(home, project=project)
        try:
            yield Curves(store.client, store.database, projects=projects)
        finally:
            store.client.close()

    def holdings(self, home: Home, projects: Iterable[str]) -> dict[str, Holding]:
        """What ``home`` stores of each named project (nothing yet: zeros). ClickHouse does not
        split a table's bytes by project, so bytes are points × the home's compressed bytes per
        point."""
        names = tuple(projects)
        held = dict.fromkeys(names, Holding())
        if not names:
            return held
        with self._reading(home, names) as curves:
            frame = curves.committed_per_project()
            per_point = Curves(curves.client, curves.database).bytes_per_point() or 0.0
        for name, curves, points in frame.itertuples(index=False):
            held[str(name)] = Holding(int(curves), int(points), int(points) * per_point)
        return held

    def busiest(self, projects: Iterable[str]) -> str | None:
        """Of ``projects``, the one with most curves on the built-in engine (the first of a
        tie; None when none holds a curve there): what a page opens on when its address names
        no project, as the explorer opens on the most curves. Cluster homes are not asked, so
        a stopped cluster does not hold up the page."""
        local = tuple(self.grouped(projects).get(self.builtin, []))
        if not local:
            return None
        try:
            with self._reading(self.builtin, local) as curves:
                frame = curves.committed_per_project()
        except Exception:  # a convenience only: the page opens on the first project instead
            log.warning("could not count the projects' curves", exc_info=True)
            return None
        counts = dict(zip(frame["project"], frame["curves"], strict=True))
        best = max(local, key=lambda name: counts.get(name, 0))
        return best if counts.get(best, 0) else None

    def for_writing(self, project: str) -> Home:
        """The project's home, to import into; :class:`ProjectMoving` while a move compares
        the two copies (a write then would be missed by the check)."""
        with self.metadata.sessions() as session:
            checking = session.scalar(
                sa.select(ProjectMove.id)
                .join(Project, Project.id == ProjectMove.project_id)
                .where(Project.name == project, ProjectMove.state == MoveState.CHECKING)
            )
        if checking is not None:
            raise ProjectMoving(
                f"Project {project} is being moved and its two copies are being compared; "
                "try the import again in a minute."
            )
        return self.of(project)

    def close(self) -> None:
        with self._lock:
            self._reach.clear()
            self._ready.clear()
