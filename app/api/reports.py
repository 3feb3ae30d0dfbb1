"""Shift reports on demand (issue 20): one shift of a plant, as a self-contained HTML file or
its PDF. What a report shows and how its figures are counted is :mod:`pipelines.reports`';
printing is :mod:`providers.pdf`'s; this module only asks and answers."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.api.curves import _curves, _project
from app.api.handler import Call, Raw
from app.api.registry import API
from app.api.schemas import Email, Label, Page, Paging, Request, Result
from app.api.scope import page_list, project_in
from models import reports as stored
from models.access import Action
from models.plants import load_plants
from models.reports import CADENCES, MAX_RECIPIENTS
from models.tables import ReportSchedule
from models.times import YEARS
from pipelines.reports import PANELS, ReportDefinition, ShiftRef, render_shift_report
from pipelines.reports.schedule import Period, period_of
from pipelines.views import CurveFilter
from providers.pdf import print_pdf

TAG = "Quality"
Panel = Literal[PANELS]  # type: ignore[valid-type]
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


class ReportQuery(BaseModel):
    plant: Label = Field(description="the plant, as the curves name it")
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


class ShiftReportQuery(ReportQuery):
    date: dt.date = Field(description="the day the shift starts, on the clocks its shifts are kept")
    shift: Label = Field(description="the shift's name in the plant's shifts (e.g. A, Früh)")


class PeriodReportQuery(ReportQuery):
    date: dt.date = Field(description="a day of the period, as the plant's shift clocks date it")
    cadence: Literal["daily", "weekly"] = Field(
        description="the day's shifts, or those of its Monday-to-Sunday week"
    )


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
    return _report(call, name, ShiftRef(query.plant, query.date, query.shift), None)


@API.route(
    "GET",
    "/api/projects/{project_id}/reports/period",
    "A day's or a week's report of all its shifts, as HTML or a PDF",
    query=PeriodReportQuery,
    media=("text/html", "application/pdf"),
    permission=Action.VIEW,
    tag=TAG,
    description="One report over every shift of the plant's day (daily) or of the Monday-to-"
    "Sunday week holding the date (weekly): the shift report's figures, tables and pictures "
    "for the whole period, and a table of each shift's figures side by side. A daily or "
    "weekly schedule of all shifts mails this report.",
)
def period_report(call: Call) -> Raw:
    query: PeriodReportQuery = call.query
    _, name = _project(call, Action.VIEW)  # who may see it, before what it asks
    period = period_of(cadence=query.cadence, plant=query.plant, day=query.date, book=load_plants())
    return _report(call, name, period.shifts[0].ref, period)


def _report(call: Call, name: str, ref: ShiftRef, period: Period | None) -> Raw:
    query: ReportQuery = call.query
    definition = ReportDefinition(
        project=name,
        shift=ref,
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
    report = render_shift_report(_curves(call.services, name), definition, period=period)
    if query.format == "pdf":
        data = print_pdf(report.html, chromium=call.settings.chromium)
    else:
        data = report.html.encode("utf-8")
    return Raw(data, MEDIA[query.format], report.filename(query.format))


# --- schedules: a report mailed after each shift, day or week ---------------------------------

SCHEDULE_FILTERS = ("line", "station", "process", "program", "result")


class ScheduleIn(Request):
    name: Label
    plant: Label = Field(description="the plant, as the curves name it")
    cadence: Literal[CADENCES] = Field(  # type: ignore[valid-type]
        description="mail after each shift, each day's last shift, or each week's (Mon-Sun)"
    )
    recipients: list[Email] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    shifts: list[Label] = Field(
        default_factory=list, description="only these of the plant's shifts (all if none)"
    )
    panels: list[Panel] = Field(default_factory=list, description="all if none")
    line: list[Label] | None = None
    station: list[Label] | None = None
    process: list[Label] | None = None
    program: list[Label] | None = None
    result: list[Result] | None = None


class ScheduleOut(BaseModel):
    id: int
    project_id: int
    name: str
    plant: str
    cadence: str
    recipients: list[str]
    shifts: list[str]
    panels: list[str]
    filters: dict[str, list[str]]
    created_by: str
    created_at: datetime
    mailed_until: datetime = Field(description="the end of the last period mailed (UTC)")


def _schedule_out(schedule: ReportSchedule) -> ScheduleOut:
    return ScheduleOut(
        id=schedule.id,
        project_id=schedule.project_id,
        name=schedule.name,
        plant=schedule.plant,
        cadence=schedule.cadence,
        recipients=list(schedule.recipients),
        shifts=list(schedule.shifts),
        panels=list(schedule.panels),
        filters={k: list(v) for k, v in schedule.filters.items()},
        created_by=schedule.created_by,
        created_at=schedule.created_at,
        mailed_until=schedule.mailed_until,
    )


@API.route(
    "GET",
    "/api/projects/{project_id}/reports/schedules",
    "The project's scheduled shift reports",
    query=Paging,
    response=Page[ScheduleOut],
    permission=Action.VIEW,
    tag=TAG,
)
def list_schedules(call: Call) -> Page[ScheduleOut]:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        found = stored.schedules(session, project.id)
        return page_list([_schedule_out(s) for s in found], call.query)


@API.route(
    "POST",
    "/api/projects/{project_id}/reports/schedules",
    "Mail a plant's shift reports after each shift, day or week",
    body=ScheduleIn,
    response=ScheduleOut,
    status=201,
    errors=(403,),
    permission=Action.SHARE_VIEWS,
    tag=TAG,
    description="Mailing a project's figures is sharing them: it needs share_views (engineer "
    "or higher). Each period that ends from now on is mailed once, through the server's mail "
    "settings (CURVEHOUSE_SMTP_URL): one PDF per shift, or for a daily or weekly schedule of "
    "consecutive shifts one report of the day or week; each mailing is in the audit trail "
    "(report.mail), as is making the schedule (report.schedule).",
)
def create_schedule(call: Call) -> ScheduleOut:
    body: ScheduleIn = call.body
    filters = {c: getattr(body, c) for c in SCHEDULE_FILTERS if getattr(body, c)}
    CurveFilter.of(**filters)  # refused here (422) rather than at the first mailing
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.SHARE_VIEWS)
        schedule = stored.add_schedule(
            session=session,
            who=call.who,
            project_id=project.id,
            name=body.name,
            plant=body.plant,
            cadence=body.cadence,
            recipients=body.recipients,
            shifts=body.shifts,
            filters=filters,
            panels=body.panels,
        )
        session.commit()
        return _schedule_out(schedule)


@API.route(
    "DELETE",
    "/api/projects/{project_id}/reports/schedules/{schedule_id}",
    "Stop and delete a scheduled shift report",
    status=204,
    errors=(403,),
    permission=Action.SHARE_VIEWS,
    tag=TAG,
    description="Needs share_views; the audit trail records it (report.unschedule).",
)
def delete_schedule(call: Call) -> None:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.SHARE_VIEWS)
        stored.remove_schedule(
            session=session,
            who=call.who,
            project_id=project.id,
            schedule_id=call.path["schedule_id"],
        )
        session.commit()


class ScheduleEdit(Request):
    """The fields to change; those left out stay. An empty filter list drops that filter."""

    name: Label | None = None
    plant: Label | None = Field(None, description="the plant, as the curves name it")
    cadence: Literal[CADENCES] | None = None  # type: ignore[valid-type]
    recipients: list[Email] | None = Field(None, min_length=1, max_length=MAX_RECIPIENTS)
    shifts: list[Label] | None = Field(None, description="only these shifts; [] for all")
    panels: list[Panel] | None = Field(None, description="[] for all")
    line: list[Label] | None = None
    station: list[Label] | None = None
    process: list[Label] | None = None
    program: list[Label] | None = None
    result: list[Result] | None = None


@API.route(
    "PATCH",
    "/api/projects/{project_id}/reports/schedules/{schedule_id}",
    "Change a scheduled shift report: its name, plant, cadence, recipients, shifts, filters "
    "or panels",
    body=ScheduleEdit,
    response=ScheduleOut,
    errors=(403,),
    permission=Action.SHARE_VIEWS,
    tag=TAG,
    description="Needs share_views (engineer or higher), as making one. The schedule as "
    "changed is checked whole, as a new one; its mailings go on from the last period mailed. "
    "The audit trail records the fields changed (report.reschedule).",
)
def edit_schedule(call: Call) -> ScheduleOut:
    body: ScheduleEdit = call.body
    given = body.model_fields_set
    changes: dict[str, object] = {
        f: getattr(body, f)
        for f in ("name", "plant", "cadence", "recipients", "shifts", "panels")
        if f in given and getattr(body, f) is not None
    }
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.SHARE_VIEWS)
        asked = [c for c in SCHEDULE_FILTERS if c in given]
        if asked:
            schedule = session.get(ReportSchedule, call.path["schedule_id"])
            mine = schedule is not None and schedule.project_id == project.id
            filters = dict(schedule.filters) if mine else {}
            for column in asked:
                filters[column] = getattr(body, column) or []
            filters = {c: v for c, v in filters.items() if v}
            CurveFilter.of(**filters)  # refused here (422) rather than at the next mailing
            changes["filters"] = filters
        schedule = stored.change_schedule(
            session=session,
            who=call.who,
            project_id=project.id,
            schedule_id=call.path["schedule_id"],
            changes=changes,
        )
        session.commit()
        return _schedule_out(schedule)
