"""The Curve Explorer: every part a line made as distinct-curve density, and the parts behind
any pixel.

Flow: widgets edit :class:`ExplorerState`. A change submits a render to a latest-wins runner
(:mod:`app.explorer.latest`), so rapid zooms never queue up; the finished image reaches the plot
through a HoloViews stream on the session's next tick. Zoom and pan come back through a
``RangeXY`` stream into the state, and the URL mirrors the state. Each runner has its own
engine client: a render, a selection and the hover can be in flight together.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from io import BytesIO, StringIO
from typing import Any
from urllib.parse import urlencode

import holoviews as hv
import pandas as pd
import panel as pn
from panel.io.state import set_curdoc

from app.explorer import elements
from app.explorer.controls import ExplorerControls
from app.explorer.elements import PLOT_HEIGHT, PLOT_WIDTH
from app.explorer.latest import LatestOnly
from app.explorer.state import ExplorerState
from app.markup import text
from app.runtime import hot_cache, open_store
from models.csv_safe import frame_csv
from models.settings import get_settings
from pipelines.curves import Curves
from pipelines.drawing import DensityImage
from pipelines.interact import Line, pixel_box
from pipelines.render import png
from pipelines.sources import MemorySamples, SampleSource
from pipelines.views import CurveFilter, FilterError
from providers import ProviderError

log = logging.getLogger(__name__)

PICK_LIMIT = 5_000  # parts listed (and exported) for one selection
HIGHLIGHT_LIMIT = 20  # of them, drawn as lines on top
HOVER_LIMIT = 5
HOVER_REST_SECONDS = 0.25  # the pointer must rest this long before the parts under it are asked
REFERENCE_LIMIT = 3
NO_MATCH = "**No curves match these filters.** Widen the filters or reset the view."
NONE_IN_VIEW = "**No curve passes through this view.** Zoom out, pan, or reset the view."
EMPTY_STORE = (
    "**No curves stored yet.** Generate the 10,000-curve demo plant with `curvehouse demo`, "
    "or import your own with `curvehouse ingest curves.csv --project line-7` (see the README), "
    "then reload this page."
)
PART_COLUMNS = ["part_serial", "started_at", "result", "defect", "station", "program", "line"]


@dataclass
class Rendered:
    """One finished view: the density and what is drawn over it."""

    image: DensityImage
    where: CurveFilter  # the filter it was drawn with: selections and hover use it
    envelope: pd.DataFrame | None = None
    choices: dict[str, list[str]] | None = None  # new picker options, after a process change
    reference: list[Line] = field(default_factory=list)
    reference_missing: bool = False


@dataclass
class Picked:
    total: int
    parts: pd.DataFrame
    lines: list[Line]


class CurveExplorer(pn.viewable.Viewer):
    """One session's explorer: filters in the sidebar, the raster and the selected parts."""

    def __init__(
        self,
        *,
        client_factory=None,
        database: str | None = None,
        query: dict[str, str] | None = None,
        samples: SampleSource | None = None,
        projects: tuple[str, ...] | None = None,
        on_export: Callable[[str, tuple[str, ...] | None], None] | None = None,
        **params: Any,
    ) -> None:
        """``samples``: where views' samples come from; by default memory, so zooms of a filter
        draw from its samples held in the process's cache (sized by
        ``CURVEHOUSE_HOT_CACHE_MB``; a filter that does not fit goes to the engine).
        ``projects``: the only projects whose curves this person may see (None: every
        project). ``on_export`` is called with the export's kind and projects before a file is
        made; it raises PermissionError to refuse (and records the export)."""
        super().__init__(**params)
        self._projects, self._on_export = projects, on_export
        settings = get_settings()
        self._samples = samples if samples is not None else MemorySamples(hot_cache(settings))
        self.state = ExplorerState()
        self._database = database or settings.database
        self._curves: Curves | None = None  # the session's reader, on the first client
        self._doc = pn.state.curdoc
        self._image: DensityImage | None = None
        self._shown_where: CurveFilter | None = None
        self._pointer_moves = 0
        self._picked: Picked | None = None
        self._alert = pn.pane.Alert("", alert_type="danger", visible=False, name="explorer-error")
        self._empty = pn.pane.Alert(
            NO_MATCH,
            alert_type="warning",
            visible=False,
            name="explorer-empty",
        )
        self._clients: list = []
        self._options = pd.DataFrame(columns=["project", "process", "curves"])
        self._choices_stale = True  # picker options are fetched by the next render
        self._open(client_factory or (lambda: open_store(settings).client))
        if self._doc is not None:
            pn.state.on_session_destroyed(lambda _ctx: self.close())
        if self._clients:
            self._renders = LatestOnly(
                partial(self._later, self._show), partial(self._later, self._show_error), "render"
            )
            self._picks = LatestOnly(
                partial(self._later, self._show_pick),
                partial(self._later, self._show_pick_error),
                "pick",
            )
            self._hovers = LatestOnly(partial(self._later, self._show_hover), log.debug, "hover")
            self._render_client, self._pick_client, self._hover_client = self._clients
        self._build_widgets()
        self._build_plot()
        self._defaults()
        if query:
            try:
                self.state.from_query(query)
            except FilterError as exc:
                self._show_error(exc)
        self.state.param.watch(self._on_filter, [*ExplorerState.FILTERS, "color_by"])
        self.state.param.watch(self._on_view, ["x_range", "y_range", "envelope", "reference"])
        self.state.param.watch(self._on_style, ["cmap", "norm"])
        self.state.param.watch(self._to_url, list(self.state.param)[1:])
        if self._doc is None:
            self.render()
        else:
            # Draw once the page is in the browser, so the first picture does not compete with
            # building and sending the page for the GIL.
            pn.state.onload(self._first_render)

    def _first_render(self) -> None:
        self.render()
        self._to_url()  # the opening state, as a link from the start

    def _open(self, factory) -> None:
        """One client per runner (render, selection, hover), so a render, a selection and the
        hover can be in flight together without sharing a connection; all or none."""
        try:
            for _ in range(3):
                self._clients.append(factory())
            self._curves = Curves(
                self._clients[0], self._database, projects=self._projects, source=self._samples
            )
            self._options = self._curves.processes_by_project()
        except Exception as exc:  # shown in the page; the engine may come back on reload
            self.close()
            self._show_error(exc)

    def close(self) -> None:
        """Close this session's engine clients (the server does it when a session ends)."""
        for client in self._clients:
            client.close()
        self._clients = []

    # --- wiring -------------------------------------------------------------------------------

    def _later(self, fn, arg) -> None:
        """Run ``fn(arg)`` in the session: on its next tick when served, at once otherwise."""
        if self._doc is None:
            fn(arg)
            return

        def run():
            with set_curdoc(self._doc):
                fn(arg)

        self._doc.add_next_tick_callback(run)

    def _defaults(self) -> None:
        """Open on the project and process with the most curves: one x quantity per view."""
        if not self._options.empty:
            first = self._options.iloc[0]
            self.state.param.update(project=first.project, process=first.process)

    def _build_widgets(self) -> None:
        self.controls = ExplorerControls(self.state, self._options)
        self.filters, self.process = self.controls.filters, self.controls.process
        self.reset_view = pn.widgets.Button(label="Reset view", color="light")
        self.reset_view.on_click(lambda _e: self.state.reset_view())
        self.stats = pn.pane.HTML("", stylesheets=[elements.CSS], name="explorer-stats")
        self.legend = pn.pane.HTML(
            "", stylesheets=[elements.CSS], visible=False, name="explorer-legend"
        )
        self.hover_info = pn.pane.Markdown("Point at the raster to see the parts under the cursor.")
        self.parts_title = pn.pane.Markdown(
            "Click the raster, or drag a box with the box-select tool, to list the parts "
            "passing through."
        )
        self.parts = pn.widgets.Tabulator(
            pd.DataFrame(columns=PART_COLUMNS),
            show_index=False,
            disabled=True,
            pagination="local",
            page_size=12,
            layout="fit_data_table",
            sizing_mode="stretch_width",
        )
        self.csv = pn.widgets.FileDownload(
            callback=self._parts_csv,
            filename="curvehouse-parts.csv",
            label="Export parts (CSV)",
            color="primary",
            disabled=True,
        )
        self.snapshot = pn.widgets.FileDownload(
            callback=self._view_png,
            filename="curvehouse-view.png",
            label="Export view (PNG)",
            color="light",
        )
        self.status_text = pn.pane.Markdown("", name="explorer-status")

    def _build_plot(self) -> None:
        self._lines_data = elements.LinesData()
        self._band_data = elements.BandData()
        self._reference_data = elements.ReferenceData()
        self._plot_key: tuple | None = None
        self.plot = pn.pane.HoloViews(name="explorer-plot", min_width=PLOT_WIDTH)
        self._replot(None)

    def _key(self, image: DensityImage | None) -> tuple:
        """What fixes the plot's glyphs, colours and axes; a change needs a new plot, not new
        data (HoloViews reuses a frame whose stream data did not change, so a new colour map
        alone would not show)."""
        labels = (image.x_label, image.y_label) if image is not None else ("x", "y")
        categorical = bool(image is not None and image.categories)
        return (*labels, categorical, self.state.norm, self.state.cmap)

    def _replot(self, image: DensityImage | None) -> None:
        """A fresh overlay: Bokeh cannot swap a colour mapper's kind (linear, log, eq_hist) or
        an image for an RGB in place. The streams move to the new raster."""
        for stream in getattr(self, "_streams", []):
            stream.clear()
        self._plot_key = self._key(image)
        self._raster_data = elements.RasterData(image=image)
        raster = hv.DynamicMap(
            lambda image: elements.raster(image, self.state.cmap, self.state.norm),
            streams=[self._raster_data],
        )
        lines = hv.DynamicMap(
            lambda lines: elements.paths(lines, "#ff7f0e", 1.2), streams=[self._lines_data]
        )
        reference = hv.DynamicMap(
            lambda reference: elements.paths(reference, "#111111", 3.0),
            streams=[self._reference_data],
        )
        band = hv.DynamicMap(elements.envelope_bands, streams=[self._band_data])
        self._streams = [
            hv.streams.RangeXY(source=raster, subscribers=[self._on_range]),
            hv.streams.Tap(source=raster, transient=True, subscribers=[self._on_tap]),
            hv.streams.BoundsXY(source=raster, transient=True, subscribers=[self._on_bounds]),
            hv.streams.PointerXY(source=raster, subscribers=[self._on_pointer]),
        ]
        self.plot.object = (raster * band * lines * reference).opts(
            width=PLOT_WIDTH, height=PLOT_HEIGHT, framewise=True, toolbar="above"
        )

    def wait(self, timeout: float = 120.0) -> None:
        """Block until renders, selections and hovers in flight are shown (tests, benchmarks)."""
        for runner in (self._renders, self._picks, self._hovers):
            if not runner.wait(timeout):
                raise TimeoutError(f"explorer work still running after {timeout:.0f} s")

    # --- state → work -------------------------------------------------------------------------

    def _on_filter(self, *events) -> None:
        if any(e.name in ("project", "process") for e in events):
            self._choices_stale = True
            self.state.reset_view()  # another quantity on the axes: fit it
        self._clear_selection()
        self.render()

    def _on_view(self, *_events) -> None:
        self.render()

    def _on_style(self, *_events) -> None:
        if self._key(self._image) != self._plot_key:
            self._replot(self._image)
        self.legend.object = elements.legend_html(self._image, self.state.color_by)

    def _to_url(self, *_events) -> None:
        location = pn.state.location
        if location is None or self._doc is None:
            return
        query = urlencode(self.state.to_query())
        location.search = f"?{query}" if query else ""

    def render(self) -> None:
        """Submit the current state's view; a newer one replaces it if it has not started."""
        if not self._clients:
            return
        try:
            where = self.state.curve_filter()
            view = self.state.view(PLOT_WIDTH, PLOT_HEIGHT)
        except FilterError as exc:
            self._show_error(exc)
            return
        self._alert.visible = False
        self.plot.loading = True
        self.status_text.object = "Drawing…"
        curves = self._curves.on(self._render_client)
        with_envelope, reference = self.state.envelope, self.state.reference.strip()
        choices_of = None
        if self._choices_stale:
            choices_of = CurveFilter.of(
                project=self.state.project or None, process=self.state.process or None
            )
            self._choices_stale = False

        def job() -> Rendered:
            shown = curves.matching(where)
            image = shown.density(view)
            done = Rendered(image, where)
            if choices_of is not None:
                done.choices = curves.matching(choices_of).choices()
            if with_envelope and image.curves:
                done.envelope = shown.envelope(image.view)
            if reference:
                done.reference = shown.part_lines(reference, image.view, limit=REFERENCE_LIMIT)
                done.reference_missing = not done.reference
            return done

        self._renders.submit(job)

    def _on_range(self, x_range=None, y_range=None) -> None:
        if x_range is None or y_range is None or self._image is None:
            return
        shown = self._image.view
        if _close(x_range, shown.x_range) and _close(y_range, shown.y_range):
            return  # the plot reporting the ranges it was just given
        self.state.param.update(
            x_range=tuple(map(float, x_range)), y_range=tuple(map(float, y_range))
        )

    def _on_tap(self, x=None, y=None) -> None:
        if x is None or y is None or self._image is None:
            return
        c0, c1, r0, r1 = pixel_box(self._image.view, x, y, x, y)
        view = self._image.view
        box = (
            max(c0 - 1, 0),
            min(c1 + 1, view.width - 1),
            max(r0 - 1, 0),
            min(r1 + 1, view.height - 1),
        )
        self.select_box(box)

    def _on_bounds(self, bounds=None) -> None:
        if bounds is None or self._image is None:
            return
        self.select_box(pixel_box(self._image.view, *bounds))

    def select_box(self, box: tuple[int, int, int, int]) -> None:
        """List the parts drawing a pixel in ``box`` (col0, col1, row0, row1) of the picture on
        screen: its view and its filter."""
        view = self._image.view
        shown = self._curves.on(self._pick_client).matching(self._shown_where)
        self.parts_title.object = "Finding the parts…"

        def job() -> Picked:
            found = shown.pick(view, box, limit=PICK_LIMIT)
            ids = found.curves["curve_id"].head(HIGHLIGHT_LIMIT).tolist()
            return Picked(found.total, found.curves, shown.highlight(ids, view))

        self._picks.submit(job)

    def _on_pointer(self, x=None, y=None) -> None:
        if x is None or y is None or self._image is None or not self._image.curves:
            return
        view = self._image.view
        (x0, x1), (y0, y1) = view.x_range, view.y_range
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return
        box = pixel_box(view, x, y, x, y)
        shown = self._curves.on(self._hover_client).matching(self._shown_where)
        renders = self._renders
        self._pointer_moves += 1
        move = self._pointer_moves

        def job():
            # Only where the pointer rests, and never alongside a render: on two cores a
            # hover pick running with a zoom's render made the render 1.5-2x slower.
            time.sleep(HOVER_REST_SECONDS)
            renders.wait(60)
            if move != self._pointer_moves:
                return None
            return x, y, shown.pick(view, box, limit=HOVER_LIMIT)

        self._hovers.submit(job)

    # --- work → page --------------------------------------------------------------------------

    def _show(self, done: Rendered) -> None:
        image = self._image = done.image
        self._shown_where = done.where
        if done.choices is not None:
            self.controls.show_choices(done.choices)
        self._send(
            (self._band_data, done.envelope),
            (self._reference_data, done.reference),
            replot=self._key(image) != self._plot_key,
        )
        self.plot.loading = False
        if self._options.empty:
            self._empty.object = EMPTY_STORE
        else:
            self._empty.object = NONE_IN_VIEW if image.near else NO_MATCH
        self._empty.visible = image.curves == 0
        ok, nok = image.results.get("OK", 0), image.results.get("NOK", 0)
        ms = image.seconds.get("total", 0.0) * 1e3
        self.stats.object = "".join(
            [
                "<div style='display:flex; gap:8px; flex-wrap:wrap'>",
                elements.stat("Curves shown", f"{image.curves:,}"),
                elements.stat("OK / NOK", f"{ok:,} / {nok:,}"),
                elements.stat("NOK rate", f"{nok / image.curves:.1%}" if image.curves else "–"),
                elements.stat("Query time", f"{ms:.0f} ms"),
                elements.stat("Samples drawn", f"{image.samples:,}"),
                "</div>",
            ]
        )
        self.legend.object = elements.legend_html(image, self.state.color_by)
        self.legend.visible = bool(image.categories)
        note = ""
        if done.reference_missing:
            note = f" · no curve of part “{text(self.state.reference)}” in this selection"
        (x0, x1) = image.view.x_range
        status = f"{image.curves:,} curves · x {x0:.4g} to {x1:.4g} · {ms:.0f} ms"
        self.status_text.object = f"{status}{note}"

    def _send(self, *updates: tuple[hv.streams.Stream, Any], replot: bool = False) -> None:
        """The new image plus any overlay whose data changed, redrawn in one refresh (each
        separate event would redraw the whole overlay). Each stream has a parameter name of
        its own, so triggering them together does not clash."""
        changed = []
        for stream, data in updates:
            (name, old), *_ = stream.contents.items()
            if not (old is data or (_nothing(old) and _nothing(data))):
                stream.update(**{name: data})
                changed.append(stream)
        if replot:
            self._replot(self._image)
            return
        self._raster_data.update(image=self._image)
        hv.streams.Stream.trigger([self._raster_data, *changed])

    def _show_pick(self, picked: Picked) -> None:
        self._picked = picked
        self._lines_data.event(lines=picked.lines)
        parts = picked.parts.copy()
        if not parts.empty:
            parts["started_at"] = pd.to_datetime(parts["started_at"]).dt.strftime(
                "%Y-%m-%d %H:%M:%S"
            )
        self.parts.value = (
            parts[PART_COLUMNS] if not parts.empty else pd.DataFrame(columns=PART_COLUMNS)
        )
        self.csv.disabled = parts.empty
        listed = f" (listing {len(parts):,})" if picked.total > len(parts) else ""
        drawn = min(len(parts), HIGHLIGHT_LIMIT)
        self.parts_title.object = (
            f"**{picked.total:,} parts** pass through the selection{listed}; "
            f"the newest {drawn} are drawn in orange."
            if picked.total
            else "No part passes through the selection."
        )

    def _show_hover(self, found) -> None:
        if found is None:  # the pointer moved on
            return
        x, y, hit = found
        if not hit.total:
            self.hover_info.object = f"No curve at ({x:.4g}, {y:.4g})."
            return
        rows = ", ".join(
            f"{text(r.part_serial or r.curve_key)} ({text(r.result)})"
            for r in hit.curves.itertuples()
        )
        more = f" and {hit.total - len(hit.curves):,} more" if hit.total > len(hit.curves) else ""
        self.hover_info.object = f"**{hit.total:,} curves** at ({x:.4g}, {y:.4g}): {rows}{more}"

    def _show_pick_error(self, error: Exception) -> None:
        """A failed selection: the message, without touching a render that may be running."""
        log.warning("explorer selection failed", exc_info=error)
        self._alert.object = elements.friendly(error)
        self._alert.visible = True
        self.parts_title.object = "The selection failed: see the message above."

    def _show_error(self, error: Exception) -> None:
        if not isinstance(error, FilterError | ProviderError):
            log.warning("explorer request failed", exc_info=error)
        self._alert.object = elements.friendly(error)
        self._alert.visible = True
        if hasattr(self, "plot"):
            self.plot.loading = False
        if hasattr(self, "status_text"):
            self.status_text.object = "Failed: see the message above."

    def _clear_selection(self) -> None:
        self._picks.cancel()  # a selection of the old filter must not come back
        self._picked = None
        self._lines_data.event(lines=[])
        self.parts.value = pd.DataFrame(columns=PART_COLUMNS)
        self.csv.disabled = True

    # --- exports ------------------------------------------------------------------------------

    def _may_export(self, kind: str) -> bool:
        if self._on_export is None:
            return True
        chosen = (self.state.project,) if self.state.project else self._projects
        try:
            self._on_export(kind, chosen)
        except PermissionError as exc:
            self._alert.object, self._alert.visible = text(exc), True
            return False
        return True

    def parts_csv(self) -> str:
        if self._picked is None or not self._may_export("parts"):
            return ""
        return frame_csv(self._picked.parts)

    def _parts_csv(self) -> StringIO:
        return StringIO(self.parts_csv())

    def view_png(self) -> bytes:
        if self._image is None or not self._may_export("view"):
            return b""
        return png(self._image, cmap=self.state.cmap, how=self.state.norm)

    def _view_png(self) -> BytesIO:
        return BytesIO(self.view_png())

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
            pn.Row(self.stats, pn.Spacer(), self.reset_view, self.snapshot, align="center"),
            self.status_text,
            self._empty,
            pn.Row(self.plot, self.legend),
            self.hover_info,
            pn.pane.Markdown("### Selected parts"),
            pn.Row(self.parts_title, pn.Spacer(), self.csv),
            self.parts,
            sizing_mode="stretch_width",
        )


def _nothing(data) -> bool:
    return data is None or (hasattr(data, "__len__") and len(data) == 0)


def _close(a, b, tolerance: float = 1e-9) -> bool:
    span = max(abs(b[1] - b[0]), 1e-300)
    return abs(a[0] - b[0]) <= tolerance * span and abs(a[1] - b[1]) <= tolerance * span
