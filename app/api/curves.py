"""Datasets and curves of a project: import files, query metadata, rasters and samples.

A project's curves are those whose ``project`` label is the project's name; every request reads
them through a :class:`~pipelines.curves.Curves` kept inside that one label, whatever the
filters say. Filter values reach ClickHouse only as bound parameters, and column names only
from the whitelists in :mod:`pipelines.views`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC

import numpy as np

from app.api.errors import invalid, not_found
from app.api.handler import Answer, Call, Raw
from app.api.registry import API
from app.api.schemas import (
    CurveFilters,
    CurveOut,
    CurveQuery,
    DatasetOut,
    ImportOut,
    ImportQuery,
    Page,
    Paging,
    RasterOut,
    RasterQuery,
    SamplesOut,
)
from app.api.scope import page_list, project_in, project_store
from app.imports import ImportRefused, import_upload
from app.services import Services
from models.access import Action
from models.audit import audit
from models.rules import project_rules
from pipelines.curves import Curves
from pipelines.views import CurveFilter, View

TAG = "curves"
CURVE_COLUMNS = tuple(CurveOut.model_fields)
# Significant digits of a raster's span its extents are written with: far finer than a pixel.
EXTENT_DIGITS = 12


def step_decimals(step: float) -> int:
    """Decimal places that write a value stored on the grid ``step`` (see
    :mod:`pipelines.quantize`: ``value = code * step``) without float noise: ``15091 * 0.001``
    is ``15.091000000000001`` in float64 and ``15.091`` here. On a decimal grid that is the
    value exactly; on a binary one it is within half a step, so the code is kept."""
    if not (math.isfinite(step) and step > 0):
        return 17
    return max(0, math.ceil(-math.log10(step) - 1e-9))


def at_step(values: np.ndarray, step: float) -> list[float]:
    """``values`` as the store holds them: rounded to ``step``'s decimals (see
    :func:`step_decimals`), as plain floats for JSON."""
    return np.round(np.asarray(values, dtype=np.float64), step_decimals(step)).tolist()


def extent(low: float, high: float) -> tuple[float, float]:
    """A raster's range written to :data:`EXTENT_DIGITS` digits of its span (a padded fit is
    arithmetic, not stored values)."""
    span = abs(high - low) or abs(high) or 1.0
    decimals = EXTENT_DIGITS - math.ceil(math.log10(span))
    return round(low, decimals), round(high, decimals)


def _project(call: Call, action: Action) -> tuple[int, str]:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], action)
        return project.id, project.name


def _curves(services: Services, project: str) -> Curves:
    """The project's curves, on this worker thread's client of the project's home."""
    store = project_store(services, project)
    return Curves(store.client, store.database, projects=(project,))


def _record(call: Call, project_id: int, action: str, **detail) -> None:
    with call.store.sessions() as session:
        audit(session, call.who.label, action, "project", project_id, ip=call.ip, **detail)
        session.commit()


@API.route(
    "GET",
    "/api/projects/{project_id}/datasets",
    "Datasets imported into a project",
    query=Paging,
    response=Page[DatasetOut],
    permission=Action.VIEW,
    tag=TAG,
)
def list_datasets(call: Call) -> Page[DatasetOut]:
    _, name = _project(call, Action.VIEW)
    frame = _curves(call.services, name).datasets()
    items = [
        DatasetOut(
            id=str(row.dataset_id),
            name=row.name,
            kind=row.kind,
            curve_count=int(row.curve_count),
            point_count=int(row.point_count),
            created_at=row.created_at.to_pydatetime(),
        )
        for row in frame.itertuples()
    ]
    items.reverse()  # newest first
    return page_list(items, call.query)


