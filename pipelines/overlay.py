"""From a filter and a view to distinct-curve counts: the engine selects and reduces, numba draws.

What leaves the engine for drawing scales with curves x pixel columns, not with samples. The
engine splits each curve into runs: consecutive samples in one pixel column of the view, or
outside the x range being drawn. A run outside becomes its first and last sample (every segment
between two samples on one side of the view is skipped by Liang-Barsky anyway). A run of five or
more samples in one column becomes its first sample, two samples at the first one's x holding
the run's lowest and highest y, and its last sample (M4, Jugel et al., VLDB 2014). Inside one
column a connected run draws exactly the rows between its lowest and highest value, clipped to
the view, whatever its order, and the segments joining runs are kept as they were: the same
pixels, which the tests check against the kernel on whole curves. The engine computes each
sample's column with the kernel's own float64 expression (``x * sx + tx``, then the integer
part), so a run never straddles a column edge.

Curves with few samples per column come whole, or trimmed to the view's x range with NaN at
every cut: reducing them would cost the engine more than sending them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from models.identifiers import identifier
from pipelines.frames import query_frame, query_table
from pipelines.prefetch import prefetch
from pipelines.samples import CurveSet
from pipelines.views import COLOR_COLUMNS, CurveFilter, FilterError, View

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from pipelines.hot import HotCache, HotCurves

# Share of the data range added around an automatic fit, so edge curves are not on the border.
FIT_PADDING = 0.02
# Samples fetched and drawn at a time: bounds memory, and lets fetching overlap drawing.
CHUNK_SAMPLES = 16_000_000
META_COLUMNS = ("curve_id", "curve_key", "part_serial", "station", "program", "result", "defect")
AXIS_COLUMNS = ("x_name", "x_unit", "y_name", "y_unit")
EXTENT_COLUMNS = ("point_count", "x_min", "x_max")


@dataclass
class DensityImage:
    """Counts for one view, with what it took to make them."""

    counts: np.ndarray  # uint32 (height, width), or (height, width, K) with categories
    view: View  # with the ranges actually used
    categories: list[str] = field(default_factory=list)
    curves: int = 0  # curves drawn: matching the filter, with a pixel in the view
    near: int = 0  # curves matching the filter whose extents meet the view (drawn or not)
    samples: int = 0  # samples fetched from the engine
    results: dict[str, int] = field(default_factory=dict)  # curves drawn per result (OK, NOK)
    category_curves: dict[str, int] = field(default_factory=dict)  # curves drawn per category
    x_label: str = "x"
    y_label: str = "y"
    seconds: dict[str, float] = field(default_factory=dict)


def _labels(meta: pd.DataFrame) -> dict[str, str]:
    """Axis labels from the first curve's quantity names and units."""
    if meta.empty:
        return {"x_label": "x", "y_label": "y"}
    first = meta.iloc[0]

    def label(name: str, unit: str, fallback: str) -> str:
        if not name:
            return fallback
        return f"{name} ({unit})" if unit else name

    return {
        "x_label": label(first.x_name, first.x_unit, "x"),
        "y_label": label(first.y_name, first.y_unit, "y"),
    }


def _tally(meta: pd.DataFrame, column: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in meta[column].astype(str).value_counts().items()}


def _padded(lo: float, hi: float) -> tuple[float, float]:
    pad = (hi - lo) * FIT_PADDING or max(abs(lo) * FIT_PADDING, 1.0)
    return (float(lo - pad), float(hi + pad))


def fit(client: Client, database: str, where: CurveFilter, view: View) -> View:
    """The view with missing ranges set to the selected curves' extents (plus padding)."""
    if view.x_range is not None and view.y_range is not None:
        return view
    sql, params = where.where()
    row = client.query(
        f"SELECT min(x_min), max(x_max), min(y_min), max(y_max), count() "
        f"FROM {identifier(database)}.curves WHERE {sql}",
        parameters=params,
    ).result_rows[0]
    if not row[4]:
        return view.zoomed(view.x_range or (0.0, 1.0), view.y_range or (0.0, 1.0))
    return view.zoomed(
        view.x_range or _padded(row[0], row[1]), view.y_range or _padded(row[2], row[3])
    )


