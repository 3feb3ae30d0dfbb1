"""A dashboard's panels as page components: a saved view drawn live as the explorer draws it, a
KPI tile, a trend chart, and an SPC chart; and the drawer that computes them beside the session.

Every panel's figures come from the engine when the dashboard opens (nothing is a stored
picture). The drawer runs the panels' jobs on a few threads at once, each thread with an
engine client of its own (a client serves one query at a time), saved views first (they take
longest); each result reaches the page on the session's next tick. A saved view's raster is the
explorer's own (:func:`app.explorer.elements.raster`): hover gives each pixel's exact count,
and a zoom or pan draws the new range anew.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import holoviews as hv
import holoviews.plotting.bokeh  # the explorer raster options need a plotting backend
import numpy as np
import pandas as pd
import panel as pn
import param
from bokeh.events import RangesUpdate
from bokeh.models import HoverTool
from bokeh.plotting import figure
from panel.io.document import hold

from app.dashboards.spec import METRICS, formatted
from app.explorer import elements
from app.explorer.latest import in_session
from app.explorer.state import ExplorerState
from app.markup import text
from app.quality.charts import (
    FEATURE_WORDS,
    ControlChart,
    Shown,
    local_times,
    parts_zone,
    plants_zone,
)
from models.wording import counted
from pipelines.curves import Curves
from pipelines.feature_charts import broken_at_empty_buckets, chart_feature
from pipelines.features import Configured
from pipelines.kpis import kpis
from pipelines.render import category_colors
from pipelines.views import CurveFilter, FilterError
from providers import ProviderError

log = logging.getLogger(__name__)

# The grid's cells in pixels: 12 columns fill the main area of a 1400 px window beside the
# sidebar. Panels are drawn at their exact size (Bokeh's stretching sizes inside gridstack.js's
# cells were laid out before the cells had their width, and stayed narrow).
ROW_PX = 90
COLUMN_PX = 88
INSET = 4  # the gap around a panel inside its cells
HEADER_PX = 34  # a panel's heading
ACCENT = "#1f5fa8"
CSS = """
:host {display: block;}
.ch-kpi-tile {height: 100%; display: flex; flex-direction: column; justify-content: center;
              padding: 4px 10px; font-family: system-ui, sans-serif; color: #1b2430;}
.ch-kpi-tile b {font-size: clamp(1.6rem, 3.2vw, 3rem); line-height: 1.1;
                font-variant-numeric: tabular-nums;}
.ch-kpi-tile small {color: #5a6878; font-size: .9rem;}
.ch-panel-note {color: #5a6878; font-size: .95rem; padding: 8px 10px;}
"""


RulesOf = Callable[[str, str], list]  # (project, process) -> the process's current rules


class PanelDrawer:
    """Runs panels' jobs on ``workers`` threads, each thread with a reader (and engine client)
    of its own, opened by ``open_reader`` on its first job (not while the page is being made);
    results and failures reach the session's next tick.

    In a served page the jobs start while the browser still loads the page's scripts, but
    their results are held until the page has loaded (:meth:`release`, from Panel's
    ``onload``): results handed to a document before its browser had it were sometimes
    never drawn (a panel stayed "Drawing…")."""

    def __init__(self, open_reader: Callable[[], Curves], doc: Any, workers: int = 3) -> None:
        self._open_reader = open_reader
        self._mine = threading.local()  # each worker thread's reader
        self._clients: list[Any] = []
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="curvehouse-dashboard"
        )
        self._doc = doc
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Event()
        self._idle.set()
        # Results waiting for the page to load: (show, result); None once it has.
        self._held: list[tuple[Callable[[Any], None], Any]] | None = [] if doc else None
        if doc is not None:
            pn.state.onload(self.release)

    def _reader(self) -> Curves:
        reader = getattr(self._mine, "reader", None)
        if reader is None:
            reader = self._mine.reader = self._open_reader()
            with self._lock:
                self._clients.append(reader.client)
        return reader

    def release(self) -> None:
        """The page has loaded: show what was held, and what comes from now on at once."""
        held, self._held = self._held or [], None
        with hold(self._doc):  # one message to the browser for all of them
            for show, result in held:
                self._shown(show, result)

    def _hand_over(self, show: Callable[[Any], None]) -> Callable[[Any], None]:
        def in_page(result: Any) -> None:
            if self._held is not None:
                self._held.append((show, result))
                return
            with hold(self._doc):  # as the held ones: one message to the browser
                self._shown(show, result)

        return in_session(in_page, self._doc)

    @staticmethod
    def _shown(show: Callable[[Any], None], result: Any) -> None:
        try:
            show(result)
        except Exception:  # one panel that cannot be shown must not stop the others
            log.exception("showing a dashboard panel failed")

    def submit(
        self,
        job: Callable[[Curves], Any],
        deliver: Callable[[Any], None],
        fail: Callable[[Exception], None],
    ) -> None:
        deliver, fail = self._hand_over(deliver), self._hand_over(fail)
        with self._lock:
            self._pending += 1
            self._idle.clear()

        def run() -> None:
            try:
                result, error = job(self._reader()), None
            except Exception as exc:  # shown in the panel
                result, error = None, exc
            try:
                deliver(result) if error is None else fail(error)
            finally:
                with self._lock:
                    self._pending -= 1
                    if not self._pending:
                        self._idle.set()

        self._pool.submit(run)

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until every job submitted was handed over (tests, benchmarks)."""
        return self._idle.wait(timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()


class DashboardPanel(pn.viewable.Viewer):
    """One panel: its heading (with a remove button when the dashboard may be changed) over
    what it shows. ``drawn`` turns True when its figures first arrive."""

    drawn = param.Boolean(default=False, doc="Its figures arrived (or why there are none).")

    def __init__(
        self,
        spec: Mapping[str, Any],
        heading: str,
        *,
        project: str = "",
        on_remove: Callable[[DashboardPanel], None] | None = None,
        link: str = "",
        rules_of: RulesOf | None = None,
    ) -> None:
        """``project``: the dashboard's, whose curves a KPI or trend filter selects;
        ``rules_of``: the rules a verdict filter or colouring without a named rule means."""
        super().__init__()
        self.spec, self.project, self.rules_of = dict(spec), project, rules_of
        self._heading, self._link = heading, link
        # Room for the grid's grip (⠿) where the panel may be moved.
        left = 32 if on_remove is not None else 10
        self.heading = pn.pane.HTML(self._heading_html(), margin=(6, 10, 0, left))
        self.remove = pn.widgets.Button(
            label="✕",
            color="light",
            width=34,
            height=28,
            margin=(3, 4),
            description="Remove this panel",
            visible=on_remove is not None,
            css_classes=["ch-remove"],
        )
        if on_remove is not None:
            self.remove.on_click(lambda _e: on_remove(self))
        self.top = pn.Row(self.heading, self.remove, height=HEADER_PX, margin=0)
        # Both there from the start, one visible: the words while drawing (or why nothing is
        # drawn), then the figures. Changing a pane's object sends less than a new pane.
        self.note = pn.pane.Markdown("Drawing…", css_classes=["ch-panel-note"], margin=(4, 10))
        self.body = self._body()
        self.layout = pn.Column(
            self.top,
            self.note,
            self.body,
            margin=0,
            css_classes=["ch-panel", f"ch-panel-{self.spec['kind']}"],
        )
        self.fit()

    def _heading_html(self, legend: dict[str, str] | None = None) -> str:
        """The heading, a link to the explorer, and a coloured view's colours."""
        html = text(self._heading)
        if self._link:
            html += (
                f' <a href="{text(self._link)}" title="Open in the Curve Explorer" '
                'style="font-weight:400;font-size:.85rem">open ↗</a>'
            )
        for name, color in (legend or {}).items():
            html += (
                '<span style="font-weight:400;font-size:.85rem;margin-left:8px">'
                f'<span style="display:inline-block;width:10px;height:10px;border-radius:2px;'
                f'background:{text(color)};margin-right:3px"></span>{text(name)}</span>'
            )
        return (
            '<div style="font-weight:600;white-space:nowrap;overflow:hidden;'
            f'text-overflow:ellipsis">{html}</div>'
        )

    def _body(self) -> pn.viewable.Viewable:
        """Where the figures go: a new pane when they come (a Bokeh pane whose figure is set
        later was not drawn: "could not set initial ranges"); a KPI tile's HTML pane."""
        return pn.Spacer(margin=0, visible=False)

    def size(self) -> tuple[int, int]:
        """The body's pixels (width, height) at the panel's place on the grid."""
        width = self.spec["w"] * COLUMN_PX - 2 * INSET - 4
        height = self.spec["h"] * ROW_PX - 2 * INSET - HEADER_PX - 6
        return max(width, 40), max(height, 30)

    def fit(self) -> None:
        """Its parts at the size of its place (again after a resize in the browser)."""
        width, height = self.size()
        self.top.width = width
        mine = (self.remove.width + 8 if self.remove.visible else 0) + self.heading.margin[3]
        self.heading.width = width - mine - 10
        self.note.width = width - 20
        self.body.param.update(width=width, height=height)

    def show(self, shown: Any) -> None:
        """The figures: a Bokeh figure, or a KPI tile's HTML."""
        if isinstance(self.body, pn.pane.HTML):
            self.body.object = shown
        else:
            self.body = pn.pane.Bokeh(shown, margin=0)
            self.fit()
            self.layout[2] = self.body
        self.body.visible, self.note.visible = True, False
        self.drawn = True

    def say(self, words: str) -> None:
        """Why nothing is drawn (Markdown, data in it already escaped)."""
        self.note.object = words
        self.body.visible, self.note.visible = False, True
        self.drawn = True

    def fail(self, error: Exception) -> None:
        if not isinstance(error, FilterError | ProviderError):
            log.warning("dashboard panel failed", exc_info=error)
        self.say(elements.friendly(error))

    def draw(self, drawer: PanelDrawer) -> None:
        raise NotImplementedError

    def curve_filter(self) -> CurveFilter | None:
        """A KPI, trend or SPC panel's filter of the dashboard's project (None: it cannot be
        read, and the panel says why)."""
        try:
            query = {**self.spec.get("filter", {}), "project": self.project}
            return explorer_state(query, self.rules_of).curve_filter()
        except FilterError as exc:
            self.fail(exc)
            return None

    def __panel__(self) -> pn.viewable.Viewable:
        return self.layout


def explorer_state(query: Mapping[str, str], rules_of: RulesOf | None = None) -> ExplorerState:
    """The explorer's state of a saved view or a panel's filter; ``rules_of`` gives a verdict
    filter or colouring without a rule named its rules, as in the explorer."""
    state = ExplorerState()
    if rules_of is not None:
        state.rules_of = rules_of
    state.from_query(dict(query))
    return state


class ViewPanel(DashboardPanel):
    """A saved view drawn live on the panel's size: the explorer's raster of its filter and
    view, redrawn for a zoom or pan. ``query``: the view's state, None when it was deleted or
    is not shared with the person looking."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        heading: str,
        query: Mapping[str, str] | None,
        **kwargs: Any,
    ) -> None:
        link = f"./curves?view={spec['view_id']}" if query is not None else ""
        super().__init__(spec, heading, link=link, **kwargs)
        self.query = query
        self._generation = 0
        self._adopted: Any = None
        self._drawer: PanelDrawer | None = None
        self.image = None  # the DensityImage on screen

    def draw(self, drawer: PanelDrawer, ranges: tuple | None = None) -> None:
        if self.query is None:
            self.say("This saved view was deleted, or is not shared with you.")
            return
        try:
            state = explorer_state(self.query, self.rules_of)
        except FilterError as exc:
            self.fail(exc)
            return
        if ranges is not None:
            state.param.update(x_range=ranges[0], y_range=ranges[1])
        where = state.curve_filter()
        width, height = self.size()
        view = state.view(width, height)
        live, cmap, norm = bool(state.live), state.cmap, state.norm
        self._generation += 1
        generation = self._generation

        def job(curves: Curves) -> tuple:
            shown = curves.matching(where)
            image = shown.following(view) if live else shown.density(view)
            if not image.curves:
                return generation, image, None
            element = elements.raster(image, cmap, norm, hooks=(self._adopt,))
            element = element.opts(width=width, height=height, toolbar=None)
            # The Bokeh figure is made here, while the browser loads the page, not on the
            # session's thread once it has (about 0.3 s a raster there).
            return generation, image, hv.renderer("bokeh").get_plot(element).state

        drawer.submit(job, lambda done: self._show(done, drawer), self.fail)

    def _show(self, done: tuple, drawer: PanelDrawer) -> None:
        generation, image, figure_ = done
        if generation != self._generation:
            return
        self._drawer = drawer
        self.image = image
        if not image.curves:
            self.say(
                "No curves match this view's filters."
                if not image.near
                else "No curve passes through this view."
            )
            return
        if image.categories:
            self.heading.object = self._heading_html(category_colors(image.categories))
        self.show(figure_)

    def _adopt(self, plot: Any, _element: Any) -> None:
        """A hook on the raster's plot: a zoom or pan (Bokeh's ``RangesUpdate``, once the
        gesture rests) draws the new range."""
        if plot is self._adopted:
            return
        self._adopted = plot
        plot.state.on_event(RangesUpdate, self._on_range)

    def _on_range(self, event: RangesUpdate) -> None:
        image = self.image
        if (
            image is None
            or self._drawer is None
            or None in (event.x0, event.x1, event.y0, event.y1)
        ):
            return
        wanted = ((event.x0, event.x1), (event.y0, event.y1))
        if _close(wanted, (image.view.x_range, image.view.y_range)):
            return
        self.draw(self._drawer, ranges=tuple(tuple(map(float, r)) for r in wanted))


def _close(a: tuple, b: tuple) -> bool:
    return all(
        abs(p - q) <= 1e-9 * max(abs(hi - lo), 1e-300)
        for (p0, p1), (q0, q1) in zip(a, b, strict=True)
        for p, q, lo, hi in ((p0, q0, q0, q1), (p1, q1, q0, q1))
    )


class KpiPanel(DashboardPanel):
    """One key figure of the panel's filter (the project's curves when it has none)."""

    def _body(self) -> pn.viewable.Viewable:
        return pn.pane.HTML("", stylesheets=[CSS], margin=0, visible=False)

    def draw(self, drawer: PanelDrawer) -> None:
        metric = self.spec["metric"]
        where = self.curve_filter()
        if where is None:
            return

        def job(curves: Curves) -> pd.Series:
            return kpis(curves.matching(where)).figures.iloc[0]

        def show(row: pd.Series) -> None:
            value = row[metric]
            value = None if pd.isna(value) else float(value)
            parts, curves = int(row["parts"]), int(row["curves"])
            caption = f"{counted(parts, 'part')} · {counted(curves, 'curve')}"
            if not curves:
                caption = "no curves match"
            if "title" in self.spec:  # the heading is the person's: say what the figure is
                caption = f"{text(METRICS[metric][0])} · {caption}"
            self.show(
                f'<div class="ch-kpi-tile"><b data-metric="{metric}">'
                f"{formatted(metric, value)}</b><small>{caption}</small></div>"
            )

        drawer.submit(job, show, self.fail)


class TrendPanel(DashboardPanel):
    """A key figure per time bucket of the panel's filter, as a line."""

    def draw(self, drawer: PanelDrawer) -> None:
        metric, bucket = self.spec["metric"], self.spec["bucket"]
        where = self.curve_filter()
        if where is None:
            return

        width, height = self.size()

        def job(curves: Curves) -> Any:
            chosen = curves.matching(where)
            figures = kpis(chosen, (), bucket).figures
            if figures.empty:
                return None
            zone = plants_zone(chosen.choices()["plant"])
            return trend_figure(figures, metric, width, height, zone)

        def show(chart: Any) -> None:
            if chart is None:
                self.say("No curves match this trend's filters.")
                return
            self.show(chart)

        drawer.submit(job, show, self.fail)


class SpcPanel(DashboardPanel):
    """A curve feature's individuals chart over the panel's filter, as the Quality page draws
    it: the parts in time order, the centre line and limits from all of them, and the points
    Nelson's rules flag. One process, station and program, as SPC needs (programs make
    different parts): the filter's, else the one with the most parts, named in the heading.
    A configured feature (``feature_<id>``) is of its own process, and read beside the fixed
    ones as the Quality page reads it (:meth:`Curves.features`). The Quality page has
    baselines, subgroups and capability."""

    def __init__(
        self,
        spec: Mapping[str, Any],
        heading: str,
        *,
        configured: Configured | None = None,
        **kwargs: Any,
    ) -> None:
        """``configured``: the project's working configured feature the panel charts, None for
        a fixed feature (or one retired since the panel was made)."""
        super().__init__(spec, heading, **kwargs)
        self.configured = configured

    def draw(self, drawer: PanelDrawer) -> None:
        feature, configured = self.spec["metric"], self.configured
        if feature not in FEATURE_WORDS and configured is None:
            self.say(
                "This panel's feature was retired, or is no longer one of the project's: "
                "remove the panel, or add one of another feature."
            )
            return
        name = FEATURE_WORDS[feature] if configured is None else configured.name
        where = self.curve_filter()
        if where is None:
            return
        width, height = self.size()

        def job(curves: Curves) -> Any:
            chosen = curves.matching(where)
            if configured is None:
                process = (chosen.processes(limit=1) or [""])[0]  # the busiest of the filter's
            else:
                process = configured.process
            rows = chosen.filter(process=process).features(
                ("station", "program", "started_at", "plant"),
                () if configured is None else (configured,),
            )
            rows = rows[np.isfinite(rows[feature].to_numpy(np.float64))]
            for column in ("station", "program"):  # the busiest, unless the filter says
                if len(rows) and len(where.equals.get(column, ())) != 1:
                    rows = rows[rows[column] == rows[column].value_counts().idxmax()]
            if rows.empty:
                return None
            try:
                plotted = chart_feature(rows, feature).charts[0]
            except ValueError as exc:  # too few parts for limits, said in words
                return str(exc)
            zone = parts_zone(rows)
            shown = Shown(plotted, local_times(plotted.at, zone), name, zone)
            chart = ControlChart(shown, titled=False).overlay.opts(
                responsive=False, width=width, height=height, toolbar=None
            )
            first = rows.iloc[0]
            which = f"{process} · {first['station']} · {first['program']}"
            return which, len(rows), hv.renderer("bokeh").get_plot(chart).state

        def show(done: Any) -> None:
            if done is None or isinstance(done, str):
                self.say(
                    text(done) if done else "No parts with features match this chart's filters."
                )
                return
            which, parts, chart = done
            self.heading.object = self._heading_html(
                {f"{which} · {counted(parts, 'part')}": ACCENT}
            )
            self.show(chart)

        drawer.submit(job, show, self.fail)


def trend_figure(figures: pd.DataFrame, metric: str, width: int, height: int, zone: str) -> Any:
    """``metric`` per bucket (rows of :attr:`pipelines.kpis.Kpis.figures`, bucketed) as a
    Bokeh line with a point per bucket and the value under the pointer; times on ``zone``'s
    clocks (the plant's, where the parts are of one). The line breaks where a bucket without
    parts lies between two."""

    def local(column: str) -> np.ndarray:
        return local_times(pd.to_datetime(figures[column], utc=True).dt.tz_localize(None), zone)

    data = pd.DataFrame(
        {
            "bucket": local("bucket"),
            "value": pd.to_numeric(figures[metric], errors="coerce"),
            "parts": figures["parts"].astype(int),
        }
    )
    label = METRICS[metric][0]
    chart = figure(
        x_axis_type="datetime",
        width=width,
        height=height,
        toolbar_location=None,
        tools="",
        output_backend="canvas",
    )
    at, values = broken_at_empty_buckets(
        data["bucket"].to_numpy(), local("bucket_end"), data["value"].to_numpy()
    )
    chart.line(at, values, line_width=2, color=ACCENT)
    dots = chart.scatter("bucket", "value", source=data, size=5, color=ACCENT)
    chart.add_tools(
        HoverTool(
            renderers=[dots],
            tooltips=[
                ("from", f"@bucket{{%F %H:%M}} {zone}"),
                (label, "@value"),
                ("parts", "@parts"),
            ],
            formatters={"@bucket": "datetime"},
        )
    )
    chart.yaxis.axis_label = label
    chart.xaxis.axis_label = f"{zone} time"
    chart.title = None
    return chart


PANELS: dict[str, type[DashboardPanel]] = {
    "view": ViewPanel,
    "kpi": KpiPanel,
    "trend": TrendPanel,
    "spc": SpcPanel,
}


def panel_of(
    spec: Mapping[str, Any],
    heading: str,
    *,
    project: str,
    views: Mapping[int, Mapping[str, str]],
    on_remove: Callable[[DashboardPanel], None] | None,
    rules_of: RulesOf | None = None,
    configured: Sequence[Configured] = (),
) -> DashboardPanel:
    """The component of one stored panel of ``project``'s dashboard; ``views``: the states of
    the saved views the person may open; ``rules_of``: the process rules they may see;
    ``configured``: the project's working configured features (an SPC panel may chart one)."""
    mine = {"project": project, "on_remove": on_remove, "rules_of": rules_of}
    if spec["kind"] == "view":
        return ViewPanel(spec, heading, views.get(spec["view_id"]), **mine)
    if spec["kind"] == "spc":
        own = next((c for c in configured if c.column == spec["metric"]), None)
        return SpcPanel(spec, heading, configured=own, **mine)
    return PANELS[spec["kind"]](spec, heading, **mine)
