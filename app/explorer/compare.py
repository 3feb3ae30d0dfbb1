"""Plants, lines or stations compared (issue 20, across plants): with the raster coloured by one
of them, a table of their key figures under the legend, one row per group in its colour.

The figures are :func:`pipelines.kpis.kpis` of the explorer's whole filter (every curve it
matches, not only those in the view), grouped by the colour choice. They are computed in the
render's background job (:attr:`app.explorer.plot.DensityPlot.beside`) on the render's reader,
never on the session's thread, and only again when the filter or the grouping changed: a zoom
or a pan redraws the picture and keeps the figures. Limit: between two filter changes the
figures do not follow curves committed meanwhile (except while following the line, where the
window moves with every picture).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import panel as pn
import param

from app.explorer.latest import in_session
from app.markup import text
from app.published import publish
from models.wording import counted
from pipelines.curves import Curves
from pipelines.drawing import DensityImage
from pipelines.kpis import kpis
from pipelines.render import category_colors
from pipelines.views import CurveFilter

log = logging.getLogger(__name__)

# The colour choices whose groups get a row of figures (a subset of pipelines.kpis.GROUPS).
COMPARED = ("plant", "line", "station")
# The table's figure columns: (heading, pipelines.kpis.FIGURES column).
COLUMNS = (
    ("Parts", "parts"),
    ("First-pass yield", "first_pass_yield"),
    ("NOK rate (curves)", "nok_rate"),
    ("Throughput (parts/h)", "parts_per_hour"),
    ("Median cycle (s)", "cycle_median_s"),
)
CSS = """
.ch-kpis {border-collapse: collapse; font-size: 13px; margin-top: 4px;}
.ch-kpis th {text-align: right; font-weight: 600; color: #5a6b7f; padding: 2px 10px;
             border-bottom: 1px solid #dfe6ef; white-space: nowrap;}
.ch-kpis th:first-child, .ch-kpis td:first-child {text-align: left;}
.ch-kpis td {text-align: right; padding: 2px 10px; white-space: nowrap;
             font-variant-numeric: tabular-nums;}
.ch-kpis span.swatch {display: inline-block; width: 12px; height: 12px; border-radius: 2px;
             margin-right: 6px; vertical-align: middle;}
.ch-kpis-note {font-size: 12px; color: #5a6b7f;}
"""
NO_SWATCH = "#ffffff"  # a group with no curve in the view: an empty frame, not a colour


@dataclass(frozen=True)
class KpiRow:
    """One group's figures as the table shows them; ``color`` is its colour in the legend,
    None when none of its curves is in the view (the legend does not list it)."""

    group: str
    color: str | None
    parts: int
    first_pass_yield: float | None
    nok_rate: float | None
    parts_per_hour: float | None
    cycle_median_s: float | None


@dataclass(frozen=True)
class Compared:
    """What the table shows: the grouping, its rows, and the hours the throughput is over."""

    by: str
    rows: tuple[KpiRow, ...]
    hours: float | None


def kpi_rows(figures: pd.DataFrame, by: str, image: DensityImage) -> tuple[KpiRow, ...]:
    """One row per group of ``figures`` (:attr:`pipelines.kpis.Kpis.figures` grouped by
    ``by``), coloured as ``image``'s legend colours its categories."""
    colors = category_colors(image.categories)
    return tuple(
        KpiRow(
            group=str(row[by]),
            color=colors.get(str(row[by])),
            parts=int(row["parts"]),
            **{name: _number(row[name]) for _, name in COLUMNS[1:]},
        )
        for _, row in figures.iterrows()
    )


def table_html(compared: Compared | None) -> str:
    """The table (group, then :data:`COLUMNS`) and a note saying what it covers; empty
    without a comparison. Group names come from the data: text."""
    if compared is None:
        return ""
    headings = (compared.by.capitalize(), *(heading for heading, _ in COLUMNS))
    head = "".join(f"<th>{text(h)}</th>" for h in headings)
    body = []
    for row in compared.rows:
        swatch = (
            f"<span class='swatch' style='background:{text(row.color)}'></span>"
            if row.color
            else f"<span class='swatch' style='background:{NO_SWATCH};"
            "border:1px solid #9aa8b8' title='no curve in this view'></span>"
        )
        cells = [
            f"{row.parts:,}",
            _percent(row.first_pass_yield),
            _percent(row.nok_rate),
            _fixed(row.parts_per_hour, 1),
            _fixed(row.cycle_median_s, 2),
        ]
        body.append(
            f"<tr class='ch-kpi-row'><td>{swatch}{text(row.group)}</td>"
            + "".join(f"<td>{text(c)}</td>" for c in cells)
            + "</tr>"
        )
    over = (
        f" Throughput over {compared.hours:,.1f} h."
        if compared.hours is not None and math.isfinite(compared.hours)
        else ""
    )
    note = (
        f"Key figures of every curve the filter matches, by {text(compared.by)}: "
        f"{text(counted(len(compared.rows), compared.by))}. A part is a serial; first-pass "
        f"yield is the share of judged parts no station rejected.{text(over)}"
    )
    return (
        f"<table class='ch-kpis'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table><div class='ch-kpis-note'>{note}</div>"
    )


class KpiTable(pn.viewable.Viewer):
    """The compared groups' figures under the legend; hidden unless the picture is coloured
    by one of :data:`COMPARED`."""

    compared = param.ClassSelector(
        class_=Compared,
        default=None,
        constant=True,
        doc="The figures on screen, or None when the picture is not coloured by a compared column.",
    )
    failure = param.String(
        default="", constant=True, doc="Why the figures could not be computed; empty if they were."
    )

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._pane = pn.pane.HTML(
            "", stylesheets=[CSS], visible=False, name="explorer-kpis", sizing_mode="stretch_width"
        )
        self._deliver = in_session(self._show, pn.state.curdoc)
        # The last figures computed, with the filter and grouping they are of (only the
        # render's worker reads and writes it, one render at a time).
        self._known: tuple[CurveFilter, str, pd.DataFrame] | None = None

    def beside(self, curves: Curves, image: DensityImage) -> None:
        """Run in the render's job, with its reader on the rendered filter: the figures of
        the picture's grouping, handed to the session. A failure is said in the table's place;
        it never fails the picture."""
        by = image.view.color_by or ""
        if by not in COMPARED:
            self._deliver((None, ""))
            return
        try:
            known = self._known
            if known is not None and known[0] == curves.selection and known[1] == by:
                figures = known[2]
            else:
                figures = kpis(curves, by=(by,)).figures
                self._known = (curves.selection, by, figures)
        except Exception as exc:  # the engine's words, shown in the table's place
            log.warning("KPIs beside the explorer failed", exc_info=exc)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self._deliver((None, f"Key figures by {by} could not be computed: {first[:300]}"))
            return
        hours = _number(figures["hours"].iloc[0]) if len(figures) else None
        self._deliver((Compared(by, kpi_rows(figures, by, image), hours), ""))

    def _show(self, shown: tuple[Compared | None, str]) -> None:
        compared, failure = shown
        publish(self, compared=compared, failure=failure)
        html = table_html(compared) or (
            f"<div class='ch-kpis-note'>{text(failure)}</div>" if failure else ""
        )
        self._pane.object = html
        self._pane.visible = bool(html)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _fixed(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"
