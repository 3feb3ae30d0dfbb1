"""Saved views in the Curve Explorer: the state kept under a name, opened again by a picker or
by its stable link ``/curves?view=<id>``.

A view is stored as the explorer's URL form (:meth:`ExplorerState.to_query`), after a round trip
through :class:`ExplorerState`: what is kept is exactly what the explorer would put in a link,
so every parameter the state has is saved and nothing else is. Who may save, share, change and
open a view is :mod:`models.saved_views`'s business; this module is the page's side of it and
the one check of a view's state, which the REST API (:mod:`app.api.views`) uses too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import panel as pn
import param
from sqlalchemy.orm import Session

from app.checkbox import labelled_checkbox
from app.explorer.state import ExplorerState
from app.folded import folded_card
from app.markup import text
from app.services import Services
from models import saved_views as stored
from models.access import AccessError, Principal, visible_projects
from models.names import BadName
from models.tables import Project, SavedView
from pipelines.views import FilterError

LINK = "/curves?view={id}"
# The ``?view=`` of a link: the id of the view to open.
VIEW_KEY = "view"


def view_link(view_id: int) -> str:
    """The view's stable link: the explorer page opening it (the URL then follows the state)."""
    return LINK.format(id=view_id)


def url_keys() -> frozenset[str]:
    """The query keys the explorer's state has: one per parameter, the ranges as ``x``, ``y``
    (as :meth:`ExplorerState.to_query` writes them)."""
    names = (n for n in ExplorerState.param if n != "name")
    return frozenset(n[0] if n.endswith("_range") else n for n in names)


def stored_query(query: Mapping[str, str], project: str) -> dict[str, str]:
    """The state ``query`` describes, in the URL form a view keeps, on ``project``'s curves (a
    view belongs to one project). Refused with :class:`FilterError`, naming the parameter, for
    a key the explorer does not have, another project, or a value it cannot hold or draw."""
    unknown = sorted(set(query) - url_keys())
    if unknown:
        raise FilterError(
            f"{', '.join(unknown)}: not an explorer parameter (they are "
            f"{', '.join(sorted(url_keys()))})"
        )
    if query.get("project", project) != project:
        raise FilterError(
            f"project: a view saved in {project!r} shows its curves, not {query['project']!r}"
        )
    state = ExplorerState()
    state.from_query({**query, "project": project})
    state.curve_filter()  # a time it cannot read, a bad range: refused now, not when opened
    return state.to_query()


def opening(services: Services, actor: Principal, query: dict[str, str]) -> tuple[dict, str]:
    """The page's query with ``?view=<id>`` replaced by that view's state, and what to say if
    it cannot be opened (missing, not shared with ``actor``, a bad id)."""
    wanted = query.get(VIEW_KEY)
    if wanted is None:
        return query, ""
    rest = {k: v for k, v in query.items() if k != VIEW_KEY}
    missing = f"There is no saved view {text(wanted)}, or it is not shared with you."
    if not wanted.isdigit() or len(wanted) > 18:
        return rest, missing
    with services.metadata.sessions() as session:
        try:
            view = stored.find_view(session, actor, int(wanted))
        except AccessError:
            return rest, missing
        return {**rest, **view.query}, ""


