"""A project's configured curve features over HTTP (issue 19 §2): y where x first reaches a
value, x where y first reaches one, the slope of y over an x range, per process. Defining one
computes it for the process's stored curves in the background (:mod:`app.feature_fill`), and
for every curve committed after, in its commit; ``feature_<id>`` then names it wherever a
feature is chosen (``…/spc``, ``…/drifts``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.api.errors import not_found
from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import Label, Page, Paging, Request
from app.api.scope import page_list, project_in
from app.feature_fill import FILLING, start_fill
from models import feature_definitions as defined
from models.access import Action
from models.tables import FeatureDefinition

TAG = "Quality"


class FeatureCreate(Request):
    process: Label
    name: Label = Field(description="what people call it, e.g. 'force at 5 mm'")
    kind: Literal["y_at_x", "x_at_y", "slope"]
    a: float = Field(description="the x (y_at_x, and where a slope's range starts) or y (x_at_y)")
    b: float | None = Field(None, description="where a slope's x range ends (slope only)")


class FeatureOut(BaseModel):
    id: int
    feature: str = Field(description="its name where a feature is chosen: feature_<id>")
    process: str
    name: str
    kind: str
    a: float
    b: float | None
    computes: str = Field(description="what it computes, in words")
    filling: bool = Field(description="whether its stored curves are being computed now")
    created_by: str
    created_at: datetime


def _out(row: FeatureDefinition, project: str) -> FeatureOut:
    return FeatureOut(
        id=row.id,
        feature=f"feature_{row.id}",
        process=row.process,
        name=row.name,
        kind=row.kind,
        a=row.a,
        b=row.b,
        computes=defined.describe(row.kind, row.a, row.b),
        filling=project in FILLING,
        created_by=row.created_by,
        created_at=row.created_at,
    )


@API.route(
    "GET",
    "/api/projects/{project_id}/features",
    "The project's configured curve features, oldest first",
    query=Paging,
    response=Page[FeatureOut],
    permission=Action.VIEW,
    tag=TAG,
)
def list_features(call: Call) -> Page[FeatureOut]:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        rows = defined.project_features(session, call.who, project)
        items = [_out(r, project.name) for r in rows]
    return page_list(items, call.query)


@API.route(
    "POST",
    "/api/projects/{project_id}/features",
    "Define a curve feature of a process: computed for its stored curves and every new one",
    body=FeatureCreate,
    response=FeatureOut,
    status=201,
    errors=(403, 422),
    permission=Action.EDIT_RULES,
    tag=TAG,
    description="What a feature computes never changes; define another for another measure. "
    "Its values for the stored curves are computed in the background (filling: true).",
)
def create_feature(call: Call) -> FeatureOut:
    body: FeatureCreate = call.body
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.EDIT_RULES)
        row = defined.create_feature(
            session=session,
            actor=call.who,
            project=project,
            process=body.process,
            name=body.name,
            kind=body.kind,
            a=body.a,
            b=body.b,
        )
        session.commit()
        start_fill(call.ctx.services, project.name)
        return _out(row, project.name)


@API.route(
    "DELETE",
    "/api/projects/{project_id}/features/{feature_id}",
    "Retire a configured feature: no longer offered or computed (its values stay)",
    status=204,
    errors=(403,),
    permission=Action.EDIT_RULES,
    tag=TAG,
)
def retire_feature(call: Call) -> None:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.EDIT_RULES)
        row = session.get(FeatureDefinition, call.path["feature_id"])
        if row is None or row.project_id != project.id or row.retired_at is not None:
            raise not_found(f"Project {project.id} has no feature {call.path['feature_id']}.")
        defined.retire_feature(session=session, actor=call.who, feature=row)
        session.commit()
