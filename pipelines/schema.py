"""Versioned ClickHouse schema for curves.

Layout (chosen by ``benchmarks/test_storage.py``; numbers in the README):

* ``curves``: one row per curve (part). Metadata, extents, point count, quantisation steps.
* ``curve_samples``: one row per curve with the samples as ``Array(Int32)`` ADC-style codes,
  ``value = code * step``. Integer codes with ``T64, ZSTD`` store about 1.3 bytes per (x, y)
  point, against 2.7 for ``Float32`` arrays and 4.2 for one ``Float32`` row per sample, and
  decode about twice as fast inside the engine as ``Delta, ZSTD`` at the same size.
* ``curve_features``: one row per curve with its fixed features (peak, final, area, ...).
* ``curve_verdicts``: one row per curve and evaluation rule version: passed, and why not.
* ``curve_levels``: per curve, its samples reduced ahead of any view (``pipelines.levels``),
  one row per curve and level where the level keeps at most half the samples; read for overviews
  aligned to a level's grid (``pipelines.stored_levels``).
* ``datasets``: one row per import, demo run or live micro-batch. The row is written last: it
  is the commit record of an import (see ``pipelines.store``).

Every change is a new :class:`Migration` appended to :data:`MIGRATIONS`; applied versions are
recorded in ``schema_migrations`` so later changes alter tables (and keep their data) instead of
recreating them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.identifiers import identifier, on_cluster

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


# ZooKeeper paths of replicated tables. ``{shard}``, ``{replica}``, ``{database}`` and ``{table}``
# are the server's macros, expanded by ClickHouse on each node (not by Python).
SHARD_PATH = "/clickhouse/tables/{shard}/{database}/{table}"
EVERYWHERE_PATH = "/clickhouse/tables/all/{database}/{table}"


@dataclass(frozen=True)
class Table:
    """One table of the curve schema, in the two layouts Curvehouse creates.

    On one server it is a ``MergeTree``. On a ClickHouse cluster a *sharded* table becomes a
    ``ReplicatedMergeTree`` named ``<name>_local`` on every node, behind a ``Distributed`` table
    that keeps the plain name, so every query reads the same names in both layouts. Curves and
    their samples are sharded by ``curve_id`` so a curve and its samples live on the same shard.
    A small table every query joins against (``datasets``) is not sharded but replicated to every
    node, so ``IN (SELECT dataset_id FROM datasets)`` stays a local read on each shard.
    """

    name: str
    columns: str
    order_by: str
    settings: str = ""
    # How rows spread over shards; None: not sharded, a whole copy on every node.
    shard_key: str | None = "cityHash64(curve_id)"
    # A ReplacingMergeTree's version column: rows with the same sorting key collapse to the
    # newest when parts merge (empty: a plain MergeTree).
    replacing: str = ""

    def statements(self, db: str, cluster: str | None) -> tuple[str, ...]:
        name = identifier(self.name)
        tail = f"ORDER BY {self.order_by}"
        if self.settings:
            tail += f"\nSETTINGS {self.settings}"
        kind = "ReplacingMergeTree" if self.replacing else "MergeTree"
        version = f", {identifier(self.replacing)}" if self.replacing else ""
        if cluster is None:
            engine = f"{kind}({identifier(self.replacing)})" if self.replacing else kind
            return (
                f"CREATE TABLE IF NOT EXISTS {db}.{name} ({self.columns})\n"
                f"ENGINE = {engine}\n{tail}",
            )
        on = on_cluster(cluster)
        if self.shard_key is None:
            return (
                f"CREATE TABLE IF NOT EXISTS {db}.{name}{on} ({self.columns})\n"
                f"ENGINE = Replicated{kind}('{EVERYWHERE_PATH}', '{{shard}}_{{replica}}'"
                f"{version})\n{tail}",
            )
        local = identifier(f"{self.name}_local")
        return (
            f"CREATE TABLE IF NOT EXISTS {db}.{local}{on} ({self.columns})\n"
            f"ENGINE = Replicated{kind}('{SHARD_PATH}', '{{replica}}'{version})\n{tail}",
            f"CREATE TABLE IF NOT EXISTS {db}.{name}{on} AS {db}.{local}\n"
            f"ENGINE = Distributed({identifier(cluster)}, {db}, {local}, {self.shard_key})",
        )


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    # Tables to create, or DDL templates where ``{db}`` is the validated, quoted database name
    # and ``{on_cluster}`` is `` ON CLUSTER `name` `` on a cluster and empty on one server.
    statements: tuple[Table | str, ...]

    def render(self, db: str, cluster: str | None) -> list[str]:
        out: list[str] = []
        for statement in self.statements:
            if isinstance(statement, Table):
                out.extend(statement.statements(db, cluster))
            else:
                out.append(statement.format(db=db, on_cluster=on_cluster(cluster)))
        return out


# The curves' and samples' sort key: curves in this order lie together on disk, so whoever
# reads many curves (a load into memory, a rule's run) reads them in this order.
STORED_ORDER = "project, plant, line, station, started_at, curve_id"

_V1_CURVES = Table(
    "curves",
    """
    project      LowCardinality(String),
    curve_id     UInt64,
    curve_key    String,
    dataset_id   UUID,
    plant        LowCardinality(String),
    line         LowCardinality(String),
    station      LowCardinality(String),
    process      LowCardinality(String),
    program      LowCardinality(String),
    shift        LowCardinality(String),
    part_serial  String,
    started_at   DateTime64(3, 'UTC'),
    ended_at     DateTime64(3, 'UTC'),
    result       Enum8('UNKNOWN' = 0, 'OK' = 1, 'NOK' = 2),
    defect       LowCardinality(String),
    x_name       LowCardinality(String),
    x_unit       LowCardinality(String),
    y_name       LowCardinality(String),
    y_unit       LowCardinality(String),
    point_count  UInt32,
    x_min        Float64,
    x_max        Float64,
    y_min        Float64,
    y_max        Float64,
    x_step       Float64,
    y_step       Float64,
    fingerprint  UInt64,
    ingested_at  DateTime64(3, 'UTC')
