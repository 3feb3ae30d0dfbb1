"""Cluster providers: make, observe, start, stop, resize and delete one ClickHouse deployment.

A provider never reports progress it did not see. Actions (``create``, ``start``, ``stop``,
``resize``, ``delete``) ask for a change and return at once; :meth:`ClusterProvider.observe`
says what the deployment is doing now, from a health query or an API answer. The lifecycle
service in ``app/`` records an observation as a state change; nothing moves a cluster forward
because time passed.

A provider's ``handle`` is the JSON-able facts it needs to find its deployment again (a data
directory and port, a database name, a cloud service id). It lives in the metadata store, so
polling resumes after a restart. Every action is idempotent for the same ``key``: retrying a
``create`` that died halfway finishes it or starts over, never makes a second deployment.

What the dashboard and the poller measure on a running cluster is read here too, from its
``system.*`` tables (:meth:`Connection.storage`, :func:`measure`): ``app/`` holds no SQL.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from models.cluster_types import ClusterSpec
from models.identifiers import identifier, plain_name
from models.tables import ClusterStatus
from providers.errors import ProviderError
from providers.registry import Registry

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

# ClickHouse Cloud's service states, which every provider reports in.
STATES = tuple(status.value for status in ClusterStatus)


class ClusterActionError(ProviderError):
    """An action this deployment cannot take (e.g. stopping a server Curvehouse does not run)."""


@dataclass(frozen=True)
class Deployment:
    """What a provider is asked to run: a named cluster of one size in one region."""

    name: str
    region: str
    size: ClusterSpec  # the type and the sizes per node, as the wizard and the cost engine use
    idle_scaling: bool = True
    ip_access: tuple[str, ...] = ("127.0.0.1/32",)


@dataclass(frozen=True)
class Observation:
    """What the provider saw just now."""

    state: str
    detail: str = ""
    facts: dict[str, Any] = field(default_factory=dict)  # e.g. version, replicas

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"{self.state!r} is not a cluster state; use one of {STATES}")


@dataclass(frozen=True)
class Storage:
    """What a cluster's database holds on disk, from ``system.parts`` (active parts only)."""

    bytes_on_disk: int
    rows: int
    tables: int
    nodes: int  # hosts that answered: on a cluster each replica counts its own copy


@dataclass(frozen=True)
class Reading:
    """One health probe: a ``SELECT 1`` round trip and the engine's query counter after it."""

    latency_ms: float
    queries_total: int  # ``system.events`` 'Query' of the node reached: it restarts with it
    # What the counter rose by over the probe's ``SELECT 1`` and its second counter read: two
    # client queries' worth of engine statements (an embedded node runs several per query).
    probe_queries: int


# The query counter of the node reached; a probe reads it before and after its ``SELECT 1``.
QUERY_COUNTER = "SELECT toUInt64(sum(value)) FROM system.events WHERE event = 'Query'"


def measure(client: Client) -> Reading:
    """Probe the node ``client`` reaches: three client queries (counter, ``SELECT 1``, counter),
    so that a query rate can leave the probes themselves out (``models/cluster_health.py``)."""
    before = client.query(QUERY_COUNTER).result_rows[0][0]
    began = time.perf_counter()
    client.query("SELECT 1")
    elapsed = (time.perf_counter() - began) * 1e3
    total = client.query(QUERY_COUNTER).result_rows[0][0]
    return Reading(elapsed, int(total), int(total) - int(before))


