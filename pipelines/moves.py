"""Copying a project's curves from one ClickHouse database to another, and checking the copy.

A project's home is a database behind a clickhouse-connect client: the built-in chDB engine, an
embedded cluster node over HTTP or a ClickHouse server. Moving it copies each committed dataset
on its own, through the import's commit protocol (:meth:`CurveStore.copy_in`): rows go into
staging tables, are attached, and the dataset's own ``datasets`` row is written last. A copy
therefore lands whole or not at all, a dataset already committed on the target is skipped, and
a copy that died is simply run again (it first clears what the dead one left).

Rows travel in ClickHouse's ``Native`` format, read with ``raw_query`` and written with
``raw_insert`` unchanged: no value passes through Python types, so a copy is byte for byte.

:func:`tally` then counts and checksums each dataset on one side; :func:`compare` of the two
sides names every dataset that differs, in words. The checksum is
``sumWithOverflow(cityHash64(...))`` over every column: independent of row order and of how
rows are split into parts, and unlike an XOR a duplicated row changes it. Each column is hashed
on its own (``cityHash64`` gives the same value for ``String`` and ``LowCardinality(String)``,
for ``Enum8`` and ``Enum16``, for a value and the same value in ``Nullable``, for any integer
width), so two homes holding the same curves agree even where their physical types differ.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields

from models.identifiers import identifier
from models.wording import counted
from pipelines.frames import ID_CHUNK
from pipelines.store import CurveStore
from pipelines.views import VERDICT_TABLE

Progress = Callable[[int, int], None]  # (curves copied so far, sample rows copied so far)

DEFAULT_BATCH_BYTES = 32 << 20
# Bytes in Native format of one curve's curves and samples rows beside its sample arrays
# (8 bytes per (x, y) point): 70 + 170 on the 10k demo, rounded up.
_ROW_BYTES = 256

# Row filter of one project's committed rows.
_COMMITTED = (
    "project = {p:String} AND dataset_id IN "
    "(SELECT dataset_id FROM {db}.datasets WHERE project = {p:String})"
)


@dataclass(frozen=True)
class DatasetTally:
    """One committed dataset on one side: counts and content checksums of its rows.

    ``record`` is the dataset's ``datasets`` row (more than one if it was duplicated) as
    ``(column, text)`` pairs.
    """

    dataset_id: str
    curves: int = 0
    points: int = 0  # sum of the curves' point_count
    curves_checksum: int = 0
    samples: int = 0
    sample_points: int = 0  # sum of the sample arrays' lengths
    samples_checksum: int = 0
    record: tuple[tuple[tuple[str, str | None], ...], ...] = ()

    @property
    def name(self) -> str:
        """The dataset as a person knows it: its name and the start of its id."""
        names = [value for row in self.record for column, value in row if column == "name"]
        short = self.dataset_id[:8]
        return f"{names[0]!r} ({short})" if names and names[0] else short


@dataclass(frozen=True)
class Mismatch:
    """A dataset whose two sides differ, with why in words."""

    dataset_id: str
    name: str
    words: str


def row_hash(store: CurveStore, table: str) -> str:
    """SQL of one row's hash over every stored column of ``table``, by column name."""
    columns = store.client.query(
        "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} "
        "AND default_kind IN ('', 'DEFAULT') ORDER BY name",
        parameters={"db": store.database, "t": table},
    ).result_rows
    if not columns:
        raise ValueError(f"{store.database}.{table} has no columns to check")
    # ifNull: cityHash64 of a NULL is NULL, which would hide the whole row from the sum.
    return "cityHash64({})".format(
        ", ".join(f"ifNull(cityHash64({identifier(c)}), 0)" for (c,) in columns)
    )


