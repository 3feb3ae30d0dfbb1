"""The Curve Explorer: every part a line made as distinct-curve density, and the parts behind
any pixel.

Flow: widgets edit :class:`ExplorerState`; the URL mirrors it. A change of the state submits a
render to the plot (:class:`~app.explorer.plot.DensityPlot`), whose zoom and pan come back into
the state, and whose taps, boxes and pointer ask the parts panel
(:class:`~app.explorer.parts.PartsPanel`) for the parts behind them. This module opens the
session's engine clients (one per runner, so a render, a selection and the hover can be in
flight together), wires the parts together and shows what went wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import panel as pn
import param

from app.explorer import elements
from app.explorer.compare import KpiTable
from app.explorer.controls import ExplorerControls
from app.explorer.parts import PartsPanel
from app.explorer.plot import EMPTY_STORE, DensityPlot
from app.explorer.rule_draw import RuleDraft, Save, what_if_words
from app.explorer.state import ExplorerState
from app.explorer.unusual import UnusualPanel
from app.markup import text
from app.published import publish
from app.ticks import every
from models.settings import HOT_CACHE_MB
from pipelines.curves import Curves
from pipelines.hot import HotCache
from pipelines.rules import Rule
from pipelines.sources import MemorySamples, SampleSource
from pipelines.views import FilterError
from providers import ProviderError

log = logging.getLogger(__name__)

LIVE_TICK_MS = 1000  # following the line: how often the picture is brought up to date


class CurveExplorer(pn.viewable.Viewer):
    """One session's explorer: filters in the sidebar, the raster and the selected parts."""

    message = param.String(
        default="",
        constant=True,
        doc="The message shown above the plot (Markdown): a failed render, selection or "
        "export; empty once a render starts.",
    )

    def __init__(
        self,
        *,
        client_factory: Callable[[], Any],
        database: str,
        query: dict[str, str] | None = None,
        samples: SampleSource | None = None,
        projects: tuple[str, ...] | None = None,
        on_export: Callable[[str, tuple[str, ...] | None], None] | None = None,
        empty_advice: Callable[[str], str] | None = None,
        rules_of: Callable[[str, str], list[Rule]] | None = None,
        save_rule: Save | None = None,
        may_make_rules: Callable[[str], bool] | None = None,
        **params: Any,
    ) -> None:
        """``client_factory`` is called three times: the clients of renders, selections and
        the hover, in that order. ``samples``: where views' samples come from; by default
        memory, so zooms of a filter draw from its samples held in a cache of this explorer's
        own (the app's pages pass the process's shared one, sized by
        ``CURVEHOUSE_HOT_CACHE_MB``); a filter that does not fit goes to the engine.
        ``projects``: the only projects whose curves this person may see (None: every
        project). ``on_export`` is called with the export's kind and projects before a file is
        made; it raises PermissionError to refuse (and records the export). ``empty_advice``
        says, for one of ``projects`` without curves, what this person can do about it; the
        project picker offers those projects too. ``rules_of(project, process)``: the
        evaluation rules drawn over the picture (none when not given). ``save_rule``: makes
        a rule drawn on the raster as a box (no drawing without it), for whoever
        ``may_make_rules(project)``."""
        super().__init__(**params)
        self._projects, self._on_export = projects, on_export
        self._empty_advice = empty_advice
        self._advice: dict[str, str] = {}  # said once per project: it reads the metadata store
        self._stored: set[str] = set()  # the projects with curves
        if samples is None:
            samples = MemorySamples(HotCache(HOT_CACHE_MB * 1024 * 1024))
        self._samples = samples
        self.state = ExplorerState()
        self.state.rules_of = rules_of or self.state.rules_of  # verdict filter, parts' reasons
        self._database = database
        self._doc = pn.state.curdoc
        self._refitting = False  # a filter change is fitting the view (one render for both)
        self._alert = pn.pane.Alert(
            self.param.message,
            alert_type="danger",
            visible=self.param.message.rx.bool(),
            name="explorer-error",
        )
        self._clients: list = []
        self._ticking: Any = None  # the periodic callback that follows the line, while live
        self._options = pd.DataFrame(columns=["project", "process", "curves"])
        self._factory = client_factory
        readers = self._open(client_factory)
        self.controls = ExplorerControls(self.state, self._options)
        self.plot = DensityPlot(
            self.state,
            readers[0],
            empty_words=self._empty_words,
            may_export=self._may_export,
        )
        # Plants, lines or stations compared under the legend.
        self.compare = KpiTable(self.state, self.plot.render)
        self.plot.beside.append(self.compare.beside)
        self.parts = PartsPanel(
            readers[1],
            readers[2],
            busy=self.plot.renders.wait,
            may_export=self._may_export,
            rules=self.state.current_rules,
        )
        self.draft = (
            None
            if save_rule is None
            else RuleDraft(
                self.state,
                save=save_rule,
                may_draw=may_make_rules or (lambda _project: True),
                on_saved=self._rule_saved,
                try_out=self._try_rule,
            )
        )
        self.unusual = UnusualPanel.of(self, client_factory)  # issue 19 §6, opened on demand
        if self._doc is not None:
            pn.state.on_session_destroyed(lambda _ctx: self.close())
        self._wire()
        self._defaults()
        if query:
            try:
                self.state.from_query(query)
            except FilterError as exc:
                self._report(exc)
        self._watch_state()
        if self._doc is not None:
            self._follow_clock(bool(self.state.live))  # a shared link may open live
        if self._doc is None:
            self.plot.render()
        else:
            # The first picture is drawn while the browser loads the page's scripts (about
            # 0.8 s here); waiting for the page to load, a shared link waited for both in
            # turn. Started on the session's first tick, not now: a result handed to the
            # document while its session is being made could be lost.
            self._doc.add_next_tick_callback(self.plot.render)
            pn.state.onload(self._to_url)  # the opening state, as a link from the start

    def _open(self, factory) -> list[Curves | None]:
        """One client per runner (render, selection, hover), so a render, a selection and the
        hover can be in flight together without sharing a connection; all or none. Returns
        the session's reader on each."""
        try:
            for _ in range(3):
                self._clients.append(factory())
            curves = Curves(
                self._clients[0], self._database, projects=self._projects, source=self._samples
            )
            self._options = self._with_empty_projects(curves.processes_by_project())
        except Exception as exc:  # shown in the page; the engine may come back on reload
            self.close()
            self._report(exc)
            return [None, None, None]
        return [curves.on(client) for client in self._clients]

    def _with_empty_projects(self, options: pd.DataFrame) -> pd.DataFrame:
        """The projects with curves (most first), then this person's projects without any, so
        a new project can be chosen and says how to fill it."""
        self._stored = set(options["project"])
        empty = [p for p in self._projects or () if p not in self._stored]
        if not empty:
            return options
        rows = pd.DataFrame({"project": empty, "process": "", "curves": 0})
        return pd.concat([options, rows], ignore_index=True) if len(options) else rows

    def _empty_words(self, project: str) -> str | None:
        """What the plot says for a project with no curves at all (None: it has some)."""
        if project in self._stored:
            return None
        if project and self._empty_advice is not None:
            if project not in self._advice:
                self._advice[project] = self._empty_advice(project)
            return self._advice[project]
        return EMPTY_STORE

    def close(self) -> None:
        """Close this session's engine clients (the server does it when a session ends)."""
        self._follow_clock(False)
        for client in self._clients:
            client.close()
        self._clients = []

    def wait(self, timeout: float = 120.0) -> None:
        """Block until renders, selections and hovers in flight are shown (tests, benchmarks)."""
        if not (self.plot.wait(timeout) and self.parts.wait(timeout)):
            raise TimeoutError(f"explorer work still running after {timeout:.0f} s")

    # --- wiring -------------------------------------------------------------------------------

    def _wire(self) -> None:
        """The plot's and the parts panel's results, to each other and to the page. Boxes,
        pointer moves and messages count every time they are set, even to the same value
        (the same pixel clicked twice is a second selection)."""
        self.plot.param.watch(self._on_box, "box", onlychanged=False)
        self.plot.param.watch(self._on_pointer, "pointer", onlychanged=False)
        self.plot.param.watch(self._on_drawn_box, "drawn_box", onlychanged=False)
        self.plot.param.watch(self._on_choices, "choices", onlychanged=False)
        self.parts.param.watch(self._on_picked, "picked")
        for part in (self.plot, self.parts):
            part.param.watch(self._on_message, "message", onlychanged=False)

    def _watch_state(self) -> None:
        self.state.param.watch(self._on_filter, [*ExplorerState.FILTERS, "color_by"])
        self.state.param.watch(self._on_live, "live")
        self.state.param.watch(self._on_view, ["x_range", "y_range", "envelope", "reference"])
        self.state.param.watch(self._on_style, ["cmap", "norm"])
        self.state.param.watch(self._to_url, list(self.state.param)[1:])

    def _defaults(self) -> None:
        """Open on the project and process with the most curves: one x quantity per view."""
        if not self._options.empty:
            first = self._options.iloc[0]
            self.state.param.update(project=first.project, process=first.process)

    def _on_filter(self, *events) -> None:
        new_choices = any(e.name in ("project", "process") for e in events)
        if new_choices:  # another quantity on the axes: fit it, in this one render
            self._refitting = True
            try:
                self.state.reset_view()
            finally:
                self._refitting = False
        self.parts.clear()
        self.plot.render(new_choices=new_choices)

    def _on_view(self, *_events) -> None:
        # A render of its own for the refit made the filter's render a second one: the first,
        # loading the filter, was thrown away with its first picture.
        if not self._refitting:
            self.plot.render()

    def _on_live(self, event) -> None:
        """Live on: the window slides with the clock, the picture follows each second (one
        periodic callback per session); off: the window the From and Until fields say."""
        self.parts.clear()
        self.plot.follow()  # renders the new window
        self._follow_clock(bool(event.new))

    def _follow_clock(self, on: bool) -> None:
        if on and self._ticking is None and self._doc is not None:
            self._ticking = every(self.tick, LIVE_TICK_MS)
        elif not on and self._ticking is not None:
            self._ticking.stop()
            self._ticking = None

    def tick(self) -> None:
        """The clock moved on: while following the line, the picture is brought up to date
        (skipped while a render is on its way, or following is paused)."""
        self.plot.render(tick=True)

    def _on_style(self, *_events) -> None:
        self.plot.restyle()

    def _to_url(self, *_events) -> None:
        location = pn.state.location
        if location is None or self._doc is None:
            return
        query = urlencode(self.state.to_query())
        location.search = f"?{query}" if query else ""

    def _on_box(self, event) -> None:
        if event.new is not None:
            self.select_box(event.new)

    def _rule_saved(self) -> None:
        """Drawn at once (the plot reads the rules again first), and offered as a verdict."""
        self.plot.rules_changed()
        self.controls.rules_changed()

    def _try_rule(self, rule: Rule) -> str:
        """A what-if of ``rule`` on the parts of the filter in view, on a client of its own
        (the page's are busy drawing): counts, and the first failing parts with the reason."""
        client = self._factory()
        try:
            curves = Curves(client, self._database, projects=self._projects)
            return what_if_words(curves.matching(self.state.curve_filter()), rule)
        finally:
            client.close()

    def _on_drawn_box(self, event) -> None:
        if event.new is not None and self.draft is not None:
            self.draft.from_box(*event.new)

    def _on_pointer(self, event) -> None:
        if event.new is not None and self.plot.image is not None:
            x, y, box = event.new
            self.parts.point(self.plot.image.view, self.plot.where, x, y, box)

    def _on_choices(self, event) -> None:
        if event.new is not None:
            self.controls.show_choices(event.new)

    def _on_picked(self, event) -> None:
        self.plot.highlight(event.new.lines if event.new is not None else [])

    def _on_message(self, event) -> None:
        publish(self, message=event.new)

    def _report(self, error: Exception) -> None:
        """A failure of the explorer's own: the engine at opening, a filter in the URL."""
        if not isinstance(error, FilterError | ProviderError):
            log.warning("explorer request failed", exc_info=error)
        publish(self, message=elements.friendly(error))

    def select_box(self, box: tuple[int, int, int, int]) -> None:
        """List the parts drawing a pixel in ``box`` (col0, col1, row0, row1) of the picture on
        screen: its view and its filter."""
        self.parts.select(self.plot.image.view, self.plot.where, box)

    # --- exports ------------------------------------------------------------------------------

    def _may_export(self, kind: str) -> bool:
        if self._on_export is None:
            return True
        chosen = (self.state.project,) if self.state.project else self._projects
        try:
            self._on_export(kind, chosen)
        except PermissionError as exc:
            publish(self, message=text(exc))
            return False
        return True

    # --- layout -------------------------------------------------------------------------------

    def __panel__(self) -> pn.viewable.Viewable:
        if not self._clients:  # nothing else on the page can work
            return pn.Column(
                self._alert,
                pn.pane.Markdown(
                    "Start the ClickHouse server, or check `CURVEHOUSE_ENGINE` and "
                    "`CURVEHOUSE_CLICKHOUSE_URL`, then reload this page."
                ),
                sizing_mode="stretch_width",
            )
        return pn.Column(
            self._alert,
            self.plot,
            *([self.draft] if self.draft is not None else []),
            self.compare,
            self.parts,
            self.unusual,
            sizing_mode="stretch_width",
        )
