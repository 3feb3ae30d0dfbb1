"""A shift report as one self-contained HTML file: its styles inline, its figures PNGs in
``data:`` URIs, nothing fetched from anywhere, so it opens from a mail attachment or a disk and
prints to PDF as it shows (:mod:`providers.pdf`).

The figures are :func:`pipelines.kpis.kpis`' (the shift's totals, and per line and station) and
:mod:`pipelines.report_png`'s density figure per process, all read through one
:class:`~pipelines.curves.Curves`. Every value shown is escaped. A shift without parts says so
in a sentence and shows no panels.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import escape

import numpy as np
import pandas as pd

from models.plants import PlantBook, load_plants
from models.times import local_text
from pipelines.curves import Curves
from pipelines.kpis import Kpis, kpis
from pipelines.report_png import PngSize, filter_png
from pipelines.reports.schedule import Period
from pipelines.reports.shifts import (
    MAX_PROCESSES,
    PANEL_TITLES,
    ReportDefinition,
    ReportError,
    ShiftWindow,
    shift_window,
)
from pipelines.views import View

# A density figure about as wide as an A4 page's text at 170 dpi, so it prints at its own size.
FIGURE_SIZE = PngSize(1200, 700, 170)
SOFTWARE = "Curvehouse"
NONE = "–"  # a figure that does not exist (no judged parts, no time covered)

_STYLE = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1d1d1d;
       font-size: 10.5pt; margin: 0 auto; max-width: 190mm; padding: 4mm; }
h1 { font-size: 17pt; margin: 0 0 1mm; }
h2 { break-after: avoid; font-size: 12.5pt; margin: 7mm 0 2mm; padding-bottom: 1mm;
     border-bottom: 1px solid #bbb; }
h3 { font-size: 10.5pt; margin: 4mm 0 1mm; }
p { margin: 1mm 0; }
.sub { font-size: 12pt; margin: 0 0 1mm; }
.muted { color: #555; font-size: 9pt; }
section { break-inside: auto; }
.keep { break-inside: avoid; }
.empty { font-size: 12pt; padding: 4mm; border: 1px solid #c9a227; background: #fff8e1; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 2mm; margin: 2mm 0; }
.tile { border: 1px solid #ccc; border-radius: 2mm; padding: 2mm 3mm; }
.tile .v { font-size: 15pt; font-weight: bold; }
.tile .k { font-size: 8.5pt; color: #555; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; margin: 1mm 0; }
th, td { border-bottom: 1px solid #ddd; padding: 1mm 1.2mm; text-align: right; }
th { background: #f1f1f1; }
th:first-child, td:first-child, td.name { text-align: left; }
td { white-space: nowrap; }
th.name { text-align: left; }
tr { break-inside: avoid; }
.bar { background: #b0006e; height: 3mm; }
figure { margin: 2mm 0 4mm; break-inside: avoid; }
figure img { width: 100%; height: auto; display: block; }
"""


@dataclass(frozen=True)
class ShiftReport:
    """A rendered report: its HTML, the time it covers (a shift, or the whole of a day's or a
    week's ``period``) and its totals (one row of :data:`pipelines.kpis.FIGURES`)."""

    definition: ReportDefinition
    window: ShiftWindow
    totals: dict
    html: str
    period: Period | None = None

    @property
    def empty(self) -> bool:
        return int(self.totals["parts"]) == 0

    def filename(self, extension: str) -> str:
        """A name to save it under: project, plant, day and shift (or the day or week), in
        plain ASCII."""
        ref = self.window.ref
        if self.period is not None:
            words = (self.definition.project, ref.plant, self.period.key)
            return (
                f"{self.period.noun}-report-" + "-".join(_slug(w) for w in words) + f".{extension}"
            )
        words = (self.definition.project, ref.plant, ref.day.isoformat(), ref.shift)
        return "shift-report-" + "-".join(_slug(w) for w in words) + "." + extension


