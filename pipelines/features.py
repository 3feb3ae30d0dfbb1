"""Curve features kept in the engine: one ``curve_features`` row per stored curve.

The store computes them for every batch it stages and attaches them with the curves, so an
import, a demo run or a live micro-batch commits its features in the same step as its curves
(``pipelines.store``), and a failed one leaves none. Curves stored before features existed, or
copied in from another database, get theirs from the stored codes: :func:`backfill_features`
for committed curves (run by ``CurveStore.open`` when it adds the table, and by
``curvehouse features --backfill``), :func:`stage_from_samples` for a copy's staging tables
(``CurveStore.copy_in``: features are recomputed, never copied). The kernel and
what each feature means (NaN, non-monotonic x) are in :mod:`pipelines.kernels.features`.

A project's configured features (``models.feature_definitions``: y at an x, x at a y, a slope
over an x range, per process) go the same ways into ``curve_feature_values``, one row per curve
and feature: staged with each commit (:func:`configured_table`, given the store's
``configured`` source), and for curves stored before a feature was defined, or moved in,
computed from the stored codes by :func:`fill_configured`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from models.feature_definitions import describe
from models.identifiers import identifier
from pipelines.batch import CurveBatch
from pipelines.frames import id_chunks, list_codes, query_table
from pipelines.kernels.features import (
    FEATURES,
    MEASURES,
    curve_features,
    features_and_order,
    first_crossing,
    measures,
)
from pipelines.kernels.features import least_squares_slope as _slope

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

# The columns of ``curve_features``, in schema order.
KEY_COLUMNS = ("project", "process", "curve_id", "dataset_id")
COLUMNS = (*KEY_COLUMNS, *FEATURES)


def batch_features(batch: CurveBatch) -> tuple[np.ndarray, np.ndarray]:
    """The fixed features of every curve of ``batch`` (float64, (len(FEATURES), C)), and
    which curves rise (:func:`pipelines.kernels.features.features_and_order`: their configured
    features bisect instead of walking)."""
    meta = batch.meta
    return features_and_order(
        batch.x,
        batch.y,
        batch.offsets,
        meta["x_step"].to_numpy(np.float64),
        meta["y_step"].to_numpy(np.float64),
    )


def feature_table(
    values: np.ndarray,
    *,
    project: str | Sequence[str],
    process: str | Sequence[str],
    ids: np.ndarray,
    dataset_id: str | Sequence[str],
) -> pa.Table:
    """Rows for ``curve_features``: ``values`` from :func:`batch_features`; each text column
    one value for all curves or one per curve."""
    n = values.shape[1]

    def column(value: str | Sequence[str]) -> pa.Array:
        listed = [value] * n if isinstance(value, str) else [str(v) for v in value]
        return pa.array(listed, pa.string())

    return pa.table(
        {
            "project": column(project),
            "process": column(process),
            "curve_id": pa.array(np.asarray(ids, dtype=np.uint64)),
            "dataset_id": column(dataset_id),
            **{name: pa.array(values[k]) for k, name in enumerate(FEATURES)},
        }
    )


# --- configured features -----------------------------------------------------------------------


def _picks(offsets, picks) -> np.ndarray:
    return np.arange(len(offsets) - 1) if picks is None else np.asarray(picks, np.int64)


def y_at_x(x, y, offsets, x_step, y_step, at: float, picks=None) -> np.ndarray:
    """Per curve (of ``picks``, default all), y where x first reaches ``at`` (linear between
    samples; NaN: never)."""
    return first_crossing(x, y, offsets, x_step, y_step, float(at), _picks(offsets, picks))


def x_at_y(x, y, offsets, x_step, y_step, at: float, picks=None) -> np.ndarray:
    """Per curve (of ``picks``, default all), x where y first reaches ``at`` (linear between
    samples; NaN: never)."""
    return first_crossing(y, x, offsets, y_step, x_step, float(at), _picks(offsets, picks))


def slope(x, y, offsets, x_step, y_step, lo: float, hi: float, picks=None) -> np.ndarray:
    """Per curve (of ``picks``, default all), the least-squares slope of y over x among
    samples with ``lo <= x <= hi``."""
    return _slope(x, y, offsets, x_step, y_step, float(lo), float(hi), _picks(offsets, picks))


@dataclass(frozen=True)
class Configured:
    """A configured feature as the kernels compute it (``models.feature_definitions``)."""

    id: int
    process: str
    kind: str  # y_at_x, x_at_y or slope
    a: float
    b: float | None = None
    name: str = ""  # what people call it

    def describe(self) -> str:
        """What it computes, in words."""
        return describe(self.kind, self.a, self.b)

    @property
    def column(self) -> str:
        """Its column in :meth:`pipelines.curves.Curves.features`' answer."""
        return f"feature_{self.id}"

    def values(self, x, y, offsets, x_step, y_step, picks=None) -> np.ndarray:
        """Its value for each curve of ``picks`` (default all; NaN where it has none: never
        reached, no sample in the range)."""
        if self.kind == "y_at_x":
            return y_at_x(x, y, offsets, x_step, y_step, self.a, picks)
        if self.kind == "x_at_y":
            return x_at_y(x, y, offsets, x_step, y_step, self.a, picks)
        if self.kind == "slope":
            return slope(x, y, offsets, x_step, y_step, self.a, self.b, picks)
        raise ValueError(f"no configured feature of kind {self.kind!r}")