@API.route(
    "POST",
    "/api/projects/{project_id}/datasets",
    "Import a CSV or Parquet file of curves, all or nothing",
    query=ImportQuery,
    upload=True,
    response=ImportOut,
    status=201,
    other_statuses=(200,),
    errors=(403, 409),
    permission=Action.IMPORT_DATA,
    tag=TAG,
    description="The body is the file (Content-Type text/csv or "
    "application/vnd.apache.parquet) or a multipart form with a 'file' part. The file "
    "name (?name= or the part's filename) is only a label. A CSV's separator and decimal "
    "mark are read from the file unless given (?delimiter=;&decimal=,), and its encoding is "
    "UTF-8 unless ?encoding=cp1252 (Excel in Western Europe). Columns: curve_key, x, y, "
    "and optional per-curve metadata (station, result, started_at, ...). Answers 201 when "
    "a dataset was stored (curves already stored with the same samples are skipped), and 200 "
    "when the project holds this content already: nothing new is stored, already_imported "
    "names the dataset, and curves_skipped counts the file's curves.",
)
def import_dataset(call: Call) -> ImportOut | Answer:
    upload = call.upload
    try:
        report = import_upload(
            services=call.services,
            who=call.who,
            project_id=call.path["project_id"],
            upload=upload,
            ip=call.ip,
            encoding=call.query.encoding,
            delimiter=call.query.delimiter,
            decimal=call.query.decimal,
        )
    except ImportRefused as exc:
        raise invalid(str(exc)) from None
    written = report.written
    out = ImportOut(
        dataset_id=written.dataset_id,
        name=upload.label,
        curves_added=written.curves_added,
        points_added=written.points_added,
        curves_skipped=written.curves_skipped,
        already_imported=report.already_imported,
        summary=report.summary(),
    )
    return Answer(out, 200) if report.already_imported else out


def curve_filter(filters: CurveFilters) -> CurveFilter:
    """The filters as a :class:`CurveFilter`."""
    equals = {
        column: getattr(filters, column)
        for column in ("plant", "line", "station", "process", "program", "shift", "result")
    }
    return CurveFilter.of(
        serial=filters.serial or "",
        start=filters.started_after,
        end=filters.started_before,
        **equals,
    )


@API.route(
    "GET",
    "/api/projects/{project_id}/curves",
    "Curve metadata, newest first",
    query=CurveQuery,
    response=Page[CurveOut],
    permission=Action.VIEW,
    tag=TAG,
)
def list_curves(call: Call) -> Page[CurveOut]:
    query: CurveQuery = call.query
    name, judged_by = _judging(call, query)
    where = curve_filter(query)
    if judged_by is not None:
        where = replace(where, verdict=query.verdict or "", rules=judged_by)
    if query.feature_filter or query.feature_min is not None or query.feature_max is not None:
        ranged = CurveFilter.of(
            feature=query.feature_filter,
            feature_min=query.feature_min,
            feature_max=query.feature_max,
        )
        where = replace(where, feature=ranged.feature, feature_range=ranged.feature_range)
    curves = _curves(call.services, name).matching(where)
    page = curves.page(query.limit, query.offset, (*CURVE_COLUMNS, "x_step", "y_step"))
    items = [CurveOut(**_curve_row(row)) for row in page.rows]
    return Page(items=items, total=page.total, limit=query.limit, offset=query.offset)


def _judging(call: Call, query: CurveQuery) -> tuple[str, tuple[int, ...] | None]:
    """The project's name, and the rule ids a verdict filter is about (None: no verdict
    filter): those asked for, which must be the project's (retired ones too), or else every
    current rule of the project (of the processes filtered, if any)."""
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        if not query.verdict and not query.rule:
            return project.name, None
        known = project_rules(session, call.who, project, retired=True)
        if query.rule:
            ids = {r.id for r in known}
            missing = sorted(set(query.rule) - ids)
            if missing:
                raise not_found(f"There is no rule {missing[0]} in this project.")
            return project.name, tuple(sorted(set(query.rule)))
        processes = set(query.process or ())
        chosen = [
            r.id
            for r in known
            if r.retired_at is None and (not processes or r.process in processes)
        ]
        return project.name, tuple(chosen)