def select(
    client: Client,
    database: str,
    where: CurveFilter,
    view: View,
    *,
    ids: list[int] | None = None,
) -> pd.DataFrame:
    """Metadata of the curves matching ``where`` (and ``ids``, if given) whose extents overlap
    ``view`` (ranges set)."""
    sql, params = where.where("c")
    (xmin, xmax), (ymin, ymax) = view.x_range, view.y_range
    params.update(xmin=xmin, xmax=xmax, ymin=ymin, ymax=ymax)
    columns = [*META_COLUMNS, *AXIS_COLUMNS, *EXTENT_COLUMNS]
    expressions = [f"c.{c}" for c in columns]
    if view.color_by:
        if view.color_by not in COLOR_COLUMNS:  # View checks this; a hand-made one may not
            raise FilterError(f"cannot colour by {view.color_by!r}")
        expressions.append(f"c.{view.color_by} AS category")
        columns.append("category")
    if ids is not None:
        sql += " AND c.curve_id IN {ids:Array(UInt64)}"
        params["ids"] = list(ids)
    frame = query_frame(
        client,
        f"SELECT {', '.join(expressions)} "
        f"FROM {identifier(database)}.curves AS c WHERE {sql} "
        "AND c.x_max >= {xmin:Float64} AND c.x_min <= {xmax:Float64} "
        "AND c.y_max >= {ymin:Float64} AND c.y_min <= {ymax:Float64}",
        columns,
        params,
    )
    return frame


_WHOLE = """
SELECT curve_id, x_step, y_step, x AS xs, y AS ys
FROM {db}.curve_samples WHERE curve_id IN {{ids:Array(UInt64)}}
"""

# side: -1 left of the view, 0 inside, 1 right. Keep a sample if a segment touching it has an
# end inside or crosses the view. cuts: 1-based positions among the kept samples that follow
# a gap (a few per curve), so the client can mark them without receiving every index.
_TRIMMED = """
WITH arrayFilter((i, k) -> k, arrayEnumerate(x), keep) AS kept
SELECT curve_id, x_step, y_step,
       arrayFilter((i, d) -> d > 1, arrayEnumerate(kept), arrayDifference(kept)) AS cuts,
       arrayFilter((v, k) -> k, x, keep) AS xs, arrayFilter((v, k) -> k, y, keep) AS ys
FROM (
    SELECT curve_id, x_step, y_step, x, y,
           arrayMap(v -> (toFloat64(v) * x_step > {{xmax:Float64}})
                         - (toFloat64(v) * x_step < {{xmin:Float64}}), x) AS side,
           arrayMap((s, p) -> s = 0 OR s != p, side, arrayPushFront(arrayPopBack(side), 2))
               AS before,
           arrayMap((s, n) -> s = 0 OR s != n, side, arrayPushBack(arrayPopFront(side), 2))
               AS after,
           arrayMap((b, a, i) -> (b AND i > 1) OR (a AND i < length(side)),
                    before, after, arrayEnumerate(side)) AS keep
    FROM {db}.curve_samples
    WHERE curve_id IN {{ids:Array(UInt64)}}
)
"""

