"""The explorer's parts panel: the parts behind a selection and under the pointer.

A selection (a click or a box on the picture) lists the parts drawing a pixel in it, in a table
with a CSV export, each with its verdict by the process's current rules (which rule failed it
and why, in words); the newest of them come back as lines for the plot to draw. Where the
pointer rests, the first few parts under it are named. Every listed or named part links to its
own page (``/part``), which links back to the explorer view it came from (the page's URL at the
time, which the explorer keeps in step with its state); a small form opens a part by serial.
Each kind of work has its own latest-wins runner and engine client; results are published as
read-only parameters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pandas as pd
import panel as pn
import param

from app.explorer import elements
from app.explorer.latest import LatestOnly, in_session
from app.markup import text
from app.part.links import EXPLORER, part_link
from app.published import publish
from models.csv_safe import frame_csv
from models.wording import counted
from pipelines.curves import Curves
from pipelines.interact import Line
from pipelines.rules import Rule
from pipelines.rules.verdicts import curve_verdicts, failures_in_words
from pipelines.views import CurveFilter, View

log = logging.getLogger(__name__)

PICK_LIMIT = 5_000  # parts listed (and exported) for one selection
HIGHLIGHT_LIMIT = 20  # of them, drawn as lines on top
HOVER_LIMIT = 5
HOVER_REST_SECONDS = 0.25  # the pointer must rest this long before the parts under it are asked
PART_COLUMNS = [
    "part_serial",
    "started_at",
    "result",
    "verdict",
    "defect",
    "station",
    "program",
    "line",
]
# Each listed part's page, the target of its serial's link (a hidden column of the table).
LINK_COLUMN = "part_page"
ASK = "Click the raster, or drag a box with the box-select tool, to list the parts passing through."


def with_verdicts(curves: Curves, parts: pd.DataFrame, rules: list[Rule]) -> pd.DataFrame:
    """``parts`` with a ``verdict`` column: "passed", which rules failed the part and why
    ("press-in: entered through the top at x = 4.21 mm"), or "" for a part no rule judged."""
    names = {int(r.rule_id): r.name for r in rules if r.rule_id}
    ids = [int(i) for i in parts["curve_id"]]
    said = {}
    if names and ids:
        verdicts = curve_verdicts(curves.client, curves.database, ids, sorted(names))
        said = failures_in_words(verdicts, names)
    return parts.assign(verdict=[said.get(i, "") for i in ids])


def selection_sentence(total: int, listed: int, drawn: int) -> str:
    """What a box selection caught, in words that agree with the count."""
    if not total:
        return "No part passes through the selection."
    listing = f" (listing {listed:,})" if total > listed else ""
    verb = "passes" if total == 1 else "pass"
    shown = "it is drawn in orange" if drawn == 1 else f"the newest {drawn} are drawn in orange"
    return f"**{counted(total, 'part')}** {verb} through the selection{listing}; {shown}."


@dataclass
class Picked:
    """One selection's answer: how many parts, those listed, the newest drawn as lines."""

    total: int
    parts: pd.DataFrame
    lines: list[Line]