class SavedViews(pn.viewable.Viewer):
    """Save the explorer's state under a name (private, or shared with the project), and open
    a saved one: the person's own views and the project's shared ones."""

    view_name = param.String(default="", doc="The name to save the current state under.")
    shared = param.Boolean(default=False, doc="Save it shared with the project.")
    chosen = param.Integer(default=None, allow_None=True, doc="The saved view picked.")
    message = param.String(default="", doc="What the last action did, or why it could not.")

    def __init__(
        self, services: Services, actor: Principal, state: ExplorerState, message: str = ""
    ) -> None:
        super().__init__(message=message)
        self._services, self._actor, self.state = services, actor, state
        self.name_input = pn.widgets.TextInput.from_param(
            self.param.view_name, label="View name", placeholder="e.g. NOK at station 2"
        )
        self.share_box = labelled_checkbox(self.param.shared, "Share with the project")
        self.save_button = pn.widgets.Button(label="Save view", color="primary")
        self.save_button.on_click(lambda _e: self.save())
        self.picker = pn.widgets.Select(label="Yours and the shared ones", options={})
        self.picker.param.watch(lambda e: setattr(self, "chosen", e.new), "value")
        self.open_button = pn.widgets.Button(label="Open", color="light")
        self.open_button.on_click(lambda _e: self.open())
        self.delete_button = pn.widgets.Button(label="Delete", color="light")
        self.delete_button.on_click(lambda _e: self.delete())
        self.rename_button = pn.widgets.Button(
            label="Rename", color="light", description="Rename it to the name typed below"
        )
        self.rename_button.on_click(lambda _e: self.rename())
        self.update_button = pn.widgets.Button(
            label="Update", color="light", description="Keep what the explorer shows now in it"
        )
        self.update_button.on_click(lambda _e: self.update())
        self.share_button = pn.widgets.Button(label="Share", color="light")
        self.share_button.on_click(lambda _e: self.toggle_share())
        self._shared: dict[int, bool] = {}  # the picker's views: shared or not
        self.link = pn.pane.Markdown("", name="saved-view-link", margin=(0, 10))
        self.said = pn.pane.Markdown(self.param.message, name="saved-views-said", margin=(0, 10))
        self.param.watch(self._on_chosen, "chosen")
        state.param.watch(lambda _e: self.refresh(), "project")
        self.refresh()

    # --- the metadata store -----------------------------------------------------------------

    def _project(self, session) -> Project | None:
        """The project the explorer shows (a view is saved in one)."""
        for project, _role in visible_projects(session, self._actor):
            if project.name == self.state.project:
                return project
        return None

    def refresh(self, chosen: int | None = None) -> None:
        """The picker's views: the person's own and the shared ones of the project in view."""
        with self._services.metadata.sessions() as session:
            project = self._project(session)
            views = [] if project is None else stored.project_views(session, self._actor, project)
            options = {self._label(v): v.id for v in views}
            self._shared = {v.id: v.shared for v in views}
        self.picker.options = options
        ids = list(options.values())
        self.picker.value = chosen if chosen in ids else (ids[0] if ids else None)
        self.chosen = self.picker.value
        self._on_chosen()

    def _label(self, view: SavedView) -> str:
        if not view.shared:
            return f"{view.name} (private)"
        if view.owner_id is not None and view.owner_id == self._actor.user_id:
            return f"{view.name} (shared)"
        return f"{view.name} (shared by {view.created_by})"

    def _on_chosen(self, *_events) -> None:
        chosen = self.chosen
        self.link.object = (
            "" if chosen is None else f"Link: [{view_link(chosen)}]({view_link(chosen)})"
        )
        for button in (
            self.open_button,
            self.delete_button,
            self.rename_button,
            self.update_button,
            self.share_button,
        ):
            button.disabled = chosen is None
        self.share_button.label = "Make private" if self._shared.get(chosen) else "Share"

    def save(self) -> SavedView | None:
        """Keep the explorer's state under the name typed."""
        with self._services.metadata.sessions() as session:
            project = self._project(session)
            if project is None:
                self.message = "Choose a project first: a view is saved in one project."
                return None
            try:
                query = stored_query(self.state.to_query(), project.name)
                view = stored.save_view(
                    session=session,
                    actor=self._actor,
                    project=project,
                    name=self.view_name,
                    query=query,
                    shared=self.shared,
                )
                session.commit()
            except (AccessError, BadName, FilterError, ValueError) as exc:
                self.message = text(str(exc))
                return None
            view_id, name = view.id, view.name
        self.message = f"Saved “{text(name)}”."
        self.refresh(chosen=view_id)
        return view

    def open(self, view_id: int | None = None) -> None:
        """Show the chosen view's state: its project and process first (which fit the axes),
        then the rest, so its zoom is kept."""
        view_id = self.chosen if view_id is None else view_id
        if view_id is None:
            return
        with self._services.metadata.sessions() as session:
            try:
                view = stored.find_view(session, self._actor, view_id)
            except AccessError as exc:
                self.message = text(str(exc))
                return
            query, name = dict(view.query), view.name
        fresh = ExplorerState()
        try:
            fresh.from_query(query)
        except FilterError as exc:
            self.message = text(str(exc))
            return
        values = {n: getattr(fresh, n) for n in ExplorerState.param if n != "name"}
        self.state.param.update(project=values.pop("project"), process=values.pop("process"))
        self.state.param.update(**values)
        self.message = f"Opened “{text(name)}”."

    def delete(self) -> None:
        def delete(session: Session, view: SavedView) -> str:
            stored.delete_view(session=session, actor=self._actor, view=view)
            return f"Deleted “{text(view.name)}”."

        self._change(delete, keep=False)

    def rename(self) -> None:
        """The chosen view, under the name typed in *View name*."""

        def rename(session: Session, view: SavedView) -> str:
            if not self.view_name.strip():
                raise ValueError("Type the new name in the View name box first.")
            stored.rename_view(session=session, actor=self._actor, view=view, name=self.view_name)
            return f"Renamed to “{text(view.name)}”."

        self._change(rename)

    def update(self) -> None:
        """The chosen view shows what the explorer shows now (same name and link)."""

        def update(session: Session, view: SavedView) -> str:
            query = stored_query(self.state.to_query(), view.query.get("project", ""))
            stored.change_view(session=session, actor=self._actor, view=view, query=query)
            return f"“{text(view.name)}” now keeps what the explorer shows."

        self._change(update)

    def toggle_share(self) -> None:
        """Share the chosen view with the project, or make a shared one private."""

        def share(session: Session, view: SavedView) -> str:
            shared = not view.shared
            stored.share_view(session=session, actor=self._actor, view=view, shared=shared)
            return f"“{text(view.name)}” is " + (
                "shared with the project." if shared else "private now."
            )

        self._change(share)

    def _change(self, change: Callable[[Session, SavedView], str], keep: bool = True) -> None:
        """Apply ``change`` to the chosen view in one transaction; what it did, or why not,
        is said under the card."""
        chosen = self.chosen
        if chosen is None:
            return
        with self._services.metadata.sessions() as session:
            try:
                said = change(session, stored.find_view(session, self._actor, chosen))
                session.commit()
            except (AccessError, BadName, FilterError, ValueError) as exc:
                self.message = text(str(exc))
                return
        self.message = said
        self.refresh(chosen=chosen if keep else None)

    # --- layout -------------------------------------------------------------------------------

    def sidebar(self, expanded: bool = False) -> list:
        """The controls in a card for the explorer's sidebar, folded unless ``expanded`` (the
        page opened a view) or there is something to say: open, they pushed the filters a
        screen's third down."""
        controls = [
            self.picker,
            pn.Row(self.open_button, self.update_button, sizing_mode="stretch_width"),
            # Wraps: "Make private" beside the other two ran past the 300 px sidebar.
            pn.FlexBox(
                self.rename_button,
                self.share_button,
                self.delete_button,
                flex_wrap="wrap",
                sizing_mode="stretch_width",
            ),
            self.link,
            self.name_input,
            self.share_box,
            self.save_button,
            self.said,
        ]
        for control in controls:
            if isinstance(control, pn.widgets.Widget):
                control.sizing_mode = "stretch_width"
        card = folded_card(
            *controls,
            title="Saved views",
            collapsed=not (expanded or self.message),
            sizing_mode="stretch_width",
            margin=(5, 0),
        )
        return [card]

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(*self.sidebar(expanded=True), sizing_mode="stretch_width")
