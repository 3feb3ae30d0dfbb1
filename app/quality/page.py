"""The Quality page: a feature of one station's parts as control charts, with the run rules it
breaks, the process capability against typed limits, and the stations whose parts drift.

Numbers come from :func:`pipelines.feature_charts.chart_feature` and
:func:`pipelines.drifts.station_drifts` over :meth:`Curves.features`; this module draws them.
Times are shown on the plant's clocks (the plant's zone from ``plants.json``), as people at
the line read them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import ClassVar
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import panel as pn

from app.feature_fill import FILLING
from app.markup import text
from app.quality.charts import (
    DENSE_POINTS,
    FEATURE_WORDS,
    ControlChart,
    DistributionChart,
    Shown,
    local_times,
    parts_zone,
)
from models.csv_safe import frame_csv
from models.times import TimeInputError, parse_time, utc_text
from models.wording import counted
from pipelines.curves import Curves
from pipelines.drifts import station_drifts
from pipelines.feature_charts import Distribution, FeatureCharts, Plotted, chart_feature
from pipelines.features import Configured
from pipelines.frames import engine_time
from pipelines.kernels.features import FEATURES
from pipelines.report_png import PngSize, filter_png
from pipelines.unusual import rank_unusual, unusual_words
from pipelines.views import CurveFilter, View

CHARTS = {"Individuals": "individuals", "Mean and range": "mean-range", "Mean and σ": "mean-std"}
RULES = {"Nelson (8 rules)": "nelson", "Western Electric (4 rules)": "western-electric"}
COLUMNS = ("station", "program", "started_at", "part_serial", "plant")
FLAGS_SHOWN = 12
UNUSUAL_SHOWN = 10
UNUSUAL_EXPORTED = 1000  # rows of the unusual parts' CSV, most unusual first
BRUSH_ASK = "Drag across the first chart to draw the curves of the parts in that span."
CLICK_ASK = "Click a point of the first chart to open its part in the Curve Explorer."
BRUSH_SIZE = PngSize(960, 420, dpi=110)


class QualityPage(pn.viewable.Viewer):
    """One project's quality page; ``curves`` reads that project only."""

    dense_from: ClassVar[int] = DENSE_POINTS  # a chart of more points is drawn as counts

    def __init__(
        self,
        project: str,
        curves: Curves,
        configured: Sequence[Configured] = (),
        define: pn.viewable.Viewable | None = None,
        **params,
    ) -> None:
        """``configured``: the project's configured features (each offered for its process);
        ``define``: the form that defines one, for those who may."""
        super().__init__(**params)
        self.project, self.curves = project, curves
        self.configured, self.define = list(configured), define
        self.words = dict(FEATURE_WORDS)  # a feature's column -> its name on the page
        processes = curves.processes(limit=20)
        self.process = pn.widgets.Select(label="Process", options=processes, width=200)
        self.station = pn.widgets.Select(label="Station", width=200)
        self.program = pn.widgets.Select(label="Program", width=200)
        self.feature = pn.widgets.Select(
            label="Feature", options={FEATURE_WORDS[f]: f for f in FEATURES}, value="area"
        )
        self.chart = pn.widgets.RadioButtonGroup(label="Chart", options=CHARTS)
        self.subgroup = pn.widgets.IntInput(label="Parts per subgroup", value=5, start=2, end=25)
        self.per_hour = pn.widgets.Checkbox(label="Subgroups of an hour instead")
        self.baseline = pn.widgets.TextInput(
            label="Limits from the parts until", placeholder="every part (e.g. 2026-11-18 06:00)"
        )
        self.lower = pn.widgets.TextInput(label="Lower spec limit", placeholder="none")
        self.upper = pn.widgets.TextInput(label="Upper spec limit", placeholder="none")
        self.rules = pn.widgets.Select(label="Run rules", options=RULES)
        self.message = pn.pane.Alert("", alert_type="warning", visible=False)
        self.plots = pn.Column(sizing_mode="stretch_width")
        self.fit = pn.pane.Markdown("", sizing_mode="stretch_width")
        # Not linked to the charts: its x axis is their y's quantity, and the spec limits on it
        # would stretch their y axes.
        self.spread = pn.pane.HoloViews(None, linked_axes=False, sizing_mode="stretch_width")
        self.flags = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.drifts = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.unusual = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.brushed = pn.pane.Markdown(BRUSH_ASK, sizing_mode="stretch_width")
        self.opened = pn.pane.Markdown(CLICK_ASK, sizing_mode="stretch_width")
        self.brushed_picture = pn.pane.PNG(None, visible=False, width=760)
        self.unusual_csv = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(self._unusual_csv()),
            filename="unusual-parts.csv",
            label="Export unusual parts (CSV)",
            color="light",
        )
        self._features = pd.DataFrame()
        self._unusual: tuple[str | None, pd.DataFrame] = (None, pd.DataFrame())
        self._plotted: Plotted | None = None  # the first chart drawn, and its parts
        self._charts: list[ControlChart] = []  # the figures on the page, given new data
        self._spread: DistributionChart | None = None
        self._rows = pd.DataFrame()
        self._choosing = False  # while pickers' options change, one draw at the end
        self.process.param.watch(lambda _e: self._on_process(), "value")
        self.station.param.watch(lambda _e: self._on_station(), "value")
        for widget in (
            self.program,
            self.feature,
            self.chart,
            self.subgroup,
            self.per_hour,
            self.baseline,
            self.lower,
            self.upper,
            self.rules,
        ):
            widget.param.watch(lambda _e: self.draw(), "value")
        self._on_process()

    # --- choices -----------------------------------------------------------------------------

    def _on_process(self) -> None:
        process = self.process.value
        if not process:
            self._say("**No curves in this project yet.** Import some, or follow the line.")
            return
        mine = [c for c in self.configured if c.process == process]
        self._read(process, mine)
        self._offer(mine)
        # Below the charts, and about a second at 100,000 parts: once the charts are out.
        self.unusual.object = f"*Ranking the unusual parts of {text(process)}…*"
        _soon(lambda: self._rank(process))
        stations = sorted(self._features["station"].dropna().unique())
        self._choosing = True
        try:
            self.station.options = stations
            self.station.value = stations[0] if stations else None
        finally:
            self._choosing = False
        self._on_station()

    def _read(self, process: str, mine: Sequence[Configured]) -> None:
        self._features = self.curves.matching(CurveFilter.of(process=process)).features(
            COLUMNS, mine
        )
        self._drifts_of = None  # (process, feature) the drift words were found for

    def refresh(self) -> None:
        """The process's features read again (the values a fill computed since), the choices
        kept, and the charts drawn again."""
        process = self.process.value
        if process:
            self._read(process, [c for c in self.configured if c.process == process])
            self.draw()

    def _offer(self, mine: Sequence[Configured]) -> None:
        """The fixed features and the process's configured ones in the Feature picker."""
        self.words = {**FEATURE_WORDS, **{c.column: c.name for c in mine}}
        options = {FEATURE_WORDS[f]: f for f in FEATURES}
        options.update({f"{c.name} ({c.describe()})": c.column for c in mine})
        self._choosing = True
        try:
            self.feature.options = options
            if self.feature.value not in options.values():
                self.feature.value = "area"
        finally:
            self._choosing = False

    def add_configured(self, feature: Configured) -> None:
        """A feature just defined: offered (and chosen) when it is of the process shown; its
        stored parts' values come as they are computed (NaN until then)."""
        self.configured.append(feature)
        if feature.process == self.process.value:
            self._on_process()
            self.feature.value = feature.column

    def _on_station(self) -> None:
        if self._choosing:
            return
        here = self._features[self._features["station"] == self.station.value]
        programs = sorted(here["program"].dropna().unique())
        self._choosing = True
        try:
            self.program.options = programs
            if self.program.value not in programs:
                self.program.value = programs[0] if programs else None
        finally:
            self._choosing = False
        self.draw()

    # --- drawing -----------------------------------------------------------------------------

    def zone(self, rows: pd.DataFrame | None = None) -> str:
        """The plant's zone of ``rows`` (default: the process's parts) when they are of one
        plant, else UTC."""
        return parts_zone(self._features if rows is None else rows)

    def chosen(self) -> pd.DataFrame:
        f = self._features
        return f[(f["station"] == self.station.value) & (f["program"] == self.program.value)]

    def draw(self) -> None:
        """The charts of the chosen station, program and feature, or words saying why not."""
        if self._choosing:
            return
        _soon(self._follow_drifts)  # 0.3 s at 100,000 parts, below the charts: after them
        with pn.io.hold():  # every pane's change in one message: the browser lays out once
            self._draw()

    def _draw(self) -> None:
        rows = self.chosen()
        if rows.empty:
            self._say("**No parts of this station and program have features yet.**")
            return
        if not np.isfinite(rows[self.feature.value].to_numpy(np.float64)).any():
            self._say(self._no_values(self.feature.value))
            return
        try:
            lower, upper = _number("lower", self.lower.value), _number("upper", self.upper.value)
            made = chart_feature(
                rows,
                self.feature.value,
                chart=self.chart.value,
                subgroup=self.subgroup.value,
                per_hour=self.per_hour.value,
                baseline=(None, self._time(self.baseline.value, rows)),
                lower=lower,
                upper=upper,
                rules=self.rules.value,
            )
        except (ValueError, TimeInputError) as exc:
            self._say(text(str(exc)))
            return
        self.message.visible = False
        zone = self.zone(rows)
        self._show_charts(made, zone)
        self._plotted, self._rows = made.charts[0], rows
        self.brushed.object, self.brushed_picture.visible = BRUSH_ASK, False
        self.opened.object = CLICK_ASK
        self.fit.object = _capability_words(made)
        limits = [v for v in (lower, upper) if v is not None]
        self._show_distribution(made.distribution, self.words[made.feature], limits)
        self.flags.object = self._flag_words(made, rows, zone)

    def _no_values(self, feature: str) -> str:
        """Why no part of the station and program has a value of ``feature``."""
        name, process = text(self.words.get(feature, feature)), text(self.process.value)
        computing = FILLING.get(self.project)
        if feature not in FEATURE_WORDS and computing is not None:
            done, total = computing
            so_far = f" ({done:,} of {total:,} parts so far)" if total else ""
            return (
                f"**{name} is being computed for the stored parts of {process}**{so_far}. "
                "Its charts appear here when that is done."
            )
        if feature not in FEATURE_WORDS:
            return (
                f"**No part of this station and program has a value of {name}.** None of their "
                "curves reaches where it is measured: check the x or y it is defined at."
            )
        return f"**No part of this station and program has a value of {name}.**"

    def _time(self, typed: str, rows: pd.DataFrame) -> pd.Timestamp | None:
        """A time typed on the clocks of ``rows``' plant."""
        return pd.Timestamp(parse_time(typed, self.zone(rows))) if typed.strip() else None

    def _show_charts(self, made: FeatureCharts, zone: str) -> None:
        """``made``'s charts given to the figures on the page when they fit it (the same
        kind of drawing), else drawn as new ones."""
        shown = [
            Shown(p, local_times(p.at, zone), self._axis_name(p, made.feature), zone)
            for p in made.charts
        ]
        kept = self._charts
        if len(kept) == len(shown) and all(
            c.fits(s, self.dense_from) for c, s in zip(kept, shown, strict=True)
        ):
            for chart, data in zip(kept, shown, strict=True):
                chart.show(data)
            return
        self._charts = [  # the first chart brushes and opens parts
            ControlChart(
                data,
                dense_from=self.dense_from,
                on_brush=None if i else self.on_brush,
                on_tap=None if i else self.on_tap,
            )
            for i, data in enumerate(shown)
        ]
        self.plots.objects = [
            pn.pane.HoloViews(c.overlay, sizing_mode="stretch_width") for c in self._charts
        ]

    def _axis_name(self, plotted: Plotted, feature: str) -> str:
        """The feature's name on a chart of its values, the chart's on one of their spread."""
        if plotted.chart.name in ("individuals", "mean"):
            return self.words[feature]
        return plotted.chart.name

    def _show_distribution(
        self, shown: Distribution | None, name: str, limits: Sequence[float]
    ) -> None:
        if shown is None:
            self._spread = self.spread.object = None
        elif self._spread is None:
            self._spread = DistributionChart(shown, name, limits)
            self.spread.object = self._spread.overlay
        else:
            self._spread.show(shown, name, limits)

    def _flag_words(self, made: FeatureCharts, rows: pd.DataFrame, zone: str) -> str:
        """The run rules broken, newest first, each with links to its part."""
        # Sorted as arrays, the newest few read out: 100,000 parts may break rules 10,000
        # times, and a list of them cost 0.1 s of each redraw.
        flags = [(p, np.array([v.index for v in p.violations], int)) for p in made.charts]
        when = np.concatenate([p.at.to_numpy("datetime64[ns]")[k] for p, k in flags])
        if not len(when):
            return "**No run rule is broken.** The chart's points stay inside their pattern."
        chart = np.concatenate([np.full(len(k), i) for i, (_, k) in enumerate(flags)])
        flag = np.concatenate([np.arange(len(k)) for _, k in flags])
        # Newest first; ties in the charts' order.
        newest = np.lexsort((np.arange(len(when)), -when.view(np.int64)))[:FLAGS_SHOWN]
        shown = [(made.charts[chart[k]], flag[k]) for k in newest]
        ids = [p.curve_ids[p.violations[j].index][-1] for p, j in shown]
        mine = rows[rows["curve_id"].isin(ids)]
        serials = dict(zip(mine["curve_id"], mine["part_serial"], strict=True))
        lines = [f"**{len(when)} flagged point(s)**, newest first:"]
        for (plotted, j), at, curve_id in zip(
            shown, local_times(pd.Series(when[newest]), zone), ids, strict=True
        ):
            v = plotted.violations[j]
            serial = serials.get(curve_id) or ""
            link = self._explorer_link(self.station.value, self.program.value, serial)
            part = f"[{text(serial)}]({link})" if serial else f"curve {curve_id}"
            lines.append(
                f"- {pd.Timestamp(at):%Y-%m-%d %H:%M} · {plotted.chart.name}: "
                f"{text(v.words)} · {part}"
            )
        return "\n".join(lines)

    def _explorer_link(self, station: str, program: str, serial: str, **more: str) -> str:
        """The explorer on a station and program with the part drawn over its density."""
        query = {
            "project": self.project,
            "process": self.process.value,
            "station": station,
            "program": program,
            "reference": serial,
            **more,
        }
        return "curves?" + urlencode({k: v for k, v in query.items() if v})

    def on_tap(self, x=None, y=None) -> None:
        """A click on the first chart: the part of the point nearest to it (in the chart's own
        proportions), with a link opening it in the explorer over its station's density."""
        if x is None or y is None or self._plotted is None:
            return
        plotted, zone = self._plotted, self.zone(self._rows)
        at = local_times(plotted.at, zone).astype("datetime64[ns]").astype(np.int64)
        values = plotted.chart.points
        span_t, span_v = max(np.ptp(at), 1), max(float(np.ptp(values)), 1e-12)
        clicked = pd.Timestamp(x).as_unit("ns").value
        k = int(np.argmin(((at - clicked) / span_t) ** 2 + ((values - float(y)) / span_v) ** 2))
        curve_id = plotted.curve_ids[k][-1]
        row = self._rows[self._rows["curve_id"] == curve_id].iloc[0]
        serial = str(row["part_serial"] or "")
        when = pd.Timestamp(local_times(plotted.at.iloc[[k]], zone)[0])
        what = f"{self.words.get(self.feature.value, self.feature.value).lower()} {values[k]:.4g}"
        name = f"Part {text(serial)}" if serial else f"Curve {curve_id}"
        link = self._explorer_link(self.station.value, self.program.value, serial)
        self.opened.object = (
            f"**{name}** (started {when:%Y-%m-%d %H:%M}, {zone} time; {what}): "
            f"[open it in the Curve Explorer]({link})"
            if serial
            else f"**{name}** (started {when:%Y-%m-%d %H:%M}; {what}) has no serial to open."
        )

    def on_brush(self, boundsx: tuple | None = None) -> None:
        """The first chart's points between two times on the plant's clocks: their parts are
        the station's and program's parts started in that span, whose curves are drawn here
        and linked to the explorer."""
        if boundsx is None or self._plotted is None:
            return
        zone = self.zone(self._rows)
        at = pd.DatetimeIndex(local_times(self._plotted.at, zone))
        low, high = (pd.Timestamp(b) for b in boundsx)
        inside = np.flatnonzero((at >= low) & (at <= high))
        ids = {i for k in inside for i in self._plotted.curve_ids[k]}
        parts = self._rows[self._rows["curve_id"].isin(ids)]
        if parts.empty:
            self.brushed.object = f"*No point between those times.* {BRUSH_ASK}"
            self.brushed_picture.visible = False
            return
        started = parts["started_at"]
        first, last = engine_time(started.min()), engine_time(started.max())
        # Started from the first to the last brushed part, at this station and program: the
        # brushed parts and no other (a station makes one part at a time).
        where = CurveFilter.of(
            process=self.process.value,
            station=self.station.value,
            program=self.program.value,
            start=first.to_pydatetime(),
            end=(last + pd.Timedelta(milliseconds=1)).to_pydatetime(),
        )
        these = self.curves.matching(where)
        image = these.density(View(width=BRUSH_SIZE.width // 2, height=BRUSH_SIZE.height // 2))
        self.brushed_picture.object = filter_png(
            image, where, size=BRUSH_SIZE, project=self.project, zone=zone
        )
        self.brushed_picture.visible = True
        link = self._explorer_link(
            self.station.value,
            self.program.value,
            "",
            start=utc_text(first),
            end=utc_text(last + pd.Timedelta(milliseconds=1)),
        )
        local = [pd.Timestamp(t).tz_convert(zone) for t in (first, last)]
        self.brushed.object = (
            f"**{counted(len(parts), 'part')} brushed** ({local[0]:%Y-%m-%d %H:%M} to "
            f"{local[1]:%Y-%m-%d %H:%M}, {text(zone)} time), {counted(image.curves, 'curve')} "
            f"drawn below · [open them in the Curve Explorer]({link})"
        )

    def _follow_drifts(self) -> None:
        """The drift words of the process and the feature shown, found once per pair."""
        chosen = (self.process.value, self.feature.value)
        if self._drifts_of != chosen:
            self._drifts_of = chosen
            self.drifts.object = self._drift_words(*chosen)

    def _drift_words(self, process: str, feature: str) -> str:
        named = self.words.get(feature, feature).lower()
        if not np.isfinite(self._features[feature].to_numpy(np.float64)).any():
            return ""  # no values yet: the charts' place says why
        try:
            alerts = station_drifts(self._features, feature)
        except ValueError as exc:
            return text(str(exc))
        if not alerts:
            return f"**No station of {text(process)} drifts** in its parts' {text(named)}."
        zone = self.zone()
        lines = [f"**Drifting stations** ({text(process)}, {text(named)}, newest first):"]
        lines += [f"- {text(a.words(zone, named))}" for a in alerts[:10]]
        if len(alerts) > 10:
            lines.append(f"- … and {len(alerts) - 10} earlier")
        return "\n".join(lines)

    def _ranked(self) -> pd.DataFrame:
        """The process's parts, most unusual first (:data:`UNUSUAL_EXPORTED` of them): read
        once per process, with the curves' distances from their median curves."""
        process = self.process.value
        if self._unusual[0] != process:
            shown = self.curves.matching(CurveFilter.of(process=process))
            self._unusual = (process, rank_unusual(shown, COLUMNS, UNUSUAL_EXPORTED))
        return self._unusual[1]

    def _rank(self, process: str) -> None:
        if self.process.value == process:  # not changed meanwhile
            self.unusual.object = self._unusual_words(process)

    def _unusual_words(self, process: str) -> str:
        ranked = self._ranked().head(UNUSUAL_SHOWN)
        if ranked.empty:
            return f"*No program of {text(process)} has the 20 parts unusual parts need.*"
        lines = [f"**Most unusual parts** of {text(process)} (all its stations):"]
        for row in ranked.itertuples():
            serial = text(row.part_serial or f"curve {row.curve_id}")
            link = self._explorer_link(row.station, row.program, row.part_serial)
            part = f"[{serial}]({link})" if row.part_serial else serial
            lines.append(f"- {part} at {text(row.station)}: {text(unusual_words(row))}")
        return "\n".join(lines)

    def _unusual_csv(self) -> bytes:
        """The process's unusual parts as the API's CSV has them, most unusual first."""
        ranked = self._ranked()
        ranked = ranked.assign(words=[unusual_words(row) for row in ranked.itertuples()])
        columns = ["curve_id", "part_serial", "station", "program", "started_at", "score"]
        return frame_csv(ranked[[*columns, "feature", "z", "envelope", "words"]]).encode("utf-8")

    def _say(self, words: str) -> None:
        self.message.object = words
        self.message.visible = True
        self.plots.objects, self._charts = [], []
        self.fit.object = self.flags.object = ""
        self._spread = self.spread.object = None

    def __panel__(self) -> pn.viewable.Viewable:
        controls = pn.Column(
            pn.Row(self.process, self.station, self.program),
            pn.Row(self.feature, self.rules),
            *([self.define] if self.define is not None else []),
            self.chart,
            pn.Row(self.subgroup, self.per_hour),
            pn.Row(self.baseline, self.lower, self.upper),
        )
        return pn.Column(
            controls,
            self.message,
            self.plots,
            self.opened,
            pn.Row(self.fit, self.flags, sizing_mode="stretch_width"),
            self.spread,
            self.brushed,
            self.brushed_picture,
            pn.Row(
                self.drifts,
                pn.Column(self.unusual, self.unusual_csv, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            sizing_mode="stretch_width",
        )


def _soon(work: Callable[[], None]) -> None:
    """``work`` once what the session sends now has gone out (a served page: its next tick;
    before it is loaded, once it is), else at once."""
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        work()
    elif not pn.state.loaded:
        pn.state.onload(work)
    else:
        doc.add_next_tick_callback(work)


def _number(which: str, typed: str) -> float | None:
    typed = typed.strip().replace(",", ".")
    if not typed:
        return None
    try:
        return float(typed)
    except ValueError:
        raise ValueError(
            f"the {which} spec limit must be a number, like 12.5; got {typed!r}"
        ) from None


def _capability_words(made: FeatureCharts) -> str:
    fit = made.capability
    if fit is None:
        return "*Type a lower or an upper spec limit to see Cp, Cpk, Pp and Ppk.*"

    def index(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    return "\n".join(
        [
            f"**Capability** of {fit.n:,} parts (mean {fit.mean:.4g}):",
            f"- Cp {index(fit.cp)} · Cpk {index(fit.cpk)} (within σ {fit.sigma_within:.3g})",
            f"- Pp {index(fit.pp)} · Ppk {index(fit.ppk)} (overall σ {fit.sigma_overall:.3g})",
            f"- a normal fit puts {fit.expected_outside:.2%} of parts outside the limits",
        ]
    )