# col: the kernel's pixel column + 4 inside [xlo, xhi], 0 left of it, -1 right of it. A run
# starts where col changes; a run's first sample tells whether it lies outside. The module
# docstring says why the reduction keeps every pixel.
_REDUCED = """
SELECT curve_id, x_step, y_step,
       arrayFlatten(arrayMap((r, o) -> multiIf(length(r) <= 2, r, o, [r[1], r[-1]],
                                               length(r) <= 4, r, [r[1], r[1], r[1], r[-1]]),
                             runs_x, outside)) AS xs,
       arrayFlatten(arrayMap((r, o) -> multiIf(length(r) <= 2, r, o, [r[1], r[-1]],
                                               length(r) <= 4, r,
                                               [r[1], arrayMin(r), arrayMax(r), r[-1]]),
                             runs_y, outside)) AS ys
FROM (
    SELECT curve_id, x_step, y_step, runs_x, runs_y,
           arrayMap(r -> toFloat64(r[1]) * x_step < {{xlo:Float64}}
                         OR toFloat64(r[1]) * x_step > {{xhi:Float64}}, runs_x) AS outside
    FROM (
        SELECT curve_id, x_step, y_step,
               arrayMap(v -> toFloat64(v) * x_step, x) AS xf,
               arrayMap(f -> (toInt64(floor(f * {{sx:Float64}} + {{tx:Float64}})) + 4)
                             * (f >= {{xlo:Float64}} AND f <= {{xhi:Float64}})
                             - (f > {{xhi:Float64}}), xf) AS col,
               arrayMap((a, b) -> a != b, col, arrayPushFront(arrayPopBack(col), -2)) AS starts,
               arraySplit((v, s) -> s, x, starts) AS runs_x,
               arraySplit((v, s) -> s, y, starts) AS runs_y
        FROM {db}.curve_samples
        WHERE curve_id IN {{ids:Array(UInt64)}}
    )
)
"""
# From this many samples per pixel column (over a curve's whole x extent) a curve comes reduced;
# below it, reducing costs the engine more than sending the samples.
REDUCE_FROM_PER_COLUMN = 8


def _tables(
    client: Client, database: str, meta: pd.DataFrame, kinds: dict, params: dict
) -> Iterator[pa.Table]:
    """One query per kind of answer (``_WHOLE``, ``_TRIMMED``, ``_REDUCED``) over the curves
    its mask selects; empty answers are skipped."""
    db = identifier(database)
    for sql, mask in kinds.items():
        if mask.any():
            ids = meta.loc[mask, "curve_id"].tolist()
            table = query_table(client, sql.format(db=db), {**params, "ids": ids})
            if table is not None and table.num_rows:
                yield table


def _answers(client: Client, database: str, meta: pd.DataFrame, kinds: dict, params: dict):
    parts = list(_tables(client, database, meta, kinds, params))
    return _assemble(meta, parts) if parts else _empty(meta.iloc[:0])


def _empty(meta: pd.DataFrame) -> CurveSet:
    return CurveSet(meta, np.zeros(1, dtype=np.int64), np.empty(0), np.empty(0))


def fetch_samples(client: Client, database: str, meta: pd.DataFrame, view: View | None) -> CurveSet:
    """Samples of the curves in ``meta`` (from :func:`select`), with ``meta`` reordered to
    match. Curves reaching beyond the view's x range come trimmed, with NaN at every cut;
    others, and all of them when ``view`` is None, come whole."""
    if meta.empty:
        return _empty(meta)
    if view is None:
        return _answers(client, database, meta, {_WHOLE: np.ones(len(meta), bool)}, {})
    xmin, xmax = view.x_range
    trim = ((meta["x_min"] < xmin) | (meta["x_max"] > xmax)).to_numpy()
    return _answers(
        client, database, meta, {_WHOLE: ~trim, _TRIMMED: trim}, {"xmin": xmin, "xmax": xmax}
    )


