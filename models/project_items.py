"""What a person keeps in a project under a name, private or shared with the project: saved
views (:mod:`models.saved_views`) and dashboards (:mod:`models.dashboards`). One rule for both,
on top of the project's roles (:mod:`models.access`):

- anyone who may view the project keeps items of their own, private at first;
- a private item exists for its owner only: anyone else gets :class:`NotFound`, as for a
  project they are not in, so ids cannot be probed;
- sharing an item, and changing or deleting one's own shared item, needs ``share_views``
  (engineer); changing or deleting someone else's shared item needs ``manage_views`` (admin).
  A viewer therefore never changes a shared item.
"""

from __future__ import annotations

from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Action, NotFound, Principal, require
from models.accounts import NameTaken
from models.tables import Dashboard, Project, SavedView

Item = TypeVar("Item", SavedView, Dashboard)
NOUNS = {SavedView: "saved view", Dashboard: "dashboard"}


def missing(kind: type[Item], item_id: int) -> NotFound:
    return NotFound(f"There is no {NOUNS[kind]} {item_id}, or it is not shared with you.")


def visible(actor: Principal, item: SavedView | Dashboard) -> bool:
    """Whether ``actor`` may know of ``item`` at all (its project's role aside)."""
    return actor.is_operator or item.shared or item.owner_id == actor.user_id


def find(
    session: Session,
    actor: Principal,
    kind: type[Item],
    item_id: int,
    *,
    project_id: int | None = None,
) -> Item:
    """The item ``actor`` may open (in ``project_id`` if given); :class:`NotFound` for one
    that is missing, private to someone else, or in a project ``actor`` is not in."""
    item = session.get(kind, item_id)
    if item is None or (project_id is not None and item.project_id != project_id):
        raise missing(kind, item_id)
    try:
        require(session, actor, item.project_id, Action.VIEW)
    except NotFound:
        raise missing(kind, item_id) from None
    if not visible(actor, item):
        raise missing(kind, item_id)
    return item


def of_project(
    session: Session, actor: Principal, kind: type[Item], project: Project
) -> list[Item]:
    """The items ``actor`` may open in ``project``: their own and the shared ones, by name."""
    require(session, actor, project.id, Action.VIEW)
    query = sa.select(kind).where(kind.project_id == project.id)
    if not actor.is_operator:
        query = query.where(sa.or_(kind.shared, kind.owner_id == actor.user_id))
    return list(session.scalars(query.order_by(kind.name, kind.id)))


def require_change(session: Session, actor: Principal, item: SavedView | Dashboard) -> None:
    """Refuse (:class:`PermissionError`) unless ``actor`` may rename, unshare, change or
    delete ``item``."""
    require(session, actor, item.project_id, Action.VIEW)
    if not visible(actor, item):
        raise missing(type(item), item.id)
    if item.shared:
        mine = item.owner_id == actor.user_id
        require(
            session, actor, item.project_id, Action.SHARE_VIEWS if mine else Action.MANAGE_VIEWS
        )


def may_change(session: Session, actor: Principal, item: SavedView | Dashboard) -> bool:
    """Whether ``actor`` may change ``item`` (the pages ask, to offer only what works)."""
    try:
        require_change(session, actor, item)
    except PermissionError:
        return False
    return True


def name_free(session: Session, item: SavedView | Dashboard, name: str) -> None:
    """One person's items of a kind in a project have different names (shared ones of others
    may repeat a name: the lists say whose each is)."""
    kind = type(item)
    clash = session.scalar(
        sa.select(kind.id).where(
            kind.project_id == item.project_id,
            kind.owner_id.is_(None) if item.owner_id is None else kind.owner_id == item.owner_id,
            kind.name == name,
            kind.id != item.id if item.id is not None else sa.true(),
        )
    )
    if clash is not None:
        raise NameTaken(
            f"You have a {NOUNS[kind].split()[-1]} named {name!r} in this project already."
        )
