"""Saved views of a project over HTTP (issue 20): list, save, open, rename, share and delete
Curve Explorer states kept under a name.

A view's ``state`` is the explorer's URL query (``{"station": "S1,S2", "x": "0,12"}``), checked
by a round trip through the explorer's own state (:func:`app.explorer.saved.stored_query`): a
key the explorer does not have, or a value it cannot hold, is a 422 naming it; what is kept is
what the explorer would put in a link. Each answer carries the view's stable ``link``.

Who may do what is :mod:`models.saved_views`'s: anyone who views the project saves private
views; sharing needs ``share_views`` (engineer), changing someone else's shared view
``manage_views`` (admin); a private view of someone else's does not exist for the caller (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from app.api.handler import Call
from app.api.registry import API
from app.api.schemas import Label, Page, Paging, Request
from app.api.scope import page_list, project_in
from app.explorer.saved import stored_query, view_link
from models import saved_views as stored
from models.access import Action, Principal
from models.tables import Project, SavedView

TAG = "views"
Key = Annotated[str, StringConstraints(min_length=1, max_length=stored.MAX_KEY)]
Value = Annotated[str, StringConstraints(max_length=stored.MAX_VALUE)]
State = Annotated[dict[Key, Value], Field(max_length=stored.MAX_KEYS)]
STATE_SAID = (
    "the Curve Explorer's URL query parameters, as its address bar shows them after /curves? "
    '(station=S1,S2&x=0,12 is {"station": "S1,S2", "x": "0,12"}); the view\'s project is '
    "the path's"
)


class ViewIn(Request):
    name: Label
    shared: bool = Field(False, description="shared with the project (needs share_views)")
    state: State = Field(default_factory=dict, description=STATE_SAID)


class ViewEdit(Request):
    name: Label | None = Field(None, description="a new name")
    shared: bool | None = Field(None, description="share it, or make it its owner's alone")
    state: State | None = Field(None, description="another state under the same name and link")


class ViewOut(BaseModel):
    id: int
    project_id: int
    name: str
    shared: bool
    owner: str = Field(description="who saved it")
    mine: bool = Field(description="saved by the caller")
    may_change: bool = Field(description="the caller may rename, share, change or delete it")
    state: dict[str, str] = Field(description=STATE_SAID)
    link: str = Field(description="opens the view in the Curve Explorer (a stable link)")
    created_at: datetime
    updated_at: datetime


def view_out(session: Session, who: Principal, view: SavedView) -> ViewOut:
    return ViewOut(
        id=view.id,
        project_id=view.project_id,
        name=view.name,
        shared=view.shared,
        owner=view.created_by,
        mine=view.owner_id == who.user_id,
        may_change=stored.may_change(session, who, view),
        state=dict(view.query),
        link=view_link(view.id),
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


def _view(session: Session, call: Call) -> tuple[Project, SavedView]:
    project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
    view = stored.find_view(session, call.who, call.path["view_id"], project_id=project.id)
    return project, view


@API.route(
    "GET",
    "/api/projects/{project_id}/views",
    "The saved views the caller may open in the project: their own and the shared ones",
    query=Paging,
    response=Page[ViewOut],
    permission=Action.VIEW,
    tag=TAG,
)
def list_views(call: Call) -> Page[ViewOut]:
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        views = stored.project_views(session, call.who, project)
        return page_list([view_out(session, call.who, v) for v in views], call.query)


@API.route(
    "POST",
    "/api/projects/{project_id}/views",
    "Save an explorer state under a name",
    body=ViewIn,
    response=ViewOut,
    status=201,
    errors=(403, 409),
    permission=Action.VIEW,
    tag=TAG,
    description="Anyone who views the project saves private views; saving one shared needs "
    "share_views (engineer or higher). A name the caller uses for another view of theirs in "
    "the project is a 409. The audit trail records it (view.create).",
)
def create_view(call: Call) -> ViewOut:
    body: ViewIn = call.body
    with call.store.sessions() as session:
        project, _ = project_in(session, call, call.path["project_id"], Action.VIEW)
        view = stored.save_view(
            session=session,
            actor=call.who,
            project=project,
            name=body.name,
            query=stored_query(body.state, project.name),
            shared=body.shared,
        )
        session.commit()
        return view_out(session, call.who, view)


@API.route(
    "GET",
    "/api/projects/{project_id}/views/{view_id}",
    "One saved view, with its state and link",
    response=ViewOut,
    permission=Action.VIEW,
    tag=TAG,
)
def get_view(call: Call) -> ViewOut:
    with call.store.sessions() as session:
        _, view = _view(session, call)
        return view_out(session, call.who, view)


@API.route(
    "PATCH",
    "/api/projects/{project_id}/views/{view_id}",
    "Rename a saved view, share it or make it private, or keep another state in it",
    body=ViewEdit,
    response=ViewOut,
    errors=(403, 409),
    permission=Action.VIEW,
    tag=TAG,
    description="A private view is its owner's to change. A shared view is changed by its "
    "owner with share_views (engineer or higher) or by anyone with manage_views (admin or "
    "higher), never by a viewer; sharing needs share_views. All or nothing; the audit trail "
    "records each change (view.rename, view.share, view.unshare, view.change).",
)
def edit_view(call: Call) -> ViewOut:
    body: ViewEdit = call.body
    with call.store.sessions() as session:
        project, view = _view(session, call)
        who = call.who
        if body.state is not None:
            query = stored_query(body.state, project.name)
            stored.change_view(session=session, actor=who, view=view, query=query)
        if body.name is not None:
            stored.rename_view(session=session, actor=who, view=view, name=body.name)
        if body.shared is not None:
            stored.share_view(session=session, actor=who, view=view, shared=body.shared)
        session.commit()
        return view_out(session, who, view)


@API.route(
    "DELETE",
    "/api/projects/{project_id}/views/{view_id}",
    "Delete a saved view",
    status=204,
    errors=(403,),
    permission=Action.VIEW,
    tag=TAG,
    description="Who may: as for changing it. Its link then finds nothing. The audit trail "
    "records it with its state (view.delete).",
)
def delete_view(call: Call) -> None:
    with call.store.sessions() as session:
        _, view = _view(session, call)
        stored.delete_view(session=session, actor=call.who, view=view)
        session.commit()