def tally(store: CurveStore, project: str) -> dict[str, DatasetTally]:
    """Every committed dataset of ``project`` in ``store``, by dataset id."""
    db, p = store.db, {"p": project}
    where = _COMMITTED.replace("{db}", db)
    curves = {
        str(d): (int(n), int(points), int(check))
        for d, n, points, check in store.client.query(
            f"SELECT dataset_id, count(), sum(point_count), "
            f"sumWithOverflow({row_hash(store, 'curves')}) FROM {db}.curves WHERE {where} "
            "GROUP BY dataset_id",
            parameters=p,
        ).result_rows
    }
    samples = {
        str(d): (int(n), int(points), int(check))
        for d, n, points, check in store.client.query(
            f"SELECT dataset_id, count(), sum(length(x)), "
            f"sumWithOverflow({row_hash(store, 'curve_samples')}) FROM {db}.curve_samples "
            f"WHERE {where} GROUP BY dataset_id",
            parameters=p,
        ).result_rows
    }
    columns = [
        c
        for (c,) in store.client.query(
            "SELECT name FROM system.columns WHERE database = {db:String} "
            "AND table = 'datasets' ORDER BY name",
            parameters={"db": store.database},
        ).result_rows
    ]
    texts = ", ".join(f"toString({identifier(c)})" for c in columns)
    records: dict[str, list[tuple]] = {}
    for d, *values in store.client.query(
        f"SELECT toString(dataset_id), {texts} FROM {db}.datasets WHERE project = {{p:String}}",
        parameters=p,
    ).result_rows:
        records.setdefault(d, []).append(tuple(zip(columns, values, strict=True)))
    return {
        d: DatasetTally(
            d,
            *curves.get(d, (0, 0, 0)),
            *samples.get(d, (0, 0, 0)),
            record=tuple(sorted(rows, key=repr)),
        )
        for d, rows in records.items()
    }


def totals(tallies: Mapping[str, DatasetTally]) -> dict[str, int]:
    """Counts over every dataset of one side (for the record of a check)."""
    return {
        key: sum(getattr(t, key) for t in tallies.values())
        for key in ("curves", "points", "samples", "sample_points")
    } | {"datasets": len(tallies)}


def compare(
    here: Mapping[str, DatasetTally],
    there: Mapping[str, DatasetTally],
    *,
    labels: tuple[str, str] = ("here", "there"),
) -> list[Mismatch]:
    """The datasets whose tallies differ between two sides, each with what differs in words
    (``dataset 'line 7' (1a2b3c4d): 1,204 curves here, 1,203 there``)."""
    a, b = labels
    out = []
    for d in sorted(set(here) | set(there)):
        mine, theirs = here.get(d), there.get(d)
        if mine == theirs:
            continue
        name = (mine or theirs).name  # type: ignore[union-attr]
        if mine is None or theirs is None:
            present, absent = (a, b) if theirs is None else (b, a)
            count = (mine or theirs).curves  # type: ignore[union-attr]
            words = f"{counted(count, 'curve')} {present}, not stored {absent}"
        else:
            words = "; ".join(_differences(mine, theirs, a, b))
        out.append(Mismatch(d, name, f"dataset {name}: {words}"))
    return out


def _differences(mine: DatasetTally, theirs: DatasetTally, a: str, b: str) -> list[str]:
    nouns = {
        "curves": "curve",
        "points": "point",
        "samples": "sample row",
        "sample_points": "sample point",
    }
    said = []
    for f in fields(DatasetTally):
        x, y = getattr(mine, f.name), getattr(theirs, f.name)
        if x == y:
            continue
        if f.name in nouns:
            said.append(f"{counted(x, nouns[f.name])} {a}, {y:,} {b}")
        elif f.name == "curves_checksum":
            said.append("the curves' contents differ")
        elif f.name == "samples_checksum":
            said.append("the samples differ")
        elif f.name == "record":
            said.append(_record_words(x, y, a, b))
    return said


def _record_words(x: tuple, y: tuple, a: str, b: str) -> str:
    if len(x) != len(y):
        return f"{len(x)} datasets rows {a}, {len(y)} {b}"
    changed = sorted(
        f"{col} {v!r} {a}, {w!r} {b}"
        for r, s in zip(x, y, strict=True)
        for (col, v), (_, w) in zip(r, s, strict=False)
        if v != w
    )
    return "its datasets row differs (" + "; ".join(changed or ["columns"]) + ")"


# -- copying -------------------------------------------------------------------------------


def committed(store: CurveStore, project: str) -> list[str]:
    """The ids of ``project``'s committed datasets in ``store``, oldest first."""
    return [
        r[0]
        for r in store.client.query(
            f"SELECT toString(dataset_id) FROM {store.db}.datasets WHERE project = {{p:String}} "
            "GROUP BY dataset_id ORDER BY min(created_at), dataset_id",
            parameters={"p": project},
        ).result_rows
    ]


