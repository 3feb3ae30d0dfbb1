"""Dashboards of a project over HTTP (issue 20): list, make, open, replace, rename, share and
delete grids of saved views, KPI tiles, trends and SPC charts.

A dashboard's ``panels`` are each a saved view (``view_id``), a KPI tile (``metric`` and a
``filter``), a trend (``metric`` per ``bucket``, with a ``filter``) or an SPC chart (a curve
feature as ``metric``, with a ``filter``), at a place ``x``, ``y``,
``w``, ``h`` on a grid 12 cells wide; no two panels share a cell. An SPC chart's feature is a
fixed one or one of the project's configured features, ``feature_<id>`` as ``GET …/spc`` takes
it. Metrics, features, buckets and filters are checked by :mod:`app.dashboards.spec` (a 422
names the panel and the choices); the page draws exactly what is stored here.

Who may do what is :mod:`models.dashboards`' (the saved views' rule): anyone who views the
project makes private dashboards; sharing needs ``share_views`` (engineer), changing someone
else's shared dashboard ``manage_views`` (admin); a private dashboard of someone else's does
not exist for the caller (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import Label, Page, Paging, Request
from app.api.scope import page_list, project_in
from app.dashboards.spec import (
    BUCKET_WORDS,
    FILTER_KEYS,
    METRICS,
    checked_panels,
    configured_features,
    spc_features,
)
from models import dashboards as stored
from models.access import Action, Principal
from models.tables import Dashboard, Project
from pipelines.kernels.features import FEATURES

TAG = "dashboards"
LINK = "/dashboards?dashboard={id}"
Metric = Literal[tuple(METRICS)]  # type: ignore[valid-type]
Bucket = Literal[tuple(BUCKET_WORDS)]  # type: ignore[valid-type]
Feature = Annotated[str, StringConstraints(pattern=rf"^({'|'.join(FEATURES)}|feature_\d+)$")]
FilterKey = Annotated[str, StringConstraints(min_length=1, max_length=40)]
FilterValue = Annotated[str, StringConstraints(max_length=stored.MAX_VALUE)]
Filter = Annotated[dict[FilterKey, FilterValue], Field(max_length=stored.MAX_FILTER_KEYS)]
FILTER_SAID = (
    "which curves, as the Curve Explorer's link writes its filters (station=S1,S2 is "
    '{"station": "S1,S2"}); "live": "15m", "1h" or "shift" follows the clock. Keys: '
    + ", ".join(FILTER_KEYS)
)


class Place(BaseModel):
    x: int = Field(ge=0, le=stored.COLUMNS - 1, description="column of the left edge (0-11)")
    y: int = Field(ge=0, le=stored.MAX_ROWS - 1, description="row of the top edge")
    w: int = Field(ge=1, le=stored.COLUMNS, description="width in columns")
    h: int = Field(ge=1, le=stored.MAX_HEIGHT, description="height in rows")
    title: Label | None = Field(None, description="a heading of its own")


class ViewPanel(Place):
    kind: Literal["view"]
    view_id: int = Field(ge=1, description="a saved view of the project, drawn live")


class KpiPanel(Place):
    kind: Literal["kpi"]
    metric: Metric
    filter: Filter = Field(default_factory=dict, description=FILTER_SAID)


class TrendPanel(Place):
    kind: Literal["trend"]
    metric: Metric
    bucket: Bucket
    filter: Filter = Field(default_factory=dict, description=FILTER_SAID)


class SpcPanel(Place):
    kind: Literal["spc"]
    metric: Feature = Field(
        description=f"the curve feature whose individuals chart is drawn: {', '.join(FEATURES)}, "
        "or feature_<id> for one of the project's configured features (GET …/features)"
    )
    filter: Filter = Field(
        default_factory=dict,
        description=FILTER_SAID + " (without a process: the configured feature's process, or "
        "for a fixed feature the project's most common one)",
    )


Panel = Annotated[ViewPanel | KpiPanel | TrendPanel | SpcPanel, Field(discriminator="kind")]
Panels = Annotated[list[Panel], Field(max_length=stored.MAX_PANELS)]


class DashboardIn(Request):
    name: Label
    shared: bool = Field(False, description="shared with the project (needs share_views)")
    panels: Panels = Field(default_factory=list)


class DashboardEdit(Request):
    name: Label | None = Field(None, description="a new name")
    shared: bool | None = Field(None, description="share it, or make it its owner's alone")


class DashboardOut(BaseModel):
    id: int
    project_id: int
    name: str
    shared: bool
    owner: str = Field(description="who made it")
    mine: bool = Field(description="made by the caller")
    may_change: bool = Field(description="the caller may change, rename, share or delete it")
    panels: list[Panel]
    link: str = Field(description="opens the dashboard in the app")
    created_at: datetime
    updated_at: datetime


def dashboard_out(session: Session, who: Principal, board: Dashboard) -> DashboardOut:
    return DashboardOut(
        id=board.id,
        project_id=board.project_id,
        name=board.name,
        shared=board.shared,
        owner=board.created_by,
        mine=board.owner_id == who.user_id,
        may_change=stored.may_change(session, who, board),
        panels=board.panels,
        link=LINK.format(id=board.id),
        created_at=board.created_at,
        updated_at=board.updated_at,
    )


def _panels(
    session: Session, call: Call, body: DashboardIn, project: Project, board: Dashboard | None
) -> list[dict]:
    """The body's panels as kept; ``board``: the dashboard they replace (its SPC panels'
    features may have been retired since, and stay)."""
    given = [p.model_dump(exclude_none=True) for p in body.panels]
    configured = configured_features(session, call.who, project)
    kept = spc_features(board.panels) if board is not None else set()
    return checked_panels(given, project.name, configured, kept)


def _board(session: Session, call: Call) -> tuple[Project, Dashboard]:
    project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
    board = stored.find_dashboard(
        session, call.who, call.path["dashboard_id"], project_id=project.id
    )
    return project, board


@API.route(
    "GET",
    "/api/projects/{project_id}/dashboards",
    "The dashboards the caller may open in the project: their own and the shared ones",
    query=Paging,
    response=Page[DashboardOut],
    permission=Action.VIEW,
    tag=TAG,
)
def list_dashboards(call: Call) -> Page[DashboardOut]:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        boards = stored.project_dashboards(session, call.who, project)
        return page_list([dashboard_out(session, call.who, b) for b in boards], call.query)


@API.route(
    "POST",
    "/api/projects/{project_id}/dashboards",
    "Make a dashboard",
    body=DashboardIn,
    response=DashboardOut,
    status=201,
    errors=(403, 409),
    permission=Action.VIEW,
    tag=TAG,
    description="Anyone who views the project makes private dashboards; making one shared "
    "needs share_views (engineer or higher), and its view panels must show shared views. A "
    "name the caller uses for another dashboard of theirs in the project is a 409. The audit "
    "trail records it (dashboard.create).",
)
def create_dashboard(call: Call) -> DashboardOut:
    body: DashboardIn = call.body
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        board = stored.create_dashboard(
            session=session,
            actor=call.who,
            project=project,
            name=body.name,
            panels=_panels(session, call, body, project, None),
            shared=body.shared,
        )
        session.commit()
        return dashboard_out(session, call.who, board)


@API.route(
    "GET",
    "/api/projects/{project_id}/dashboards/{dashboard_id}",
    "One dashboard, with its panels and their places",
    response=DashboardOut,
    permission=Action.VIEW,
    tag=TAG,
)
def get_dashboard(call: Call) -> DashboardOut:
    with call.store.sessions() as session:
        _, board = _board(session, call)
        return dashboard_out(session, call.who, board)


@API.route(
    "PUT",
    "/api/projects/{project_id}/dashboards/{dashboard_id}",
    "Replace a dashboard's name, sharing and panels",
    body=DashboardIn,
    response=DashboardOut,
    errors=(403, 409),
    permission=Action.VIEW,
    tag=TAG,
    description="A private dashboard is its owner's to change. A shared one is changed by "
    "its owner with share_views (engineer or higher) or by anyone with manage_views (admin "
    "or higher), never by a viewer. All or nothing; the audit trail records each change "
    "(dashboard.change, dashboard.rename, dashboard.share, dashboard.unshare).",
)
def replace_dashboard(call: Call) -> DashboardOut:
    body: DashboardIn = call.body
    with call.store.sessions() as session:
        project, board = _board(session, call)
        who = call.who
        panels = _panels(session, call, body, project, board)
        if not body.shared:  # unshared first: its panels may then show private views
            stored.share_dashboard(session=session, actor=who, board=board, shared=False)
        stored.change_panels(session=session, actor=who, board=board, panels=panels)
        stored.rename_dashboard(session=session, actor=who, board=board, name=body.name)
        stored.share_dashboard(session=session, actor=who, board=board, shared=body.shared)
        session.commit()
        return dashboard_out(session, who, board)


@API.route(
    "PATCH",
    "/api/projects/{project_id}/dashboards/{dashboard_id}",
    "Rename a dashboard, or share it or make it private",
    body=DashboardEdit,
    response=DashboardOut,
    errors=(403, 409),
    permission=Action.VIEW,
    tag=TAG,
    description="Who may: as for replacing it. All or nothing; the audit trail records each "
    "change (dashboard.rename, dashboard.share, dashboard.unshare).",
)
def edit_dashboard(call: Call) -> DashboardOut:
    body: DashboardEdit = call.body
    with call.store.sessions() as session:
        _, board = _board(session, call)
        if body.name is not None:
            stored.rename_dashboard(session=session, actor=call.who, board=board, name=body.name)
        if body.shared is not None:
            stored.share_dashboard(session=session, actor=call.who, board=board, shared=body.shared)
        session.commit()
        return dashboard_out(session, call.who, board)


@API.route(
    "DELETE",
    "/api/projects/{project_id}/dashboards/{dashboard_id}",
    "Delete a dashboard",
    status=204,
    errors=(403,),
    permission=Action.VIEW,
    tag=TAG,
    description="Who may: as for changing it. The saved views it showed stay. The audit "
    "trail records it with its panels (dashboard.delete).",
)
def delete_dashboard(call: Call) -> None:
    with call.store.sessions() as session:
        _, board = _board(session, call)
        stored.delete_dashboard(session=session, actor=call.who, board=board)
        session.commit()
