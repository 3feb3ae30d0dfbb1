"""Watching a feature of a project's curves: SPC charts with their limits and run rules, process
capability, drift at the stations, and unusual parts (issue 19 §5-7). The numbers are
:mod:`pipelines.spc` and :mod:`pipelines.drifts` on :meth:`pipelines.curves.Curves.features`;
this module only asks and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, StringConstraints

from app.api.curves import _curves, _project, curve_filter
from app.api.errors import invalid
from app.api.handler import Call, Raw
from app.api.registry import API
from app.api.schemas import TIMES, CurveFilters, Moment
from models.access import Action
from models.csv_safe import csv_text
from pipelines.configured import StoredFeatures
from pipelines.drifts import station_drifts
from pipelines.feature_charts import Plotted, chart_feature
from pipelines.frames import engine_time
from pipelines.kernels.features import FEATURES
from pipelines.spc import Capability
from pipelines.unusual import ENVELOPE_BINS, LEAST_PARTS, rank_unusual, unusual_words

TAG = "Quality"
Feature = Annotated[str, StringConstraints(pattern=rf"^({'|'.join(FEATURES)}|feature_\d+)$")]
CURVE_IDS_SHOWN = 1000  # of a drift's parts, in an answer


class Baseline(CurveFilters):
    feature: Feature = Field(
        "area",
        description=f"which curve feature: {', '.join(FEATURES)}, or feature_<id> for one of "
        "the project's configured features (GET …/features)",
    )
    baseline_from: Moment | None = Field(
        None, description=f"the trusted period starts (default: every part); {TIMES}"
    )
    baseline_until: Moment | None = Field(None, description="the trusted period ends")


class DriftOut(BaseModel):
    station: str
    feature: str
    direction: Literal["up", "down"]
    since: datetime = Field(description="the first part of the drift")
    alarm: datetime = Field(description="the part that raised the alarm")
    until: datetime = Field(description="the last part still drifting")
    shift_sigma: float = Field(description="how far the parts since sit, in σ of their program")
    parts: int
    words: str
    curve_ids: list[int] = Field(description=f"the drift's parts (the first {CURVE_IDS_SHOWN})")


class DriftsOut(BaseModel):
    judged: int = Field(description="parts with the feature")
    items: list[DriftOut]


class UnusualQuery(CurveFilters):
    limit: int = Field(50, ge=1, le=1000, description="parts, most unusual first")
    format: Literal["json", "csv"] = "json"


class UnusualOut(BaseModel):
    curve_id: int
    part_serial: str
    station: str
    program: str
    started_at: datetime
    score: float = Field(
        description="root mean square of the features' robust z and the envelope distance"
    )
    feature: str = Field(
        description="what sits furthest out: a feature, or 'envelope' (the curve itself)"
    )
    z: float = Field(description="its robust z, signed (the envelope distance for 'envelope')")
    envelope: float | None = Field(
        description="distance from the program's median curve: the root mean square of the "
        f"curve's robust z in {ENVELOPE_BINS} x bins (about 1 for a typical part); null for a "
        f"program of fewer than {LEAST_PARTS} parts"
    )
    words: str


class UnusualPage(BaseModel):
    items: list[UnusualOut]


class SpcQuery(Baseline):
    chart: Literal["individuals", "mean-range", "mean-std"] = "individuals"
    subgroup: int = Field(5, ge=2, le=1000, description="parts per subgroup (mean charts)")
    per_hour: bool = Field(False, description="subgroups are the parts of each hour instead")
    lower: float | None = Field(None, description="lower specification limit (capability)")
    upper: float | None = Field(None, description="upper specification limit (capability)")
    rules: Literal["nelson", "western-electric"] = "nelson"


class ViolationOut(BaseModel):
    rule: str
    index: int
    words: str


class ChartOut(BaseModel):
    name: str
    at: list[datetime] = Field(description="each point's (first) part's start")
    points: list[float]
    center: list[float]
    lower: list[float]
    upper: list[float]
    curve_ids: list[list[int]] = Field(description="the parts behind each point")
    violations: list[ViolationOut]


class SpcOut(BaseModel):
    feature: str
    charts: list[ChartOut]
    capability: Capability | None  # the dataclass itself: its fields are the answer's


def _features(call: Call, query: Baseline) -> pd.DataFrame:
    _, name = _project(call, Action.VIEW)
    configured = []
    if query.feature not in FEATURES:
        configured = [c for c in StoredFeatures(call.store).of(name) if c.column == query.feature]
        if not configured:
            raise invalid(
                f"Project {name!r} has no configured feature {query.feature!r}; its features "
                f"are listed by GET /api/projects/{{id}}/features."
            )
    curves = _curves(call.services, name).matching(curve_filter(query))
    return curves.features(("station", "program", "started_at"), configured)


@API.route(
    "GET",
    "/api/projects/{project_id}/drifts",
    "Stations whose parts drift in a feature, newest alarm first",
    query=Baseline,
    response=DriftsOut,
    permission=Action.VIEW,
    tag=TAG,
    description="Per station, each part's feature in σ of its own program (median and median "
    "moving range of the baseline), then a CUSUM clipped at ±2 σ (k = 0.5 σ, h = 5 σ).",
)
def drifts(call: Call) -> DriftsOut:
    query: Baseline = call.query
    features = _features(call, query)
    period = (query.baseline_from, query.baseline_until)
    alerts = station_drifts(features, query.feature, baseline=period)
    return DriftsOut(
        judged=int(np.isfinite(features[query.feature].to_numpy(np.float64)).sum()),
        items=[
            DriftOut(
                station=a.station,
                feature=a.feature,
                direction=a.direction,
                since=a.since.to_pydatetime(),
                alarm=a.alarm.to_pydatetime(),
                until=a.until.to_pydatetime(),
                shift_sigma=a.shift_sigma,
                parts=len(a.curve_ids),
                words=a.words(),
                curve_ids=list(a.curve_ids[:CURVE_IDS_SHOWN]),
            )
            for a in alerts
        ],
    )


@API.route(
    "GET",
    "/api/projects/{project_id}/spc",
    "A control chart of a feature, its run rules and the process capability",
    query=SpcQuery,
    response=SpcOut,
    permission=Action.VIEW,
    tag=TAG,
    description="Narrow it to one station and program (a chart of several mixes their levels). "
    "Limits come from the baseline period (default: every part).",
)
def spc(call: Call) -> SpcOut:
    query: SpcQuery = call.query
    try:
        made = chart_feature(
            _features(call, query),
            query.feature,
            chart=query.chart,
            subgroup=query.subgroup,
            per_hour=query.per_hour,
            baseline=(query.baseline_from, query.baseline_until),
            lower=query.lower,
            upper=query.upper,
            rules=query.rules,
        )
    except ValueError as exc:
        raise invalid(str(exc)) from None
    return SpcOut(
        feature=query.feature,
        charts=[_chart(p) for p in made.charts],
        capability=made.capability,
    )


@API.route(
    "GET",
    "/api/projects/{project_id}/unusual",
    "The parts whose features sit furthest from their program's, most unusual first; "
    "format=csv for a spreadsheet",
    query=UnusualQuery,
    response=UnusualPage,
    media=("text/csv",),
    permission=Action.VIEW,
    tag=TAG,
    description="Each feature in robust σ of the part's program (median and MAD), and the "
    "curve's distance from the program's median curve (its envelope); the score is their root "
    "mean square. Programs with fewer than 20 parts are not judged.",
)
def unusual(call: Call) -> UnusualPage | Raw:
    query: UnusualQuery = call.query
    project_id, name = _project(call, Action.VIEW)
    curves = _curves(call.services, name).matching(curve_filter(query))
    ranked = rank_unusual(curves, ("part_serial", "station", "program", "started_at"), query.limit)
    page = UnusualPage(
        items=[
            UnusualOut(
                curve_id=int(row.curve_id),
                part_serial=row.part_serial,
                station=row.station,
                program=row.program,
                started_at=engine_time(row.started_at).to_pydatetime(),
                score=float(row.score),
                feature=row.feature,
                z=float(row.z),
                envelope=None if np.isnan(row.envelope) else float(row.envelope),
                words=unusual_words(row),
            )
            for row in ranked.itertuples()
        ]
    )
    if query.format == "csv":
        columns = list(UnusualOut.model_fields)
        rows = [[getattr(item, c) for c in columns] for item in page.items]
        body = csv_text(columns, rows).encode("utf-8")
        return Raw(body, "text/csv; charset=utf-8", f"unusual-parts-project-{project_id}.csv")
    return page


def _chart(plotted: Plotted) -> ChartOut:
    chart = plotted.chart
    return ChartOut(
        name=chart.name,
        at=[engine_time(t).to_pydatetime() for t in plotted.at],
        points=chart.points.tolist(),
        center=chart.center.tolist(),
        lower=chart.lower.tolist(),
        upper=chart.upper.tolist(),
        curve_ids=list(plotted.curve_ids),
        violations=[ViolationOut(**v.__dict__) for v in plotted.violations],
    )
