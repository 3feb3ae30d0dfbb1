"""Key figures of a project's curves per group and time bucket (issue 20): parts, results,
first-pass yield, NOK rate, defect mix, throughput and cycle time. The figures and their exact
definitions are :mod:`pipelines.kpis`'; this module only asks and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from app.api.curves import _curves, _project, curve_filter
from app.api.errors import invalid
from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import CurveFilters
from models.access import Action
from pipelines.kpis import BUCKETS, GROUPS, Kpis, kpis

TAG = "Quality"
Group = Literal[GROUPS]  # type: ignore[valid-type]
Bucket = Literal[BUCKETS]  # type: ignore[valid-type]
MAX_ROWS = 5000  # groups in one answer: more asks for a coarser bucket or a shorter period


class KpiQuery(CurveFilters):
    by: list[Group] | None = Field(None, description="group by any of these (repeat the field)")
    bucket: Bucket | None = Field(
        None, description="and by this time bucket, on each plant's clocks and shifts"
    )


class DefectOut(BaseModel):
    defect: str
    curves: int = Field(description="curves with this defect named")
    share: float = Field(description="of the group's curves with a named defect")
    cumulative_share: float = Field(description="of this defect and the commoner ones")


class KpiRow(BaseModel):
    group: dict[str, str] = Field(description="the value of each grouped column")
    bucket: datetime | None = Field(None, description="the time bucket's start (UTC)")
    bucket_end: datetime | None = Field(None, description="and its end (UTC)")
    curves: int
    ok_curves: int
    nok_curves: int
    unknown_curves: int
    parts: int = Field(description="part serials (within the project) with a curve here")
    ok_parts: int = Field(description="parts whose every curve here is OK")
    nok_parts: int = Field(description="parts with a NOK curve here (a rework included)")
    unknown_parts: int = Field(description="parts with no NOK but an UNKNOWN curve here")
    first_pass_yield: float | None = Field(description="ok_parts / (ok_parts + nok_parts)")
    nok_rate: float | None = Field(description="NOK curves / (OK + NOK curves)")
    hours: float | None = Field(description="the hours covered (bucket clipped to the period)")
    parts_per_hour: float | None
    cycle_median_s: float | None = Field(description="median of ended_at - started_at, seconds")
    cycle_p90_s: float | None = Field(description="90th percentile of the same")
    first_start: datetime | None
    last_end: datetime | None
    defects: list[DefectOut] = Field(description="the defect mix, most first (a Pareto)")


class KpisOut(BaseModel):
    by: list[str]
    bucket: str | None
    items: list[KpiRow]


@API.route(
    "GET",
    "/api/projects/{project_id}/kpis",
    "Parts, first-pass yield, NOK rate, defect mix, throughput and cycle time per group",
    query=KpiQuery,
    response=KpisOut,
    permission=Action.VIEW,
    tag=TAG,
    description="Counted in the engine on the curves the filters select (started_after and "
    "started_before are the period). A part is a part serial within the project and counts in "
    "every group where it has a curve. First-pass yield is the share of judged parts (OK or "
    "NOK) without a NOK curve: a rework after a NOK does not make a part first-pass, parts "
    "whose results are UNKNOWN are left out. Throughput is parts per hour of the period (the "
    "filter's times, else the selection's first start to last end), clipped to each bucket. "
    f"At most {MAX_ROWS} groups.",
)
def project_kpis(call: Call) -> KpisOut:
    query: KpiQuery = call.query
    _, name = _project(call, Action.VIEW)
    curves = _curves(call.services, name).matching(curve_filter(query))
    got = kpis(curves, query.by or (), query.bucket)
    if len(got.figures) > MAX_ROWS:
        raise invalid(
            f"{len(got.figures)} groups are more than {MAX_ROWS}: choose a coarser bucket, "
            "fewer groups or a shorter period"
        )
    return KpisOut(by=list(got.by), bucket=got.bucket, items=_rows(got))


def _rows(got: Kpis) -> list[KpiRow]:
    keys = list(got.keys)
    mixes: dict[tuple, list[DefectOut]] = {}
    for row in got.pareto.to_dict("records"):
        mixes.setdefault(tuple(row[k] for k in keys), []).append(
            DefectOut(
                defect=row["defect"],
                curves=int(row["curves"]),
                share=float(row["share"]),
                cumulative_share=float(row["cumulative_share"]),
            )
        )
    items = []
    for row in got.figures.to_dict("records"):
        values = {k: _plain(v) for k, v in row.items() if k not in got.by}
        items.append(
            KpiRow(
                group={k: str(row[k]) for k in got.by},
                defects=mixes.get(tuple(row[k] for k in keys), []),
                **values,
            )
        )
    return items


def _plain(value: Any) -> Any:
    """A frame's value for JSON: NaN and NaT as None, timestamps as datetimes."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
