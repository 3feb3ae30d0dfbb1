"""Writing curves into ClickHouse atomically and idempotently.

ClickHouse has no multi-table transactions, so an import is made atomic the ClickHouse way:

1. every batch goes into private staging tables (``_staging_<id>_curves``/``_samples``/
   ``_levels``/``_features``/``_verdicts``/``_feature_values``: each curve's levels from
   :mod:`pipelines.stored_levels`, its features from
   :mod:`pipelines.features`, its verdicts by the project's current rules when the store was
   given them, see :mod:`pipelines.rules.verdicts`, and its values of the project's configured
   features when given those);
2. validation and conflict checks run while staging, so bad input never reaches a shared table;
3. ``ATTACH PARTITION tuple() FROM`` moves each staging table's parts into place in one step
   (samples and features first, then curves, which is what makes curves visible);
4. the ``datasets`` row is written last: it is the commit record.

Any error before step 4 drops the staging tables and deletes whatever was attached. A process
killed mid-import leaves staging tables or uncommitted rows; :meth:`CurveStore.sweep` (run when a
store opens) removes both. Idempotency: a curve is identified by ``(project, curve_key)``; a
curve already stored with the same content is skipped, with different content it is a conflict.
:meth:`CurveStore.copy_in` lands a dataset copied from another database (a project's move, see
``pipelines.moves``) by the same steps, keeping its id, rows and ``datasets`` row.

A database in the cluster layout (``Distributed`` tables over replicated shards) is read-only
here: attaching staged parts is one step per shard, not one step for the import, so this design
would not be atomic there, and a cluster variant has not been run against a real cluster.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from models.identifiers import identifier
from pipelines.batch import CurveBatch, curve_ids, fingerprints, to_tables
from pipelines.features import (
    Configured,
    backfill_features,
    batch_features,
    configured_table,
    feature_table,
    stage_from_samples,
)
from pipelines.frames import id_chunks
from pipelines.kernels import leave_a_core
from pipelines.rules.spec import Rule
from pipelines.rules.verdicts import batch_verdicts
from pipelines.schema import ensure_schema, is_distributed
from pipelines.stored_levels import backfill_levels, level_rows, stage_levels

FEATURES_VERSION = 3  # the schema migration that adds ``curve_features``
LEVELS_VERSION = 6  # the schema migration that adds ``curve_levels``

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

Progress = Callable[[int, int], None]  # (curves written so far, points written so far)
# (project, processes) -> the current rules of those processes, frozen before they judge
RuleSource = Callable[[str, Sequence[str]], Sequence[Rule]]
# (project, processes) -> the configured features of those processes
FeatureSource = Callable[[str, Sequence[str]], Sequence[Configured]]

_STAGING_PREFIX = "_staging_"
_ROWS_HELD = 100_000  # curves' computed rows held before one insert (see insert_rows)
_STAGING_NAME = re.compile(
    r"_staging_([0-9a-f]{32})_(curves|samples|levels|features|verdicts|feature_values)"
)
# What an import stages and attaches, in attach order: curves last, which makes them visible.
_STAGED = (
    ("curve_samples", "samples"),
    ("curve_levels", "levels"),
    ("curve_features", "features"),
    ("curve_verdicts", "verdicts"),
    ("curve_feature_values", "feature_values"),
    ("curves", "curves"),
)
# Tables whose rows belong to a dataset: deleted with it, swept when it never committed.
_DATASET_TABLES = (
    "curves",
    "curve_features",
    "curve_verdicts",
    "curve_feature_values",
    "curve_samples",
    "curve_levels",
)
# Staging tables older than this belong to a dead import even on a shared server.
STALE_SECONDS = 6 * 3600
_project_locks: dict[tuple[str, str], threading.Lock] = {}
_locks_guard = threading.Lock()
_active_imports: set[str] = set()


class ImportConflictError(ValueError):
    """A curve key is already stored in the project with different samples or steps."""


class ClusterWriteError(ValueError):
    """Writing into a database that spans a ClickHouse cluster, which Curvehouse cannot make
    atomic yet."""


DATASET_KINDS = ("demo", "import", "live")  # the datasets table's kind enum


@dataclass(frozen=True)
class DatasetSpec:
    project: str
    kind: str  # "demo", "import" or "live" (a micro-batch of live ingest)
    name: str
    source: str = ""
    content_sha256: str = ""

    def __post_init__(self) -> None:
        if self.kind not in DATASET_KINDS:  # else the engine's enum refuses it mid-import
            raise ValueError(
                f"a dataset's kind is one of {', '.join(DATASET_KINDS)}, not {self.kind!r}"
            )


@dataclass
class WriteResult:
    dataset_id: str | None
    curves_added: int = 0
    points_added: int = 0
    curves_skipped: int = 0
    skipped_keys: list[str] = field(default_factory=list)


def migrate(client: Client, database: str, *, cluster: str | None = None) -> list[int]:
    """Apply pending migrations; return the versions applied. When this call added the
    features or the levels table, the curves stored before it get theirs: whoever opens the
    database first (a server, a notebook) fills them, since a later opener sees nothing to
    apply."""
    applied = ensure_schema(client, database, cluster=cluster)
    if FEATURES_VERSION in applied:
        backfill_features(client, database)
    if LEVELS_VERSION in applied:
        backfill_levels(client, database)
    return applied


def _project_lock(database: str, project: str) -> threading.Lock:
    with _locks_guard:
        return _project_locks.setdefault((database, project), threading.Lock())


class _ImportRun:
    """State of one :meth:`CurveStore.write`: its id, staging tables and running totals."""

    def __init__(
        self,
        store: CurveStore,
        spec: DatasetSpec,
        ingested_at: pd.Timestamp,
        *,
        dataset_id: str | None = None,
    ) -> None:
        self.store, self.spec, self.db = store, spec, store.db
        # A copy (``pipelines.moves``) keeps the dataset's id. The tag is always the id's hex:
        # :meth:`CurveStore.sweep` keeps uncommitted rows whose id matches a live staging table.
        self.dataset_id = str(uuid.UUID(dataset_id)) if dataset_id else str(uuid.uuid4())
        self.tag = uuid.UUID(self.dataset_id).hex
        self.staged = {t: f"{_STAGING_PREFIX}{self.tag}_{s}" for t, s in _STAGED}
        self.staged_curves = identifier(self.staged["curves"])
        self.staged_samples = identifier(self.staged["curve_samples"])
        self.staged_levels = identifier(self.staged["curve_levels"])
        self.staged_features = identifier(self.staged["curve_features"])
        self.staged_verdicts = identifier(self.staged["curve_verdicts"])
        self.staged_values = identifier(self.staged["curve_feature_values"])
        self.rules: list[Rule] = []  # the project's current rules of the processes seen
        self.asked: set[str] = set()  # processes whose rules were asked for
        self.configured: list[Configured] = []  # likewise its configured features
        self.asked_features: set[str] = set()
        self.ingested_at = ingested_at.floor("ms")
        self.seen: set[int] = set()
        self.result = WriteResult(dataset_id=None)
        self._beside: ThreadPoolExecutor | None = None  # computes beside the inserts
        self._rows: dict[str, list[pa.Table]] = {}  # per-curve rows not inserted yet

    def command(self, sql: str, **kwargs) -> None:
        self.store.client.command(sql, **kwargs)

    def create_staging(self) -> None:
        for table, staged in self.staged.items():
            self.command(f"CREATE TABLE {self.db}.{identifier(staged)} AS {self.db}.{table}")

    def drop_staging(self) -> None:
        for staged in self.staged.values():
            self.command(f"DROP TABLE IF EXISTS {self.db}.{identifier(staged)}")

    def stage(self, batch: CurveBatch) -> None:
        """Check the batch against this import and the store, then write its new curves."""
        project, keys = self.spec.project, batch.meta["curve_key"]
        ids = curve_ids(project, keys)
        for key, cid in zip(keys, ids.tolist(), strict=True):
            if cid in self.seen:
                raise ImportConflictError(f"curve key {key!r} appears twice in this import")
            self.seen.add(cid)
        prints = fingerprints(batch)
        stored = self.store.stored_fingerprints(project, ids.tolist())
        keep = np.ones(len(batch), dtype=bool)
        for i, cid in enumerate(ids.tolist()):
            if cid not in stored:
                continue
            if stored[cid] != int(prints[i]):
                raise ImportConflictError(
                    f"curve key {keys.iloc[i]!r} is already stored in project {project!r} with "
                    "different samples. Use a new curve key, or delete the stored dataset first."
                )
            keep[i] = False
        result = self.result
        if not keep.all():
            skipped = keys[~keep].tolist()
            result.curves_skipped += len(skipped)
            result.skipped_keys.extend(skipped[: max(0, 100 - len(result.skipped_keys))])
            batch, ids, prints = batch.take(keep), ids[keep], prints[keep]
        if not len(batch):
            return
        curves, samples = to_tables(
            batch,
            project=project,
            ids=ids,
            prints=prints,
            dataset_id=self.dataset_id,
            ingested_at=self.ingested_at,
        )
        self.ask(batch)
        # What is computed from the batch goes on beside the samples' insert, which lets go of
        # the GIL: on the 10k demo it hid the features and verdicts (0.1-0.4 s) behind the
        # insert's 0.8 s.
        if self._beside is None:
            self._beside = ThreadPoolExecutor(
                1, thread_name_prefix="import-computed", initializer=leave_a_core
            )
        computing = self._beside.submit(self.computed, batch, ids, samples)
        self.store.client.insert_arrow(f"{self.db}.{self.staged_samples}", samples)
        levels, *rows_of = computing.result()
        if levels is not None:  # as large as a share of the samples: not held
            self.store.client.insert_arrow(f"{self.db}.{self.staged_levels}", levels)
        for table, rows in zip(
            (self.staged_features, self.staged_verdicts, self.staged_values), rows_of, strict=True
        ):
            if rows is not None:
                self._rows.setdefault(table, []).append(rows)
        if sum(len(b) for b in self._rows.get(self.staged_features, ())) >= _ROWS_HELD:
            self.insert_rows()
        self.store.client.insert_arrow(f"{self.db}.{self.staged_curves}", curves)
        result.curves_added += len(batch)
        result.points_added += batch.point_count

    def ask(self, batch: CurveBatch) -> None:
        """The project's current rules and configured features of the batch's processes not
        seen before in this import (asked once per process, on the importing thread)."""
        processes = set(batch.meta["process"].astype(str))
        if self.store.rules is not None and (new := sorted(processes - self.asked)):
            self.rules.extend(self.store.rules(self.spec.project, new))
            self.asked.update(new)
        if self.store.configured is not None and (new := sorted(processes - self.asked_features)):
            self.configured.extend(self.store.configured(self.spec.project, new))
            self.asked_features.update(new)

    def computed(self, batch: CurveBatch, ids: np.ndarray, samples: pa.Table):
        """The batch's rows of ``curve_levels`` (None when no level is worth storing), of
        ``curve_features``, and of ``curve_verdicts`` and ``curve_feature_values`` (None
        without rules or configured features)."""
        levels = level_rows(samples)
        process = batch.meta["process"].astype(str).tolist()
        fixed, rising = batch_features(batch)
        features = feature_table(
            fixed,
            project=self.spec.project,
            process=process,
            ids=ids,
            dataset_id=self.dataset_id,
        )
        verdicts = None
        if self.store.rules is not None:
            verdicts = batch_verdicts(
                batch,
                ids,
                self.rules,
                project=self.spec.project,
                dataset_id=self.dataset_id,
                judged_at=self.ingested_at,
            )
        values = None
        if self.store.configured is not None:
            values = configured_table(
                batch,
                self.configured,
                project=self.spec.project,
                ids=ids,
                dataset_id=self.dataset_id,
                computed_at=self.ingested_at,
                rising=rising,
            )
        return levels, features, verdicts, values

    def insert_rows(self) -> None:
        """The features, verdicts and configured values computed so far, one insert per table:
        an insert costs the embedded engine about 10 ms whatever its size, and each batch's
        rows are few (one per curve)."""
        for table, parts in self._rows.items():
            self.store.client.insert_arrow(f"{self.db}.{table}", pa.concat_tables(parts))
        self._rows.clear()

    def close(self) -> None:
        if self._beside is not None:
            self._beside.shutdown()

    def publish(self, commit: Callable[[], None] | None = None) -> None:
        """Move the staged parts into place, then commit with the dataset row (``commit``
        writes it; by default the row of this import)."""
        db = self.db
        self.insert_rows()
        try:
            for table, staged in self.staged.items():
                self.command(
                    f"ALTER TABLE {db}.{table} ATTACH PARTITION tuple() FROM "
                    f"{db}.{identifier(staged)}"
                )
            (commit or self.record)()
        except BaseException:
            self.store.delete_datasets([self.dataset_id])
            raise
        self.result.dataset_id = self.dataset_id

    def record(self) -> None:
        """Insert this import's ``datasets`` row, the commit record."""
        spec, result, db = self.spec, self.result, self.db
        self.command(
            f"INSERT INTO {db}.datasets (dataset_id, project, kind, name, source, "
            "content_sha256, curve_count, point_count, created_at) VALUES ({id:UUID}, "
            "{project:String}, {kind:String}, {name:String}, {source:String}, {sha:String}, "
            "{curves:UInt64}, {points:UInt64}, now64(3))",
            parameters={
                "id": self.dataset_id,
                "project": spec.project,
                "kind": spec.kind,
                "name": spec.name,
                "source": spec.source,
                "sha": spec.content_sha256,
                "curves": result.curves_added,
                "points": result.points_added,
            },
        )


