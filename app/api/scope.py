"""What a request may reach: a project or cluster after ``require``, a page of rows, the engine.

A cluster the caller cannot see is reported as missing with the cluster's own id, so the
message does not name the project it belongs to.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.api.errors import not_found
from app.api.handler import Call
from app.api.schemas import Page, Paging
from app.services import Services
from models.access import Action, NotFound, require
from models.tables import Cluster, Project, Role
from pipelines.homes import Home
from pipelines.store import CurveStore

M = TypeVar("M", bound=BaseModel)
_engine = threading.local()


def project_in(
    session: Session, call: Call, project_id: int, action: Action
) -> tuple[Project, Role | None]:
    """The project, once ``require`` allowed ``action`` in it (404 or 403 otherwise)."""
    role = require(session, call.who, project_id, action)
    project = session.get(Project, project_id)
    if project is None:  # the operator needs no role, but the project must exist
        raise not_found(f"There is no project {project_id}.")
    return project, role


def cluster_in(session: Session, call: Call, cluster_id: int, action: Action) -> Cluster:
    """The cluster, once ``require`` allowed ``action`` in its project."""
    cluster = session.get(Cluster, cluster_id)
    missing = f"There is no cluster {cluster_id}, or you are not a member of its project."
    if cluster is None:
        raise not_found(missing)
    try:
        require(session, call.who, cluster.project_id, action)
    except NotFound:
        raise not_found(missing) from None
    return cluster


def page_of(
    session: Session, query: sa.Select, paging: Paging, convert: Callable[..., M]
) -> Page[M]:
    """One page of ``query``'s rows (ordered by the caller), with the total count."""
    total = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.limit(paging.limit).offset(paging.offset)).all()
    return Page(items=[convert(r) for r in rows], total=total or 0, **_window(paging))


def page_list(items: Sequence[M], paging: Paging) -> Page[M]:
    """One page of a list already in memory."""
    chosen = list(items[paging.offset : paging.offset + paging.limit])
    return Page(items=chosen, total=len(items), **_window(paging))


def _window(paging: Paging) -> dict[str, int]:
    return {"limit": paging.limit, "offset": paging.offset}


def home_store(services: Services, home: Home, *, project: str | None = None) -> CurveStore:
    """A store on ``home`` over this worker thread's own client: a client is not shared
    between threads, and opening one per request would cost about 50 ms. A home whose address
    or password changed (a restarted cluster) gets a new client."""
    stores = getattr(_engine, "stores", None)
    if stores is None:
        stores = _engine.stores = {}
    key = (services, home.key)
    token = services.homes.token(home)
    held = stores.get(key)
    if held is not None and held[0] == token and token and home.reachable:
        return held[1]
    store = services.homes.store(home, project=project)
    if held is not None:
        held[1].client.close()
    stores[key] = (services.homes.token(home), store)
    return store


def project_store(services: Services, project: str) -> CurveStore:
    """A store on the home of the project named ``project``, on this thread's client."""
    return home_store(services, services.homes.of(project), project=project)
