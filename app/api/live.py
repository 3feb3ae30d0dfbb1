"""Curves as they are committed, for other systems: a cursor to poll with, and a server-sent
event stream of the same batches.

A cursor is the commit time (ms since the epoch) and the curve id of the last curve handed out,
``1764914400123-9812...``: each answer carries the next one. Curves come oldest commit first
and none is skipped, however late its part started, because the cursor follows commits, not
parts (:meth:`pipelines.curves.Curves.committed`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd
from pydantic import BaseModel, Field

from app.api.curves import CURVE_COLUMNS, TAG, _curve_row, _curves, _project, curve_filter
from app.api.errors import invalid
from app.api.handler import Call, Stream
from app.api.registry import API
from app.api.schemas import CurveFilters, CurveOut, Moment
from models.access import Action

_CURSOR = re.compile(r"(\d{1,15})-(\d{1,20})")
POLL_SECONDS = 1.0  # how often an event stream looks for new commits
BATCH = 500  # curves per answer or event, at most


class CommittedQuery(CurveFilters):
    since: Moment | None = Field(
        None, description="curves committed at or after this time (default: now)"
    )
    after: str | None = Field(
        None, description="the cursor an earlier answer gave (wins over since)"
    )
    limit: int = Field(BATCH, ge=1, le=BATCH, description="curves per answer")


class CommittedCurve(CurveOut):
    committed_at: datetime


class CommittedPage(BaseModel):
    items: list[CommittedCurve]
    next: str = Field(description="the cursor to ask with next (after=)")
    more: bool = Field(description="more curves are committed already: ask again at once")


def cursor_text(moment: datetime, curve_id: int) -> str:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return f"{stamp.value // 1_000_000}-{int(curve_id)}"


def cursor_of(text: str | None, since: datetime | None = None) -> tuple[datetime, int]:
    """The cursor ``text`` says, or the start of ``since`` (default: now)."""
    if text is not None:
        found = _CURSOR.fullmatch(text.strip())
        if found is None:
            raise invalid("after", "a cursor from an earlier answer, such as 1764914400123-42")
        return pd.Timestamp(int(found[1]), unit="ms", tz="UTC").to_pydatetime(), int(found[2])
    return since or datetime.now(UTC), 0


def committed_page(call: Call, after: tuple[datetime, int], limit: int) -> CommittedPage:
    """The next batch after ``after`` (the project's access checked again each time)."""
    _, name = _project(call, Action.VIEW)
    query = call.query
    curves = _curves(call.services, name).matching(curve_filter(query))
    rows = curves.committed(after, limit, (*CURVE_COLUMNS, "x_step", "y_step"))
    items = []
    for row in rows.to_dict("records"):
        committed = pd.Timestamp(row.pop("committed_at")).tz_localize("UTC").to_pydatetime()
        items.append(CommittedCurve(**_curve_row(row), committed_at=committed))
    last = cursor_text(items[-1].committed_at, items[-1].curve_id) if items else None
    return CommittedPage(items=items, next=last or cursor_text(*after), more=len(items) == limit)


@API.route(
    "GET",
    "/api/projects/{project_id}/curves/committed",
    "Curves committed since a time or a cursor, oldest commit first (for polling)",
    query=CommittedQuery,
    response=CommittedPage,
    permission=Action.VIEW,
    tag=TAG,
    description="Poll with the `next` cursor of each answer as `after`. Commits of the last "
    "second are left for the next poll, so none is ever skipped.",
)
def committed_curves(call: Call) -> CommittedPage:
    query: CommittedQuery = call.query
    return committed_page(call, cursor_of(query.after, query.since), query.limit)


@API.route(
    "GET",
    "/api/projects/{project_id}/events",
    "A server-sent event stream of the project's curves as they are committed",
    query=CommittedQuery,
    permission=Action.VIEW,
    tag=TAG,
    media=("text/event-stream",),
    description="Each event is `event: curves`, its `id` the cursor after it, its `data` the "
    "same JSON as one answer of /curves/committed. A reconnecting client's `Last-Event-ID` "
    "resumes after the last event it saw. A comment line every 15 s keeps proxies open.",
)
def curve_events(call: Call) -> Stream:
    query: CommittedQuery = call.query
    resume = call.headers.get("Last-Event-ID")
    start = cursor_of(resume or query.after, query.since)

    def events(after: tuple[datetime, int]) -> tuple[list[str], tuple[datetime, int]]:
        page = committed_page(call, after, query.limit)
        if not page.items:
            return [], after
        said = f"event: curves\nid: {page.next}\ndata: {page.model_dump_json()}\n\n"
        return [said], cursor_of(page.next)

    return Stream(events, start, POLL_SECONDS)