def render_shift_report(
    curves: Curves,
    definition: ReportDefinition,
    *,
    plants: PlantBook | None = None,
    made: datetime | None = None,
    period: Period | None = None,
) -> ShiftReport:
    """Render ``definition`` on ``curves`` (its reader, kept to the projects it may see):
    the definition's filter, its project and plant, inside the shift's window. With a day's
    or week's ``period`` (its shifts consecutive), one report covers all of its shifts, with
    a table of their figures side by side."""
    book = plants or load_plants()
    made = (made or datetime.now(UTC)).replace(microsecond=0)
    if period is not None and period.cadence == "shift":
        period = None  # one shift: the shift's own report
    if period is None:
        window = shift_window(definition.shift, book)
    elif not period.combined:
        raise ReportError(
            "one report covers consecutive shifts only; these leave gaps between them "
            f"({', '.join(w.ref.shift for w in period.shifts)})"
        )
    else:
        window = replace(period.shifts[0], end=period.end)
    noun = period.noun if period else "shift"
    selected = curves.matching(definition.where).filter(
        project=definition.project,
        plant=window.ref.plant,
        start=window.start,
        end=window.end,
    )
    total = kpis(selected, plants=book)
    totals = total.figures.iloc[0].to_dict()
    body = [_head(definition, window, made, period)]
    if int(totals["parts"]) == 0:
        body.append(_nothing(definition, noun))
    else:
        for panel in definition.panels:
            heading = f"<h2>{escape(PANEL_TITLES[panel])}</h2>"
            if panel == "density":  # the heading kept on the page of its first figure
                body.append(_densities(selected, definition, window, made, heading))
                continue
            body.append(heading)
            if panel == "kpis":
                body.append(_tiles(totals, window))
                if period is not None:
                    body.append(_shifts(kpis(selected, bucket="shift", plants=book), period))
                body.append(_stations(kpis(selected, ("line", "station"), plants=book), window))
            else:
                body.append(_pareto(total, noun))
    title = _title(definition, window, period)
    html = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='generator' content='{SOFTWARE}'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return ShiftReport(definition, window, totals, html, period)


# --- the parts of the page -------------------------------------------------------------------


def _title(definition: ReportDefinition, window: ShiftWindow, period: Period | None) -> str:
    ref = window.ref
    if definition.title:
        return definition.title
    if period is not None:
        return f"{period.noun.capitalize()} report · {ref.plant} · {period.key}"
    return f"Shift {ref.shift} · {ref.plant} · {ref.day.isoformat()}"


def _head(
    definition: ReportDefinition, window: ShiftWindow, made: datetime, period: Period | None
) -> str:
    start, end = local_text(window.start, window.zone), local_text(window.end, window.zone)
    noun = period.noun if period else "shift"
    clocks = ""
    if period is not None:
        first, last = period.shifts[0].ref, period.shifts[-1].ref
        clocks = (
            f" {len(period.shifts)} shifts, from shift {first.shift} of {first.day.isoformat()} "
            f"to shift {last.shift} of {last.day.isoformat()}."
        )
    if window.shift_zone != window.zone:
        which = "Its first shift starts" if period is not None else "The shift starts"
        clocks += (
            f" {which} at {window.shift_clock} on {window.shift_zone} clocks, "
            f"as the plant's shifts are kept."
        )
    chosen = [
        f"{column} {', '.join(values)}"
        for column, values in definition.where.equals.items()
        if column not in ("project", "plant")
    ]
    if definition.where.serial:
        chosen.append(f"serial contains “{definition.where.serial}”")
    filters = "; ".join(chosen) if chosen else "all curves of the plant"
    return (
        f"<h1>{escape(_title(definition, window, period))}</h1>\n"
        f"<p class='sub'>Project {escape(definition.project)} · plant "
        f"{escape(window.ref.plant)}</p>\n"
        f"<p>From {escape(start)} to {escape(end)} ({escape(window.zone)}).{escape(clocks)}</p>\n"
        f"<p class='muted'>Curves: {escape(filters)}, started within the {noun}. "
        f"Made {escape(local_text(made, window.zone))} ({escape(window.zone)}) with "
        f"{SOFTWARE}.</p>"
    )