def configured_rows(
    configured: Sequence[Configured],
    x,
    y,
    offsets: np.ndarray,
    x_step: np.ndarray,
    y_step: np.ndarray,
    *,
    project: Sequence[str],
    process: Sequence[str],
    ids: np.ndarray,
    dataset_id: Sequence[str],
    computed_at,
    rising: np.ndarray | None = None,
) -> pa.Table | None:
    """Rows for ``curve_feature_values``: each feature of ``configured`` for the curves of its
    process (curves in Arrow's list layout, one project, process and dataset per curve), a
    curve's rows together; None when no curve has one. One kernel call measures them all
    (:func:`pipelines.kernels.features.measures`); ``rising``, when known, is
    :func:`batch_features`' second answer."""
    for feature in configured:
        if feature.kind not in MEASURES:
            raise ValueError(f"no configured feature of kind {feature.kind!r}")
    listed = sorted(configured, key=lambda f: f.process)  # each process's definitions together
    names = [f.process for f in listed]
    codes, processes = pd.factorize(np.asarray(process, dtype=object))
    if not len(codes):
        return None
    begins = np.array([bisect_left(names, p) for p in processes], np.int64)
    counts = np.array([bisect_right(names, p) for p in processes], np.int64) - begins
    counts, first = counts[codes], begins[codes]
    ends = np.cumsum(counts)
    if not ends[-1]:
        return None
    values = measures(
        x,
        y,
        offsets,
        x_step,
        y_step,
        first,
        ends,
        np.array([MEASURES.index(f.kind) for f in listed], np.int64),
        np.array([f.a for f in listed], np.float64),
        np.array([np.nan if f.b is None else f.b for f in listed], np.float64),
        np.zeros(0, np.bool_) if rising is None else rising,
    )
    index = np.repeat(np.arange(len(codes)), counts)  # each value's curve
    definition = first[index] + np.arange(len(index)) - np.repeat(ends - counts, counts)
    take = pa.array(index)
    return pa.table(
        {
            "project": pa.array(project, pa.string()).take(take),
            "process": pa.array(process, pa.string()).take(take),
            "feature_id": pa.array(np.array([f.id for f in listed], np.uint32)[definition]),
            "curve_id": pa.array(np.asarray(ids, dtype=np.uint64)[index]),
            "dataset_id": pa.array(dataset_id, pa.string()).take(take),
            "value": pa.array(values),
            "computed_at": pa.array(
                np.full(len(index), pd.Timestamp(computed_at).value // 10**6, np.int64),
                pa.timestamp("ms", tz="UTC"),
            ),
        }
    )


def configured_table(
    batch: CurveBatch,
    configured: Sequence[Configured],
    *,
    project: str,
    ids: np.ndarray,
    dataset_id: str,
    computed_at,
    rising: np.ndarray | None = None,
) -> pa.Table | None:
    """A batch's rows for ``curve_feature_values`` (see :func:`configured_rows`)."""
    n = len(batch.meta)
    meta = batch.meta
    return configured_rows(
        configured,
        batch.x,
        batch.y,
        np.asarray(batch.offsets, dtype=np.int64),
        meta["x_step"].to_numpy(np.float64),
        meta["y_step"].to_numpy(np.float64),
        project=[project] * n,
        process=meta["process"].astype(str).tolist(),
        ids=ids,
        dataset_id=[dataset_id] * n,
        computed_at=computed_at,
        rising=rising,
    )


# --- from stored codes -------------------------------------------------------------------------


def _stored(
    client: Client,
    db: str,
    samples: str,
    curves: str,
    ids: Sequence[int],
    project: str | None = None,
) -> Iterator[tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]]:
    """Curves ``ids`` read from the codes in table ``samples`` (their project, process and
    dataset from table ``curves``), a chunk at a time: ``(part, x, y, offsets)``; the part
    holds ``project``, ``process``, ``curve_id``, ``dataset_id``, ``x_step`` and ``y_step``.
    ``project``, when the ids are all of one, narrows the samples' read by the tables' sort
    key."""
    narrowed = "AND s.project = {project:String} " if project is not None else ""
    for chunk in id_chunks(list(ids)):
        part = query_table(
            client,
            f"SELECT c.project AS project, c.process AS process, s.curve_id AS curve_id, "
            "toString(s.dataset_id) AS dataset_id, s.x_step AS x_step, s.y_step AS y_step, "
            f"s.x AS x, s.y AS y FROM {db}.{samples} AS s INNER JOIN "
            f"(SELECT curve_id, project, process FROM {db}.{curves} "
            "WHERE curve_id IN {ids:Array(UInt64)}) AS c ON c.curve_id = s.curve_id "
            f"WHERE s.curve_id IN {{ids:Array(UInt64)}} {narrowed}",
            {"ids": chunk, **({"project": project} if project is not None else {})},
        )
        if part is None or not part.num_rows:
            continue
        yield part, *list_codes(part)


