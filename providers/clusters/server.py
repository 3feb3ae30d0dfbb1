"""Server clusters: a database on a self-managed ClickHouse server that Curvehouse reaches by URL.

Curvehouse does not run that server, so it cannot start, stop or resize it: those actions say so.
Creating a cluster validates the connection and creates its database; observing it runs
``SELECT 1`` and reads the version and, for a multi-node deployment, its replicas from
``system.clusters``. Deleting drops the database (and only that database).

Given a ClickHouse cluster name, every DDL runs ``ON CLUSTER`` and the connection carries the
name, so the curve schema is created replicated and sharded (``pipelines.schema.Table``).

The URL is a project owner's, not the operator's: it must match ``allowed_hosts``
(``CURVEHOUSE_SERVER_CLUSTER_HOSTS``; empty, the default, allows none), and every connection
goes through ``providers/server_guard.py``. What the server answers reaches events and pages
only as facts we checked (a version number, a count) or as our own words about a failure.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from models.identifiers import identifier, on_cluster, plain_name
from providers.clusters import ClusterProvider, Connection, Deployment, Observation
from providers.engines.server import ServerEngine, redact
from providers.errors import ProviderError
from providers.server_guard import failure_words

# A version as ClickHouse reports it (24.8.4.13, 26.1.1.1-lts); anything else is not shown.
VERSION = re.compile(r"\d{1,4}(\.\d{1,6}){1,4}([.-][A-Za-z0-9]{1,12}){0,3}")


class ServerClusterProvider(ClusterProvider):
    provider_type: ClassVar[str] = "server"
    label: ClassVar[str] = "Self-managed ClickHouse server"
    regions: ClassVar[tuple[str, ...]] = ("self-managed",)

    def __init__(
        self, url: str, *, cluster: str | None = None, allowed_hosts: tuple[str, ...] = ()
    ) -> None:
        """``url``: an account that may create databases, e.g.
        ``http://admin:secret@clickhouse.plant.local:8123``; ``cluster``: the ClickHouse cluster
        name for ``ON CLUSTER`` DDL, when the server is one node of several; ``allowed_hosts``:
        the installation's allowed host patterns (a host outside them is refused here, before
        any request)."""
        self.allowed_hosts = tuple(allowed_hosts)
        self._server = ServerEngine(url, allowed_hosts=self.allowed_hosts)
        self.url = url
        self.cluster = plain_name(cluster) if cluster else None

    def failure(self, exc: BaseException) -> str:
        return failure_words(exc, urlsplit(self.url))

    @contextmanager
    def _talking(self) -> Iterator[Any]:
        """A client on the server; whatever goes wrong comes out as a :class:`ProviderError`
        in our words."""
        try:
            with self._server.client() as client:
                yield client
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(self.failure(exc)) from None

    def create(self, key: str, spec: Deployment) -> dict[str, Any]:
        self.check_region(spec.region)
        database = plain_name(spec.name.replace("-", "_"))
        with self._talking() as client:
            if (
                self.cluster
                and not client.query(
                    "SELECT count() FROM system.clusters WHERE cluster = {c:String}",
                    parameters={"c": self.cluster},
                ).result_rows[0][0]
            ):
                raise ProviderError(
                    f"{redact(self.url)} knows no ClickHouse cluster named {self.cluster!r} "
                    "(system.clusters); check the name in its remote_servers configuration."
                )
            client.command(
                f"CREATE DATABASE IF NOT EXISTS {identifier(database)}{on_cluster(self.cluster)}"
            )
        return {"key": key, "database": database}

    def observe(self, handle: dict[str, Any]) -> Observation:
        try:
            with self._talking() as client:
                answer = str(client.query("SELECT version()").result_rows[0][0])
                exists = int(
                    client.query(
                        "SELECT count() FROM system.databases WHERE name = {d:String}",
                        parameters={"d": handle["database"]},
                    ).result_rows[0][0]
                )
                version = answer if VERSION.fullmatch(answer) else "(unrecognised version)"
                facts: dict[str, Any] = {"version": version}
                if self.cluster:
                    facts["replicas"] = int(
                        client.query(
                            "SELECT count() FROM system.clusters WHERE cluster = {c:String}",
                            parameters={"c": self.cluster},
                        ).result_rows[0][0]
                    )
        except (ProviderError, ValueError, TypeError) as exc:
            return Observation("degraded", self.failure(exc))
        if not exists:
            return Observation("deleted", f"database {handle['database']} is gone")
        return Observation("running", f"ClickHouse {version} at {redact(self.url)}", facts)

    def connection(self, handle: dict[str, Any]) -> Connection:
        parts = urlsplit(self.url)
        secure = parts.scheme == "https"
        return Connection(
            host=parts.hostname or "localhost",
            port=parts.port or (8443 if secure else 8123),
            username=unquote(parts.username) if parts.username else "default",
            password=unquote(parts.password) if parts.password else "",
            database=handle["database"],
            secure=secure,
            cluster=self.cluster,
            allowed_hosts=self.allowed_hosts,
        )

    def delete(self, handle: dict[str, Any]) -> None:
        # SYNC: replicated tables leave ZooKeeper now, so a database of the same name can be
        # created again at once.
        with self._talking() as client:
            client.command(
                f"DROP DATABASE IF EXISTS {identifier(handle['database'])}"
                f"{on_cluster(self.cluster)} SYNC"
            )
