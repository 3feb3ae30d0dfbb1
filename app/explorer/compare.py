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

import base64
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
import param

from app.explorer.latest import in_session
from app.explorer.state import COMPARED, ExplorerState
from app.markup import text
from app.published import publish
from models.wording import counted
from pipelines.curves import Curves
from pipelines.drawing import DensityImage
from pipelines.kpis import kpis
from pipelines.render import category_colors, png
from pipelines.views import CurveFilter

log = logging.getLogger(__name__)

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
.ch-side {display: flex; flex-wrap: wrap; gap: 8px 12px; margin-top: 8px;}
.ch-side-panel {margin: 0; flex: 1 1 300px; max-width: 480px; font-size: 13px;}
.ch-side-panel img {width: 100%; display: block; border: 1px solid #dfe6ef; background: white;}
.ch-side-panel .none {aspect-ratio: 2 / 1; display: flex; align-items: center;
             justify-content: center; border: 1px solid #dfe6ef; color: #5a6b7f;}
.ch-side-panel .count {color: #5a6b7f;}
.ch-side span.swatch {display: inline-block; width: 12px; height: 12px; border-radius: 2px;
             margin-right: 6px; vertical-align: middle;}
"""
# Groups drawn side by side at most (those with most curves in the view): each costs about
# 70 ms of the render's job at 960 x 480 (shading 40, PNG 30) on this machine.
SIDE_LIMIT = 12
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
class SidePanel:
    """One group's curves alone on the plot's view: its layer of the coloured picture."""

    group: str
    color: str  # its colour in the legend
    curves: int  # its curves drawn in the view
    png: bytes  # shaded as the uncoloured density would be; b"" when it has no pixel


@dataclass(frozen=True)
class Compared:
    """What is shown under the legend: the grouping, its rows, the hours the throughput is
    over, the groups side by side (when asked), and why the figures are missing (if so)."""

    by: str
    rows: tuple[KpiRow, ...]
    hours: float | None
    panels: tuple[SidePanel, ...] = ()
    failure: str = ""
    groups: int = 0  # the groups in the view (the legend's entries)


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


def side_panels(image: DensityImage, cmap: str, norm: str) -> tuple[SidePanel, ...]:
    """Each category of a coloured ``image`` as a picture of its own: its layer of the counts
    (exactly its curves' density on the same view), shaded with ``cmap`` and ``norm`` each on
    its own counts, in the legend's order; the :data:`SIDE_LIMIT` groups with most curves in
    the view. No engine: the coloured picture already holds every layer."""
    colors = category_colors(image.categories)
    view = replace(image.view, color_by=None)
    most = sorted(image.categories, key=lambda g: -image.category_curves.get(g, 0))
    drawn_groups = set(most[:SIDE_LIMIT])
    panels = []
    for k, group in enumerate(image.categories):
        if group not in drawn_groups:
            continue
        layer = np.ascontiguousarray(image.counts[:, :, k])
        drawn = (
            png(DensityImage(counts=layer, view=view), cmap=cmap, how=norm) if layer.any() else b""
        )
        panels.append(SidePanel(group, colors[group], image.category_curves.get(group, 0), drawn))
    return tuple(panels)


def table_html(compared: Compared | None) -> str:
    """The table (group, then :data:`COLUMNS`) and a note saying what it covers; empty
    without a comparison or without groups (no curve matches). Group names come from the
    data: text."""
    if compared is None:
        return ""
    if compared.failure:
        return f"<div class='ch-kpis-note'>{text(compared.failure)}</div>"
    if not compared.rows:
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


def panels_html(compared: Compared | None) -> str:
    """The groups side by side, each under its swatch, name and curves in the view; empty
    when not asked for."""
    if compared is None or not compared.panels:
        return ""
    figures = []
    for panel in compared.panels:
        caption = (
            f"<span class='swatch' style='background:{text(panel.color)}'></span>"
            f"{text(panel.group)} <span class='count'>({text(counted(panel.curves, 'curve'))})"
            "</span>"
        )
        picture = (
            f"<img src='data:image/png;base64,{base64.b64encode(panel.png).decode()}' "
            f"alt='{text(panel.group)}: its curves alone'>"
            if panel.png
            else "<div class='none'>no curve in this view</div>"
        )
        figures.append(
            f"<figure class='ch-side-panel'><figcaption>{caption}</figcaption>{picture}</figure>"
        )
    note = (
        f"Each {text(compared.by)}'s curves alone, on the plot's view above, shaded by its own "
        "counts (a colour means the same count only within a panel)."
    )
    if compared.groups > len(compared.panels):
        note += (
            f" The {len(compared.panels)} of {compared.groups} with most curves in the view; "
            "filter to see others."
        )
    return f"<div class='ch-side'>{''.join(figures)}</div><div class='ch-kpis-note'>{note}</div>"


class KpiTable(pn.viewable.Viewer):
    """The compared groups' figures under the legend, and their densities side by side when
    asked; hidden unless the picture is coloured by one of :data:`COMPARED`."""

    compared = param.ClassSelector(
        class_=Compared,
        default=None,
        constant=True,
        doc="What is on screen, or None when the picture is not coloured by a compared column.",
    )

    def __init__(self, state: ExplorerState, rerender: Callable[[], None], **params: Any) -> None:
        """``rerender`` draws the state's view again: asking for the groups side by side (or
        a new colour map for them) needs the picture's layers once more."""
        super().__init__(**params)
        self._state = state
        self._pane = pn.pane.HTML(
            "", stylesheets=[CSS], visible=False, name="explorer-kpis", sizing_mode="stretch_width"
        )
        self._rerender = rerender
        self._deliver = in_session(self._show, pn.state.curdoc)
        # The last figures computed, with the filter and grouping they are of (only the
        # render's worker reads and writes it, one render at a time).
        self._known: tuple[CurveFilter, str, pd.DataFrame] | None = None
        self._watching = False  # heard from the first picture on: not while a link is applied

    def _restyled(self, event: param.parameterized.Event) -> None:
        state = self._state
        if state.color_by in COMPARED and (state.side_by_side or event.name == "side_by_side"):
            self._rerender()

    def beside(self, curves: Curves, image: DensityImage) -> None:
        """Run in the render's job, with its reader on the rendered filter: the figures of
        the picture's grouping (and its layers side by side, if asked), handed to the session.
        A failure is said in the table's place; it never fails the picture."""
        by = image.view.color_by or ""
        if by not in COMPARED:
            self._deliver(None)
            return
        state = self._state
        panels = side_panels(image, state.cmap, state.norm) if state.side_by_side else ()
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
            failure = f"Key figures by {by} could not be computed: {first[:300]}"
            self._deliver(Compared(by, (), None, panels, failure, len(image.categories)))
            return
        hours = _number(figures["hours"].iloc[0]) if len(figures) else None
        rows = kpi_rows(figures, by, image)
        self._deliver(Compared(by, rows, hours, panels, groups=len(image.categories)))

    def _show(self, compared: Compared | None) -> None:
        if not self._watching:
            self._state.param.watch(self._restyled, ["side_by_side", "cmap", "norm"])
            self._watching = True
        publish(self, compared=compared)
        html = table_html(compared) + panels_html(compared)
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