class PartsPanel(pn.viewable.Viewer):
    """The selected parts (table and CSV export) and the parts under the pointer."""

    picked = param.ClassSelector(
        class_=Picked, default=None, constant=True, doc="The last selection; None: none."
    )
    title = param.String(
        default=ASK, constant=True, doc="What the selection found (or how to make one), Markdown."
    )
    hover = param.String(
        default="Point at the raster to see the parts under the cursor.",
        constant=True,
        doc="The parts under the pointer, as Markdown.",
    )
    message = param.String(
        default="", constant=True, doc="Why the last selection failed, as Markdown."
    )

    def __init__(
        self,
        picks: Curves | None,
        hovers: Curves | None,
        *,
        busy: Callable[[float], bool] = lambda _timeout: True,
        may_export: Callable[[str], bool] = lambda _kind: True,
        rules: Callable[[], list[Rule]] = list,
        **params: Any,
    ) -> None:
        """``picks`` and ``hovers``: the session's reader, each on a client of its own (None:
        nothing to ask). ``busy(timeout)`` waits for the render in flight: the hover never
        runs alongside one. ``may_export`` is asked before the CSV is made. ``rules()``: the
        current rules of the process in view, whose verdicts the listed parts show."""
        super().__init__(**params)
        self._picks_of, self._hovers_of = picks, hovers
        self._rules = rules
        self._busy, self._may_export = busy, may_export
        self._pointer_moves = 0
        doc = pn.state.curdoc
        self.picks = LatestOnly(
            in_session(self._show_pick, doc), in_session(self._show_pick_error, doc), "pick"
        )
        self.hovers = LatestOnly(in_session(self._show_hover, doc), log.debug, "hover")
        # The table goes on the page with the first selection: an empty one cost every
        # explorer page about 40 ms on the server and its sizing in the browser.
        self._table: pn.widgets.Tabulator | None = None
        self._slot = pn.Column(sizing_mode="stretch_width", margin=0)
        self.csv = pn.widgets.FileDownload(
            callback=lambda: StringIO(self.to_csv()),
            filename="curvehouse-parts.csv",
            label="Export parts (CSV)",
            color="primary",
            disabled=True,
        )

    @property
    def table(self) -> pn.widgets.Tabulator:
        """The selected parts' table, made on first use."""
        if self._table is None:
            self._table = _parts_table()
        return self._table

    def select(self, view: View, where: CurveFilter, box: tuple[int, int, int, int]) -> None:
        """List the parts drawing a pixel in ``box`` (col0, col1, row0, row1) of the picture
        drawn with ``view`` and ``where``."""
        if self._picks_of is None:
            return
        shown = self._picks_of.matching(where)
        publish(self, title="Finding the parts…")

        rules = self._rules

        def job() -> Picked:
            found = shown.pick(view, box, limit=PICK_LIMIT)
            ids = found.curves["curve_id"].head(HIGHLIGHT_LIMIT).tolist()
            parts = with_verdicts(shown, found.curves, rules())
            return Picked(found.total, parts, shown.highlight(ids, view))

        self.picks.submit(job)

    def point(self, view: View, where: CurveFilter, x: float, y: float, box: tuple) -> None:
        """Name the parts drawing the pixel ``box`` under the pointer at (x, y), once it rests
        there."""
        if self._hovers_of is None:
            return
        shown = self._hovers_of.matching(where)
        busy = self._busy
        self._pointer_moves += 1
        move = self._pointer_moves

        def job():
            # Only where the pointer rests, and never alongside a render: on two cores a
            # hover pick running with a zoom's render made the render 1.5-2x slower.
            time.sleep(HOVER_REST_SECONDS)
            busy(60)
            if move != self._pointer_moves:
                return None
            return x, y, shown.pick(view, box, limit=HOVER_LIMIT)

        self.hovers.submit(job)

    def clear(self) -> None:
        """Forget the selection, its table and the sentence about it; one of the old filter
        still running never comes back."""
        self.picks.cancel()
        publish(self, picked=None, title=ASK)
        if self._table is not None:
            self._table.value = pd.DataFrame(columns=[*PART_COLUMNS, LINK_COLUMN])
        self.csv.disabled = True

    def wait(self, timeout: float = 120.0) -> bool:
        """Block until the selection and hover in flight are shown."""
        return self.picks.wait(timeout) and self.hovers.wait(timeout)

    # --- work -> page -------------------------------------------------------------------------

    def _show_pick(self, picked: Picked) -> None:
        parts = picked.parts.copy()
        if not parts.empty:
            parts["started_at"] = pd.to_datetime(parts["started_at"]).dt.strftime(
                "%Y-%m-%d %H:%M:%S"
            )
        if parts.empty:
            self.table.value = pd.DataFrame(columns=[*PART_COLUMNS, LINK_COLUMN])
        else:
            back = explorer_url()
            parts[LINK_COLUMN] = [
                part_link(str(r.project), str(r.part_serial), back) if r.part_serial else ""
                for r in parts.itertuples()
            ]
            self.table.value = parts[[*PART_COLUMNS, LINK_COLUMN]]
        if not self._slot.objects:  # with its rows: a table put on the page empty and filled
            self._slot.objects = [self.table]  # in the same moment showed none in the browser
        self.csv.disabled = parts.empty
        publish(
            self,
            picked=picked,
            title=selection_sentence(picked.total, len(parts), min(len(parts), HIGHLIGHT_LIMIT)),
        )

    def _show_pick_error(self, error: Exception) -> None:
        """A failed selection: the message, without touching a render that may be running."""
        log.warning("explorer selection failed", exc_info=error)
        publish(
            self,
            message=elements.friendly(error),
            title="The selection failed: see the message above.",
        )

    def _show_hover(self, found) -> None:
        if found is None:  # the pointer moved on
            return
        x, y, hit = found
        if not hit.total:
            publish(self, hover=f"No curve at ({x:.4g}, {y:.4g}).")
            return
        back = explorer_url()
        rows = ", ".join(
            (
                f"[{text(r.part_serial)}]({part_link(str(r.project), str(r.part_serial), back)})"
                if r.part_serial
                else text(r.curve_key)
            )
            + f" ({text(r.result)})"
            for r in hit.curves.itertuples()
        )
        more = f" and {hit.total - len(hit.curves):,} more" if hit.total > len(hit.curves) else ""
        publish(
            self, hover=f"**{counted(hit.total, 'curve')}** at ({x:.4g}, {y:.4g}): {rows}{more}"
        )

    # --- export -------------------------------------------------------------------------------

    def to_csv(self) -> str:
        """The selected parts as spreadsheet-safe CSV, if the viewer may export them (else
        nothing)."""
        if self.picked is None or not self._may_export("parts"):
            return ""
        return frame_csv(self.picked.parts)

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            pn.pane.Markdown(self.param.hover),
            pn.pane.HTML(OPEN_PART, stylesheets=[OPEN_PART_CSS], name="open-part", margin=(0, 10)),
            pn.pane.Markdown("### Selected parts"),
            pn.Row(pn.pane.Markdown(self.param.title), pn.Spacer(), self.csv),
            self._slot,
            sizing_mode="stretch_width",
        )