""",
    f"({STORED_ORDER})",
)

# A curve's place in the samples' sort key, and its codes: ``curve_samples`` and ``curve_levels``.
_SAMPLE_KEYS = """
    project      LowCardinality(String),
    plant        LowCardinality(String),
    line         LowCardinality(String),
    station      LowCardinality(String),
    started_at   DateTime64(3, 'UTC'),
    curve_id     UInt64,
    dataset_id   UUID,"""
_CODES = """
    x_step       Float64,
    y_step       Float64,
    x            Array(Int32) CODEC(T64, ZSTD(1)),
    y            Array(Int32) CODEC(T64, ZSTD(1))
"""

_V1_SAMPLES = Table(
    "curve_samples",
    _SAMPLE_KEYS + _CODES,
    f"({STORED_ORDER})",
    settings="index_granularity = 256",
)

_V1_DATASETS = Table(
    "datasets",
    """
    dataset_id     UUID,
    project        LowCardinality(String),
    kind           Enum8('demo' = 1, 'import' = 2),
    name           String,
    source         String,
    content_sha256 String,
    curve_count    UInt64,
    point_count    UInt64,
    created_at     DateTime64(3, 'UTC')
""",
    "(project, created_at, dataset_id)",
    shard_key=None,
)

# One row per curve with its fixed features (``pipelines.kernels.features``), for SPC, drift and
# feature limits without reading samples. Sorted by project and process, what those read by.
# ``dataset_id`` lets the store's staging, attach, delete and sweep treat it like the curves.
_V3_FEATURES = Table(
    "curve_features",
    """
    project      LowCardinality(String),
    process      LowCardinality(String),
    curve_id     UInt64,
    dataset_id   UUID,
    peak_y       Float64,
    peak_x       Float64,
    final_x      Float64,
    final_y      Float64,
    min_y        Float64,
    area         Float64,
    duration     Float64,
    sample_count Float64
""",
    "(project, process, curve_id)",
)

# One row per curve and rule version that judged it (``pipelines.rules.verdicts``): passed, what
# went wrong (``code``), the reason in words and the point it names. A rule version never
# changes once it judged, so a row keyed by (rule, version, curve) is final; judging again
# writes the same row, and ReplacingMergeTree keeps one. Readers ask "is there a failing row",
# which duplicates not yet merged cannot change. ``dataset_id`` is the curve's: staging,
# attach, delete and sweep treat verdicts like the curves they judge.
_V4_VERDICTS = Table(
    "curve_verdicts",
    """
    project      LowCardinality(String),
    process      LowCardinality(String),
    rule_id      UInt64,
    rule_version UInt32,
    curve_id     UInt64,
    dataset_id   UUID,
    passed       Bool,
    code         LowCardinality(String),
    reason       String,
    x            Float64,
    y            Float64,
    judged_at    DateTime64(3, 'UTC')
""",
    "(rule_id, rule_version, curve_id)",
    replacing="judged_at",
)

# One row per curve and configured feature (``models.feature_definitions``: y at an x, x at a
# y, a slope over an x range) of its process. What a definition computes never changes, so a
# row is final; computing it again writes the same value and ReplacingMergeTree keeps one.
# ``dataset_id`` is the curve's: staging, attach, delete and sweep treat it like the curves.
_V5_FEATURE_VALUES = Table(
    "curve_feature_values",
    """
    project      LowCardinality(String),
    process      LowCardinality(String),
    feature_id   UInt32,
    curve_id     UInt64,
    dataset_id   UUID,
    value        Float64,
    computed_at  DateTime64(3, 'UTC')