def _nothing(definition: ReportDefinition, noun: str) -> str:
    narrowed = bool(set(definition.where.equals) - {"project", "plant"} or definition.where.serial)
    which = " that match the report's filters" if narrowed else ""
    return (
        f"<p class='empty'><strong>No parts were made in this {noun}{escape(which)}.</strong> "
        f"No such curve started between the {noun}'s start and its end, so there are no "
        "figures, defects or curves to show.</p>"
    )


def _shifts(by_shift: Kpis, period: Period) -> str:
    """The period's shifts side by side, each on its row (none made: zeros)."""
    head = (
        "<tr><th class=name>Shift</th><th class=name>From</th><th>Parts</th><th>OK</th>"
        "<th>NOK</th><th>First-pass yield</th><th>NOK rate</th><th>Parts/h</th>"
        "<th>Cycle median (s)</th></tr>"
    )
    figures = by_shift.figures
    found = {
        pd.Timestamp(b).tz_localize(None): r
        for b, r in zip(figures["bucket"], figures.to_dict("records"), strict=True)
    }
    rows = []
    for window in period.shifts:
        row = found.get(window.start.tz_convert("UTC").tz_localize(None))
        cells = [
            f"{window.ref.day.isoformat()} {window.ref.shift}",
            local_text(window.start, window.zone),
            *(
                [_count(row[k]) for k in ("parts", "ok_parts", "nok_parts")]
                + [_percent(row["first_pass_yield"]), _percent(row["nok_rate"])]
                + [_number(row["parts_per_hour"], 1), _number(row["cycle_median_s"], 1)]
                if row is not None
                else ["0", "0", "0", NONE, NONE, NONE, NONE]
            ),
        ]
        rows.append(_row(cells))
    return f"<h3>Per shift</h3>\n<table>{head}{''.join(rows)}</table>"


def _row(cells: list) -> str:
    """A table row whose first two cells name what the others count."""
    return (
        "<tr>"
        + "".join(
            f"<td{' class=name' if i < 2 else ''}>{escape(str(c))}</td>"
            for i, c in enumerate(cells)
        )
        + "</tr>"
    )


def _tiles(totals: dict, window: ShiftWindow) -> str:
    tiles = [
        ("Parts", _count(totals["parts"])),
        ("First-pass yield", _percent(totals["first_pass_yield"])),
        ("NOK parts", _count(totals["nok_parts"])),
        ("NOK rate (curves)", _percent(totals["nok_rate"])),
        ("OK parts", _count(totals["ok_parts"])),
        ("Parts without a result", _count(totals["unknown_parts"])),
        ("Parts per hour", _number(totals["parts_per_hour"], 1)),
        ("Cycle time, median / P90", _cycle(totals)),
    ]
    cells = "".join(
        f"<div class='tile'><div class='v'>{escape(v)}</div><div class='k'>{escape(k)}</div></div>"
        for k, v in tiles
    )
    first, last = _when(totals["first_start"], window), _when(totals["last_end"], window)
    return (
        f"<div class='tiles'>{cells}</div>\n<p class='muted'>{_count(totals['curves'])} curves; "
        f"first curve started {escape(first)}, last ended {escape(last)} "
        f"({escape(window.zone)}). First-pass yield: parts no station rejected, of the parts "
        "judged OK or NOK.</p>"
    )