# Opening a part by its serial: a plain GET form to the part's page, which finds the serial in
# the viewer's projects and links back here (the browser sends this page as the referrer).
OPEN_PART = (
    '<form method="get" action="./part" role="search" class="ch-open-part">'
    '<label for="ch-open-serial">Open a part</label>'
    '<input id="ch-open-serial" name="serial" required maxlength="200" autocomplete="off" '
    'placeholder="serial">'
    '<button type="submit">Open</button></form>'
)
OPEN_PART_CSS = """
.ch-open-part {display: flex; flex-wrap: wrap; align-items: center; gap: 6px; font-size: 14px;}
.ch-open-part label {color: #5a6b7f;}
.ch-open-part input {font-size: 14px; padding: 4px 8px; border: 1px solid #b8c4d2;
                     border-radius: 6px; width: 14em;}
.ch-open-part button {font-size: 14px; padding: 4px 12px; border: 1px solid #1f5fa8;
                      border-radius: 6px; background: white; color: #1f5fa8; cursor: pointer;}
"""


def _parts_table() -> pn.widgets.Tabulator:
    """The selected parts, empty; each serial a link to its part's page."""
    return pn.widgets.Tabulator(
        pd.DataFrame(columns=[*PART_COLUMNS, LINK_COLUMN]),
        show_index=False,
        disabled=True,
        hidden_columns=[LINK_COLUMN],
        # Tabulator's link formatter writes the serial as text (it escapes it).
        formatters={"part_serial": {"type": "link", "urlField": LINK_COLUMN}},
        titles={"part_serial": "serial (opens the part)"},
        pagination="local",
        page_size=12,
        layout="fit_data_table",
        sizing_mode="stretch_width",
    )


def explorer_url() -> str | None:
    """The explorer view on screen, as the path and query the page's address bar shows (None
    outside a browser session): where a part's page links back to."""
    location = pn.state.location if pn.state.curdoc is not None else None
    if location is None:
        return None
    return EXPLORER + (location.search or "")
