"""Shift reports on demand (issue 20): one shift of a plant, as a self-contained HTML file or
its PDF. What a report shows and how its figures are counted is :mod:`pipelines.reports`';
printing is :mod:`providers.pdf`'s; this module only asks and answers."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from app.api.curves import _curves, _project
from app.api.handler import Call, Raw
from app.api.registry import API
from app.api.schemas import Label, Result
from models.access import Action
from models.times import YEARS
from pipelines.reports import PANELS, ReportDefinition, ShiftRef, render_shift_report
from pipelines.views import CurveFilter
from providers.pdf import print_pdf

TAG = "Quality"
Panel = Literal[PANELS]  # type: ignore[valid-type]
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


class ShiftReportQuery(BaseModel):
    plant: Label = Field(description="the plant, as the curves name it")
    date: dt.date = Field(description="the day the shift starts, on the clocks its shifts are kept")
    shift: Label = Field(description="the shift's name in the plant's shifts (e.g. A, Früh)")
    format: Literal["html", "pdf"] = "html"
    panels: list[Panel] | None = Field(
        None, description=f"what to show (repeat the field); all of {', '.join(PANELS)} if none"
    )
    line: list[Label] | None = None
    station: list[Label] | None = None
    process: list[Label] | None = None
    program: list[Label] | None = None
    result: list[Result] | None = None
    serial: Label | None = Field(None, description="part serial contains this (any case)")


@API.route(
    "GET",
    "/api/projects/{project_id}/reports/shift",
    "One shift's report as a self-contained HTML file or a PDF",
    query=ShiftReportQuery,
    media=("text/html", "application/pdf"),
    permission=Action.VIEW,
    tag=TAG,
    description="The shift is a named shift of the plant starting on the date, on the clocks the "
    "plant's shifts are kept by, until the next shift starts; its times are shown on the "
    "plant's clocks with the zone named. The curve filters narrow the shift's curves. The "
    "report shows the shift's key figures and a table per station, the defect Pareto and a "
    "density figure per process (the most common six); a shift without parts says so. The "
    f"date lies in the years {YEARS[0]} to {YEARS[1]}.",
)
def shift_report(call: Call) -> Raw:
    query: ShiftReportQuery = call.query
    _, name = _project(call, Action.VIEW)
    definition = ReportDefinition(
        project=name,
        shift=ShiftRef(query.plant, query.date, query.shift),
        where=CurveFilter.of(
            serial=query.serial or "",
            line=query.line,
            station=query.station,
            process=query.process,
            program=query.program,
            result=query.result,
        ),
        panels=tuple(query.panels or PANELS),
    )
    report = render_shift_report(_curves(call.services, name), definition)
    if query.format == "pdf":
        data = print_pdf(report.html, chromium=call.settings.chromium)
    else:
        data = report.html.encode("utf-8")
    return Raw(data, MEDIA[query.format], report.filename(query.format))