@dataclass(frozen=True)
class Connection:
    """How to reach a running cluster with clickhouse-connect, a notebook or curl."""

    host: str
    port: int
    username: str
    password: str
    database: str
    secure: bool = False
    # The ClickHouse cluster the server belongs to, when the database spans several nodes.
    cluster: str | None = None
    # A server cluster's allowed hosts (providers/server_guard.py); None: a deployment
    # Curvehouse runs or the cloud API named, reached without that guard.
    allowed_hosts: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def scheme(self) -> str:
        return "https" if self.secure else "http"

    def _password(self, reveal: bool) -> str:
        return self.password if reveal else "********"

    def url(self, *, reveal: bool = False) -> str:
        """The HTTP URL; paste it into curl with ``?query=SELECT+1``."""
        secret = quote(self.password, safe="") if reveal else "********"
        auth = f"{quote(self.username, safe='')}:{secret}"
        return f"{self.scheme}://{auth}@{self.host}:{self.port}/{quote(self.database)}"

    def python(self, *, reveal: bool = False) -> str:
        """A clickhouse-connect snippet that runs as pasted."""
        return (
            "import clickhouse_connect\n\n"
            "client = clickhouse_connect.get_client(\n"
            f"    host={self.host!r},\n"
            f"    port={self.port},\n"
            f"    username={self.username!r},\n"
            f"    password={self._password(reveal)!r},\n"
            f"    database={self.database!r},\n"
            f"    secure={self.secure},\n"
            ")\n"
            "print(client.query('SELECT version()').result_rows)\n"
        )

    def notebook(self, *, reveal: bool = False) -> str:
        """Curvehouse's notebook entry on this cluster: its curves, counted and drawn."""
        return (
            "from models.settings import Settings\n"
            "from pipelines.notebook import open_curves\n\n"
            "settings = Settings.from_env({\n"
            "    'CURVEHOUSE_ENGINE': 'server',\n"
            f"    'CURVEHOUSE_CLICKHOUSE_URL': {self.url(reveal=reveal)!r},\n"
            + (f"    'CURVEHOUSE_CLICKHOUSE_CLUSTER': {self.cluster!r},\n" if self.cluster else "")
            + "})\n"
            "curves = open_curves(settings)\n"
            "curves.count()\n"
        )

    def system_table(self, name: str) -> str:
        """``system.<name>`` of the node a client reaches, or of every node on a cluster."""
        table = f"system.{plain_name(name)}"
        if self.cluster is None:
            return table
        return f"clusterAllReplicas({identifier(self.cluster)}, {table})"

    def storage(self) -> Storage:
        """Size and rows of the database, summed over every node of a cluster."""
        with self.client() as client:
            size, rows, tables, nodes = client.query(
                "SELECT sum(bytes_on_disk), sum(rows), uniqExact(table), uniqExact(hostName()) "
                f"FROM {self.system_table('parts')} "
                "WHERE active AND database = {d:String}",
                parameters={"d": self.database},
            ).result_rows[0]
        return Storage(int(size), int(rows), int(tables), int(nodes))

    def client(self, **options: Any) -> Client:
        from providers.engines.server import ServerEngine

        return ServerEngine(
            self.url(reveal=True), allowed_hosts=self.allowed_hosts, **options
        ).client()


class ClusterProvider(ABC):
    """One kind of deployment the wizard can create."""

    provider_type: ClassVar[str]  # registry key
    label: ClassVar[str]  # what the wizard calls it
    regions: ClassVar[tuple[str, ...]]  # where it can run

    @abstractmethod
    def create(self, key: str, spec: Deployment) -> dict[str, Any]:
        """Ask for a new deployment named by ``key``; returns its handle."""

    @abstractmethod
    def observe(self, handle: dict[str, Any]) -> Observation:
        """The deployment's state as seen now."""

    @abstractmethod
    def connection(self, handle: dict[str, Any]) -> Connection:
        """Where clients connect, with the secret (callers mask it)."""

    def start(self, handle: dict[str, Any]) -> dict[str, Any]:
        raise ClusterActionError(f"{self.label} clusters cannot be started from Curvehouse.")

    def stop(self, handle: dict[str, Any]) -> dict[str, Any]:
        raise ClusterActionError(f"{self.label} clusters cannot be stopped from Curvehouse.")

    def resize(self, handle: dict[str, Any], spec: Deployment) -> dict[str, Any]:
        raise ClusterActionError(f"{self.label} clusters cannot be resized from Curvehouse.")

    @abstractmethod
    def delete(self, handle: dict[str, Any]) -> None:
        """Remove the deployment and its data; deleting what is gone already is not an error."""

    def failure(self, exc: BaseException) -> str:
        """``exc`` in words fit for the cluster's events and pages. A provider that talks to a
        server someone else runs says it in its own words, never the far side's."""
        return str(exc)

    def check_region(self, region: str) -> None:
        if region not in self.regions:
            raise ProviderError(
                f"{self.label} clusters run in {', '.join(self.regions)}; not in {region!r}."
            )


CLUSTER_PROVIDERS: Registry[ClusterProvider] = Registry(
    "cluster provider",
    {
        "embedded": "providers.clusters.embedded:EmbeddedClusterProvider",
        "server": "providers.clusters.server:ServerClusterProvider",
        "cloud": "providers.clusters.cloud:CloudClusterProvider",
    },
)


def cluster_provider_class(provider_type: str) -> type[ClusterProvider]:
    """The class registered under ``provider_type``: its label and regions, without building
    one (building may need a home, a URL or an API key)."""
    return CLUSTER_PROVIDERS.load(provider_type)


def get_cluster_provider(provider_type: str, **options: Any) -> ClusterProvider:
    """Build the cluster provider registered under ``provider_type``."""
    return CLUSTER_PROVIDERS.build(provider_type, **options)
