"""Curve features kept in the engine: one ``curve_features`` row per stored curve.

The store computes them for every batch it stages and attaches them with the curves, so an
import, a demo run or a live micro-batch commits its features in the same step as its curves
(``pipelines.store``), and a failed one leaves none. Curves stored before features existed, or
copied in from another database, get theirs from the stored codes: :func:`backfill_features`
for committed curves (run by ``CurveStore.open`` when it adds the table, and by
``curvehouse features --backfill``), :func:`stage_from_samples` for a copy's staging tables
(``CurveStore.copy_in``: features are recomputed, never copied). The kernel and
what each feature means (NaN, non-monotonic x) are in :mod:`pipelines.kernels.features`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from models.identifiers import identifier
from pipelines.batch import CurveBatch
from pipelines.frames import id_chunks, query_table
from pipelines.kernels.features import FEATURES, curve_features, first_crossing
from pipelines.kernels.features import least_squares_slope as _slope

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

# The columns of ``curve_features``, in schema order.
KEY_COLUMNS = ("project", "process", "curve_id", "dataset_id")
COLUMNS = (*KEY_COLUMNS, *FEATURES)


def batch_features(batch: CurveBatch) -> np.ndarray:
    """The fixed features of every curve of ``batch``: float64 (len(FEATURES), C)."""
    meta = batch.meta
    return curve_features(
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


# --- configurable features: computed on demand, not stored -------------------------------------


def y_at_x(x, y, offsets, x_step, y_step, at: float) -> np.ndarray:
    """Per curve, y where x first reaches ``at`` (linear between samples; NaN: never)."""
    return first_crossing(x, y, offsets, x_step, y_step, float(at))


def x_at_y(x, y, offsets, x_step, y_step, at: float) -> np.ndarray:
    """Per curve, x where y first reaches ``at`` (linear between samples; NaN: never)."""
    return first_crossing(y, x, offsets, y_step, x_step, float(at))


def slope(x, y, offsets, x_step, y_step, lo: float, hi: float) -> np.ndarray:
    """Per curve, the least-squares slope of y over x among samples with ``lo <= x <= hi``."""
    return _slope(x, y, offsets, x_step, y_step, float(lo), float(hi))


# --- from stored codes -------------------------------------------------------------------------


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
    for chunk in id_chunks(ids):
        part = query_table(
            client,
            f"SELECT c.project AS project, c.process AS process, s.curve_id AS curve_id, "
            "toString(s.dataset_id) AS dataset_id, s.x_step AS x_step, s.y_step AS y_step, "
            f"s.x AS x, s.y AS y FROM {db}.{s} AS s INNER JOIN "
            f"(SELECT curve_id, project, process FROM {db}.{c} "
            "WHERE curve_id IN {ids:Array(UInt64)}) AS c ON c.curve_id = s.curve_id "
            "WHERE s.curve_id IN {ids:Array(UInt64)}",
            {"ids": chunk},
        )
        if part is None or not part.num_rows:
            continue
        xs, ys = (part.column(a).combine_chunks() for a in ("x", "y"))
        offsets = xs.offsets.to_numpy().astype(np.int64)
        values = curve_features(
            xs.flatten().to_numpy(zero_copy_only=False),
            ys.flatten().to_numpy(zero_copy_only=False),
            offsets - offsets[0],
            part.column("x_step").to_numpy(),
            part.column("y_step").to_numpy(),
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
