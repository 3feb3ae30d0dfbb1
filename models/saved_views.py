"""Saved views: a Curve Explorer state kept under a name in a project, private or shared.

The state is stored as the explorer's URL query (``{"station": "S1,S2", "x": "0,12"}``); what
it may hold is the explorer's business (``app.explorer.saved`` checks it by a round trip through
``ExplorerState`` before it comes here), so this module only bounds its size and refuses
control characters.

Who may do what is :mod:`models.project_items`' rule for what a person keeps in a project:
private views exist for their owner only; sharing and changing one's own shared view needs
``share_views`` (engineer), someone else's ``manage_views`` (admin).

Every create, rename, share, unshare, change of state and delete goes to the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from models import project_items as items
from models.access import Action, Principal, require
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


def find_view(
    session: Session, actor: Principal, view_id: int, *, project_id: int | None = None
) -> SavedView:
    """The view ``actor`` may open (:func:`models.project_items.find`)."""
    return items.find(session, actor, SavedView, view_id, project_id=project_id)


def project_views(session: Session, actor: Principal, project: Project) -> list[SavedView]:
    """The views ``actor`` may open in ``project``: their own and the shared ones, by name."""
    return items.of_project(session, actor, SavedView, project)


may_change = items.may_change


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
    items.name_free(session, view, view.name)
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
    items.require_change(session, actor, view)
    name = label(name, "A view's name")
    if name == view.name:
        return
    items.name_free(session, view, name)
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
    items.require_change(session, actor, view)
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
    items.require_change(session, actor, view)
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
    items.require_change(session, actor, view)
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
