"""What leaves the engine for a view: the curves a filter selects, and their samples, whole,
trimmed to the view or reduced in the engine, decoded from Arrow into a :class:`CurveSet`.

This is the engine's side of :class:`pipelines.curves.Curves` and of the engine-backed sample
source (:mod:`pipelines.sources`); pages read curves through ``Curves``, never from here.

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
every cut: reducing them would cost the engine more than sending them. An engine in this
process (chDB) has no transport to save, so more curves come whole from it (``in_process``
in :func:`drawing_plan`); answers of codes that fit travel as int16 (:func:`_code_type`).

On a view whose pixel columns are the buckets of a stored level (:func:`aligned` makes one),
the same reduction is read instead of computed: each curve's level from ``curve_levels``
(:mod:`pipelines.stored_levels`), where it has one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from models.identifiers import identifier
from pipelines.frames import id_chunks, query_frame, query_table
from pipelines.kernels.scale import scaled
from pipelines.levels import REDUCE_FROM_PER_COLUMN, aligned_level, aligned_view
from pipelines.quantize import codes_fit_int16
from pipelines.samples import CurveSet
from pipelines.schema import STORED_ORDER
from pipelines.stored_levels import STORED_LEVELS
from pipelines.views import (
    AXIS_COLUMNS,
    BY_VERDICT,
    COLOR_COLUMNS,
    EXTENT_COLUMNS,
    META_COLUMNS,
    CurveFilter,
    FilterError,
    View,
    verdict_category_sql,
)

try:  # clickhouse-connect's chDB client (1.13; its module is not public)
    from clickhouse_connect.driver._chdbclient import ChdbClient
except ImportError:  # another version: every engine is planned for as if remote (still exact)
    ChdbClient = None


if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client


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
    return view.fitted((row[0], row[1]), (row[2], row[3]))


# An aligned view may be at most this much wider than the view asked for (plus one column).
ALIGNED_WIDENING = 2.0


def aligned(client: Client, database: str, where: CurveFilter, view: View) -> View:
    """``view`` (missing ranges fitted) widened to the grid of a stored level for the x step
    most of the selected curves share, so their levels draw it exactly and fast
    (:mod:`pipelines.stored_levels`); ``view`` fitted but not widened when no level is within
    :data:`ALIGNED_WIDENING` of its x range (the curves span too few codes, or none is
    selected), or when fewer than half of the selected curves have that level stored (a wider
    view would then buy little)."""
    view = fit(client, database, where, view)
    db = identifier(database)
    sql, params = where.where()
    rows = client.query(
        f"SELECT x_step, count() AS curves FROM {db}.curves WHERE {sql} "
        "GROUP BY x_step ORDER BY curves DESC, x_step LIMIT 1",
        parameters=params,
    ).result_rows
    if not rows or not rows[0][0] > 0:
        return view
    step = float(rows[0][0])
    widened = aligned_view(view, step, STORED_LEVELS)
    if widened is None:
        return view
    span = view.x_range[1] - view.x_range[0]
    if widened.x_range[1] - widened.x_range[0] > span * (ALIGNED_WIDENING + 1.0 / view.width):
        return view
    level = int(aligned_level(widened, np.array([step]), STORED_LEVELS)[0])
    if level < 0:
        return view
    stored, selected = client.query(
        f"SELECT (SELECT count() FROM {db}.curve_levels WHERE level = {{level:UInt8}} AND "
        f"curve_id IN (SELECT curve_id FROM {db}.curves WHERE {sql})), "
        f"(SELECT count() FROM {db}.curves WHERE {sql})",
        parameters={**params, "level": level},
    ).result_rows[0]
    return widened if 2 * stored >= selected else view


@dataclass(frozen=True)
class Commits:
    """Which commits' curves a query reads: those of ``datasets``, or those committed at or
    before ``by`` (a store version's newest commit, :func:`pipelines.hot.store_version`). A
    picture kept up to date by commits (:mod:`pipelines.following`) reads exactly the curves
    it has not counted yet, however many commits land while it reads."""

    datasets: tuple[uuid.UUID, ...] | None = None
    by: datetime | None = None

    def where(self, database: str, alias: str) -> tuple[str, dict]:
        clauses, params = [], {}
        if self.datasets is not None:
            clauses.append(f"{alias}.dataset_id IN {{commits:Array(UUID)}}")
            params["commits"] = list(self.datasets)
        if self.by is not None:
            clauses.append(
                f"{alias}.dataset_id IN (SELECT dataset_id FROM {identifier(database)}.datasets "
                "WHERE created_at <= {committed_by:DateTime64(3, 'UTC')})"
            )
            params["committed_by"] = self.by
        return " AND ".join(clauses) or "1", params


def select(
    client: Client,
    database: str,
    where: CurveFilter,
    view: View | None,
    *,
    ids: list[int] | None = None,
    commits: Commits | None = None,
    stored_order: bool = False,
) -> pd.DataFrame:
    """Metadata of the curves matching ``where`` (and ``ids``, and ``commits``, if given) whose
    extents overlap ``view`` (ranges set); every matching curve when ``view`` is None.
    ``stored_order``: in the order the samples are stored (:data:`STORED_ORDER`), for reading
    whole curves a chunk at a time: a chunk of neighbours is read from a few places, where one
    of scattered curves costs a read of most of the table (judging 10,000 curves in 8 chunks:
    0.13 against 0.05 s a chunk)."""
    sql, params = where.where("c")
    if commits is not None:
        more, extra = commits.where(database, "c")
        sql, params = f"{sql} AND {more}", {**params, **extra}
    columns = [*META_COLUMNS, *AXIS_COLUMNS, *EXTENT_COLUMNS]
    expressions = [f"c.{c}" for c in columns]
    join = ""
    if view is not None:
        (xmin, xmax), (ymin, ymax) = view.x_range, view.y_range
        params.update(xmin=xmin, xmax=xmax, ymin=ymin, ymax=ymax)
        sql += (
            " AND c.x_max >= {xmin:Float64} AND c.x_min <= {xmax:Float64}"
            " AND c.y_max >= {ymin:Float64} AND c.y_min <= {ymax:Float64}"
        )
        if view.color_by == BY_VERDICT:
            category, join, extra = verdict_category_sql(database, view.verdict_rules, "c.curve_id")
            expressions.append(f"{category} AS category")
            columns.append("category")
            params.update(extra)
        elif view.color_by:
            if view.color_by not in COLOR_COLUMNS:  # View checks this; a hand-made one may not
                raise FilterError(f"cannot colour by {view.color_by!r}")
            expressions.append(f"c.{view.color_by} AS category")
            columns.append("category")
    query = (
        f"SELECT {', '.join(expressions)} FROM {identifier(database)}.curves AS c {join} "
        f"WHERE {sql}"
    )
    if ids is None:
        if stored_order:
            query += " ORDER BY " + ", ".join(f"c.{c}" for c in STORED_ORDER.split(", "))
        return query_frame(client, query, columns, params)
    query += " AND c.curve_id IN {ids:Array(UInt64)}"
    frames = [
        query_frame(client, query, columns, {**params, "ids": chunk})
        for chunk in id_chunks(list(ids))
    ]
    frames = [frame for frame in frames if not frame.empty]
    if not frames:
        return pd.DataFrame(columns=columns)
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


# {codes}: Int32 as stored, or Int16 where every code of the answer fits (_code_type).
_WHOLE = """
SELECT curve_id, x_step, y_step, CAST(x AS Array({codes})) AS xs, CAST(y AS Array({codes})) AS ys
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
       CAST(arrayFlatten(arrayMap((r, o) -> multiIf(length(r) <= 2, r, o, [r[1], r[-1]],
                                                    length(r) <= 4, r, [r[1], r[1], r[1], r[-1]]),
                                  runs_x, outside)) AS Array({codes})) AS xs,
       CAST(arrayFlatten(arrayMap((r, o) -> multiIf(length(r) <= 2, r, o, [r[1], r[-1]],
                                                    length(r) <= 4, r,
                                                    [r[1], arrayMin(r), arrayMax(r), r[-1]]),
                                  runs_y, outside)) AS Array({codes})) AS ys
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
# A stored level (``pipelines.stored_levels``), read on a view aligned to its grid.
_LEVELS = """
SELECT curve_id, x_step, y_step, CAST(x AS Array({codes})) AS xs, CAST(y AS Array({codes})) AS ys
FROM {db}.curve_levels WHERE level = {{level:UInt8}} AND curve_id IN {{ids:Array(UInt64)}}
"""


def _tables(
    client: Client,
    database: str,
    meta: pd.DataFrame,
    kinds: dict,
    params: dict,
    *,
    narrow: bool = False,
) -> Iterator[pa.Table]:
    """One query per kind of answer (``_LEVELS``, ``_WHOLE``, ``_TRIMMED``, ``_REDUCED``) over
    the curves its mask selects; empty answers are skipped. ``_LEVELS`` goes first: the curves
    it answered for are left out of the others, which read the rest (a curve has no stored
    level where the level would not have saved half of its samples). ``narrow``: codes come
    as int16 where they fit (:func:`_code_type`), for the drawing kernel alone."""
    db = identifier(database)
    kinds = dict(kinds)
    leveled = kinds.pop(_LEVELS, None)
    if leveled is not None and leveled.any():
        answered = []
        for table in _queried(client, db, _LEVELS, meta.loc[leveled], params, narrow):
            answered.append(table.column("curve_id").to_numpy())
            yield table
        if answered:
            drawn = meta["curve_id"].isin(np.concatenate(answered)).to_numpy()
            kinds = {sql: mask & ~drawn for sql, mask in kinds.items()}
    for sql, mask in kinds.items():
        if mask.any():
            yield from _queried(client, db, sql, meta.loc[mask], params, narrow)


def _queried(
    client: Client, db: str, sql: str, meta: pd.DataFrame, params: dict, narrow: bool
) -> Iterator[pa.Table]:
    start = 0
    for ids in id_chunks(meta["curve_id"].tolist()):
        codes = _code_type(meta.iloc[start : start + len(ids)]) if narrow else "Int32"
        start += len(ids)
        table = query_table(client, sql.format(db=db, codes=codes), {**params, "ids": ids})
        if table is not None and table.num_rows:
            yield table


def _code_type(meta: pd.DataFrame) -> str:
    """Int16 when both axes' codes of these curves fit it: the answer is half the bytes, which
    saved about 90 ms of a 10k x 10k overview's 740 on two cores (moving the answer out of the
    engine costs more than the engine's reading). Both or neither, so the kernel meets one
    more form of codes, not three (each is compiled apart)."""
    return "Int16" if codes_fit_int16(meta, "x") and codes_fit_int16(meta, "y") else "Int32"


def _answers(
    client: Client,
    database: str,
    meta: pd.DataFrame,
    kinds: dict,
    params: dict,
    *,
    coded: bool = False,
):
    parts = list(_tables(client, database, meta, kinds, params))
    return _assemble(meta, parts, coded=coded) if parts else _empty(meta.iloc[:0], coded=coded)


def _empty(meta: pd.DataFrame, *, coded: bool = False) -> CurveSet:
    if coded:
        nothing, steps = np.empty(0, np.int32), np.empty(0)
        return CurveSet(meta, np.zeros(1, dtype=np.int64), nothing, nothing, steps, steps)
    return CurveSet(meta, np.zeros(1, dtype=np.int64), np.empty(0), np.empty(0))


def fetch_samples(
    client: Client,
    database: str,
    meta: pd.DataFrame,
    view: View | None,
    *,
    coded: bool = False,
) -> CurveSet:
    """Samples of the curves in ``meta`` (from :func:`select`), with ``meta`` reordered to
    match. Curves reaching beyond the view's x range come trimmed, with NaN at every cut;
    others, and all of them when ``view`` is None, come whole. ``coded``: whole curves as the
    store's integer codes with their steps (see :class:`CurveSet`), for code that judges or
    measures them."""
    if coded and view is not None:
        raise ValueError("coded samples come whole: a trimmed curve's cuts need float NaN")
    if meta.empty:
        return _empty(meta, coded=coded)
    if view is None:
        whole = {_WHOLE: np.ones(len(meta), bool)}
        return _answers(client, database, meta, whole, {}, coded=coded)
    xmin, xmax = view.x_range
    trim = ((meta["x_min"] < xmin) | (meta["x_max"] > xmax)).to_numpy()
    return _answers(
        client, database, meta, {_WHOLE: ~trim, _TRIMMED: trim}, {"xmin": xmin, "xmax": xmax}
    )


# An engine in this process (chDB) hands its answers over without transport: a curve sent
# whole as codes then costs less than trimming it in the engine unless the view keeps under a
# quarter of it, and less than reducing it below 32 samples per pixel column. Measured on the
# 10k demo and 10k x 10k curves (README, *From the engine to the picture*).
IN_PROCESS_REDUCE_FROM = 32
IN_PROCESS_TRIM_BELOW = 0.25


def runs_in_process(client: Client) -> bool:
    """Whether ``client``'s engine runs in this process (clickhouse-connect's chDB client)."""
    return ChdbClient is not None and isinstance(client, ChdbClient)


def _share_in(meta: pd.DataFrame, xlo: float, xhi: float) -> np.ndarray:
    """The share of each curve's x extent inside [xlo, xhi] (1 for a curve of one x)."""
    x_min, x_max = meta["x_min"].to_numpy(np.float64), meta["x_max"].to_numpy(np.float64)
    span = x_max - x_min
    inside = np.minimum(x_max, xhi) - np.maximum(x_min, xlo)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.where(span > 0, inside / span, 1.0), 0.0, 1.0)


