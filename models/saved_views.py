"""Saved views: a Curve Explorer state kept under a name in a project, private or shared.

The state is stored as the explorer's URL query (``{"station": "S1,S2", "x": "0,12"}``); what
it may hold is the explorer's business (``app.explorer.saved`` checks it by a round trip through
``ExplorerState`` before it comes here), so this module only bounds its size and refuses
control characters.

Who may do what, on top of the project's roles (:mod:`models.access`):
- anyone who may view the project saves views of their own, private at first;
- a private view exists for its owner only: anyone else gets :class:`NotFound`, as for a
  project they are not in, so ids cannot be probed;
- sharing a view with the project, and changing or deleting one's own shared view, needs
  ``share_views`` (engineer); changing or deleting someone else's shared view needs
  ``manage_views`` (admin). A viewer therefore never changes a shared view.

Every create, rename, share, unshare, change of state and delete goes to the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.access import Action, NotFound, Principal, require
from models.accounts import NameTaken
from models.audit import audit
from models.names import BadName, label, printable
from models.tables import Project, SavedView

# What a stored state may hold: the explorer's parameters are about twenty; a value is at
# most a few hundred picked stations or programs.
MAX_KEYS = 40
MAX_KEY = 40
MAX_VALUE = 20_000


def checked_query(query: Mapping[str, str]) -> dict[str, str]:
    """``query`` as stored, once it is a small mapping of text to text without control
    characters (:class:`BadName` otherwise)."""
    if len(query) > MAX_KEYS:
        raise BadName(f"A saved view holds at most {MAX_KEYS} parameters, not {len(query)}.")
    out: dict[str, str] = {}
    for key, value in query.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise BadName("A saved view's parameters and values are text.")
        if not 1 <= len(key) <= MAX_KEY or len(value) > MAX_VALUE:
            raise BadName(
                f"A saved view's parameter has 1 to {MAX_KEY} characters and its value at most "
                f"{MAX_VALUE}; {key[:40]!r} does not."
            )
        out[printable(key, "A saved view's parameter")] = printable(value, f"The value of {key}")
    return out


def _visible(actor: Principal, view: SavedView) -> bool:
    return actor.is_operator or view.shared or view.owner_id == actor.user_id


def _mine(actor: Principal, view: SavedView) -> bool:
    return view.owner_id == actor.user_id


def _missing(view_id: int) -> NotFound:
    return NotFound(f"There is no saved view {view_id}, or it is not shared with you.")


def find_view(
    session: Session, actor: Principal, view_id: int, *, project_id: int | None = None
) -> SavedView:
    """The view ``actor`` may open (in ``project_id`` if given); :class:`NotFound` for one
    that is missing, private to someone else, or in a project ``actor`` is not in."""
    view = session.get(SavedView, view_id)
    if view is None or (project_id is not None and view.project_id != project_id):
        raise _missing(view_id)
    try:
        require(session, actor, view.project_id, Action.VIEW)
    except NotFound:
        raise _missing(view_id) from None
    if not _visible(actor, view):
        raise _missing(view_id)
    return view


def project_views(session: Session, actor: Principal, project: Project) -> list[SavedView]:
    """The views ``actor`` may open in ``project``: their own and the shared ones, by name."""
    require(session, actor, project.id, Action.VIEW)
    query = sa.select(SavedView).where(SavedView.project_id == project.id)
    if not actor.is_operator:
        query = query.where(sa.or_(SavedView.shared, SavedView.owner_id == actor.user_id))
    return list(session.scalars(query.order_by(SavedView.name, SavedView.id)))


def may_change(session: Session, actor: Principal, view: SavedView) -> bool:
    """Whether ``actor`` may rename, unshare, change or delete ``view`` (the pages ask, to
    offer only what works)."""
    try:
        _require_change(session, actor, view)
    except PermissionError:
        return False
    return True


def _require_change(session: Session, actor: Principal, view: SavedView) -> None:
    require(session, actor, view.project_id, Action.VIEW)
    if not _visible(actor, view):
        raise _missing(view.id)
    if view.shared:
        needed = Action.SHARE_VIEWS if _mine(actor, view) else Action.MANAGE_VIEWS
        require(session, actor, view.project_id, needed)


def _name_free(session: Session, view: SavedView, name: str) -> None:
    """One person's views in a project have different names (shared ones of others may
    repeat a name: the list says whose each is)."""
    clash = session.scalar(
        sa.select(SavedView.id).where(
            SavedView.project_id == view.project_id,
            SavedView.owner_id.is_(None)
            if view.owner_id is None
            else SavedView.owner_id == view.owner_id,
            SavedView.name == name,
            SavedView.id != view.id if view.id is not None else sa.true(),
        )
    )
    if clash is not None:
        raise NameTaken(f"You have a view named {name!r} in this project already.")


def save_view(
    *,
    session: Session,
    actor: Principal,
    project: Project,
    name: str,
    query: Mapping[str, str],
    shared: bool = False,
) -> SavedView:
    """A new view of ``actor``'s in ``project`` (shared: needs ``share_views``)."""
    require(session, actor, project.id, Action.SHARE_VIEWS if shared else Action.VIEW)
    view = SavedView(
        project_id=project.id,
        owner_id=actor.user_id,
        name=label(name, "A view's name"),
        created_by=str(actor),
        shared=shared,
        query=checked_query(query),
    )
    _name_free(session, view, view.name)
    session.add(view)
    session.flush()
    audit(
        session,
        str(actor),
        "view.create",
        "project",
        project.id,
        view=view.id,
        name=view.name,
        shared=shared,
        query=view.query,
    )
    return view


def rename_view(*, session: Session, actor: Principal, view: SavedView, name: str) -> None:
    _require_change(session, actor, view)
    name = label(name, "A view's name")
    if name == view.name:
        return
    _name_free(session, view, name)
    audit(
        session,
        str(actor),
        "view.rename",
        "project",
        view.project_id,
        view=view.id,
        before=view.name,
        after=name,
    )
    view.name = name


def share_view(*, session: Session, actor: Principal, view: SavedView, shared: bool) -> None:
    """Share a view with the project (its owner, with ``share_views``), or make it private to
    its owner again (its owner, or an admin for someone else's)."""
    _require_change(session, actor, view)
    if shared == view.shared:
        return
    if shared:  # a private view: its owner's (or the operator's) to share
        require(session, actor, view.project_id, Action.SHARE_VIEWS)
    view.shared = shared
    audit(
        session,
        str(actor),
        "view.share" if shared else "view.unshare",
        "project",
        view.project_id,
        view=view.id,
        name=view.name,
    )


def change_view(
    *, session: Session, actor: Principal, view: SavedView, query: Mapping[str, str]
) -> None:
    """Keep another explorer state under the view's name and link."""
    _require_change(session, actor, view)
    query = checked_query(query)
    if query == view.query:
        return
    audit(
        session,
        str(actor),
        "view.change",
        "project",
        view.project_id,
        view=view.id,
        before=view.query,
        after=query,
    )
    view.query = query


def delete_view(*, session: Session, actor: Principal, view: SavedView) -> None:
    _require_change(session, actor, view)
    audit(
        session,
        str(actor),
        "view.delete",
        "project",
        view.project_id,
        view=view.id,
        name=view.name,
        shared=view.shared,
        query=view.query,
    )
    session.delete(view)
    session.flush()