""",
    "(project, process, feature_id, curve_id)",
    replacing="computed_at",
)

# One row per curve and level (``pipelines.levels``) that keeps at most half of the curve's
# samples: the kept samples as codes, laid out like ``curve_samples``. Sorted by level first, so
# an overview reads one level's rows and nothing else; within it in the samples' order, so a
# filter's curves lie together. ``dataset_id`` is the curve's: staging, attach, delete and sweep
# treat levels like the samples they are computed from.
_V6_LEVELS = Table(
    "curve_levels",
    _SAMPLE_KEYS + "\n    level        UInt8," + _CODES,
    f"(level, {STORED_ORDER})",
    settings="index_granularity = 256",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "curves, curve samples and datasets", (_V1_CURVES, _V1_SAMPLES, _V1_DATASETS)),
    # Curves committed by live ingest (MQTT, OPC UA through MQTT) are their own kind of dataset.
    # Adding an enum value is a metadata change: no row is rewritten.
    Migration(
        2,
        "datasets of live ingest",
        (
            "ALTER TABLE {db}.datasets{on_cluster} MODIFY COLUMN "
            "kind Enum8('demo' = 1, 'import' = 2, 'live' = 3)",
        ),
    ),
    # Stored curves get their rows from pipelines.features.backfill_features (CurveStore.open
    # runs it when this migration is applied; ``curvehouse features --backfill`` at any time).
    Migration(3, "curve features", (_V3_FEATURES,)),
    # Filled as rules judge: at each commit by the project's current rules, and over history
    # when a rule is made or changed (``pipelines.rules.runs``).
    Migration(4, "verdicts of evaluation rules", (_V4_VERDICTS,)),
    # Filled at each commit by the project's configured features, and for stored curves when a
    # feature is defined (``pipelines.features.fill_configured``).
    Migration(5, "values of configured features", (_V5_FEATURE_VALUES,)),
    # Stored curves get their levels from pipelines.stored_levels.backfill_levels (CurveStore.open
    # runs it when this migration is applied); new ones with their commit.
    Migration(6, "per-curve levels", (_V6_LEVELS,)),
)

CURRENT_VERSION = MIGRATIONS[-1].version

_LEDGER = Table(
    "schema_migrations",
    """
    version     UInt32,
    description String,
    applied_at  DateTime64(3, 'UTC') DEFAULT now64(3)
""",
    "version",
    shard_key=None,
)

_lock = threading.Lock()


class SchemaError(RuntimeError):
    """The stored schema is newer than this code, a migration failed, or the database was made
    for the other layout (one server versus a cluster)."""


def is_distributed(client: Client, database: str) -> bool:
    """Whether ``database`` holds the cluster layout (its ``curves`` is a ``Distributed`` table)."""
    rows = client.query(
        "SELECT engine FROM system.tables WHERE database = {d:String} AND name = 'curves'",
        parameters={"d": database},
    ).result_rows
    return bool(rows) and rows[0][0] == "Distributed"


def applied_versions(client: Client, database: str, cluster: str | None = None) -> list[int]:
    db = identifier(database)
    for statement in _LEDGER.statements(db, cluster):
        client.command(statement)
    return sorted(_stored(client, database))


def ensure_schema(
    client: Client,
    database: str,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    cluster: str | None = None,
) -> list[int]:
    """Create the database and apply missing migrations in order; return the versions applied.

    ``cluster`` names the ClickHouse cluster (``remote_servers``) the client's server belongs
    to: every statement then runs ``ON CLUSTER`` and the tables take the cluster layout (see
    :class:`Table`). Safe to call on every start: applied versions are skipped, and each
    statement is idempotent so a migration interrupted half-way is simply run again.
    """
    db = identifier(database)
    with _lock:
        spread = is_distributed(client, database)
        if spread and cluster is None:
            stored = _stored(client, database)
            pending = [m for m in migrations if m.version not in stored]
            if pending:
                raise SchemaError(
                    f"Database {database} spans a ClickHouse cluster and needs schema version "
                    f"{pending[-1].version}; name the cluster (CURVEHOUSE_CLICKHOUSE_CLUSTER) so "
                    "the change reaches every node."
                )
            return []
        if cluster is not None and not spread and _stored(client, database):
            raise SchemaError(
                f"Database {database} was made for a single server, not for cluster {cluster}: "
                "its tables are not replicated. Create a new database on the cluster."
            )
        client.command(f"CREATE DATABASE IF NOT EXISTS {db}{on_cluster(cluster)}")
        done = set(applied_versions(client, database, cluster))
        newest = max(m.version for m in migrations)
        if done and max(done) > newest:
            raise SchemaError(
                f"Database {database} has schema version {max(done)}, newer than this "
                f"Curvehouse ({newest}). Upgrade Curvehouse before using this database."
            )
        applied = []
        for migration in sorted(migrations, key=lambda m: m.version):
            if migration.version in done:
                continue
            for statement in migration.render(db, cluster):
                client.command(statement)
            client.command(
                f"INSERT INTO {db}.schema_migrations (version, description) "
                "VALUES ({v:UInt32}, {d:String})",
                parameters={"v": migration.version, "d": migration.description},
            )
            applied.append(migration.version)
        return applied


def _stored(client: Client, database: str) -> set[int]:
    """Versions in the ledger, read without creating it (none when there is no ledger)."""
    ledger = client.query(
        "SELECT count() FROM system.tables WHERE database = {d:String} "
        "AND name = 'schema_migrations'",
        parameters={"d": database},
    ).result_rows[0][0]
    if not ledger:
        return set()
    rows = client.query(f"SELECT version FROM {identifier(database)}.schema_migrations").result_rows
    return {int(r[0]) for r in rows}