def drawing_plan(
    meta: pd.DataFrame,
    view: View,
    x_keep: tuple[float, float] | None = None,
    *,
    in_process: bool = False,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Which curves come ``whole``, ``trimmed`` or ``reduced`` (masks over ``meta`` that split
    it), which of them may be read from their stored ``levels`` instead (the view's columns
    are a level's buckets for their x step, see :func:`pipelines.levels.aligned_level`), and
    the query parameters: see :func:`fetch_drawable`. ``in_process``: for an engine in this
    process, which sends more curves whole (:data:`IN_PROCESS_REDUCE_FROM`)."""
    from pipelines.density import view_transform

    xlo, xhi = view.x_range
    if x_keep is not None:  # inside the view, where every column index is >= 0
        xlo, xhi = max(xlo, x_keep[0]), min(xhi, x_keep[1])
    transform = view_transform(view.x_range, view.y_range, view.width, view.height)
    columns = np.maximum((meta["x_max"] - meta["x_min"]).to_numpy() * transform[4], 1.0)
    reduce_from = IN_PROCESS_REDUCE_FROM if in_process else REDUCE_FROM_PER_COLUMN
    reduced = meta["point_count"].to_numpy() / columns >= reduce_from
    trimmed = ((meta["x_min"] < xlo) | (meta["x_max"] > xhi)).to_numpy() & ~reduced
    if in_process:
        trimmed &= _share_in(meta, xlo, xhi) < IN_PROCESS_TRIM_BELOW
    # A level draws every segment faithfully, so only a view drawn whole may read one.
    ks = np.full(len(meta), -1, dtype=np.int64)
    if x_keep is None and len(meta):
        ks = aligned_level(view, meta["x_step"].to_numpy(np.float64), STORED_LEVELS)
    level = int(np.bincount(ks[ks >= 0]).argmax()) if (ks >= 0).any() else -1
    masks = {
        "whole": ~(reduced | trimmed),
        "trimmed": trimmed,
        "reduced": reduced,
        "levels": ks == level if level >= 0 else np.zeros(len(meta), dtype=bool),
    }
    params = {
        "xmin": xlo,
        "xmax": xhi,
        "xlo": xlo,
        "xhi": xhi,
        "sx": transform[4],
        "tx": transform[5],
        "level": max(level, 0),
    }
    return masks, params


def answer_sizes(meta: pd.DataFrame, view: View, *, in_process: bool = False) -> np.ndarray:
    """About how many samples each curve's drawing answer holds (:func:`drawable_sets`): a
    whole curve its samples, a trimmed one those in the view's x range (and the two beside
    it), a reduced one four per pixel column it meets and two per run beside the view, one
    read from a level four per bucket (more where x goes back and forth). The engine path
    budgets its chunks by them: on an aligned 10k x 10k overview a curve answers a quarter
    of its samples, and budgeting by stored samples made seven round trips instead of two."""
    masks, params = drawing_plan(meta, view, in_process=in_process)
    stored = meta["point_count"].to_numpy(np.float64)
    span = (meta["x_max"] - meta["x_min"]).to_numpy(np.float64)
    sizes = stored.copy()
    trimmed = np.minimum(stored, stored * _share_in(meta, params["xlo"], params["xhi"]) + 2.0)
    sizes[masks["trimmed"]] = trimmed[masks["trimmed"]]
    reduced = np.minimum(stored, 4.0 * (span * params["sx"] + 2.0) + 4.0)
    sizes[masks["reduced"]] = reduced[masks["reduced"]]
    with np.errstate(divide="ignore", invalid="ignore"):
        buckets = span / (meta["x_step"].to_numpy(np.float64) * 2.0 ** params["level"])
    # A curve without that level stored is reduced instead: about as many columns.
    leveled = np.minimum(stored, np.maximum(4.0 * (buckets + 1.0), reduced))
    sizes[masks["levels"]] = leveled[masks["levels"]]
    return np.ceil(sizes).astype(np.int64)


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


def _drawing_queries(
    meta: pd.DataFrame, view: View, x_keep, in_process: bool = False
) -> tuple[dict, dict]:
    masks, params = drawing_plan(meta, view, x_keep, in_process=in_process)
    kinds = {_WHOLE: masks["whole"], _TRIMMED: masks["trimmed"], _REDUCED: masks["reduced"]}
    return {_LEVELS: masks["levels"], **kinds}, params


def drawable_sets(
    client: Client, database: str, meta: pd.DataFrame, view: View, *, in_process: bool = False
) -> Iterator[CurveSet]:
    """:func:`fetch_drawable`'s answer as one curve set per engine answer, for drawing: counts
    of disjoint curve sets add up, so nothing needs concatenating (that copy cost 50 ms on
    16 M samples). Whole, reduced and levelled curves come as codes with their steps, which
    the kernel reads as they are (int16 where a chunk's codes fit, :func:`_code_type`); trimmed
    ones as floats, with NaN at their cuts. ``in_process``: the client's engine runs in this
    process (:func:`runs_in_process`), which sends more of them whole (:func:`drawing_plan`)."""
    if meta.empty:
        return
    plan = _drawing_queries(meta, view, None, in_process)
    for table in _tables(client, database, meta, *plan, narrow=True):
        yield _assemble(meta, [table], coded="cuts" not in table.column_names)


def fetch(client: Client, database: str, where: CurveFilter, view: View) -> CurveSet:
    """Samples of the curves inside ``view`` (ranges required), trimmed to its x range."""
    return fetch_samples(client, database, select(client, database, where, view), view)


def _scaled(codes: pa.Array, steps: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``code * step`` in float64, as the store defines values (one pass, in parallel)."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return scaled(codes.to_numpy(), steps.astype(np.float64, copy=False), offsets)


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


def _codes(table: pa.Table) -> tuple[np.ndarray, ...]:
    """Samples of one whole-curve answer as stored: codes, values per curve, and steps."""
    xs, ys = table.column("xs").combine_chunks(), table.column("ys").combine_chunks()
    counts = np.diff(xs.offsets.to_numpy()).astype(np.int64)
    x_step = table.column("x_step").to_numpy().astype(np.float64, copy=False)
    y_step = table.column("y_step").to_numpy().astype(np.float64, copy=False)
    return xs.flatten().to_numpy(), ys.flatten().to_numpy(), counts, x_step, y_step


def _assemble(meta: pd.DataFrame, parts: list[pa.Table], *, coded: bool = False) -> CurveSet:
    """One curve set from the engine's answers; ``meta`` is reordered to match them."""
    pieces = [_codes(table) if coded else _floats(table) for table in parts]
    if len(pieces) == 1:
        x, y, counts, *steps = pieces[0]
    else:
        x, y, counts, *steps = (np.concatenate(column) for column in zip(*pieces, strict=True))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    fetched = pd.Index(np.concatenate([t.column("curve_id").to_numpy() for t in parts]))
    meta = meta.iloc[pd.Index(meta["curve_id"]).get_indexer(fetched)].reset_index(drop=True)
    return CurveSet(meta, offsets, x, y, *steps)


# Envelope quantiles: fixed levels, written into the SQL as constants (never user input).
ENVELOPE_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


def envelope(
    client: Client, database: str, where: CurveFilter, view: View, *, bins: int = 200
) -> pd.DataFrame:
    """Per-x percentile bands across curves, computed in the engine.

    Each curve contributes one value per x bin (the mean of its samples there), so a curve
    sampled ten times as densely does not weigh ten times as much. Columns: ``x`` (bin centre),
    ``curves``, and one column per level in :data:`ENVELOPE_LEVELS` (``p05`` ... ``p95``).
    """
    view = fit(client, database, where, view)
    db = identifier(database)
    sql, params = where.where()
    (x0, x1) = view.x_range
    params.update(x0=x0, scale=bins / (x1 - x0), bins=int(bins))
    levels = ", ".join(repr(level) for level in ENVELOPE_LEVELS)
    result = client.query(
        f"""
        SELECT b, count() AS curves, quantilesExactInclusive({levels})(v) AS q
        FROM (
            SELECT curve_id, b, avg(yv) AS v
            FROM (
                SELECT curve_id,
                       toInt64(floor((toFloat64(xc) * x_step - {{x0:Float64}}) * {{scale:Float64}}))
                           AS b,
                       toFloat64(yc) * y_step AS yv
                FROM {db}.curve_samples ARRAY JOIN x AS xc, y AS yc
                WHERE curve_id IN (SELECT curve_id FROM {db}.curves WHERE {sql})
            )
            WHERE b >= 0 AND b < {{bins:Int64}}
            GROUP BY curve_id, b
        )
        GROUP BY b ORDER BY b
        """,
        parameters=params,
    )
    names = [f"p{round(level * 100):02d}" for level in ENVELOPE_LEVELS]
    frame = pd.DataFrame(
        [[r[0], r[1], *r[2]] for r in result.result_rows], columns=["bin", "curves", *names]
    )
    frame.insert(0, "x", x0 + (frame.pop("bin").astype(float) + 0.5) * (x1 - x0) / bins)
    return frame
