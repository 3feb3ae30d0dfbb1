"""Dashboards: a grid of panels in a project, private or shared with the project.

A panel is a plain mapping with its place on a grid of :data:`COLUMNS` columns (``x``, ``y``,
``w``, ``h`` in cells) and its kind:

- ``{"kind": "view", "view_id": 7}``: a saved view of the same project, drawn live;
- ``{"kind": "kpi", "metric": "nok_rate", "filter": {...}}``: one key figure;
- ``{"kind": "trend", "metric": "parts", "bucket": "hour", "filter": {...}}``: a key figure
  per time bucket;

and an optional ``title``. This module checks the shape, the sizes and the places (inside the
grid, no two panels on one cell); which metrics, buckets and filters exist is the app's
business (``app.dashboards.spec`` checks them against the KPIs and the explorer's state before
they come here), as a saved view's state is.

Who may do what is the saved views' rule (:mod:`models.project_items`): private dashboards
exist for their owner only; sharing and changing one's own shared dashboard needs
``share_views`` (engineer), someone else's ``manage_views`` (admin), so a viewer reads shared
dashboards and never changes them.

A view panel names a saved view the person saving may open in the project; a shared dashboard
shows only shared views (a teammate would see a hole where a private one is). A view deleted
later leaves its panel in place, saying so: saving the dashboard again keeps it.

Every create, change, rename, share, unshare and delete goes to the audit trail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from models import project_items as items
from models.access import Action, Principal, require
from models.audit import audit
from models.names import BadName, label, printable
from models.tables import Dashboard, Project, SavedView

# An SPC panel's ``metric`` names a curve feature (its individuals chart), a KPI's a figure.
KINDS = ("view", "kpi", "trend", "spc")
COLUMNS = 12  # the grid's width in cells
MAX_ROWS = 48  # how far down a panel may sit (cells)
MAX_HEIGHT = 12  # a panel's height at most (cells)
MAX_PANELS = 24
MAX_FILTER_KEYS = 20
MAX_VALUE = 2000
_PLACE = ("x", "y", "w", "h")
_FIELDS = {
    "view": {"view_id"},
    "kpi": {"metric", "filter"},
    "trend": {"metric", "bucket", "filter"},
    "spc": {"metric", "filter"},
}


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadName(f"{what} is a whole number from {low} to {high}, not {value!r}.")
    return value


def _text(value: Any, what: str, longest: int = 40) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= longest:
        raise BadName(f"{what} is text of 1 to {longest} characters.")
    return printable(value, what)


def _filter(value: Any, what: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or len(value) > MAX_FILTER_KEYS:
        raise BadName(f"{what} is a mapping of at most {MAX_FILTER_KEYS} names to text.")
    out = {}
    for key, text in value.items():
        name = _text(key, f"{what}'s names")
        if not isinstance(text, str) or len(text) > MAX_VALUE:
            raise BadName(f"{what}: {name} is text of at most {MAX_VALUE} characters.")
        out[name] = printable(text, f"{what}: {name}")
    return out


def checked_panel(panel: Any, n: int) -> dict[str, Any]:
    """Panel ``n`` (1-based, for messages) as stored: its kind's fields, its place inside
    the grid and an optional title; :class:`BadName` names what is wrong."""
    what = f"Panel {n}"
    if not isinstance(panel, Mapping):
        raise BadName(f"{what} is a mapping with a kind and a place.")
    kind = panel.get("kind")
    if kind not in KINDS:
        raise BadName(f"{what}: the kind is one of {', '.join(KINDS)}, not {kind!r}.")
    allowed = _FIELDS[kind] | set(_PLACE) | {"kind", "title"}
    extra = sorted(str(k) for k in set(panel) - allowed)
    if extra:
        raise BadName(f"{what}: a {kind} panel has no {', '.join(extra)}.")
    out: dict[str, Any] = {"kind": kind}
    if kind == "view":
        out["view_id"] = _whole(panel.get("view_id"), f"{what}: view_id", 1, 2**63 - 1)
    else:
        out["metric"] = _text(panel.get("metric"), f"{what}: metric")
        out["filter"] = _filter(panel.get("filter", {}), f"{what}: filter")
    if kind == "trend":
        out["bucket"] = _text(panel.get("bucket"), f"{what}: bucket")
    title = panel.get("title", "")
    if title:
        out["title"] = label(_text(title, f"{what}: title", 100), f"{what}: title")
    out["w"] = _whole(panel.get("w"), f"{what}: w", 1, COLUMNS)
    out["h"] = _whole(panel.get("h"), f"{what}: h", 1, MAX_HEIGHT)
    out["x"] = _whole(panel.get("x"), f"{what}: x", 0, COLUMNS - out["w"])
    out["y"] = _whole(panel.get("y"), f"{what}: y", 0, MAX_ROWS - out["h"])
    return out


def checked_panels(panels: Sequence[Any]) -> list[dict[str, Any]]:
    """``panels`` as stored, once each is well formed and no two share a cell."""
    if not isinstance(panels, Sequence) or isinstance(panels, str | bytes):
        raise BadName("A dashboard's panels are a list.")
    if len(panels) > MAX_PANELS:
        raise BadName(f"A dashboard holds at most {MAX_PANELS} panels, not {len(panels)}.")
    out = [checked_panel(p, n) for n, p in enumerate(panels, 1)]
    taken: dict[tuple[int, int], int] = {}
    for n, p in enumerate(out, 1):
        for cell in (
            (x, y) for x in range(p["x"], p["x"] + p["w"]) for y in range(p["y"], p["y"] + p["h"])
        ):
            if cell in taken:
                raise BadName(
                    f"Panels {taken[cell]} and {n} overlap at column {cell[0]}, row {cell[1]}."
                )
            taken[cell] = n
    return out


def find_dashboard(
    session: Session, actor: Principal, board_id: int, *, project_id: int | None = None
) -> Dashboard:
    """The dashboard ``actor`` may open (:func:`models.project_items.find`)."""
    return items.find(session, actor, Dashboard, board_id, project_id=project_id)


def project_dashboards(session: Session, actor: Principal, project: Project) -> list[Dashboard]:
    """The dashboards ``actor`` may open in ``project``: their own and the shared ones."""
    return items.of_project(session, actor, Dashboard, project)


may_change = items.may_change


def _check_views(
    session: Session,
    actor: Principal,
    board: Dashboard,
    panels: list[dict[str, Any]],
    kept: set[int],
    *,
    sharing: bool = False,
) -> None:
    """Each view panel's saved view: one ``actor`` may open in the project, shared when the
    dashboard is. ``kept``: views already on the dashboard, which may have been deleted or
    made private since (their panels stay and say so), except that ``sharing`` a dashboard
    checks every view it shows is shared."""
    for n, panel in enumerate(panels, 1):
        if panel["kind"] != "view":
            continue
        view_id = panel["view_id"]
        view = session.get(SavedView, view_id)
        usable = (
            view is not None and view.project_id == board.project_id and items.visible(actor, view)
        )
        if not usable:
            if view_id in kept:
                continue
            raise BadName(
                f"Panel {n}: there is no saved view {view_id} in this project, or it is not "
                "shared with you."
            )
        if board.shared and not view.shared and (sharing or view_id not in kept):
            raise BadName(
                f"Panel {n}: the saved view “{view.name}” is private; share it with the "
                "project first, so that everyone who opens this dashboard sees it."
            )


def _view_ids(panels: list[dict[str, Any]]) -> set[int]:
    return {p["view_id"] for p in panels if p["kind"] == "view"}


def create_dashboard(
    *,
    session: Session,
    actor: Principal,
    project: Project,
    name: str,
    panels: Sequence[Any] = (),
    shared: bool = False,
) -> Dashboard:
    """A new dashboard of ``actor``'s in ``project`` (shared: needs ``share_views``)."""
    require(session, actor, project.id, Action.SHARE_VIEWS if shared else Action.VIEW)
    board = Dashboard(
        project_id=project.id,
        owner_id=actor.user_id,
        name=label(name, "A dashboard's name"),
        created_by=str(actor),
        shared=shared,
        panels=checked_panels(panels),
    )
    items.name_free(session, board, board.name)
    _check_views(session, actor, board, board.panels, set())
    session.add(board)
    session.flush()
    audit(
        session,
        str(actor),
        "dashboard.create",
        "project",
        project.id,
        dashboard=board.id,
        name=board.name,
        shared=shared,
        panels=len(board.panels),
    )
    return board