def _curve_row(row: dict) -> dict:
    """One curve's row for :class:`CurveOut`: extents at the precision stored, times in UTC."""
    for axis in ("x", "y"):
        decimals = step_decimals(row.pop(f"{axis}_step"))
        for end in ("min", "max"):
            row[f"{axis}_{end}"] = round(row[f"{axis}_{end}"], decimals)
    row["dataset_id"] = str(row["dataset_id"])
    for key in ("started_at", "ended_at"):  # the engine's DateTime64(3, 'UTC'), as UTC
        if row[key].tzinfo is None:
            row[key] = row[key].replace(tzinfo=UTC)
    return row


@API.route(
    "GET",
    "/api/projects/{project_id}/curves/raster",
    "Distinct-curve density of the project's curves, as JSON counts or a PNG",
    query=RasterQuery,
    response=RasterOut,
    media=("image/png",),
    permission=Action.VIEW,
    tag=TAG,
)
def curve_raster(call: Call) -> RasterOut | Raw:
    project_id, name = _project(call, Action.VIEW)
    query: RasterQuery = call.query
    ranges = {}
    for axis in ("x", "y"):
        low, high = getattr(query, f"{axis}_min"), getattr(query, f"{axis}_max")
        if (low is None) != (high is None):
            raise invalid(f"Give both {axis}_min and {axis}_max, or neither (fit the curves).")
        ranges[f"{axis}_range"] = None if low is None else (low, high)
    view = View(width=query.width, height=query.height, color_by=query.color_by, **ranges)
    where = curve_filter(query)
    curves = _curves(call.services, name).matching(where)
    image = curves.density(view)
    size = query.png_size()
    shape = {"png": f"{size.width}x{size.height}@{size.dpi}dpi"} if size else {}
    _record(
        call,
        project_id,
        "curves.export",
        kind="raster",
        format=query.format,
        curves=image.curves,
        **shape,
    )
    if query.format == "png":
        return Raw(_png(curves, where, image, name, size), "image/png")
    return RasterOut(
        width=image.view.width,
        height=image.view.height,
        x_range=extent(*image.view.x_range),
        y_range=extent(*image.view.y_range),
        x_label=image.x_label,
        y_label=image.y_label,
        curves=image.curves,
        categories=image.categories,
        counts=image.counts.tolist(),
    )


def _png(curves: Curves, where: CurveFilter, image, project: str, size) -> bytes:
    """The bare counts (``size`` None), or the report figure: the view redrawn exactly on the
    figure's grid, captioned with the filter, the time window in UTC and the project."""
    from pipelines.render import png
    from pipelines.report_png import filter_png

    if size is None:
        return png(image)
    return filter_png(
        image,
        where,
        size=size,
        project=project,
        zone="UTC",
        redraw=lambda w, h: curves.density(replace(image.view, width=w, height=h)),
        color_by=image.view.color_by or "",
    )


@API.route(
    "GET",
    "/api/projects/{project_id}/curves/{curve_id}/samples",
    "One curve's samples in engineering units",
    response=SamplesOut,
    permission=Action.EXPORT_DATA,
    tag=TAG,
)
def curve_samples(call: Call) -> SamplesOut:
    project_id, name = _project(call, Action.EXPORT_DATA)
    curve_id = call.path["curve_id"]
    stored = _curves(call.services, name)
    curves = stored.curve(curve_id)
    if not len(curves):
        raise not_found(f"There is no curve {curve_id} in this project.")
    first = curves.meta.iloc[0]
    steps = stored.metadata(1, columns=["x_step", "y_step"], ids=[curve_id]).iloc[0]
    finite = np.isfinite(curves.x) & np.isfinite(curves.y)
    _record(call, project_id, "curves.export", kind="samples", curve=str(curve_id))
    return SamplesOut(
        curve_id=curve_id,
        curve_key=str(first.curve_key),
        x_label=_axis(first.x_name, first.x_unit, "x"),
        y_label=_axis(first.y_name, first.y_unit, "y"),
        x=at_step(curves.x[finite], float(steps.x_step)),
        y=at_step(curves.y[finite], float(steps.y_step)),
    )


def _axis(name: str, unit: str, fallback: str) -> str:
    if not name:
        return fallback
    return f"{name} ({unit})" if unit else name
