"""Versioned ClickHouse schema for curves.

Layout (chosen by ``benchmarks/test_storage.py``; numbers in the README):

* ``curves``: one row per curve (part). Metadata, extents, point count, quantisation steps.
* ``curve_samples``: one row per curve with the samples as ``Array(Int32)`` ADC-style codes,
  ``value = code * step``. Integer codes with ``T64, ZSTD`` store about 1.3 bytes per (x, y)
  point, against 2.7 for ``Float32`` arrays and 4.2 for one ``Float32`` row per sample, and
  decode about twice as fast inside the engine as ``Delta, ZSTD`` at the same size.
* ``datasets``: one row per import or demo run. The row is written last: it is the commit
  record of an import (see ``pipelines.store``).

Every change is a new :class:`Migration` appended to :data:`MIGRATIONS`; applied versions are
recorded in ``schema_migrations`` so later changes alter tables (and keep their data) instead of
recreating them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.identifiers import identifier

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    # DDL templates; ``{db}`` is replaced by the validated, quoted database name.
    statements: tuple[str, ...]


_V1_CURVES = """
CREATE TABLE IF NOT EXISTS {db}.curves (
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
)
ENGINE = MergeTree
ORDER BY (project, plant, line, station, started_at, curve_id)
"""

_V1_SAMPLES = """
CREATE TABLE IF NOT EXISTS {db}.curve_samples (
    project      LowCardinality(String),
    plant        LowCardinality(String),
    line         LowCardinality(String),
    station      LowCardinality(String),
    started_at   DateTime64(3, 'UTC'),
    curve_id     UInt64,
    dataset_id   UUID,
    x_step       Float64,
    y_step       Float64,
    x            Array(Int32) CODEC(T64, ZSTD(1)),
    y            Array(Int32) CODEC(T64, ZSTD(1))
)
ENGINE = MergeTree
ORDER BY (project, plant, line, station, started_at, curve_id)
SETTINGS index_granularity = 256
"""

_V1_DATASETS = """
CREATE TABLE IF NOT EXISTS {db}.datasets (
    dataset_id     UUID,
    project        LowCardinality(String),
    kind           Enum8('demo' = 1, 'import' = 2),
    name           String,
    source         String,
    content_sha256 String,
    curve_count    UInt64,
    point_count    UInt64,
    created_at     DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (project, created_at, dataset_id)
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "curves, curve samples and datasets", (_V1_CURVES, _V1_SAMPLES, _V1_DATASETS)),
)

CURRENT_VERSION = MIGRATIONS[-1].version

_LEDGER = """
CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
    version     UInt32,
    description String,
    applied_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY version
"""

_lock = threading.Lock()


class SchemaError(RuntimeError):
    """The stored schema is newer than this code or a migration failed."""


def applied_versions(client: Client, database: str) -> list[int]:
    db = identifier(database)
    client.command(_LEDGER.format(db=db))
    rows = client.query(f"SELECT version FROM {db}.schema_migrations ORDER BY version").result_rows
    return [int(r[0]) for r in rows]


def ensure_schema(
    client: Client, database: str, migrations: Sequence[Migration] = MIGRATIONS
) -> list[int]:
    """Create the database and apply missing migrations in order; return the versions applied.

    Safe to call on every start: applied versions are skipped, and each statement is idempotent
    so a migration interrupted half-way is simply run again.
    """
    db = identifier(database)
    with _lock:
        client.command(f"CREATE DATABASE IF NOT EXISTS {db}")
        done = set(applied_versions(client, database))
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
            for statement in migration.statements:
                client.command(statement.format(db=db))
            client.command(
                f"INSERT INTO {db}.schema_migrations (version, description) "
                "VALUES ({v:UInt32}, {d:String})",
                parameters={"v": migration.version, "d": migration.description},
            )
            applied.append(migration.version)
        return applied