def change_panels(
    *, session: Session, actor: Principal, board: Dashboard, panels: Sequence[Any]
) -> None:
    """Keep another set of panels (added, removed, moved, resized) under the same name."""
    items.require_change(session, actor, board)
    checked = checked_panels(panels)
    if checked == board.panels:
        return
    _check_views(session, actor, board, checked, _view_ids(board.panels))
    audit(
        session,
        str(actor),
        "dashboard.change",
        "project",
        board.project_id,
        dashboard=board.id,
        before=board.panels,
        after=checked,
    )
    board.panels = checked


def rename_dashboard(*, session: Session, actor: Principal, board: Dashboard, name: str) -> None:
    items.require_change(session, actor, board)
    name = label(name, "A dashboard's name")
    if name == board.name:
        return
    items.name_free(session, board, name)
    audit(
        session,
        str(actor),
        "dashboard.rename",
        "project",
        board.project_id,
        dashboard=board.id,
        before=board.name,
        after=name,
    )
    board.name = name


def share_dashboard(*, session: Session, actor: Principal, board: Dashboard, shared: bool) -> None:
    """Share a dashboard with the project (its owner, with ``share_views``; its view panels
    must show shared views), or make it its owner's alone again."""
    items.require_change(session, actor, board)
    if shared == board.shared:
        return
    if shared:
        require(session, actor, board.project_id, Action.SHARE_VIEWS)
        board.shared = True
        try:
            _check_views(session, actor, board, board.panels, _view_ids(board.panels), sharing=True)
        except BadName:
            board.shared = False
            raise
    board.shared = shared
    audit(
        session,
        str(actor),
        "dashboard.share" if shared else "dashboard.unshare",
        "project",
        board.project_id,
        dashboard=board.id,
        name=board.name,
    )


def delete_dashboard(*, session: Session, actor: Principal, board: Dashboard) -> None:
    items.require_change(session, actor, board)
    audit(
        session,
        str(actor),
        "dashboard.delete",
        "project",
        board.project_id,
        dashboard=board.id,
        name=board.name,
        shared=board.shared,
        panels=board.panels,
    )
    session.delete(board)
    session.flush()