def _stations(by_station: Kpis, window: ShiftWindow) -> str:
    head = (
        "<tr><th class=name>Line</th><th class=name>Station</th><th>Parts</th><th>OK</th>"
        "<th>NOK</th><th>Unknown</th><th>First-pass yield</th><th>NOK rate</th><th>Parts/h</th>"
        "<th>Cycle median (s)</th></tr>"
    )
    rows = []
    for row in by_station.figures.to_dict("records"):
        cells = [
            row["line"],
            row["station"],
            _count(row["parts"]),
            _count(row["ok_parts"]),
            _count(row["nok_parts"]),
            _count(row["unknown_parts"]),
            _percent(row["first_pass_yield"]),
            _percent(row["nok_rate"]),
            _number(row["parts_per_hour"], 1),
            _number(row["cycle_median_s"], 1),
        ]
        rows.append(_row(cells))
    return f"<h3>Per station</h3>\n<table>{head}{''.join(rows)}</table>"


def _pareto(total: Kpis, noun: str) -> str:
    mix = total.pareto
    if mix.empty:
        return f"<p>No curve of this {noun} names a defect.</p>"
    top = float(mix["share"].max())
    rows = []
    for row in mix.to_dict("records"):
        width = 100 * float(row["share"]) / top if top else 0
        rows.append(
            f"<tr><td class=name>{escape(str(row['defect']))}</td>"
            f"<td>{escape(_count(row['curves']))}</td>"
            f"<td>{escape(_percent(row['share']))}</td>"
            f"<td>{escape(_percent(row['cumulative_share']))}</td>"
            f"<td style='width:40%'><div class='bar' style='width:{width:.1f}%'></div></td></tr>"
        )
    return (
        "<table><tr><th>Defect</th><th>Curves</th><th>Share</th><th>Cumulative</th><th></th></tr>"
        + "".join(rows)
        + "</table>\n<p class='muted'>Curves that name a defect, most first; a share is of all "
        f"curves of the {noun} that name one.</p>"
    )


def _densities(
    selected: Curves,
    definition: ReportDefinition,
    window: ShiftWindow,
    made: datetime,
    heading: str,
) -> str:
    processes = selected.processes(limit=MAX_PROCESSES + 1)
    shown = []
    for process in processes[:MAX_PROCESSES]:
        these = selected.filter(process=process)
        image = these.density(View(width=FIGURE_SIZE.width // 2, height=FIGURE_SIZE.height // 2))
        where = these.selection
        png = filter_png(
            image,
            where,
            size=FIGURE_SIZE,
            project=definition.project,
            zone=window.zone,
            made=made,
            redraw=lambda w, h, these=these, image=image: these.density(
                replace(image.view, width=w, height=h)
            ),
        )
        data = base64.b64encode(png).decode("ascii")
        alt = f"Distinct curves per pixel, {process}: {image.curves} curves"
        shown.append(
            f"<figure><img alt='{escape(alt)}' src='data:image/png;base64,{data}'></figure>"
        )
    if not shown:
        return heading + "<p>No curves to draw.</p>"
    shown[0] = f"<div class='keep'>{heading}{shown[0]}</div>"
    more = ""
    if len(processes) > MAX_PROCESSES:
        more = (
            f"<p class='muted'>The {MAX_PROCESSES} processes with the most curves are shown; "
            "narrow the report's filter by process for the others.</p>"
        )
    return "\n".join(shown) + more


# --- how figures read ------------------------------------------------------------------------


def _missing(value) -> bool:
    return value is None or (isinstance(value, float | np.floating) and np.isnan(value))


def _count(value) -> str:
    return f"{int(value):,}"


def _percent(value) -> str:
    return NONE if _missing(value) else f"{100 * float(value):.1f} %"


def _number(value, digits: int) -> str:
    return NONE if _missing(value) else f"{float(value):,.{digits}f}"


def _cycle(totals: dict) -> str:
    median, p90 = totals["cycle_median_s"], totals["cycle_p90_s"]
    if _missing(median):
        return NONE
    return f"{float(median):.1f} / {float(p90):.1f} s"


def _when(value, window: ShiftWindow) -> str:
    if value is None or pd.isna(value):
        return NONE
    return local_text(pd.Timestamp(value).floor("s").to_pydatetime(), window.zone)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "_", text).strip("_") or "x"
