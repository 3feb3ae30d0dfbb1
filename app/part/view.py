"""A part's page: its curves at every station, each over its station's density, with results,
defects and key values, a link back to the explorer and a serial search.

The reads are :meth:`pipelines.curves.Curves.part` (curves and key values, computed in the
engine) and, per station, the density of that station's curves of the same process, with the
part's own curve drawn on it as a line (:meth:`~pipelines.curves.Curves.highlight`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn

from app.explorer.elements import HIGHLIGHT_COLOR
from app.markup import text
from app.part.links import EXPLORER, explorer_back, explorer_link
from models.wording import counted
from pipelines.curves import Curves
from pipelines.parts import Part, work_unit
from pipelines.render import shaded
from pipelines.views import View

# The canvas each station's density is drawn on (the plot stretches it to its width).
CANVAS = (640, 300)
PLOT_HEIGHT = 300
RESULT_STYLE = {"OK": "ok", "NOK": "nok"}
CSS = """
.ch-part {font-size: 15px; color: #17324d;}
.ch-part h2 {margin: 4px 0 2px; font-size: 26px; overflow-wrap: anywhere;}
.ch-part .sub {color: #5a6b7f; margin: 0 0 6px;}
.ch-part .back {display: inline-block; margin: 2px 0 8px; text-decoration: none;
                color: #1f5fa8; font-weight: 600;}
.ch-part .badge {display: inline-block; padding: 2px 10px; border-radius: 999px;
                 font-weight: 700; font-size: 14px; vertical-align: middle;
                 background: #eceff3; color: #3d4b5c;}
.ch-part .badge.ok {background: #e3f4e8; color: #17662f;}
.ch-part .badge.nok {background: #fde8e7; color: #b42318;}
.ch-part .station {display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 12px;}
.ch-part .station h3 {margin: 0; font-size: 19px;}
.ch-part .defect {color: #b42318; font-weight: 600;}
.ch-part dl {display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
             gap: 6px 16px; margin: 6px 0 0;}
.ch-part dt {font-size: 12px; text-transform: uppercase; letter-spacing: .04em;
             color: #5a6b7f;}
.ch-part dd {margin: 0; font-weight: 600; font-variant-numeric: tabular-nums;}
.ch-part a.explore {display: inline-block; margin-top: 8px; color: #1f5fa8; font-weight: 600;
                    text-decoration: none;}
.ch-part .legend {font-size: 13px; color: #3d4b5c; margin-top: 4px;}
.ch-part .legend .line {display: inline-block; width: 22px; border-top: 3px solid;
                        vertical-align: middle; margin-right: 6px;}
.ch-part .legend .shade {display: inline-block; width: 12px; height: 12px; border-radius: 2px;
                         vertical-align: middle; margin: 0 6px 0 14px;
                         background: linear-gradient(90deg, #c6dbef, #08306b);}
.ch-part form {display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin: 4px 0;}
.ch-part form label {display: flex; flex-direction: column; font-size: 12px; gap: 2px;
                     text-transform: uppercase; letter-spacing: .04em; color: #5a6b7f;}
.ch-part form input, .ch-part form select {font-size: 16px; padding: 6px 8px; min-width: 12em;
                     border: 1px solid #b8c4d2; border-radius: 6px; color: #17324d;}
.ch-part form button {font-size: 16px; padding: 7px 16px; border: 0; border-radius: 6px;
                      background: #1f5fa8; color: white; cursor: pointer;}
.ch-part .empty {padding: 12px 16px; border-radius: 8px; background: #fff7e6;
                 border: 1px solid #f3d9a4; margin: 6px 0;}
"""
CARD_STYLES = {
    "border": "1px solid #dfe6ef",
    "border-radius": "8px",
    "padding": "10px 14px",
    "background": "white",
    "flex": "1 1 400px",
}


@dataclass
class Lookup:
    """What a request for a serial found: the part (in ``project``, read by ``reader``), the
    projects holding the serial when none was named and several do, or why nothing could be
    read."""

    serial: str
    project: str = ""
    part: Part | None = None
    reader: Curves | None = None
    several: list[str] = field(default_factory=list)
    problem: str = ""


def number(value: float, unit: str = "") -> str:
    """A key value for people: four significant digits, thousands separators, its unit."""
    if value is None or not np.isfinite(value):
        return "–"
    magnitude = abs(value)
    decimals = 0 if magnitude >= 1000 else max(0, 3 - int(np.floor(np.log10(magnitude or 1))))
    written = f"{value:,.{min(decimals, 3)}f}".replace("-", "−")
    return f"{written} {text(unit)}" if unit else written


def search_form(serial: str, project: str, projects: list[str], back: str | None) -> str:
    """A plain GET form to ``/part``: works before the page's scripts run and from the back
    button; every value in it is text."""
    options = ['<option value="">any of my projects</option>']
    for name in dict.fromkeys([*projects, *([project] if project else [])]):
        chosen = " selected" if name == project else ""
        options.append(f'<option value="{text(name)}"{chosen}>{text(name)}</option>')
    hidden = f'<input type="hidden" name="back" value="{text(back)}">' if back else ""
    return (
        '<form method="get" action="./part" role="search" class="ch-part-search">'
        '<label>Part serial<input name="serial" required maxlength="200" '
        f'autocomplete="off" placeholder="scan or type a serial" value="{text(serial)}"></label>'
        f'<label>Project<select name="project">{"".join(options)}</select></label>'
        f'{hidden}<button type="submit">Open part</button></form>'
    )


def badge(result: str) -> str:
    return f'<span class="badge {RESULT_STYLE.get(result, "")}">{text(result)}</span>'


class PartView(pn.viewable.Viewer):
    """One serial's page, built from a :class:`Lookup`."""

    def __init__(
        self,
        lookup: Lookup,
        *,
        projects: list[str],
        back: str | None = None,
        open_link: Callable[[str], str] | None = None,
        **params,
    ) -> None:
        """``projects``: those offered in the search; ``back``: the explorer view this page was
        opened from (anything else is ignored); ``open_link(project)`` links this serial in
        another project (when several hold it)."""
        super().__init__(**params)
        self.lookup = lookup
        self.projects = projects
        self.back = explorer_back(back)
        self._open_link = open_link

    # --- pieces ---------------------------------------------------------------------------

    def back_link(self) -> str:
        """Where "back" goes: the explorer view the page came from, else the explorer on the
        part's project."""
        if self.back:
            return self.back
        if self.lookup.project:
            return explorer_link(self.lookup.project)
        return EXPLORER

    def header(self) -> pn.pane.HTML:
        lookup, part = self.lookup, self.lookup.part
        back = f'<a class="back" href="{text(self.back_link())}">← Back to the explorer</a>'
        if part is None or not part.found:
            title = "<h2>Open a part</h2>"
            if lookup.serial:
                title = f"<h2>Part {text(lookup.serial)}</h2>"
            body = back + title + self._nothing()
        else:
            frame = part.curves
            first = pd.Timestamp(frame["started_at"].min())
            stations = counted(len(frame), "station")
            failed = frame[frame["result"].astype(str) == "NOK"]
            defects = ", ".join(
                f"{text(r.defect or 'NOK')} at {text(r.station or '(no station)')}"
                for r in failed.itertuples()
            )
            body = (
                f"{back}<h2>Part {text(part.serial)} {badge(part.result)}</h2>"
                f'<p class="sub">Project {text(lookup.project)} · {stations} · first curve '
                f"{first:%Y-%m-%d %H:%M:%S} UTC"
                + (f' · <span class="defect">{defects}</span>' if defects else "")
                + "</p>"
            )
        form = search_form(lookup.serial, lookup.project, self.projects, self.back)
        return pn.pane.HTML(
            f'<div class="ch-part">{body}{form}</div>',
            stylesheets=[CSS],
            sizing_mode="stretch_width",
            name="part-header",
        )

    def _nothing(self) -> str:
        lookup = self.lookup
        if lookup.problem:
            return f'<p class="empty">{text(lookup.problem)}</p>'
        if not lookup.serial:
            return '<p class="sub">Scan or type a serial to see its curves at every station.</p>'
        if lookup.several:
            links = " · ".join(
                f'<a href="{text(self._open_link(p) if self._open_link else "#")}">{text(p)}</a>'
                for p in lookup.several
            )
            return (
                f'<p class="empty">Serial {text(lookup.serial)} is a part in several of your '
                f"projects: {links}. Choose one.</p>"
            )
        where = f"project {text(lookup.project)}" if lookup.project else "any of your projects"
        return (
            f'<p class="empty" data-empty="part">No part with serial {text(lookup.serial)} in '
            f"{where}. Check the serial, or search another project.</p>"
        )

    def station(self, row: pd.Series) -> pn.Column:
        """One curve of the part: what the station said, the curve over its station's
        density, and its key values."""
        result = str(row["result"])
        where = " · ".join(
            text(v) for v in (row["process"], row["program"] and f"program {row['program']}") if v
        )
        started = pd.Timestamp(row["started_at"])
        defect = f'<span class="defect">{text(row["defect"])}</span>' if row["defect"] else ""
        head = (
            f'<div class="station"><h3>{text(row["station"] or "(no station)")}</h3>'
            f"{badge(result)}{defect}"
            f'<span class="sub">{where} · {started:%Y-%m-%d %H:%M:%S} UTC</span></div>'
        )
        plot, legend = self._plot(row)
        x_unit, y_unit = str(row["x_unit"]), str(row["y_unit"])
        x_name, y_name = str(row["x_name"] or "x"), str(row["y_name"] or "y")
        values = (
            (f"Peak {y_name}", number(row["peak_y"], y_unit)),
            (f"{x_name} at peak", number(row["peak_x"], x_unit)),
            (f"Final {y_name}", number(row["final_y"], y_unit)),
            (f"Final {x_name}", number(row["final_x"], x_unit)),
            ("Work (area)", number(row["work"], work_unit(x_unit, y_unit))),
            ("Samples", f"{int(row['point_count']):,}"),
        )
        grid = "".join(f"<div><dt>{text(k)}</dt><dd>{v}</dd></div>" for k, v in values)
        explore = explorer_link(
            self.lookup.project,
            process=str(row["process"]),
            plant=str(row["plant"]),
            line=str(row["line"]),
            station=str(row["station"]),
            reference=str(row["part_serial"]),
        )
        more = (
            f'<a class="explore" href="{text(explore)}">Explore this station with the part '
            "drawn on it →</a>"
        )
        return pn.Column(
            pn.pane.HTML(f'<div class="ch-part">{head}</div>', stylesheets=[CSS], margin=0),
            plot,
            pn.pane.HTML(
                f'<div class="ch-part">{legend}<dl>{grid}</dl>{more}</div>',
                stylesheets=[CSS],
                margin=0,
                sizing_mode="stretch_width",
            ),
            styles=CARD_STYLES,
            sizing_mode="stretch_width",
            min_width=300,
            margin=(6, 6),
            name=f"station-{row['station']}",
        )

    def _plot(self, row: pd.Series) -> tuple[pn.viewable.Viewable, str]:
        """The station's curves of this process as density, the part's curve on top."""
        reader = self.lookup.reader
        context = reader.filter(station=str(row["station"]), process=str(row["process"]))
        image = context.density(View(width=CANVAS[0], height=CANVAS[1]))
        lines = context.highlight([int(row["curve_id"])], image.view)
        raster = shaded(image, cmap="Blues", how="eq_hist").opts(
            responsive=True,
            height=PLOT_HEIGHT,
            tools=["hover"],
            bgcolor="white",
            show_grid=True,
            xlabel=image.x_label,
            ylabel=image.y_label,
            toolbar="above",
        )
        overlay = raster
        for color, width in (("white", 6), (HIGHLIGHT_COLOR, 3)):  # a halo reads on any shade
            overlay = overlay * hv.Path(
                [{"x": line.x, "y": line.y} for line in lines], kdims=["x", "y"]
            ).opts(color=color, line_width=width, apply_ranges=False)
        pane = pn.pane.HoloViews(overlay, sizing_mode="stretch_width", height=PLOT_HEIGHT)
        station = text(row["station"] or "(no station)")
        legend = (
            f'<div class="legend"><span class="line" style="border-color:{HIGHLIGHT_COLOR}">'
            f"</span>this part"
            f'<span class="shade"></span>{counted(image.curves, "curve")} of {station} '
            f"({text(row['process'] or 'no process')}), for comparison</div>"
        )
        return pane, legend

    def __panel__(self) -> pn.viewable.Viewable:
        part = self.lookup.part
        items: list = [self.header()]
        if part is not None and part.found and self.lookup.reader is not None:
            cards = [self.station(row) for _, row in part.curves.iterrows()]
            items.append(
                pn.FlexBox(*cards, flex_wrap="wrap", sizing_mode="stretch_width", name="stations")
            )
        return pn.Column(*items, sizing_mode="stretch_width", name="part")