def stage_from_samples(
    client: Client,
    database: str,
    *,
    samples: str,
    curves: str,
    target: str,
    ids: list[int],
) -> int:
    """Compute the features of curves ``ids`` from the codes in table ``samples`` (their
    project, process and dataset from table ``curves``) and insert them into ``target``;
    return how many rows went in. Table names are validated here."""
    db = identifier(database)
    s, c, t = (identifier(name) for name in (samples, curves, target))
    written = 0
    for part, x, y, offsets in _stored(client, db, s, c, ids):
        values = curve_features(
            x, y, offsets, part.column("x_step").to_numpy(), part.column("y_step").to_numpy()
        )
        rows = feature_table(
            values,
            project=part.column("project").to_pylist(),
            process=part.column("process").to_pylist(),
            ids=part.column("curve_id").to_numpy(),
            dataset_id=part.column("dataset_id").to_pylist(),
        )
        client.insert_arrow(f"{db}.{t}", rows)
        written += rows.num_rows
    return written


def fill_configured(
    client: Client,
    database: str,
    project: str,
    configured: Sequence[Configured],
    *,
    computed_at,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Give every committed curve of ``project`` each feature of ``configured`` (for its
    process) that it has no value of yet; return how many values were written.

    Idempotent and chunked like :func:`backfill_features`; ``progress(done, total)`` hears
    the curves computed so far. A curve deleted meanwhile can leave a row whose dataset is
    gone; the store's sweep removes it."""
    db = identifier(database)
    # process -> feature -> the curve ids missing its value
    todo: dict[str, dict[Configured, set[int]]] = {}
    for feature in configured:
        missing = {
            int(r[0])
            for r in client.query(
                f"SELECT curve_id FROM {db}.curves WHERE project = {{p:String}} "
                "AND process = {process:String} "
                f"AND dataset_id IN (SELECT dataset_id FROM {db}.datasets) "
                f"AND curve_id NOT IN (SELECT curve_id FROM {db}.curve_feature_values "
                "WHERE project = {p:String} AND process = {process:String} "
                "AND feature_id = {f:UInt32})",
                parameters={"p": project, "process": feature.process, "f": feature.id},
            ).result_rows
        }
        if missing:
            todo.setdefault(feature.process, {})[feature] = missing
    # Each process's samples are read once for all its features; a value already there is
    # not written again.
    wanted = {process: set().union(*f.values()) for process, f in todo.items()}
    total, done, written = sum(len(ids) for ids in wanted.values()), 0, 0
    for process, features in todo.items():
        ids = sorted(wanted[process])
        lacking = {f.id: curves for f, curves in features.items()}
        for part, x, y, offsets in _stored(client, db, "curve_samples", "curves", ids, project):
            rows = configured_rows(
                list(features),
                x,
                y,
                offsets,
                part.column("x_step").to_numpy(),
                part.column("y_step").to_numpy(),
                project=part.column("project").to_pylist(),
                process=part.column("process").to_pylist(),
                ids=part.column("curve_id").to_numpy(),
                dataset_id=part.column("dataset_id").to_pylist(),
                computed_at=computed_at,
            )
            if rows is not None:
                pairs = zip(
                    rows.column("feature_id").to_pylist(),
                    rows.column("curve_id").to_pylist(),
                    strict=True,
                )
                rows = rows.filter(pa.array([cid in lacking[fid] for fid, cid in pairs]))
                if rows.num_rows:
                    client.insert_arrow(f"{db}.curve_feature_values", rows)
                    written += rows.num_rows
            done += part.num_rows
            if progress is not None:
                progress(done, total)
    return written


def missing_features(client: Client, database: str) -> list[int]:
    """Ids of committed curves that have no ``curve_features`` row."""
    db = identifier(database)
    return [
        int(r[0])
        for r in client.query(
            f"SELECT curve_id FROM {db}.curves "
            f"WHERE dataset_id IN (SELECT dataset_id FROM {db}.datasets) "
            f"AND curve_id NOT IN (SELECT curve_id FROM {db}.curve_features) ORDER BY curve_id"
        ).result_rows
    ]


def backfill_features(client: Client, database: str) -> int:
    """Give every committed curve without features its features; return how many got them.

    Chunked by curve ids (:func:`pipelines.frames.id_chunks`), so memory stays one chunk of
    samples. Idempotent: only curves without a row are computed, so a second run, or a run
    after one that was interrupted, adds only what is missing. A curve deleted while its chunk
    is computed can leave a row whose dataset is gone; the store's sweep removes it.
    """
    return stage_from_samples(
        client,
        database,
        samples="curve_samples",
        curves="curves",
        target="curve_features",
        ids=missing_features(client, database),
    )
