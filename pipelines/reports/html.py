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
from pipelines.reports.shifts import (
    MAX_PROCESSES,
    PANEL_TITLES,
    ReportDefinition,
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
    """A rendered report: its HTML, the shift it covers and the shift's totals (one row of
    :data:`pipelines.kpis.FIGURES`)."""

    definition: ReportDefinition
    window: ShiftWindow
    totals: dict
    html: str

    @property
    def empty(self) -> bool:
        return int(self.totals["parts"]) == 0

    def filename(self, extension: str) -> str:
        """A name to save it under: project, plant, day and shift, in plain ASCII."""
        ref = self.window.ref
        words = (self.definition.project, ref.plant, ref.day.isoformat(), ref.shift)
        return "shift-report-" + "-".join(_slug(w) for w in words) + "." + extension


def render_shift_report(
    curves: Curves,
    definition: ReportDefinition,
    *,
    plants: PlantBook | None = None,
    made: datetime | None = None,
) -> ShiftReport:
    """Render ``definition`` on ``curves`` (its reader, kept to the projects it may see):
    the definition's filter, its project and plant, inside the shift's window."""
    book = plants or load_plants()
    window = shift_window(definition.shift, book)
    made = (made or datetime.now(UTC)).replace(microsecond=0)
    selected = curves.matching(definition.where).filter(
        project=definition.project,
        plant=window.ref.plant,
        start=window.start,
        end=window.end,
    )
    total = kpis(selected, plants=book)
    totals = total.figures.iloc[0].to_dict()
    body = [_head(definition, window, made)]
    if int(totals["parts"]) == 0:
        body.append(_nothing(definition))
    else:
        for panel in definition.panels:
            heading = f"<h2>{escape(PANEL_TITLES[panel])}</h2>"
            if panel == "density":  # the heading kept on the page of its first figure
                body.append(_densities(selected, definition, window, made, heading))
                continue
            body.append(heading)
            if panel == "kpis":
                body.append(_tiles(totals, window))
                body.append(_stations(kpis(selected, ("line", "station"), plants=book), window))
            else:
                body.append(_pareto(total))
    title = _title(definition, window)
    html = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='generator' content='{SOFTWARE}'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return ShiftReport(definition, window, totals, html)


# --- the parts of the page -------------------------------------------------------------------


def _title(definition: ReportDefinition, window: ShiftWindow) -> str:
    ref = window.ref
    return definition.title or f"Shift {ref.shift} · {ref.plant} · {ref.day.isoformat()}"


def _head(definition: ReportDefinition, window: ShiftWindow, made: datetime) -> str:
    start, end = local_text(window.start, window.zone), local_text(window.end, window.zone)
    clocks = ""
    if window.shift_zone != window.zone:
        clocks = (
            f" The shift starts at {window.shift_clock} on {window.shift_zone} clocks, "
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
        f"<h1>{escape(_title(definition, window))}</h1>\n"
        f"<p class='sub'>Project {escape(definition.project)} · plant "
        f"{escape(window.ref.plant)}</p>\n"
        f"<p>From {escape(start)} to {escape(end)} ({escape(window.zone)}).{escape(clocks)}</p>\n"
        f"<p class='muted'>Curves: {escape(filters)}, started within the shift. "
        f"Made {escape(local_text(made, window.zone))} ({escape(window.zone)}) with "
        f"{SOFTWARE}.</p>"
    )


def _nothing(definition: ReportDefinition) -> str:
    narrowed = bool(set(definition.where.equals) - {"project", "plant"} or definition.where.serial)
    which = " that match the report's filters" if narrowed else ""
    return (
        f"<p class='empty'><strong>No parts were made in this shift{escape(which)}.</strong> "
        "No such curve started between the shift's start and its end, so there are no "
        "figures, defects or curves to show.</p>"
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
        rows.append(
            "<tr>"
            + "".join(
                f"<td{' class=name' if i < 2 else ''}>{escape(str(c))}</td>"
                for i, c in enumerate(cells)
            )
            + "</tr>"
        )
    return f"<h3>Per station</h3>\n<table>{head}{''.join(rows)}</table>"


def _pareto(total: Kpis) -> str:
    mix = total.pareto
    if mix.empty:
        return "<p>No curve of this shift names a defect.</p>"
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
        "curves of the shift that name one.</p>"
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
