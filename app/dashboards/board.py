"""One open dashboard: its panels on a grid that can be rearranged in the browser, and the
controls that add panels, save, share and delete it.

The grid is Panel's :class:`~panel.layout.gridstack.GridStack` (gridstack.js, shipped with
Panel, so nothing comes from the internet): a person who may change the dashboard drags panels
by their heading and resizes them by their lower right corner; the grid tells the server each
panel's new place, and *Save* keeps them. Who may change it is :mod:`models.dashboards`'
business, asked once when the page opens (and again by every save). gridstack.js packs panels
upwards, so a gap above a panel closes when the dashboard opens.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import panel as pn
import param
from panel.layout.gridstack import GridStack

from app.checkbox import labelled_checkbox
from app.dashboards.spec import (
    BUCKET_WORDS,
    FILTER_KEYS,
    METRICS,
    SIZES,
    checked_panels,
    configured_features,
    describe,
    feature_choices,
    free_place,
    spc_features,
)
from app.dashboards.tiles import COLUMN_PX, ROW_PX, DashboardPanel, PanelDrawer, panel_of
from app.explorer.state import LIVE
from app.markup import text
from app.rule_runs import process_rules
from app.services import Services
from models import dashboards as stored
from models.access import AccessError, Principal
from models.accounts import NameTaken
from models.names import BadName
from models.saved_views import project_views
from models.tables import Project
from pipelines.curves import Curves
from pipelines.rules import Rule
from pipelines.views import FilterError

log = logging.getLogger(__name__)

SPARE_ROWS = 4  # free rows under the lowest panel, to move panels into
KINDS = {"Saved view": "view", "KPI": "kpi", "Trend": "trend", "SPC": "spc"}
WINDOWS = {"All time": "", **{words: key for key, words in LIVE.items() if key}}
EVERYTHING = 0  # the curves picker's "all curves of the project"
EMPTY = (
    "**This dashboard has no panels yet** — add a saved view, a KPI tile, a trend or an "
    "SPC chart with *Add a panel* on the left, then *Save*."
)
GRID_CSS = """
.grid-stack > .grid-stack-item > .grid-stack-item-content {overflow: hidden !important;
  inset: 4px !important; background: white; border: 1px solid #d5dde8; border-radius: 8px;}
.ch-grip {position: absolute; top: 9px; left: 9px; z-index: 10; width: 20px; height: 24px;
  cursor: move; color: #7d8a99; font-size: 18px; line-height: 24px; text-align: center;
  user-select: none; border-radius: 4px;}
.ch-grip:hover {background: #e8eef6; color: #1b2430;}
.grid-stack-item > .ui-resizable-se {width: 16px; height: 16px; right: 4px; bottom: 4px;
  background: linear-gradient(135deg, transparent 50%, #9aa5b1 50%); border-radius: 2px;}
"""


class PanelGrid(GridStack):
    """Panel's GridStack with a grip (⠿) at each panel's top left that moves it: dragging
    anywhere else (a raster's pan, a zoom box) stays the panel's own."""

    _template = GridStack._template.replace(
        '<div id="content"',
        '<div class="ch-grip" title="Drag to move this panel">⠿</div><div id="content"',
    )
    _scripts = {  # noqa: RUF012 (Panel's own class attribute, extended)
        **GridStack._scripts,
        "render": GridStack._scripts["render"].replace(
            "margin: 0", "margin: 0,\n          handle: '.ch-grip'"
        ),
    }


class DashboardBoard(pn.viewable.Viewer):
    """A dashboard of ``project`` (a row read by the page), drawn for ``actor`` with the
    readers ``reader()`` opens (each on an engine client of its own, which the drawer
    closes)."""

    message = param.String(default="", doc="What the last action did, or why it could not.")
    changed = param.Boolean(default=False, doc="Panels were added, removed, moved or resized.")
    share = param.Boolean(default=False, doc="Shared with the project once saved.")

    def __init__(
        self,
        *,
        services: Services,
        actor: Principal,
        project: Project,
        board_id: int,
        reader: Callable[[], Curves],
        on_deleted: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self._services, self._actor = services, actor
        self._rules: dict[tuple[str, str], list[Rule]] = {}
        self._rules_lock = threading.Lock()
        self.project_id, self.project = project.id, project.name
        self.board_id = board_id
        self._on_deleted = on_deleted
        with services.metadata.sessions() as session:
            board = stored.find_dashboard(session, actor, board_id, project_id=project.id)
            self.board_name, self.shared = board.name, board.shared
            self.share = board.shared
            self.owner = board.created_by
            self.editable = stored.may_change(session, actor, board)
            self._saved = [dict(p) for p in board.panels]
            views = project_views(session, actor, project)
            # What an SPC panel may chart besides the fixed features, as the page opens.
            self.configured = configured_features(session, actor, project)
            self.views = {v.id: dict(v.query) for v in views}
            self.view_names = {v.id: v.name for v in views}
            self.view_shared = {v.id: v.shared for v in views}
        self.panels: list[DashboardPanel] = [self._panel(dict(p)) for p in self._saved]
        self._doc = pn.state.curdoc
        self.drawer = PanelDrawer(reader, self._doc)
        if self._doc is not None:
            pn.state.on_session_destroyed(lambda _ctx: self.close())
        self.holder = pn.Column(sizing_mode="stretch_width", margin=0)
        self.header = pn.pane.Markdown("", name="dashboard-header", margin=(0, 10))
        self.said = pn.pane.Markdown(self.param.message, name="dashboard-said", margin=(0, 10))
        self._controls()
        self._rebuild()
        # At once: the browser loads the page's scripts meanwhile, and the drawer holds the
        # results until the page has loaded.
        self.draw_all()

    # --- panels -------------------------------------------------------------------------------

    def _panel(self, spec: dict[str, Any]) -> DashboardPanel:
        remove = self.remove if self.editable else None
        heading = describe(spec, self.view_names, self.configured)
        return panel_of(
            spec,
            heading,
            project=self.project,
            views=self.views,
            on_remove=remove,
            rules_of=self._rules_of,
            configured=self.configured,
        )

    def _rules_of(self, project: str, process: str) -> list[Rule]:
        """A process's rules as the viewer may see them, read once per drawing of the board
        (its panels draw at once on the drawer's threads and often share a process)."""
        key = (project, process)
        with self._rules_lock:
            if key not in self._rules:
                self._rules[key] = process_rules(self._services, self._actor, project, process)
            return list(self._rules[key])

    def _forget_rules(self) -> None:
        with self._rules_lock:
            self._rules.clear()

    def draw_all(self) -> None:
        """Every panel's figures, at once on the drawer's threads, saved views first."""
        self._forget_rules()
        for panel in sorted(self.panels, key=lambda p: p.spec["kind"] != "view"):
            panel.draw(self.drawer)

    def wait(self, timeout: float = 60.0) -> bool:
        return self.drawer.wait(timeout)

    def specs(self) -> list[dict[str, Any]]:
        """The panels as they are on the page now (with the browser's places)."""
        return [dict(p.spec) for p in self.panels]

    def _rebuild(self) -> None:
        """A grid of the panels at their places: anew after a panel came or went."""
        self.header.object = self._header_words()
        if not self.panels:
            self.grid = None
            self.holder[:] = [pn.pane.Markdown(EMPTY, name="dashboard-empty")]
            return
        lowest = max(p.spec["y"] + p.spec["h"] for p in self.panels)
        rows = min(lowest + (SPARE_ROWS if self.editable else 0), stored.MAX_ROWS)
        grid = PanelGrid(
            ncols=stored.COLUMNS,
            nrows=rows,
            width=stored.COLUMNS * COLUMN_PX,
            height=rows * ROW_PX,
            allow_drag=self.editable,
            allow_resize=self.editable,
            mode="override",
            stylesheets=[GRID_CSS] if self.editable else [GRID_CSS, ".ch-grip {display: none;}"],
            name="dashboard-grid",
        )
        for panel in self.panels:
            s = panel.spec
            grid[s["y"] : s["y"] + s["h"], s["x"] : s["x"] + s["w"]] = panel.layout
        grid.param.watch(self._on_moved, "state")
        self.grid = grid
        self.holder[:] = [grid]

    def _on_moved(self, event: param.parameterized.Event) -> None:
        """The browser's places (after a drag or resize, and as it first packed them)."""
        by_id = {str(id(p.layout)): p for p in self.panels}
        for item in event.new:
            panel = by_id.get(item["id"])
            if panel is None:
                continue
            old = dict(panel.spec)
            panel.spec.update(
                x=item["x0"], y=item["y0"], w=item["x1"] - item["x0"], h=item["y1"] - item["y0"]
            )
            resized = (old["w"], old["h"]) != (panel.spec["w"], panel.spec["h"])
            if resized:
                panel.fit()
                if panel.spec["kind"] != "kpi" and panel.drawn:
                    panel.draw(self.drawer)  # the raster or chart at the panel's new size
        self.changed = self.specs() != self._saved

    def add(self, spec: dict[str, Any]) -> DashboardPanel | None:
        """A new panel at the first free place, drawn at once (kept by the next save)."""
        w, h = SIZES[spec["kind"]]
        try:
            x, y = free_place([p.spec for p in self.panels], w, h)
            spec = {**spec, "x": x, "y": y, "w": w, "h": h}
            checked_panels([spec], self.project, self.configured)
        except (BadName, FilterError) as exc:
            self.message = text(str(exc).removeprefix("Panel 1: "))
            return None
        panel = self._panel(spec)
        self.panels.append(panel)
        self._rebuild()
        self._forget_rules()  # a panel added later reads rules made since the board was drawn
        panel.draw(self.drawer)
        self.changed = True
        words = describe(spec, self.view_names, self.configured)
        self.message = f"Added “{text(words)}”. *Save* to keep it."
        return panel

    def remove(self, panel: DashboardPanel) -> None:
        self.panels = [p for p in self.panels if p is not panel]
        self._rebuild()
        self.changed = True
        self.message = "Removed a panel. *Save* to keep the change."

    # --- the metadata store -------------------------------------------------------------------

    def save(self) -> bool:
        """Keep the panels at their places, the name and the sharing (all or nothing)."""
        name, shared = self.name_input.value, self.share
        with self._services.metadata.sessions() as session:
            try:
                board = stored.find_dashboard(
                    session, self._actor, self.board_id, project_id=self.project_id
                )
                panels = checked_panels(
                    self.specs(), self.project, self.configured, spc_features(board.panels)
                )
                who = self._actor
                if not shared:
                    stored.share_dashboard(session=session, actor=who, board=board, shared=False)
                stored.change_panels(session=session, actor=who, board=board, panels=panels)
                stored.rename_dashboard(session=session, actor=who, board=board, name=name)
                stored.share_dashboard(session=session, actor=who, board=board, shared=shared)
                session.commit()
            except (AccessError, BadName, FilterError, NameTaken) as exc:
                self.message = text(str(exc))
                return False
            self.board_name, self.shared = board.name, board.shared
            self._saved = [dict(p) for p in board.panels]
        self.changed = False
        self.header.object = self._header_words()
        self.message = f"Saved “{text(self.board_name)}”" + (
            ", shared with the project." if self.shared else " (private)."
        )
        return True

    def delete(self) -> None:
        with self._services.metadata.sessions() as session:
            try:
                board = stored.find_dashboard(
                    session, self._actor, self.board_id, project_id=self.project_id
                )
                stored.delete_dashboard(session=session, actor=self._actor, board=board)
                session.commit()
            except AccessError as exc:
                self.message = text(str(exc))
                return
        self.message = f"Deleted “{text(self.board_name)}”."
        self._on_deleted()

    def close(self) -> None:
        self.drawer.close()

    # --- controls -----------------------------------------------------------------------------

    def _controls(self) -> None:
        views = {
            f"{name}{'' if self.view_shared[i] else ' (private)'}": i
            for i, name in self.view_names.items()
        }
        self.kind = pn.widgets.RadioButtonGroup(options=KINDS, value="view", color="light")
        self.view_pick = pn.widgets.Select(label="Saved view", options=views)
        self.no_views = pn.pane.Markdown(
            "No saved views in this project yet: save one in the [Curve Explorer]"
            f"(./curves?project={text(self.project)}) (*Saved views*, in its sidebar).",
            visible=not views,
        )
        self.curves_pick = pn.widgets.Select(
            label="Curves",
            options={"All curves of the project": EVERYTHING}
            | {f"The filter of “{k}”": v for k, v in views.items()},
        )
        self.window = pn.widgets.Select(label="Period", options=WINDOWS)
        self.metric = pn.widgets.Select(
            label="Figure", options={label: key for key, (label, _) in METRICS.items()}
        )
        self.feature = pn.widgets.Select(
            label="Feature",
            options={words: key for key, words in feature_choices(self.configured).items()},
            value="area",
        )
        self.bucket = pn.widgets.Select(
            label="Per", options={words: key for key, words in BUCKET_WORDS.items()}
        )
        self.title_input = pn.widgets.TextInput(
            label="Heading (optional)", placeholder="e.g. NOK at station 2"
        )
        self.add_button = pn.widgets.Button(label="Add panel", color="primary")
        self.add_button.on_click(lambda _e: self.add(self.form_spec()))
        self.name_input = pn.widgets.TextInput(label="Dashboard name", value=self.board_name)
        self.share_box = labelled_checkbox(self.param.share, "Share with the project")
        self.save_button = pn.widgets.Button(label="Save", color="primary")
        self.save_button.on_click(lambda _e: self.save())
        self.delete_button = pn.widgets.Button(label="Delete dashboard", color="light")
        self.delete_button.on_click(lambda _e: self.delete())
        self.kind.param.watch(lambda _e: self._show_fields(), "value")
        self._show_fields()
        self.param.watch(self._on_changed, "changed")

    def _show_fields(self) -> None:
        kind = self.kind.value
        self.view_pick.visible = kind == "view" and bool(self.view_pick.options)
        self.no_views.visible = kind == "view" and not self.view_pick.options
        for widget in (self.curves_pick, self.window):
            widget.visible = kind != "view"
        self.metric.visible = kind in ("kpi", "trend")
        self.feature.visible = kind == "spc"
        self.bucket.visible = kind == "trend"

    def _on_changed(self, event: param.parameterized.Event) -> None:
        self.save_button.name = "Save changes" if event.new else "Save"

    def form_spec(self) -> dict[str, Any]:
        """The panel the form describes (its place is found when it is added)."""
        kind = self.kind.value
        spec: dict[str, Any] = {"kind": kind}
        if kind == "view":
            spec["view_id"] = self.view_pick.value
        else:
            spec["metric"] = self.feature.value if kind == "spc" else self.metric.value
            chosen = self.curves_pick.value
            query = self.views.get(chosen, {}) if chosen != EVERYTHING else {}
            filters = {k: v for k, v in query.items() if k in FILTER_KEYS}
            if self.window.value:
                filters = {k: v for k, v in filters.items() if k not in ("start", "end")}
                filters["live"] = self.window.value
            spec["filter"] = filters
        if kind == "trend":
            spec["bucket"] = self.bucket.value
        if self.title_input.value.strip():
            spec["title"] = self.title_input.value.strip()
        return spec

    def sidebar(self) -> list:
        """The controls, for the page's sidebar: adding panels and saving only for those who
        may change the dashboard."""
        if not self.editable:
            return [
                pn.pane.Markdown(
                    f"Shared by {text(self.owner)}. Your role lets you look at this dashboard, "
                    "not change it."
                )
            ]
        controls = [
            pn.pane.Markdown("#### Add a panel"),
            self.kind,
            self.view_pick,
            self.no_views,
            self.curves_pick,
            self.window,
            self.metric,
            self.feature,
            self.bucket,
            self.title_input,
            self.add_button,
            pn.pane.Markdown(
                "Move a panel by ⠿ at its top left, resize it by its lower right corner, "
                "remove it with ✕; then *Save*.",
                styles={"color": "#5a6878", "font-size": "0.9em"},
            ),
            pn.pane.Markdown("#### This dashboard"),
            self.name_input,
            self.share_box,
            self.save_button,
            self.said,
            self.delete_button,
        ]
        for control in controls:
            if isinstance(control, pn.widgets.Widget):
                control.sizing_mode = "stretch_width"
        return controls

    def _header_words(self) -> str:
        sharing = "shared with the project" if self.shared else "private"
        count = len(self.panels)
        return (
            f"## {text(self.board_name)}\n{sharing} · by {text(self.owner)} · "
            f"{count} panel{'' if count == 1 else 's'}"
        )

    def __panel__(self) -> pn.viewable.Viewable:
        items = [self.header, self.holder]
        if not self.editable:
            items.insert(1, self.said)
        return pn.Column(*items, sizing_mode="stretch_width")
