"""The explorer's picture: distinct-curve density of the state's view, with what is drawn over it.

A render is submitted to a latest-wins runner (:mod:`app.explorer.latest`); the finished image
reaches the page on the session's next tick, into the drawn plot's Bokeh models when only the
image changed, else through HoloViews streams. Zoom and pan (Bokeh's ``RangesUpdate``) become
the state's view; taps, boxes and the pointer go to whoever listens (:attr:`DensityPlot.box`,
:attr:`DensityPlot.pointer`). What was drawn is published as read-only parameters.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

import holoviews as hv
import pandas as pd
import panel as pn
import param
from bokeh.events import RangesUpdate
from bokeh.models import HoverTool
from holoviews.plotting.bokeh.util import get_ticker_axis_props

from app.explorer import elements
from app.explorer.elements import PLOT_HEIGHT, PLOT_WIDTH
from app.explorer.latest import LatestOnly, in_session
from app.explorer.rule_marks import PART_COLORS, PART_WORDS, RulesData, rule_marks
from app.explorer.state import LIVE, ExplorerState
from app.figures import figure, show
from app.markup import text
from app.published import publish
from models.times import zone_of
from models.wording import counted
from pipelines.curves import Curves
from pipelines.drawing import DensityImage
from pipelines.interact import Line, pixel_box
from pipelines.render import png
from pipelines.report_png import (
    DEFAULT_PRESET,
    PRESETS,
    Envelope,
    LineSet,
    filter_png,
)
from pipelines.rules.strokes import rule_strokes
from pipelines.views import CurveFilter, FilterError
from providers import ProviderError

log = logging.getLogger(__name__)

REFERENCE_LIMIT = 3
NEWEST_ON_TOP = 3  # while following the line, the newest parts drawn over the picture
# Why following the line paused, as the status line says it.
PAUSES = {
    "zoom": "you zoomed or panned",
    "select": "you selected parts",
    "hover": "you pointed at curves",
}
NO_MATCH = "**No curves match these filters.** Widen the filters or reset the view."
NONE_IN_VIEW = "**No curve passes through this view.** Zoom out, pan, or reset the view."
EMPTY_STORE = (
    "**No curves stored yet.** Upload a CSV or Parquet file on the [Projects page](/projects), "
    "or generate the 10,000-curve demo plant with `curvehouse demo` (see the README), then "
    "reload this page."
)
# The figures beside the plot, each named for what it counts (curves: one per part and
# station). The samples read are a detail of the status line.
FIGURES = ("Curves shown", "OK / NOK curves", "NOK rate of curves", "Query time")
# The PNG export's sizes: report figures (pipelines.report_png.PRESETS), or the bare counts.
COUNTS_ONLY = "counts"
PNG_SIZES = {p.label: key for key, p in PRESETS.items()} | {
    f"Counts only, {PLOT_WIDTH} × {PLOT_HEIGHT}": COUNTS_ONLY
}


@dataclass
class Rendered:
    """One finished view: the density and what is drawn over it."""

    image: DensityImage
    where: CurveFilter  # the filter it was drawn with: selections and hover use it
    envelope: pd.DataFrame | None = None
    choices: dict[str, list[str]] | None = None  # new picker options, after a process change
    reference: list[Line] = field(default_factory=list)
    reference_missing: bool = False
    # The image as the page draws it (colour levels, ticks), made beside the query rather
    # than on the session's thread; with the colour map and normalisation it was made for.
    drawn: tuple[hv.Element, str, str] | None = None
    programs: list[str] = field(default_factory=list)  # the programs the envelope is of
    newest: list[Line] = field(default_factory=list)  # following the line: the newest parts
    rules: pd.DataFrame | None = None  # the process's rules as strokes (none: no rules)


class DensityPlot(pn.viewable.Viewer):
    """The raster of one session's state, its figures, status line, legend and PNG export."""

    image = param.ClassSelector(
        class_=DensityImage, default=None, constant=True, doc="The picture on screen."
    )
    where = param.ClassSelector(
        class_=CurveFilter, default=None, constant=True, doc="The filter it was drawn with."
    )
    choices = param.Dict(
        default=None,
        constant=True,
        doc="Picker options from the last render that fetched them (filter column -> values).",
    )
    status = param.String(default="", constant=True, doc="The status line, as Markdown.")
    empty = param.String(
        default="", constant=True, doc="Why no curve is drawn, as Markdown; empty when some are."
    )
    message = param.String(
        default="", constant=True, doc="What went wrong, as Markdown; empty when a render starts."
    )
    band = param.DataFrame(
        default=None, constant=True, doc="The envelope drawn (x, curves, p05…p95), or None."
    )
    reference_lines = param.List(
        default=[], item_type=Line, constant=True, doc="The reference part's curves drawn."
    )
    envelope_note = param.String(
        default="",
        constant=True,
        doc="Why the envelope asked for is not drawn (the filter spans several programs); "
        "empty when it is drawn or not asked for.",
    )
    highlighted = param.List(
        default=[], item_type=Line, constant=True, doc="Curves drawn in orange on top."
    )
    newest = param.List(
        default=[],
        item_type=Line,
        constant=True,
        doc="Following the line: the newest parts' curves, drawn in green on top.",
    )
    paused = param.String(
        default="",
        constant=True,
        doc="Following the line: why it paused (a key of PAUSES); empty while it follows.",
    )
    drawn_as = param.Tuple(
        default=None,
        length=4,
        constant=True,
        doc="What fixed the plot's glyphs and colours: categorical, whether the envelope's "
        "bands are drawn, norm, cmap. A change builds a new plot.",
    )
    box = param.Tuple(
        default=None,
        length=4,
        constant=True,
        doc="The pixels (col0, col1, row0, row1) last tapped or boxed; set on every selection.",
    )
    drawn_box = param.Tuple(
        default=None,
        length=4,
        constant=True,
        doc="The box last drawn with the box-select tool, in data units (x0, y0, x1, y1).",
    )
    pointer = param.Tuple(
        default=None,
        length=3,
        constant=True,
        doc="Where the pointer is over curves: (x, y, pixel box); set on every move.",
    )

    def __init__(
        self,
        state: ExplorerState,
        curves: Curves | None,
        *,
        empty_words: Callable[[str], str | None] = lambda _project: None,
        may_export: Callable[[str], bool] = lambda _kind: True,
        **params: Any,
    ) -> None:
        """``curves``: the session's reader on a client of its own (None: nothing to draw).
        ``empty_words``: for a project with no curves at all, what to say instead of "no
        curves match" (how to get some); None for a project that has curves.
        ``may_export`` is asked before the PNG is made. The evaluation rules drawn over the
        picture are the state's ``rules_of(project, process)``."""
        super().__init__(**params)
        self.state, self._curves, self._empty_words = state, curves, empty_words
        self._rules_memo: tuple[tuple, pd.DataFrame | None] = ((), None)
        self._may_export = may_export
        self._choices_stale = True  # picker options are fetched by the next render
        self._programs: list[str] = []  # the program of the envelope drawn, if one
        self._figures_said = ""  # the status line's figures of the picture on screen
        doc = pn.state.curdoc
        self.renders = LatestOnly(
            in_session(self._show, doc), in_session(self._show_error, doc), "render"
        )
        self._set_notice = in_session(self._notice_visible, doc)
        self.figures = {name: figure(name) for name in FIGURES}
        self.legend = pn.pane.HTML(
            "",
            stylesheets=[elements.CSS],
            visible=False,
            name="explorer-legend",
            sizing_mode="stretch_width",
        )
        self.reset_view = pn.widgets.Button(label="Reset view", color="light")
        self.resume = pn.widgets.Button(
            label="Resume following", color="primary", visible=False, css_classes=["live-resume"]
        )
        self.resume.on_click(lambda _e: self.follow())
        self.reset_view.on_click(lambda _e: self.state.reset_view())
        self.png_size = pn.widgets.Select(
            options=PNG_SIZES, value=DEFAULT_PRESET, width=170, margin=(5, 10, 5, 5)
        )
        self.snapshot = pn.widgets.FileDownload(
            callback=lambda: BytesIO(self.to_png()),
            filename=f"curvehouse-view-{DEFAULT_PRESET}.png",
            label="Export view (PNG)",
            color="light",
        )
        self.png_size.param.watch(
            lambda e: setattr(self.snapshot, "filename", f"curvehouse-view-{e.new}.png"), "value"
        )
        self._reading = threading.Lock()  # one query at a time on the session's client
        # Work done in each render's job with its reader and image (app.explorer.compare).
        self.beside: list[Callable[[Curves, DensityImage], None]] = []
        self._lines_data = elements.LinesData()
        self._band_data = elements.BandData()
        self._reference_data = elements.ReferenceData()
        self._newest_data = elements.NewestData()
        self._rules_data = RulesData()
        self._streams: list[hv.streams.Stream] = []
        self._raster_plot: Any = None  # the raster's HoloViews plot on the page, once drawn
        # Empty until the first image: the plot is built once, with that image's axes (built
        # empty first, it was built twice per page, 0.7-0.9 s of the server's time).
        self._raster_data = elements.RasterData(image=None)
        self.canvas = pn.pane.HoloViews(
            None, name="explorer-plot", min_width=PLOT_WIDTH, min_height=PLOT_HEIGHT
        )

    # --- the plot -----------------------------------------------------------------------------

    def _key(self, image: DensityImage | None, band: pd.DataFrame | None) -> tuple:
        """What fixes the plot's glyphs and colours; a change needs a new plot, not new data
        (HoloViews reuses a frame whose stream data did not change, so a new colour map alone
        would not show). The envelope's twelve glyphs are in the plot only while it is drawn:
        empty, they took a third of building it, on every page. Axis names are not in it: a
        process change renames the axes in place (a new plot took 300 ms of its first view)."""
        categorical = bool(image is not None and image.categories)
        bands = not _nothing(band)
        return (categorical, bands, self.state.norm, self.state.cmap)

    def _replot(self, image: DensityImage | None) -> None:
        """A fresh overlay: Bokeh cannot swap an image for an RGB in place, and a new colour
        map or normalisation is rare. The streams move to the new raster."""
        for stream in self._streams:
            stream.clear()
        self._drawing_notice(False)  # the old figure's, should it stay in the document
        self._raster_plot = None
        publish(self, drawn_as=self._key(image, self.band))
        self._raster_data = elements.RasterData(image=image)
        raster = hv.DynamicMap(
            lambda image: elements.raster(
                image, self.state.cmap, self.state.norm, hooks=(self._adopt,)
            ),
            streams=[self._raster_data],
        )
        lines = hv.DynamicMap(
            lambda lines: elements.paths(lines, elements.HIGHLIGHT_COLOR, 1.2),
            streams=[self._lines_data],
        )
        reference = hv.DynamicMap(
            lambda reference: elements.paths(reference, elements.REFERENCE_COLOR, 3.0),
            streams=[self._reference_data],
        )
        newest = hv.DynamicMap(
            lambda newest: elements.paths(newest, elements.NEWEST_COLOR, 1.5),
            streams=[self._newest_data],
        )
        band = hv.DynamicMap(elements.envelope_bands, streams=[self._band_data])
        under = raster if _nothing(self.band) else raster * band  # bands only while drawn
        self._streams = [
            hv.streams.Tap(source=raster, transient=True, subscribers=[self.on_tap]),
            hv.streams.BoundsXY(source=raster, transient=True, subscribers=[self.on_bounds]),
            hv.streams.PointerXY(source=raster, subscribers=[self.on_pointer]),
        ]
        rules = hv.DynamicMap(rule_marks, streams=[self._rules_data])
        self.canvas.object = (under * rules * newest * lines * reference).opts(
            width=PLOT_WIDTH, height=PLOT_HEIGHT, framewise=True, toolbar="above"
        )

    def _adopt(self, plot: Any, _element: hv.Element) -> None:
        """A HoloViews hook on the raster's plot: keep it, to update its image in place, and
        hear zoom and pan from Bokeh's own ``RangesUpdate`` event, which the browser sends
        once a gesture has rested (HoloViews' ``RangeXY`` waited 100-150 ms more)."""
        if plot is self._raster_plot:
            return
        self._raster_plot = plot
        plot.state.on_event(
            RangesUpdate, lambda e: self.on_range(x_range=(e.x0, e.x1), y_range=(e.y0, e.y1))
        )

    def restyle(self) -> None:
        """Colour map or normalisation changed: the same image, drawn anew where needed."""
        if self._key(self.image, self.band) != self.drawn_as:
            self._replot(self.image)
        self._show_legend()

    def highlight(self, lines: list[Line]) -> None:
        """Draw ``lines`` (the newest selected parts) in orange over the picture."""
        publish(self, highlighted=list(lines))
        self._lines_data.event(lines=self.highlighted)
        self._show_legend()

    def overlays(self) -> tuple[elements.Overlay, ...]:
        """What is drawn over the density, for the legend: the envelope (or why it is not),
        the reference part and the selected parts."""
        drawn = []
        band = self.band
        if band is not None and not band.empty:
            of = f" ({', '.join(self._programs)})" if self._programs else ""
            curves = int(band["curves"].max())
            drawn += [
                elements.Overlay(
                    f"Median of {counted(curves, 'curve')}{of}", elements.ENVELOPE_COLOR
                ),
                elements.Overlay("25–75 % band", elements.ENVELOPE_COLOR, "dashed"),
                elements.Overlay("5–95 % band", elements.ENVELOPE_COLOR, "dotted"),
            ]
        if self.envelope_note:
            drawn.append(elements.Overlay(self.envelope_note))
        if self.reference_lines:
            n = len(self.reference_lines)
            drawn.append(
                elements.Overlay(
                    f"Reference part {self.state.reference.strip()}"
                    + (f" ({n} curves)" if n > 1 else ""),
                    elements.REFERENCE_COLOR,
                )
            )
        if self.newest:
            drawn.append(
                elements.Overlay(
                    f"Newest {counted(len(self.newest), 'part')} on the line",
                    elements.NEWEST_COLOR,
                )
            )
        if self.highlighted:
            drawn.append(
                elements.Overlay(
                    f"Selected parts: the newest {len(self.highlighted)}", elements.HIGHLIGHT_COLOR
                )
            )
        strokes = self._rules_data.strokes
        if strokes is not None and not strokes.empty:
            rules = strokes["rule"].nunique()
            drawn.append(elements.Overlay(f"{counted(rules, 'rule')} of this process:"))
            present = set(strokes["part"])
            drawn += [
                elements.Overlay(words, PART_COLORS[part])
                for part, words in PART_WORDS.items()
                if part in present
            ]
        return tuple(drawn)

    def _show_legend(self) -> None:
        html = elements.legend_html(self.image, self.state.color_by, self.overlays())
        self.legend.object = html
        self.legend.visible = bool(html)

    # --- state -> work ------------------------------------------------------------------------

    def render(self, *, new_choices: bool = False, tick: bool = False) -> None:
        """Submit the state's view; a newer one replaces it if it has not started.
        ``new_choices``: the project or process changed, so the next render also fetches the
        pickers' options. ``tick``: following the line, the clock moved on; skipped while
        following is paused or a render is still on its way, and drawn without "Drawing…"."""
        self._choices_stale |= new_choices
        if self._curves is None:
            return
        if tick and (not self.state.live or self.paused or not self.renders.wait(0)):
            return
        try:
            where = self.state.curve_filter()
            view = self.state.view(PLOT_WIDTH, PLOT_HEIGHT)
        except FilterError as exc:
            self._show_error(exc)
            return
        if not tick:
            publish(self, message="", status="Drawing…")
            self._drawing_notice(True)
        curves = self._curves
        live = bool(self.state.live)
        with_envelope, reference = self.state.envelope, self.state.reference.strip()
        cmap, norm = self.state.cmap, self.state.norm
        project, process = self.state.project, self.state.process
        programs, stations = set(self.state.program), set(self.state.station)
        choices_of = None
        if self._choices_stale:
            choices_of = CurveFilter.of(
                project=self.state.project or None, process=self.state.process or None
            )
            self._choices_stale = False

        def job() -> Rendered:
            with self._reading:
                return draw()

        def draw() -> Rendered:
            shown = curves.matching(where)
            if live:
                image = shown.following(view)
            else:
                image = shown.density(
                    view, preview=lambda first: self.renders.interim(Rendered(first, where))
                )
            done = Rendered(image, where)
            if live and image.curves:
                newest = shown.metadata(NEWEST_ON_TOP, columns=["curve_id"])["curve_id"].tolist()
                drawn = self.newest  # the same parts on the same axes: the same lines
                same = sorted(int(line.meta["curve_id"]) for line in drawn) == sorted(newest)
                if same and self.image is not None and self.image.view == image.view:
                    done.newest = drawn
                else:
                    done.newest = shown.highlight(newest, image.view)
            done.drawn = (elements.raster(image, cmap, norm), cmap, norm)
            if choices_of is not None:
                done.choices = curves.matching(choices_of).choices()
            if with_envelope and image.curves:
                # Programs end at different strokes: across them the median jumps where one
                # program's curves end. One envelope is of one program.
                done.programs = shown.choices().get("program", [])
                if len(done.programs) <= 1:
                    done.envelope = shown.envelope(image.view)
            if reference:
                done.reference = shown.part_lines(reference, image.view, limit=REFERENCE_LIMIT)
                done.reference_missing = not done.reference
            for work in self.beside:
                work(shown, image)
            done.rules = self._rules_for(project, process, programs, stations)
            return done

        self.renders.submit(job)

    def _rules_for(
        self, project: str, process: str, programs: set[str], stations: set[str]
    ) -> pd.DataFrame:
        """The strokes of the process's rules that judge some of the chosen programs and
        stations. Asked of the metadata store when the filter changes, not on every zoom, and
        the same object while it holds, so the overlay is not redrawn (renders run one at a
        time, on the runner's thread)."""
        key = (project, process, frozenset(programs), frozenset(stations))
        if self._rules_memo[0] == key:
            return self._rules_memo[1]
        rules = [
            rule
            for rule in self.state.rules_for(project, process)
            if not (programs and rule.scope.programs and not programs & set(rule.scope.programs))
            and not (stations and rule.scope.stations and not stations & set(rule.scope.stations))
        ]
        self._rules_memo = (key, rule_strokes(rules))
        return self._rules_memo[1]

    def rules_changed(self) -> None:
        """A rule was made or changed: the strokes are asked for again, in a new render."""
        self._rules_memo = ((), None)
        self.state.rules_for(self.state.project, self.state.process, fresh=True)
        self.render()

    def wait(self, timeout: float = 120.0) -> bool:
        """Block until the render in flight is shown."""
        return self.renders.wait(timeout)

    # --- the plot's streams -------------------------------------------------------------------

    def on_range(self, x_range=None, y_range=None) -> None:
        """What the plot's ``RangesUpdate`` event says: a zoom or pan becomes the state's view."""
        if x_range is None or y_range is None or self.image is None:
            return
        shown = self.image.view
        if _close(x_range, shown.x_range) and _close(y_range, shown.y_range):
            # A gesture that ended where it began (or the plot reporting the ranges it was
            # given): nothing new to draw, so the browser's "Drawing…" must go.
            self._drawing_notice(False)
            return
        self.pause("zoom")
        self.state.param.update(
            x_range=tuple(map(float, x_range)), y_range=tuple(map(float, y_range))
        )

    def on_tap(self, x=None, y=None) -> None:
        """A click selects the pixels around it."""
        if x is None or y is None or self.image is None:
            return
        view = self.image.view
        c0, c1, r0, r1 = pixel_box(view, x, y, x, y)
        self.pause("select")
        box = (
            max(c0 - 1, 0),
            min(c1 + 1, view.width - 1),
            max(r0 - 1, 0),
            min(r1 + 1, view.height - 1),
        )
        publish(self, box=box)

    def on_bounds(self, bounds=None) -> None:
        """A box drawn with the box-select tool selects the pixels inside it."""
        if bounds is None or self.image is None:
            return
        self.pause("select")
        drawn = tuple(float(b) for b in bounds)
        publish(self, drawn_box=drawn, box=pixel_box(self.image.view, *bounds))

    def on_pointer(self, x=None, y=None) -> None:
        """The pointer over the picture (and over curves): its pixel, for the hover list."""
        if x is None or y is None or self.image is None or not self.image.curves:
            return
        view = self.image.view
        (x0, x1), (y0, y1) = view.x_range, view.y_range
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return
        self.pause("hover")
        publish(self, pointer=(x, y, pixel_box(view, x, y, x, y)))

    # --- work -> page -------------------------------------------------------------------------

    def _show(self, done: Rendered) -> None:
        """The finished view on the page; the status line last, so whoever waits for it (a
        person, a browser test) finds the figures already there. Following the line, a second
        that changed nothing sends nothing but the status line."""
        image = done.image
        if image.loading:
            self._show_first(done)
            return
        still = (
            self.image is not None
            and image.counts is self.image.counts
            and image.view == self.image.view
            and done.newest is self.newest
        )
        replot = self._key(image, done.envelope) != self.drawn_as
        refused = len(done.programs) > 1 and done.envelope is None
        self._programs = done.programs if not refused else []
        publish(
            self,
            image=image,
            where=done.where,
            band=done.envelope,
            reference_lines=list(done.reference),
            newest=list(done.newest),
            envelope_note=(
                f"No envelope: these curves come from {len(done.programs)} programs "
                f"({', '.join(done.programs)}), which end at different strokes. "
                "Choose one program to draw its envelope."
                if refused
                else ""
            ),
        )
        if done.choices is not None:
            publish(self, choices=done.choices)
        if not still:
            self._send(
                (self._band_data, done.envelope),
                (self._reference_data, done.reference),
                (self._newest_data, done.newest),
                (self._rules_data, done.rules),
                replot=replot,
                drawn=done.drawn,
            )
        ok, nok = image.results.get("OK", 0), image.results.get("NOK", 0)
        ms = image.seconds.get("total", 0.0) * 1e3
        show(self.figures["Curves shown"], image.curves)
        show(self.figures["OK / NOK curves"], nok, f"{ok:,} / {{value:,}}")
        rate = nok / image.curves if image.curves else None
        show(self.figures["NOK rate of curves"], rate, "{value:.1%}")
        show(self.figures["Query time"], ms, "{value:.0f} ms")
        self._show_legend()
        empty = self._empty_words(self.state.project) or (
            NONE_IN_VIEW if image.near else self._no_match()
        )
        note = ""
        if done.reference_missing:
            note = f" · no curve of part “{text(self.state.reference)}” in this selection"
        if self.envelope_note:
            note += " · no envelope: choose one program to draw its envelope"
        (x0, x1) = image.view.x_range
        self._figures_said = (
            f"{counted(image.curves, 'curve')} · x {x0:.4g} to {x1:.4g} · {ms:.0f} ms · "
            f"{counted(image.samples, 'sample')} read{note}"
        )
        publish(
            self,
            empty=empty if image.curves == 0 else "",
            status=self._live_words() + self._figures_said,
        )

    def _show_first(self, done: Rendered) -> None:
        """A first picture while the filter loads: the curves read so far on the final axes,
        said in the plot and the status line; the figures wait for the whole picture."""
        image = done.image
        publish(self, image=image, where=done.where)
        self._send(replot=self._key(image, self.band) != self.drawn_as)
        words = f"{image.curves:,} of {image.loading:,} curves drawn, loading the rest…"
        self._drawing_notice(True, words)
        publish(self, status=f"First picture: {words}")

    def _no_match(self) -> str:
        if not self.state.live:
            return NO_MATCH
        window = LIVE[self.state.live].lower()
        return (
            f"**No part of this line started in {'' if self.state.live == 'shift' else 'the '}"
            f"{window} yet.** "
            "New parts appear here within seconds of their commit: the plant publishes them "
            "over MQTT (see *Live ingest* in the README)."
        )

    def _live_words(self) -> str:
        """The status line's start while following the line: the window, and when the
        picture was last brought up to date (on the display zone's clocks), or why not."""
        if not self.state.live:
            return ""
        window = LIVE[self.state.live].lower()
        if self.paused:
            return f"**Live paused**: {PAUSES[self.paused]} · {window} · "
        zone = self.state.display_zone()
        at = datetime.now(UTC).astimezone(zone_of(zone)).strftime("%H:%M:%S")
        return f"**Live** · {window} · updated {at} ({zone}) · "

    # --- following the line -------------------------------------------------------------------

    def pause(self, why: str) -> None:
        """Stop following the line (a key of :data:`PAUSES`) until :meth:`follow`: the page
        holds still while someone zooms, selects or points at curves."""
        if not self.state.live or self.paused:
            return
        publish(self, paused=why)
        self.resume.visible = True
        publish(self, status=self._live_words() + self._figures_said)

    def follow(self) -> None:
        """Follow the line again (or stop saying it is paused, once Live is off)."""
        publish(self, paused="")
        self.resume.visible = False
        self.render()

    def _send(
        self,
        *updates: tuple[hv.streams.Stream, Any],
        replot: bool = False,
        drawn: tuple[hv.Element, str, str] | None = None,
    ) -> None:
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
            self._replot(self.image)
            return
        self._raster_data.update(image=self.image)  # no event: HoloViews redraws it if asked
        if changed or not self._update_in_place(drawn):
            hv.streams.Stream.trigger([self._raster_data, *changed])

    def _update_in_place(self, drawn: tuple[hv.Element, str, str] | None = None) -> bool:
        """The new image into the Bokeh models on the page, as one patch: HoloViews' own
        refresh of the overlay took about 230 ms of the server's time per view (most of a
        zoom's). The data is what HoloViews would send (its plot's ``get_data``); False when
        no drawn raster can take it."""
        plot = self._raster_plot
        if plot is None or plot.state.document is None or "source" not in plot.handles:
            return False
        cmap, norm = self.state.cmap, self.state.norm
        element = (
            drawn[0]
            if drawn is not None and drawn[1:] == (cmap, norm)
            else elements.raster(self.image, cmap, norm)
        )
        style = dict(plot.lookup_options(element, "style")[plot.cyclic_index])
        data, _, _ = plot.get_data(element, {}, style)
        plot.handles["source"].data = dict(data)
        ticks = element.opts.get("plot").kwargs.get("cticks")
        colorbar = plot.handles.get("colorbar")
        if ticks and colorbar is not None:
            axis = get_ticker_axis_props(ticks)
            colorbar.ticker.ticks = axis["ticker"].ticks
            colorbar.major_label_overrides = axis["major_label_overrides"]
        (x0, x1), (y0, y1) = self.image.view.x_range, self.image.view.y_range
        plot.handles["x_range"].update(start=x0, end=x1)
        plot.handles["y_range"].update(start=y0, end=y1)
        _name_axes(plot.state, *(d.pprint_label for d in element.kdims))
        return True

    def _drawing_notice(self, visible: bool, words: str = "") -> None:
        """The plot's own "Drawing…" (the browser hides it when the new image arrives), set
        on the session's next tick: widget callbacks run without the document's lock.
        ``words``: what it says after "Drawing…" (a first picture's progress)."""
        plot = self._raster_plot
        if plot is not None and plot.state.document is not None:
            self._set_notice((plot, visible, words))

    @staticmethod
    def _notice_visible(change: tuple[Any, bool, str]) -> None:
        plot, visible, words = change
        for notice in plot.state.center:
            if getattr(notice, "name", None) == elements.DRAWING_NOTICE:
                notice.text = f"Drawing… {words}" if words else "Drawing…"
                notice.visible = visible

    def _show_error(self, error: Exception) -> None:
        if not isinstance(error, FilterError | ProviderError):
            log.warning("explorer request failed", exc_info=error)
        self._drawing_notice(False)
        publish(self, message=elements.friendly(error), status="Failed: see the message above.")

    # --- export -------------------------------------------------------------------------------

    def to_png(self, size: str | None = None) -> bytes:
        """The view on screen as a PNG, if the viewer may export it (else nothing): a report
        figure at one of :data:`PNG_SIZES` (default: the one chosen beside the button), with
        axes, colour bar or legend, the overlays and a caption; or the bare counts."""
        image, where = self.image, self.where
        if image is None or not self._may_export("view"):
            return b""
        size = size or self.png_size.value
        if size == COUNTS_ONLY:
            return png(image, cmap=self.state.cmap, how=self.state.norm)
        envelope, lines, notes = None, [], []
        for overlay in self.overlays():
            if overlay.color is None:
                notes.append(overlay.label)
            elif overlay.color == elements.ENVELOPE_COLOR:
                if overlay.dash == "solid":  # the median names the envelope
                    envelope = Envelope(self.band, overlay.label)
            elif overlay.color == elements.REFERENCE_COLOR:
                lines.append(LineSet(overlay.label, overlay.color, _xy(self.reference_lines), 1.8))
            elif overlay.color == elements.HIGHLIGHT_COLOR:
                lines.append(LineSet(overlay.label, overlay.color, _xy(self.highlighted), 0.6))

        def redraw(width: int, height: int) -> DensityImage:
            """The same view and filter on the figure's grid, exact at its pixels."""
            view = replace(image.view, width=width, height=height)
            with self._reading:
                return self._curves.matching(where).density(view)

        return filter_png(
            image,
            where,
            size=PRESETS[size].size,
            project=self.state.project or "all projects you may see",
            zone=self.state.display_zone(),
            notes=notes,
            redraw=redraw if self._curves is not None else None,
            cmap=self.state.cmap,
            norm=self.state.norm,
            color_by=self.state.color_by,
            envelope=envelope,
            lines=lines,
        )

    def __panel__(self) -> pn.viewable.Viewable:
        figures = pn.Row(*self.figures.values(), margin=0)
        return pn.Column(
            pn.Row(
                figures,
                pn.Spacer(),
                self.reset_view,
                self.snapshot,
                self.png_size,
                align="center",
            ),
            pn.Row(
                pn.pane.Markdown(self.param.status, name="explorer-status"),
                self.resume,
                align="center",
            ),
            pn.pane.Alert(
                self.param.empty,
                alert_type="warning",
                visible=self.param.empty.rx.bool(),
                name="explorer-empty",
            ),
            self.canvas,
            self.legend,
            sizing_mode="stretch_width",
        )


def _name_axes(figure: Any, x_name: str, y_name: str) -> None:
    """The axes' names, and the hover's, as HoloViews would give a new plot of the element."""
    if (figure.xaxis[0].axis_label, figure.yaxis[0].axis_label) == (x_name, y_name):
        return
    figure.xaxis[0].axis_label, figure.yaxis[0].axis_label = x_name, y_name
    # The figure's own tools, not ``select``: that walks every model of the plot (50-120 ms).
    for tool in (t for t in figure.tools if isinstance(t, HoverTool)):
        tool.tooltips = [(x_name, "$x"), (y_name, "$y"), *tool.tooltips[2:]]


def _xy(lines: list[Line]) -> list[tuple]:
    return [(line.x, line.y) for line in lines]


def _nothing(data) -> bool:
    return data is None or (hasattr(data, "__len__") and len(data) == 0)


def _close(a, b, tolerance: float = 1e-9) -> bool:
    span = max(abs(b[1] - b[0]), 1e-300)
    return abs(a[0] - b[0]) <= tolerance * span and abs(a[1] - b[1]) <= tolerance * span