def drawing_plan(
    meta: pd.DataFrame, view: View, x_keep: tuple[float, float] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Which curves come ``whole``, ``trimmed`` or ``reduced`` (masks over ``meta``), and the
    query parameters: see :func:`fetch_drawable`."""
    from pipelines.density import view_transform

    xlo, xhi = view.x_range
    if x_keep is not None:  # inside the view, where every column index is >= 0
        xlo, xhi = max(xlo, x_keep[0]), min(xhi, x_keep[1])
    transform = view_transform(view.x_range, view.y_range, view.width, view.height)
    columns = np.maximum((meta["x_max"] - meta["x_min"]).to_numpy() * transform[4], 1.0)
    reduced = meta["point_count"].to_numpy() / columns >= REDUCE_FROM_PER_COLUMN
    trimmed = ((meta["x_min"] < xlo) | (meta["x_max"] > xhi)).to_numpy() & ~reduced
    masks = {"whole": ~(reduced | trimmed), "trimmed": trimmed, "reduced": reduced}
    params = {
        "xmin": xlo,
        "xmax": xhi,
        "xlo": xlo,
        "xhi": xhi,
        "sx": transform[4],
        "tx": transform[5],
    }
    return masks, params


def fetch_drawable(
    client: Client,
    database: str,
    meta: pd.DataFrame,
    view: View,
    *,
    x_keep: tuple[float, float] | None = None,
) -> CurveSet:
    """What the kernel needs to draw the curves in ``meta`` on ``view`` exactly, with ``meta``
    reordered to match. Curves with many samples per pixel column come as M4 runs (module
    docstring), others whole or trimmed as in :func:`fetch_samples`. Only segments reaching
    ``x_keep`` (default: the view's x range) are drawn faithfully, which is all picking a small
    box needs."""
    if meta.empty:
        return _empty(meta)
    return _answers(client, database, meta, *_drawing_queries(meta, view, x_keep))


def _drawing_queries(meta: pd.DataFrame, view: View, x_keep) -> tuple[dict, dict]:
    masks, params = drawing_plan(meta, view, x_keep)
    return {_WHOLE: masks["whole"], _TRIMMED: masks["trimmed"], _REDUCED: masks["reduced"]}, params


def drawable_sets(
    client: Client, database: str, meta: pd.DataFrame, view: View
) -> Iterator[CurveSet]:
    """:func:`fetch_drawable`'s answer as one curve set per engine answer, for drawing: counts
    of disjoint curve sets add up, so nothing needs concatenating (that copy cost 50 ms on
    16 M samples)."""
    if meta.empty:
        return
    for table in _tables(client, database, meta, *_drawing_queries(meta, view, None)):
        yield _assemble(meta, [table])


def fetch(client: Client, database: str, where: CurveFilter, view: View) -> CurveSet:
    """Samples of the curves inside ``view`` (ranges required), trimmed to its x range."""
    return fetch_samples(client, database, select(client, database, where, view), view)


def _scaled(codes: pa.Array, steps: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``code * step`` in float64, as the store defines values (one multiply per sample)."""
    values = codes.to_numpy().astype(np.float64)
    if len(steps) and (steps == steps[0]).all():  # one sensor resolution: the common case
        values *= steps[0]
    else:
        values *= np.repeat(steps, counts)
    return values


def _floats(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Samples of one answer in engineering units, NaN where a trimmed curve was cut, and the
    number of values per curve."""
    xs = table.column("xs").combine_chunks()
    counts = np.diff(xs.offsets.to_numpy()).astype(np.int64)
    x = _scaled(xs.flatten(), table.column("x_step").to_numpy(), counts)
    y = _scaled(
        table.column("ys").combine_chunks().flatten(), table.column("y_step").to_numpy(), counts
    )
    if "cuts" not in table.column_names:
        return x, y, counts
    # A NaN goes before each kept sample that followed a gap.
    cuts = table.column("cuts").combine_chunks()
    per_curve = np.diff(cuts.offsets.to_numpy())
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    holes = np.repeat(starts, per_curve) + cuts.flatten().to_numpy().astype(np.int64) - 1
    counts = counts + per_curve
    return np.insert(x, holes, np.nan), np.insert(y, holes, np.nan), counts


def _assemble(meta: pd.DataFrame, parts: list[pa.Table]) -> CurveSet:
    """One curve set from the engine's answers; ``meta`` is reordered to match them."""
    pieces = [_floats(table) for table in parts]
    if len(pieces) == 1:
        x, y, counts = pieces[0]
    else:
        x, y, counts = (np.concatenate([p[i] for p in pieces]) for i in range(3))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    fetched = pd.Index(np.concatenate([t.column("curve_id").to_numpy() for t in parts]))
    meta = meta.iloc[pd.Index(meta["curve_id"]).get_indexer(fetched)].reset_index(drop=True)
    return CurveSet(meta, offsets, x, y)


def latest_curves(
    client: Client,
    database: str,
    *,
    process: str,
    limit: int = 500,
    projects: tuple[str, ...] | None = None,
) -> CurveSet:
    """The newest ``limit`` curves of one process, whole, in engineering units; only those of
    ``projects`` when given."""
    where, params = CurveFilter.of(process=process).within(projects).where()
    meta = query_frame(
        client,
        f"SELECT {', '.join(META_COLUMNS + AXIS_COLUMNS)} FROM {identifier(database)}.curves "
        f"WHERE {where} ORDER BY started_at DESC, curve_id LIMIT {{n:UInt32}}",
        META_COLUMNS + AXIS_COLUMNS,
        {**params, "n": int(limit)},
    )
    return fetch_samples(client, database, meta, None)


def _chunks(meta: pd.DataFrame, budget: int) -> list[pd.DataFrame]:
    """Consecutive groups of curves holding about ``budget`` samples each. Not smaller: on two
    cores, fetching one group while drawing another slowed a 5 M-sample view from 255 to
    276 ms, the engine and the kernel each wanting both cores."""
    if meta.empty:
        return []
    group = np.cumsum(meta["point_count"].to_numpy()) // max(1, budget)
    return [part for _, part in meta.groupby(group, sort=True)]


def draw(curves: CurveSet, view: View) -> DensityImage:
    """Distinct-curve counts of curves already in memory (ranges of ``view`` required)."""
    from pipelines.density import curve_density

    began = time.perf_counter()
    counts = curve_density(
        curves.x,
        curves.y,
        curves.offsets,
        x_range=view.x_range,
        y_range=view.y_range,
        width=view.width,
        height=view.height,
    )
    return DensityImage(
        counts=counts,
        view=view,
        curves=len(curves),
        samples=int(np.isfinite(curves.y).sum()),
        seconds={"kernel": time.perf_counter() - began},
        **_labels(curves.meta),
    )


def extent_view(curves: CurveSet, view: View) -> View:
    """``view`` fitted to the finite samples of ``curves``, padded as :func:`fit` pads."""
    x, y = curves.x[np.isfinite(curves.x)], curves.y[np.isfinite(curves.y)]
    if not len(x):
        return view.zoomed((0.0, 1.0), (0.0, 1.0))
    return view.zoomed(_padded(x.min(), x.max()), _padded(y.min(), y.max()))


def density_image(
    client: Client,
    database: str,
    where: CurveFilter,
    view: View,
    *,
    chunk_samples: int = CHUNK_SAMPLES,
    hot: HotCache | None = None,
) -> DensityImage:
    """Distinct-curve counts for the curves matching ``where`` inside ``view``.

    With a ``hot`` cache that holds (or can hold) the filter's samples, the view is drawn from
    memory (:mod:`pipelines.hot`). Otherwise the engine selects and reduces: counts of disjoint
    sets of curves add up, so curves are fetched and drawn in chunks of about ``chunk_samples``
    samples, memory stays bounded, and the engine fetches the next chunk while the kernel draws
    this one.
    """
    from pipelines.density import density_and_drawn

    started = time.perf_counter()
    curves = hot.get(client, database, where) if hot is not None else None
    if curves is not None:
        return _hot_image(curves, view, started)
    view = fit(client, database, where, view)
    meta = select(client, database, where, view)
    meta, categories, counts = _canvas(meta, view)
    kwargs = dict(x_range=view.x_range, y_range=view.y_range, width=view.width, height=view.height)

    def fetched():
        for part in _chunks(meta, chunk_samples):
            answers = drawable_sets(client, database, part, view)
            while True:
                began = time.perf_counter()
                curves = next(answers, None)
                if curves is None:
                    break
                yield curves, time.perf_counter() - began

    engine = kernel = 0.0
    samples = 0
    drawn = []
    for curves, seconds in prefetch(fetched(), depth=1):
        engine += seconds
        began = time.perf_counter()
        part, shows = density_and_drawn(
            curves.x,
            curves.y,
            curves.offsets,
            categories=curves.meta["category_code"].to_numpy() if categories else None,
            n_categories=max(1, len(categories)),
            **kwargs,
        )
        counts += part.reshape(counts.shape)
        kernel += time.perf_counter() - began
        drawn.append(curves.meta["curve_id"].to_numpy()[shows])
        samples += int(np.isfinite(curves.y).sum())
    shown = meta[meta["curve_id"].isin(np.concatenate(drawn))] if drawn else meta.iloc[:0]
    return _image(meta, shown, view, categories, counts, samples, engine, kernel, started)


def _canvas(meta: pd.DataFrame, view: View) -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """``meta`` with category codes when the view is coloured, the categories, and zero
    counts of the right shape."""
    if view.color_by:
        codes, uniques = pd.factorize(meta["category"].astype(str), sort=True)
        meta = meta.assign(category_code=codes.astype(np.int32))
        return meta, list(uniques), np.zeros((view.height, view.width, len(uniques)), np.uint32)
    return meta, [], np.zeros((view.height, view.width), dtype=np.uint32)


def _image(meta, shown, view, categories, counts, samples, engine, kernel, started) -> DensityImage:
    """``meta``: the curves whose extents meet the view; ``shown``: those drawing a pixel."""
    return DensityImage(
        counts=counts,
        view=view,
        categories=categories,
        curves=len(shown),
        near=len(meta),
        samples=samples,
        results=_tally(shown, "result"),
        category_curves=_tally(shown, "category") if categories else {},
        seconds={"engine": engine, "kernel": kernel, "total": time.perf_counter() - started},
        **_labels(meta),
    )


def _hot_image(curves: HotCurves, view: View, started: float) -> DensityImage:
    """The view drawn from samples in memory: the same counts the engine path gives."""
    from pipelines.density import density_and_drawn

    if view.x_range is None or view.y_range is None:
        m = curves.meta
        view = view.zoomed(
            view.x_range or _padded(m["x_min"].min(), m["x_max"].max()),
            view.y_range or _padded(m["y_min"].min(), m["y_max"].max()),
        )
    picks = curves.overlapping(view.x_range, view.y_range)
    meta = curves.meta.iloc[picks]
    if view.color_by:
        if view.color_by not in COLOR_COLUMNS:
            raise FilterError(f"cannot colour by {view.color_by!r}")
        meta = meta.assign(category=meta[view.color_by])
    meta, categories, counts = _canvas(meta, view)
    codes = np.zeros(len(curves.meta), dtype=np.int32)
    if categories:
        codes[picks] = meta["category_code"].to_numpy()
    began = time.perf_counter()
    part, shows = density_and_drawn(
        curves.x,
        curves.y,
        curves.offsets,
        steps=curves.steps,
        picks=picks,
        categories=codes,
        n_categories=max(1, len(categories)),
        x_range=view.x_range,
        y_range=view.y_range,
        width=view.width,
        height=view.height,
    )
    counts += part.reshape(counts.shape)
    kernel = time.perf_counter() - began
    samples = int((curves.offsets[picks + 1] - curves.offsets[picks]).sum())
    shown = meta[shows[picks]]
    return _image(meta, shown, view, categories, counts, samples, 0.0, kernel, started)