def copy_dataset(
    source: CurveStore,
    target: CurveStore,
    project: str,
    dataset_id: str,
    *,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    progress: Progress | None = None,
) -> bool:
    """Copy one committed dataset of ``project``, all or nothing; False when the target has
    it committed already (then no curve is read or written).

    Rows go in chunks of about ``batch_bytes`` (see :func:`plan_chunks`; a curve and its
    samples travel together); ``progress(curves, samples)`` follows each chunk and may raise
    to stop the copy, which leaves nothing visible on the target. One copier per dataset and
    target at a time (the mover's lease sees to it).
    """
    if source.database == target.database and source.client is target.client:
        raise ValueError("source and target are the same database")
    dataset_id = str(uuid.UUID(dataset_id))
    params = {"p": project, "d": dataset_id}
    records = source.client.query(
        f"SELECT count() FROM {source.db}.datasets WHERE project = {{p:String}} "
        "AND dataset_id = {d:UUID}",
        parameters=params,
    ).result_rows[0][0]
    if not records:
        raise ValueError(f"dataset {dataset_id} is not committed in project {project!r}")
    record = source.client.raw_query(
        f"SELECT * FROM {source.db}.datasets WHERE project = {{p:String}} "
        "AND dataset_id = {d:UUID}",
        parameters=params,
        fmt="Native",
    )

    def chunks() -> Iterator[tuple[bytes, bytes, bytes]]:
        for ids in plan_chunks(source, project, dataset_id, batch_bytes):
            yield tuple(  # type: ignore[misc]
                source.client.raw_query(
                    f"SELECT * FROM {source.db}.{table} WHERE project = {{p:String}} "
                    "AND dataset_id = {d:UUID} AND curve_id IN {ids:Array(UInt64)}",
                    parameters={**params, "ids": ids},
                    fmt="Native",
                )
                for table in ("curve_samples", "curves", VERDICT_TABLE)
            )

    return target.copy_in(
        record, chunks(), dataset_id=dataset_id, project=project, progress=progress
    )


def plan_chunks(
    source: CurveStore, project: str, dataset_id: str, batch_bytes: int
) -> list[list[int]]:
    """The dataset's curve ids in chunks of about ``batch_bytes`` in Native format (at most
    :data:`ID_CHUNK` ids, the most a server's form field takes).

    A chunk's curves are neighbours in the tables' sort order, so the engine reads the sample
    arrays of those granules only: chunks of ``curve_id % n`` would each decompress every
    array of the dataset, n times over. Chunks follow the ``curves`` rows: a samples row
    without its curve is not copied, and the check (:func:`compare`) reports it.
    """
    if batch_bytes <= 0:
        raise ValueError("batch_bytes must be positive")
    rows = source.client.query(
        f"SELECT curve_id, point_count FROM {source.db}.curves WHERE project = {{p:String}} "
        "AND dataset_id = {d:UUID} ORDER BY plant, line, station, started_at, curve_id",
        parameters={"p": project, "d": dataset_id},
    ).result_rows
    chunks: list[list[int]] = []
    size = 0
    for curve_id, points in rows:
        grows = _ROW_BYTES + 8 * int(points)
        if not chunks or size + grows > batch_bytes or len(chunks[-1]) >= ID_CHUNK:
            chunks.append([])
            size = 0
        chunks[-1].append(int(curve_id))
        size += grows
    return chunks


def copy_project(
    source: CurveStore,
    target: CurveStore,
    project: str,
    *,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    progress: Progress | None = None,
) -> list[str]:
    """Copy every committed dataset of ``project`` the target lacks, oldest first; return
    their ids. ``progress`` counts over the whole call."""
    there = set(committed(target, project))
    done = [0, 0]
    copied = []
    for dataset_id in committed(source, project):
        if dataset_id in there:
            continue

        def step(curves: int, samples: int, base: tuple[int, int] = (done[0], done[1])) -> None:
            done[0], done[1] = base[0] + curves, base[1] + samples
            if progress is not None:
                progress(done[0], done[1])

        if copy_dataset(
            source, target, project, dataset_id, batch_bytes=batch_bytes, progress=step
        ):
            copied.append(dataset_id)
    return copied


def delete_extra(target: CurveStore, project: str, keep: set[str]) -> list[str]:
    """Delete ``project``'s datasets in ``target`` that are not in ``keep``; return their ids.
    ``keep=set()`` removes the project's copy (a cancelled move)."""
    keep = {str(uuid.UUID(d)) for d in keep}
    extra = [d for d in committed(target, project) if d not in keep]
    target.delete_datasets(extra)
    return extra
