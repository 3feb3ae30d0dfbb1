"""Watching a feature of a project's curves: SPC charts with their limits and run rules, process
capability, and drift at the stations (issue 19 §5-7). The numbers are
:mod:`pipelines.spc` and :mod:`pipelines.drifts` on :meth:`pipelines.curves.Curves.features`;
this module only asks and answers."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from app.api.curves import _curves, _project, curve_filter
from app.api.errors import invalid
from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import TIMES, CurveFilters, Moment
from models.access import Action
from pipelines.drifts import station_drifts
from pipelines.kernels.features import FEATURES
from pipelines.spc import capability, individuals, subgroups, violations
from pipelines.spc.charts import Chart, ChartError
from pipelines.spc.runs import NELSON, WESTERN_ELECTRIC

TAG = "Quality"
Feature = Literal[FEATURES]  # type: ignore[valid-type]
CURVE_IDS_SHOWN = 1000  # of a drift's parts, in an answer


class Baseline(CurveFilters):
    feature: Feature = Field("area", description="which curve feature")
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


class CapabilityOut(BaseModel):
    n: int
    mean: float
    sigma_within: float
    sigma_overall: float
    cp: float | None
    cpk: float
    pp: float | None
    ppk: float
    expected_outside: float


class SpcOut(BaseModel):
    feature: str
    charts: list[ChartOut]
    capability: CapabilityOut | None


def _features(call: Call, query: Baseline) -> pd.DataFrame:
    _, name = _project(call, Action.VIEW)
    curves = _curves(call.services, name).matching(curve_filter(query))
    return curves.features(("station", "program", "started_at"))


def _baseline(query: Baseline, started: pd.Series) -> np.ndarray | None:
    if query.baseline_from is None and query.baseline_until is None:
        return None
    mask = np.ones(len(started), bool)
    if query.baseline_from is not None:
        mask &= (started >= pd.Timestamp(query.baseline_from).tz_localize(None)).to_numpy()
    if query.baseline_until is not None:
        mask &= (started < pd.Timestamp(query.baseline_until).tz_localize(None)).to_numpy()
    return mask


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
    period = None
    if query.baseline_from is not None or query.baseline_until is not None:
        period = (query.baseline_from or datetime.min, query.baseline_until or datetime.max)
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
    features = _features(call, query)
    features = features[np.isfinite(features[query.feature].to_numpy(np.float64))]
    values = features[query.feature].to_numpy(np.float64)
    started = pd.to_datetime(features["started_at"])
    ids = features["curve_id"].to_numpy()
    base = _baseline(query, started)
    rules = NELSON if query.rules == "nelson" else WESTERN_ELECTRIC
    try:
        if query.chart == "individuals":
            charts = individuals(values, base)
            at = [started, started.iloc[1:]]
            pairs = pairwise(ids)
            behind = [[[int(i)] for i in ids], [[int(p), int(n)] for p, n in pairs]]
        else:
            labels = (
                started.dt.floor("h").to_numpy()
                if query.per_hour
                else np.arange(len(values)) // query.subgroup
            )
            spread = "range" if query.chart == "mean-range" else "std"
            charts = subgroups(values, labels, base, spread=spread)
            groups = _groups(labels)
            at = [started.iloc[[a for a, _ in groups]]] * 2
            behind = [[[int(i) for i in ids[a:b]] for a, b in groups]] * 2
        # σ of one part: the I chart's, or a mean's times the root of its subgroup's size.
        within = float(charts[0].sigma[0] * np.sqrt(charts[0].sizes[0]))
        fit = None
        if query.lower is not None or query.upper is not None:
            fit = capability(values, lower=query.lower, upper=query.upper, sigma_within=within)
    except (ChartError, ValueError) as exc:
        raise invalid(str(exc)) from None
    return SpcOut(
        feature=query.feature,
        charts=[_chart(c, t, b, rules) for c, t, b in zip(charts, at, behind, strict=True)],
        capability=None if fit is None else CapabilityOut(**fit.__dict__),
    )


def _groups(labels: np.ndarray) -> list[tuple[int, int]]:
    """The subgroups the charts kept: runs of equal labels of two or more parts."""
    starts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ends = [*starts[1:], len(labels)]
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True) if b - a >= 2]


def _chart(chart: Chart, at: pd.Series, behind: list[list[int]], rules) -> ChartOut:
    return ChartOut(
        name=chart.name,
        at=[pd.Timestamp(t).tz_localize("UTC").to_pydatetime() for t in at],
        points=chart.points.tolist(),
        center=chart.center.tolist(),
        lower=chart.lower.tolist(),
        upper=chart.upper.tolist(),
        curve_ids=behind,
        violations=[ViolationOut(**v.__dict__) for v in violations(chart, rules)],
    )