class CurveStore:
    """The curve tables of one ClickHouse database, behind one client."""

    def __init__(
        self,
        client: Client,
        database: str,
        *,
        rules: RuleSource | None = None,
        configured: FeatureSource | None = None,
    ) -> None:
        """``rules``: where a write finds the project's current rules, to judge what it
        stores (None: nothing is judged at commit); ``configured``: likewise its configured
        features, computed with the commit (None: none)."""
        self.client = client
        self.database = database
        self.db = identifier(database)
        self.rules = rules
        self.configured = configured
        self._distributed: bool | None = None

    @classmethod
    def open(
        cls,
        client: Client,
        database: str,
        *,
        sweep_stale_after: float = STALE_SECONDS,
        cluster: str | None = None,
    ):
        """Apply pending migrations (:func:`migrate`) and clear leftovers of interrupted
        imports."""
        migrate(client, database, cluster=cluster)
        store = cls(client, database)
        if not store.distributed:  # nothing is ever staged there
            store.sweep(older_than_seconds=sweep_stale_after)
        return store

    @property
    def distributed(self) -> bool:
        """Whether the database spans a ClickHouse cluster (then it is read-only here)."""
        if self._distributed is None:
            self._distributed = is_distributed(self.client, self.database)
        return self._distributed

    def _check_writable(self) -> None:
        if self.distributed:
            raise ClusterWriteError(
                f"Database {self.database} spans a ClickHouse cluster. Curvehouse reads it but "
                "does not write to it yet: an import could not be made all-or-nothing across "
                "shards. Load curves with your own pipeline into its curves and curve_samples "
                "tables, or import into a single-server database."
            )

    # -- writing ---------------------------------------------------------------------------

    def write(
        self,
        batches: Iterable[CurveBatch],
        spec: DatasetSpec,
        *,
        progress: Progress | None = None,
        ingested_at: pd.Timestamp | None = None,
    ) -> WriteResult:
        """Store every batch as one dataset, all or nothing."""
        self._check_writable()
        run = _ImportRun(self, spec, ingested_at or pd.Timestamp.now(tz="UTC"))
        with _project_lock(self.database, spec.project):
            _active_imports.add(run.tag)
            try:
                run.create_staging()
                for batch in batches:
                    run.stage(batch)
                    if progress is not None:
                        r = run.result
                        progress(r.curves_added + r.curves_skipped, r.points_added)
                if run.result.curves_added:
                    run.publish()
            finally:
                run.close()
                run.drop_staging()
                _active_imports.discard(run.tag)
        return run.result

    def stored_fingerprints(self, project: str, ids: list[int]) -> dict[int, int]:
        """The fingerprints of the committed curves of ``project`` among ``ids``: how a write
        (and live ingest, before it) tells a curve already stored from a conflicting one."""
        stored: dict[int, int] = {}
        for chunk in id_chunks(ids):
            stored.update(
                self.client.query(
                    f"SELECT curve_id, fingerprint FROM {self.db}.curves "
                    "WHERE project = {p:String} AND curve_id IN {ids:Array(UInt64)} "
                    f"AND dataset_id IN (SELECT dataset_id FROM {self.db}.datasets)",
                    parameters={"p": project, "ids": chunk},
                ).result_rows
            )
        return stored

    def copy_in(
        self,
        record: bytes,
        chunks: Iterable[tuple[bytes, bytes, bytes]],
        *,
        dataset_id: str,
        project: str,
        progress: Progress | None = None,
    ) -> bool:
        """Store a committed dataset of another database under its own id, all or nothing, by
        the import's protocol; False when it is committed here already (nothing is written).

        ``chunks`` yields ``(samples, curves, verdicts)`` blocks in ClickHouse's Native
        format (verdicts travel: they are those of the rule versions that judged the curves,
        older ones too, not judged again here) and
        ``record`` is the dataset's ``datasets`` row in Native: it is written last, unchanged, as
        the commit record. An earlier copy that died leaves staging tables (named by the id) or
        attached rows that never committed: both go first. One copier per dataset at a time.
        ``progress(curves, samples)`` gets the rows staged so far after each chunk.
        """
        self._check_writable()
        if self._committed(dataset_id):
            return False
        run = _ImportRun(
            self,
            DatasetSpec(project=project, kind="import", name=""),
            pd.Timestamp.now(tz="UTC"),
            dataset_id=dataset_id,
        )
        _active_imports.add(run.tag)
        try:
            run.drop_staging()
            if self._uncommitted(run.dataset_id):
                self.delete_datasets([run.dataset_id])
            run.create_staging()
            for samples, curves, verdicts in chunks:  # features, levels: computed here, below
                for table, block in (
                    (run.staged_samples, samples),
                    (run.staged_verdicts, verdicts),
                    (run.staged_curves, curves),
                ):
                    if block:
                        self.client.raw_insert(
                            f"{self.db}.{table}", insert_block=block, fmt="Native"
                        )
                if progress is not None:
                    progress(*self._rows(run.staged_curves, run.staged_samples))

            staged = [
                int(r[0])
                for r in self.client.query(
                    f"SELECT curve_id FROM {self.db}.{run.staged_curves}"
                ).result_rows
            ]
            stage_from_samples(
                self.client,
                self.database,
                samples=run.staged["curve_samples"],
                curves=run.staged["curves"],
                target=run.staged["curve_features"],
                ids=staged,
            )
            stage_levels(
                self.client,
                self.database,
                samples=run.staged["curve_samples"],
                target=run.staged["curve_levels"],
                ids=staged,
            )

            def commit() -> None:
                self.client.raw_insert(f"{self.db}.datasets", insert_block=record, fmt="Native")
                if not self._committed(run.dataset_id):
                    raise ValueError(f"the record sent does not commit dataset {dataset_id}")

            run.publish(commit)
        finally:
            run.drop_staging()
            _active_imports.discard(run.tag)
        return True

    def _committed(self, dataset_id: str) -> bool:
        return bool(
            self.client.query(
                f"SELECT count() FROM {self.db}.datasets WHERE dataset_id = {{d:UUID}}",
                parameters={"d": dataset_id},
            ).result_rows[0][0]
        )

    def _uncommitted(self, dataset_id: str) -> bool:
        """Whether rows of a dataset that has no commit record are stored."""
        return bool(
            self.client.query(
                "SELECT "
                + " + ".join(
                    f"(SELECT count() FROM {self.db}.{t} WHERE dataset_id = {{d:UUID}})"
                    for t in _DATASET_TABLES
                ),
                parameters={"d": dataset_id},
            ).result_rows[0][0]
        )

    def _rows(self, *tables: str) -> list[int]:
        return [
            int(self.client.query(f"SELECT count() FROM {self.db}.{t}").result_rows[0][0])
            for t in tables
        ]

    # -- removing --------------------------------------------------------------------------

    def delete_datasets(self, dataset_ids: list[str]) -> None:
        """Delete datasets: the commit record first, then curves (so they leave views), then
        their features, verdicts and samples. Interrupted half-way, what is left is uncommitted
        and the sweep removes it."""
        if not dataset_ids:
            return
        self._check_writable()
        for table in ("datasets", *_DATASET_TABLES):
            self.client.command(
                f"ALTER TABLE {self.db}.{table} DELETE WHERE dataset_id IN {{ids:Array(UUID)}}",
                parameters={"ids": list(dataset_ids)},
                settings={"mutations_sync": 2},
            )

    def sweep(self, *, older_than_seconds: float = STALE_SECONDS) -> list[str]:
        """Drop dead staging tables and rows of datasets that never committed; return what went.

        Uncommitted datasets are listed before staging tables: an import that attaches in
        between is then not on the list, while its staging tables still mark it as alive.
        """
        tables = _DATASET_TABLES
        uncommitted = [
            str(r[0])
            for r in self.client.query(
                "SELECT DISTINCT dataset_id FROM ("
                + " UNION ALL ".join(f"SELECT dataset_id FROM {self.db}.{t}" for t in tables)
                + ") "
                f"WHERE dataset_id NOT IN (SELECT dataset_id FROM {self.db}.datasets)"
            ).result_rows
        ]
        tables = self.client.query(
            "SELECT name, dateDiff('second', metadata_modification_time, now()) FROM system.tables "
            "WHERE database = {db:String} AND startsWith(name, {prefix:String})",
            parameters={"db": self.database, "prefix": _STAGING_PREFIX},
        ).result_rows
        alive = set(_active_imports)
        removed = []
        for name, age in tables:
            match = _STAGING_NAME.fullmatch(name)
            if match is None:
                continue  # not one of ours
            if match.group(1) in _active_imports or age < older_than_seconds:
                alive.add(match.group(1))
                continue
            self.client.command(f"DROP TABLE IF EXISTS {self.db}.{identifier(name)}")
            removed.append(name)
        orphans = [d for d in uncommitted if d.replace("-", "") not in alive]
        self.delete_datasets(orphans)
        return removed + orphans

    # -- reading the registry (what pages list is read through ``pipelines.curves.Curves``) --

    def find_import(self, project: str, content_sha256: str) -> str | None:
        """The id of the dataset already made from a file with this content, if any."""
        rows = self.client.query(
            f"SELECT toString(dataset_id) FROM {self.db}.datasets WHERE project = {{p:String}} "
            "AND content_sha256 = {sha:String} LIMIT 1",
            parameters={"p": project, "sha": content_sha256},
        ).result_rows
        return rows[0][0] if rows else None
