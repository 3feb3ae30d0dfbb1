"""One reader of stored curves: what the pages, the REST API, notebooks and benchmarks read
through.

A :class:`Curves` holds a clickhouse-connect ``Client``, the database, the projects its reader
may see, a filter and a sample source. The caller builds it once per session or request;
filtering returns a new one, and nothing is read until a method asks. Every query it makes is
kept inside the projects (:meth:`CurveFilter.within`), whatever the filter says, so a project
outside them is never read. Where a view's samples come from (the engine, or memory) is the
sample source's business (:mod:`pipelines.sources`), chosen when the reader is built.

>>> curves = Curves(client, "curvehouse", projects=("line-7",))
>>> nok = curves.filter(process="press-fit", result="NOK")
>>> nok.count(), nok.metadata(limit=5)
>>> nok.density(width=800, height=400).counts        # distinct curves per pixel
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from models.identifiers import identifier
from pipelines.drawing import Comparison, DensityImage
from pipelines.features import Configured
from pipelines.fetch import aligned, envelope, fetch, fetch_samples, fit, select
from pipelines.frames import id_chunks, query_frame
from pipelines.interact import Line, Pick, lines
from pipelines.kernels.features import FEATURES
from pipelines.parts import KEY_COLUMNS, KEY_VALUES_SQL, PART_CURVE_COLUMNS, Part
from pipelines.samples import CurveSet
from pipelines.sources import EngineSamples, Preview, SampleSource
from pipelines.views import (
    AXIS_COLUMNS,
    BREAKDOWN_COLUMNS,
    FILTER_COLUMNS,
    META_COLUMNS,
    PICK_COLUMNS,
    CurveFilter,
    View,
)

if TYPE_CHECKING:
    import holoviews as hv
    from clickhouse_connect.driver.client import Client


# What identifies a part: its serial within its project; a curve without one is its own part.
PART_KEY = "project, part_serial, if(part_serial = '', curve_id, 0)"
# Commits this recent are not handed to pollers yet (see Curves.committed).
SETTLE_MS = 1000


@dataclass(frozen=True)
class Overview:
    """What the selection holds. A part is a ``part_serial`` within its project and passes
    several stations (one curve per part and station); a curve without a serial counts as a
    part of its own. ``nok`` counts curves, ``rejected_parts`` parts with at least one NOK
    curve."""

    curves: int
    points: int
    nok: int
    projects: int
    datasets: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    parts: int
    rejected_parts: int

    @property
    def empty(self) -> bool:
        return self.curves == 0

    @property
    def nok_rate(self) -> float | None:
        """The share of curves that are NOK (None: no curves)."""
        return self.nok / self.curves if self.curves else None

    @property
    def first_pass_yield(self) -> float | None:
        """The share of parts without a NOK curve at any station (None: no parts)."""
        return 1 - self.rejected_parts / self.parts if self.parts else None


@dataclass(frozen=True)
class CurvePage:
    """One page of curves, newest first, as plain Python values, and how many match."""

    total: int
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Curves:
    """The stored curves one reader may see, narrowed by a filter."""

    client: Client
    database: str
    where: CurveFilter = field(default_factory=CurveFilter)
    # The project labels this reader may see; None: every project (the operator, notebooks).
    projects: tuple[str, ...] | None = None
    source: SampleSource = field(default_factory=EngineSamples)

    # --- the selection ------------------------------------------------------------------------

    def filter(self, **filters: Any) -> Curves:
        """Narrow the selection: ``station="LEJ-L1-ST010"``, ``result="NOK"``,
        ``serial="000123"``, ``start="2026-11-20"``, ``verdict="fail", rules=[7]`` (see
        :class:`CurveFilter`); lists mean any of several values. A field
        filtered twice keeps the values in both (``station=[A, B]`` then ``station=B`` is B)."""
        equals = {k: list(v) for k, v in self.where.equals.items()}
        for key, value in filters.items():
            if key in ("serial", "start", "end", "verdict", "rules"):
                continue
            wanted = [value] if isinstance(value, str) else list(value or [])
            equals[key] = [v for v in equals[key] if v in wanted] if key in equals else wanted
        narrowed = CurveFilter.of(
            serial=filters.get("serial", self.where.serial),
            start=filters.get("start", self.where.start),
            end=filters.get("end", self.where.end),
            verdict=filters.get("verdict", self.where.verdict),
            rules=filters.get("rules", self.where.rules),
            **{k: v for k, v in equals.items() if v},
        )
        nothing = {k: () for k, v in equals.items() if not v}  # filters that exclude each other
        return replace(self, where=replace(narrowed, equals={**narrowed.equals, **nothing}))

    def matching(self, where: CurveFilter) -> Curves:
        """The curves ``where`` selects (instead of this filter), inside the same projects."""
        return replace(self, where=where)

    def on(self, client: Client) -> Curves:
        """The same reader on another client (a client serves one query at a time)."""
        return replace(self, client=client)

    @property
    def selection(self) -> CurveFilter:
        """The filter every query uses: :attr:`where`, kept inside :attr:`projects` (and
        reading verdicts from this reader's database)."""
        chosen = self.where.within(self.projects)
        return replace(chosen, verdicts_in=self.database) if chosen.judged else chosen

    @property
    def _db(self) -> str:
        return identifier(self.database)

    # --- metadata and counts ------------------------------------------------------------------

    def count(self) -> int:
        sql, params = self.selection.where()
        return int(
            self.client.query(
                f"SELECT count() FROM {self._db}.curves WHERE {sql}", parameters=params
            ).result_rows[0][0]
        )

    def _newest(
        self,
        columns: Sequence[str] | None,
        limit: int | None,
        offset: int = 0,
        ids: list[int] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """The one query of curves newest first: ``columns`` (None: all but the fingerprint)
        of the selection (and of ``ids``), ``limit`` of them (None: all) from ``offset``."""
        sql, params = self.selection.where()
        if ids is not None:
            sql += " AND curve_id IN {ids:Array(UInt64)}"
            params["ids"] = list(ids)
        names = "* EXCEPT (fingerprint)" if columns is None else ", ".join(columns)
        query = f"SELECT {names} FROM {self._db}.curves WHERE {sql} "
        query += "ORDER BY started_at DESC, curve_id"
        if limit is not None:
            query += " LIMIT {limit:UInt64}"
            params["limit"] = int(limit)
        if offset:
            query += " OFFSET {offset:UInt64}"
            params["offset"] = int(offset)
        return query, params

    def metadata(
        self,
        limit: int | None = 10_000,
        *,
        columns: Sequence[str] | None = None,
        ids: list[int] | None = None,
    ) -> pd.DataFrame:
        """One row per curve, newest first: ``columns`` (None: every column but the content
        fingerprint), the newest ``limit`` (None: all), only ``ids`` when given."""
        query, params = self._newest(columns, limit, ids=ids)
        if columns is not None:
            return query_frame(self.client, query, columns, params)
        frame = self.client.query_df(query, parameters=params)
        if frame.empty and frame.columns.empty:
            # An empty answer carries no column names (chDB sends no block): ask the schema.
            names = self.client.query(
                "SELECT name FROM system.columns WHERE database = {db:String} "
                "AND table = 'curves' AND name != 'fingerprint' ORDER BY position",
                parameters={"db": self.database},
            ).result_columns[0]
            return pd.DataFrame(columns=list(names))
        return frame

    def committed(
        self, after: tuple[datetime, int], limit: int, columns: Sequence[str]
    ) -> pd.DataFrame:
        """The selected curves committed after the cursor ``after`` = (commit time, curve id),
        oldest commit first, with ``committed_at`` (their dataset's commit time): what a poller
        or an event stream has not seen yet. Commits of the last :data:`SETTLE_MS` are left for
        the next call, so a commit whose time was taken before another's but which finished
        after it cannot fall behind a cursor already handed out."""
        sql, params = self.selection.where("c")
        names = ", ".join(f"c.{identifier(c)}" for c in columns)
        t = "DateTime64(3, 'UTC')"
        query = (
            f"SELECT {names}, d.created_at AS committed_at FROM {self._db}.curves AS c "
            f"INNER JOIN (SELECT dataset_id, created_at FROM {self._db}.datasets "
            f"WHERE created_at >= {{after_t:{t}}} "
            "AND created_at <= now64(3) - toIntervalMillisecond({settle:UInt32})) AS d "
            f"ON c.dataset_id = d.dataset_id WHERE {sql} "
            f"AND (d.created_at, c.curve_id) > ({{after_t:{t}}}, {{after_id:UInt64}}) "
            "ORDER BY d.created_at, c.curve_id LIMIT {limit:UInt32}"
        )
        params.update(after_t=after[0], after_id=int(after[1]), settle=SETTLE_MS, limit=limit)
        return query_frame(self.client, query, [*columns, "committed_at"], params)

    def page(self, limit: int, offset: int, columns: Sequence[str]) -> CurvePage:
        """Curves ``offset`` to ``offset + limit``, newest first, with the number matching."""
        query, params = self._newest(columns, limit, offset)
        rows = self.client.query(query, parameters=params).result_rows
        return CurvePage(self.count(), [dict(zip(columns, row, strict=True)) for row in rows])

    def choices(self) -> dict[str, list[str]]:
        """Distinct values of each filter column but project and process among the selected
        curves, sorted: the options of a page's pickers."""
        sql, params = self.selection.where()
        columns = [c for c in FILTER_COLUMNS if c not in ("project", "process")]
        row = self.client.query(
            f"SELECT {', '.join(f'groupUniqArray({c})' for c in columns)} "
            f"FROM {self._db}.curves WHERE {sql}",
            parameters=params,
        ).result_rows
        values = row[0] if row else [[] for _ in columns]
        return {c: sorted(v for v in vs if v) for c, vs in zip(columns, values, strict=True)}

    def part(self, serial: str) -> Part:
        """The selected curves of the part with exactly this serial, oldest first, each with
        its key values (peak, final sample, work) computed in the engine
        (:mod:`pipelines.parts`). A serial names one part per project: narrow the reader to
        one project first. No curves (an unknown serial, or ``""``): an empty part."""
        columns = list(PART_CURVE_COLUMNS)
        if not serial:
            return Part(serial, pd.DataFrame(columns=[*columns, *KEY_COLUMNS]))
        sql, params = self.selection.where()
        meta = query_frame(
            self.client,
            f"SELECT {', '.join(columns)} FROM {self._db}.curves WHERE {sql} "
            "AND part_serial = {part:String} ORDER BY started_at, station, curve_id",
            columns,
            {**params, "part": serial},
        )
        if meta.empty:
            return Part(serial, pd.DataFrame(columns=[*columns, *KEY_COLUMNS]))
        keys = query_frame(
            self.client,
            KEY_VALUES_SQL.format(db=self._db),
            ["curve_id", *KEY_COLUMNS],
            {
                "projects": sorted(set(meta["project"].astype(str))),
                "ids": meta["curve_id"].astype("uint64").tolist(),
            },
        )
        frame = meta.merge(keys, on="curve_id", how="left")
        for column in KEY_COLUMNS:
            frame[column] = frame[column].astype("float64")
        return Part(serial, frame)

    # --- summaries ----------------------------------------------------------------------------

    def overview(self) -> Overview:
        """Curves, parts, NOK curves and rejected parts, points, projects, datasets and the
        time span of the selection, in one aggregation."""
        sql, params = self.selection.where()
        row = self.client.query(
            f"SELECT count(), sum(point_count), countIf(result = 'NOK'), uniqExact(project), "
            f"uniqExact(dataset_id), min(started_at), max(started_at), uniqExact({PART_KEY}), "
            f"uniqExactIf({PART_KEY}, result = 'NOK') "
            f"FROM {self._db}.curves WHERE {sql}",
            parameters=params,
        ).result_rows[0]
        curves = int(row[0])
        return Overview(
            curves=curves,
            points=int(row[1] or 0),
            nok=int(row[2] or 0),
            projects=int(row[3]),
            datasets=int(row[4]),
            first=pd.Timestamp(row[5], tz="UTC") if curves else None,
            last=pd.Timestamp(row[6], tz="UTC") if curves else None,
            parts=int(row[7]) if curves else 0,
            rejected_parts=int(row[8]) if curves else 0,
        )

    def breakdown(self) -> pd.DataFrame:
        """Curves per plant, line and station, split by result."""
        sql, params = self.selection.where()
        frame = self.client.query_df(
            f"SELECT project, plant, line, station, process, count() AS curves, "
            f"countIf(result = 'OK') AS ok, countIf(result = 'NOK') AS nok, "
            f"sum(point_count) AS points FROM {self._db}.curves WHERE {sql} "
            "GROUP BY project, plant, line, station, process "
            "ORDER BY project, plant, line, station",
            parameters=params,
        )
        if frame.empty:
            return pd.DataFrame(columns=list(BREAKDOWN_COLUMNS))
        frame["nok_rate"] = frame["nok"] / frame["curves"]
        return frame[list(BREAKDOWN_COLUMNS)]

    def processes(self, limit: int = 3) -> list[str]:
        """The most common processes, most curves first."""
        sql, params = self.selection.where()
        rows = self.client.query(
            f"SELECT process FROM {self._db}.curves WHERE {sql} GROUP BY process "
            "ORDER BY count() DESC, process LIMIT {n:UInt32}",
            parameters={**params, "n": int(limit)},
        ).result_rows
        return [r[0] for r in rows]

    def processes_by_project(self) -> pd.DataFrame:
        """Curves per project and process, most curves first: what a page offers to open."""
        sql, params = self.selection.where()
        return query_frame(
            self.client,
            f"SELECT project, process, count() AS curves FROM {self._db}.curves WHERE {sql} "
            "GROUP BY project, process ORDER BY curves DESC, project, process",
            ["project", "process", "curves"],
            params,
        )

    def features(
        self,
        columns: Sequence[str] = ("station", "program", "started_at", "result"),
        configured: Sequence[Configured] = (),
    ) -> pd.DataFrame:
        """The stored features of the selected curves (:mod:`pipelines.features`), one row per
        curve, oldest first: ``curve_id``, ``project``, ``process``, ``columns`` of the curves
        table and every feature; what SPC, drift and feature limits read. A curve stored before
        features existed is missing until :func:`pipelines.features.backfill_features` ran.
        Each of ``configured`` adds its column (:attr:`Configured.column`), NaN for a curve
        whose value is not computed yet."""
        sql, params = self.selection.where("c")
        # The features table is sorted by project and process: narrow it by them directly.
        scope = []
        for column in ("project", "process"):
            values = self.selection.equals.get(column)
            if values:
                scope.append(f"{column} IN {{features_{column}:Array(String)}}")
                params[f"features_{column}"] = list(values)
        names = ["curve_id", "project", "process", *columns]
        chosen = ", ".join(f"c.{identifier(c)} AS {identifier(c)}" for c in names)
        values = ", ".join(f"f.{identifier(c)} AS {identifier(c)}" for c in FEATURES)
        where = " AND ".join(scope) or "1"
        extra, joined = "", ""
        if configured:
            # One row per curve with each feature's value and whether it has one: a curve
            # without a row reads NaN whatever the server's join_use_nulls.
            pivots, own = [], []
            for k, feature in enumerate(configured):
                params[f"cf_{k}"] = feature.id
                pivots.append(
                    f"anyIf(value, feature_id = {{cf_{k}:UInt32}}) AS v_{k}, "
                    f"countIf(feature_id = {{cf_{k}:UInt32}}) AS n_{k}"
                )
                own.append(f"if(v.n_{k} > 0, v.v_{k}, nan) AS {identifier(feature.column)}")
            params["cf_ids"] = [f.id for f in configured]
            extra = ", " + ", ".join(own)
            joined = (
                f" LEFT JOIN (SELECT curve_id, {', '.join(pivots)} "
                f"FROM {self._db}.curve_feature_values WHERE {where} "
                "AND feature_id IN {cf_ids:Array(UInt32)} GROUP BY curve_id) AS v "
                "ON v.curve_id = c.curve_id"
            )
        query = (
            f"SELECT {chosen}, {values}{extra} FROM {self._db}.curves AS c INNER JOIN "
            f"(SELECT curve_id, {', '.join(FEATURES)} FROM {self._db}.curve_features "
            f"WHERE {where}) AS f ON f.curve_id = c.curve_id{joined} "
            f"WHERE {sql} ORDER BY c.started_at, c.curve_id"
        )
        names_out = [*names, *FEATURES, *(f.column for f in configured)]
        return query_frame(self.client, query, names_out, params)

    def datasets(self, *, kind: str | None = None) -> pd.DataFrame:
        """The committed imports and demo runs of the selected projects, oldest first."""
        sql, params = self._projects_where()
        columns = ["dataset_id", "project", "kind", "name", "source", "content_sha256"]
        columns += ["curve_count", "point_count", "created_at"]
        return query_frame(
            self.client,
            f"SELECT {', '.join(columns)} FROM {self._db}.datasets WHERE {sql} "
            "AND ({kind:String} = '' OR kind = {kind:String}) ORDER BY created_at",
            columns,
            {**params, "kind": kind or ""},
        )

    def _projects_where(self) -> tuple[str, dict]:
        """The selection's projects alone, for tables that hold no other curve column."""
        chosen = self.selection.equals.get("project")
        scope = CurveFilter() if chosen is None else CurveFilter(equals={"project": chosen})
        return scope.where()

    def committed_per_project(self) -> pd.DataFrame:
        """Curves and points committed per selected project (``project``, ``curves``,
        ``points``), summed in the engine from the datasets' counts: live ingest adds a
        datasets row a second, so these rows are not read one by one."""
        sql, params = self._projects_where()
        return query_frame(
            self.client,
            "SELECT project, sum(curve_count) AS curves, sum(point_count) AS points "
            f"FROM {self._db}.datasets WHERE {sql} GROUP BY project ORDER BY project",
            ["project", "curves", "points"],
            params,
        )

    def storage(self) -> pd.DataFrame:
        """On-disk size of each table of the database (every project's)."""
        return self.client.query_df(
            "SELECT table, sum(rows) AS rows, sum(data_compressed_bytes) AS compressed_bytes, "
            "sum(data_uncompressed_bytes) AS uncompressed_bytes FROM system.parts "
            "WHERE database = {db:String} AND active GROUP BY table ORDER BY table",
            parameters={"db": self.database},
        )

    def bytes_per_point(self, points: int | None = None) -> float | None:
        """Compressed bytes per stored (x, y) point of the samples and their levels
        (:mod:`pipelines.stored_levels`); pass ``points`` if already known."""
        points = self.overview().points if points is None else points
        sizes = self.storage()
        if not points or sizes.empty:
            return None
        held = sizes["table"].isin(("curve_samples", "curve_levels"))
        return float(sizes.loc[held, "compressed_bytes"].sum()) / points

    # --- samples and pictures -----------------------------------------------------------------

    def fit(self, view: View) -> View:
        """``view`` with missing ranges set to the selected curves' extents (plus padding)."""
        return fit(self.client, self.database, self.selection, view)

    def aligned(self, view: View) -> View:
        """:meth:`fit`, then widened (at most 2x) so that its pixel columns are the buckets of
        a stored level of the selected curves: drawn from the engine, such a view reads each
        curve's level instead of reducing its samples, with the same pixels
        (:mod:`pipelines.stored_levels`). Unwidened when no level fits, or when fewer than
        half of the selected curves store it."""
        return aligned(self.client, self.database, self.selection, view)

    def samples(self, x_range: tuple[float, float] | None = None) -> CurveSet:
        """Every selected curve's samples in engineering units, or only what ``x_range`` needs
        (NaN where samples were cut): ``.x``, ``.y``, ``.offsets`` (Arrow's list layout, ready
        for ``pipelines.curve_density``) and ``.meta``, one row per curve in the same order."""
        if x_range is None:
            meta = select(self.client, self.database, self.selection, None)
            return fetch_samples(self.client, self.database, meta, None)
        view = self.fit(View(x_range=x_range))
        return fetch(self.client, self.database, self.selection, view)

    def curve(self, curve_id: int) -> CurveSet:
        """One curve's samples, whole; an empty set when the selection holds no such curve."""
        meta = select(self.client, self.database, self.selection, None, ids=[curve_id])
        return fetch_samples(self.client, self.database, meta, None)

    def newest_samples(self, limit: int = 500) -> CurveSet:
        """The newest ``limit`` selected curves, whole, in engineering units."""
        meta = self.metadata(limit, columns=META_COLUMNS + AXIS_COLUMNS)
        return fetch_samples(self.client, self.database, meta, None)

    def density(
        self, view: View | None = None, /, *, preview: Preview | None = None, **fields: Any
    ) -> DensityImage:
        """Distinct curves per pixel, drawn on ``view``, or on a view made of ``fields``
        (``x_range``, ``y_range``, ``width``, ``height``, ``color_by`` and
        ``verdict_rules`` as in :class:`pipelines.views.View`: ``color_by="verdict",
        verdict_rules=[rule id, …]`` splits them into failed, passed and not judged); missing
        ranges fit the selected curves.
        ``preview(image)``: shown a first picture while a source that holds curves loads them
        (:class:`pipelines.sources.MemorySamples`)."""
        if view is None:
            view = View(**fields)
        elif fields:
            raise TypeError("give a View or its fields, not both")
        return self.source.density(
            self.client, self.database, self.selection, view, preview=preview
        )

    def following(self, view: View) -> DensityImage:
        """:meth:`density` of a selection whose time window slides forward (it starts at a
        time, with no end): a live page's picture each second. A source that holds curves in
        memory updates one shared picture by the curves that came and went; others draw it."""
        follow = getattr(self.source, "following", None)
        if follow is None:
            return self.density(view)
        return follow(self.client, self.database, self.selection, view)

    def pick(self, view: View, box: tuple[int, int, int, int], *, limit: int = 20) -> Pick:
        """Curves drawing a pixel in ``box`` = (col0, col1, row0, row1) of ``view`` (rows from
        the bottom), decided by the kernel with the view's own pixel mapping: the newest
        ``limit`` with their metadata, and how many there are."""
        chosen = self.source.through(self.client, self.database, self.selection, view, box)
        if not chosen:
            return Pick(0, pd.DataFrame(columns=list(PICK_COLUMNS)))
        # The newest ``limit`` of each chunk of ids, then of those (see frames.id_chunks).
        newest = [self.metadata(limit, columns=PICK_COLUMNS, ids=ids) for ids in id_chunks(chosen)]
        meta = newest[0]
        if len(newest) > 1:
            meta = (
                pd.concat([f for f in newest if not f.empty] or newest[:1], ignore_index=True)
                .sort_values(["started_at", "curve_id"], ascending=[False, True], kind="stable")
                .head(limit)
                .reset_index(drop=True)
            )
        return Pick(len(chosen), meta)

    def highlight(self, curve_ids: list[int], view: View) -> list[Line]:
        """These curves as vector lines, M4-reduced to the canvas: the same pixels, fewer
        points."""
        if not curve_ids:
            return []
        meta = select(self.client, self.database, self.selection, view, ids=list(curve_ids))
        return lines(fetch_samples(self.client, self.database, meta, view), view)

    def part_lines(self, serial: str, view: View, *, limit: int = 3) -> list[Line]:
        """Lines of up to ``limit`` selected curves of the part with exactly this serial (a
        reference part drawn over the picture)."""
        exact = replace(self.where, serial=serial).within(self.projects)
        meta = select(self.client, self.database, exact, view)
        ids = meta.loc[meta["part_serial"] == serial, "curve_id"].head(limit).tolist()
        return self.highlight(ids, view) if ids else []

    def envelope(self, view: View, *, bins: int = 200) -> pd.DataFrame:
        """Per-x percentile bands across the selected curves (:func:`pipelines.fetch.envelope`)."""
        return envelope(self.client, self.database, self.selection, view, bins=bins)

    def compare(self, other: Curves, view: View) -> Comparison:
        """This selection and ``other`` on one canvas (fitted to both when ranges are missing),
        e.g. shift A against shift B."""
        if view.x_range is None or view.y_range is None:
            fa, fb = self.fit(view), other.fit(view)
            view = view.zoomed(
                (min(fa.x_range[0], fb.x_range[0]), max(fa.x_range[1], fb.x_range[1])),
                (min(fa.y_range[0], fb.y_range[0]), max(fa.y_range[1], fb.y_range[1])),
            )
        return Comparison(self.density(view), other.density(view))

    def plot(
        self, width: int = 800, height: int = 400, color_by: str | None = None
    ) -> hv.DynamicMap:
        """A zoomable HoloViews plot: every zoom re-aggregates exactly in a live notebook."""
        from pipelines.render import dynamic

        home = self.fit(View(width=width, height=height, color_by=color_by))

        def render(x_range, y_range):
            return self.density(home if x_range is None else home.zoomed(x_range, y_range))

        return dynamic(render, width=width, height=height, tools=["hover"])
