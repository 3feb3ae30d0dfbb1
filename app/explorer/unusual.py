"""The explorer's unusual parts (issue 19 §6): the parts of the filter on screen whose features
and curve sit furthest from their program's (:func:`pipelines.unusual.rank_unusual`, the same
ranking as the Quality page and ``GET /api/projects/{id}/unusual``).

A card under the selected parts, closed at first: ranking reads every sample of the filter
(about 0.4 s for the demo's 3,300 press-fit curves), so it runs only once someone opens it, and
again when the picture's filter changes while it is open (not while following the line, whose
filter moves every second). As in the parts list, each serial links to its part's page;
choosing a row draws that part in orange over the picture. Work runs on a latest-wins runner of
its own, after the render in flight, on an engine client opened the first time it is needed and
closed with the explorer's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import panel as pn
import param

from app.explorer import elements
from app.explorer.latest import LatestOnly, in_session
from app.explorer.parts import explorer_url
from app.markup import text
from app.part.links import part_link
from app.published import publish
from pipelines.curves import Curves
from pipelines.unusual import rank_unusual, unusual_words
from pipelines.views import CurveFilter

if TYPE_CHECKING:
    from app.explorer.plot import DensityPlot
    from app.explorer.state import ExplorerState

log = logging.getLogger(__name__)

LISTED = 20  # parts in the card, most unusual first
COLUMNS = ("part_serial", "station", "started_at", "project")  # read besides program
SHOWN = ["part_serial", "station", "program", "started_at", "score", "why"]
LINK = "part_page"
ASK = "Open this card to rank the filter's parts by how far they sit from their program's."


class UnusualPanel(pn.viewable.Viewer):
    """The filter's most unusual parts, in a card that ranks them once opened."""

    ranked = param.DataFrame(
        default=None, constant=True, doc="The last ranking shown (None: none yet)."
    )
    title = param.String(default=ASK, constant=True, doc="What the card says above its table.")

    def __init__(
        self,
        state: ExplorerState,
        plot: DensityPlot,
        reader: Callable[[], Curves | None],
        **params: Any,
    ) -> None:
        """``reader()`` opens the panel's own reader (called once, when first needed; None:
        no engine). ``plot``: the explorer's, whose filter is ranked and which draws a chosen
        part."""
        super().__init__(**params)
        self._state, self._plot, self._open = state, plot, reader
        self._reader: Curves | None = None
        self._ranked_for: CurveFilter | None = None
        doc = pn.state.curdoc
        self.runs = LatestOnly(in_session(self._show, doc), in_session(self._fail, doc), "unusual")
        # The table is made when the card first opens: an empty one cost every explorer page
        # about 40 ms on the server and its sizing in the browser, for a card most never open.
        self.table: pn.widgets.Tabulator | None = None
        self.card = pn.Card(
            pn.pane.Markdown(self.param.title),
            title="Unusual parts",
            collapsed=True,
            sizing_mode="stretch_width",
        )
        self.card.param.watch(self._on_card, "collapsed")
        plot.param.watch(lambda _e: self.refresh(), "where")

    def _on_card(self, _event) -> None:
        if self.table is None and not self.card.collapsed:
            self.table = pn.widgets.Tabulator(
                pd.DataFrame(columns=[*SHOWN, LINK]),
                show_index=False,
                disabled=True,
                selectable=1,
                hidden_columns=[LINK],
                # The reasons wrap in a column of their own width: as one line they ran past
                # the card's edge.
                formatters={
                    "part_serial": {"type": "link", "urlField": LINK},
                    "why": {"type": "textarea"},
                },
                titles={"part_serial": "serial (opens the part)", "why": "why"},
                widths={"why": 200},
                layout="fit_data_table",
                sizing_mode="stretch_width",
            )
            self.table.param.watch(self._on_choice, "selection")
            self.card.append(self.table)
        self.refresh()

    @classmethod
    def of(cls, explorer: Any, client_factory: Callable[[], Any]) -> UnusualPanel:
        """The panel of ``explorer`` (a :class:`~app.explorer.explorer.CurveExplorer`, not
        imported: it imports this); the panel's client comes from ``client_factory`` and joins
        the explorer's own, so :meth:`CurveExplorer.close` closes it too."""

        def reader() -> Curves:
            client = client_factory()
            explorer._clients.append(client)
            return Curves(client, explorer._database, projects=explorer._projects)

        return cls(explorer.state, explorer.plot, reader)

    # --- work ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Rank the picture's filter, if the card is open and the filter is new to it."""
        where = self._plot.where
        if self.card.collapsed or where is None or where == self._ranked_for:
            return
        if self._state.live and self._ranked_for is not None:
            return  # the window moves every second: the list stays as it was
        if not self._reading():
            return
        shown, busy = self._reader.matching(where), self._plot.renders.wait
        publish(self, title="Ranking the filter's parts…")

        def job() -> tuple[CurveFilter, pd.DataFrame]:
            busy(60)  # never alongside a render: both read the engine
            return where, rank_unusual(shown, COLUMNS, LISTED)

        self.runs.submit(job)

    def choose(self, row: int) -> None:
        """Draw the part of row ``row`` (of the list shown) over the picture."""
        image = self._plot.image
        if self.ranked is None or image is None or not 0 <= row < len(self.ranked):
            return
        curve_id = int(self.ranked.iloc[row]["curve_id"])
        shown, view = self._reader.matching(self._ranked_for), image.view
        self.runs.submit(lambda: shown.highlight([curve_id], view))

    def wait(self, timeout: float = 120.0) -> bool:
        return self.runs.wait(timeout)

    def _reading(self) -> bool:
        if self._reader is None:
            try:
                self._reader = self._open()
            except Exception as exc:  # said in the card; opening it again tries again
                self._fail(exc)
                return False
        return self._reader is not None

    def _on_choice(self, event) -> None:
        if event.new:
            self.choose(event.new[0])

    def __panel__(self) -> pn.viewable.Viewable:
        return self.card

    # --- work -> page -------------------------------------------------------------------------

    def _show(self, result) -> None:
        if isinstance(result, list):  # a chosen part's lines
            self._plot.highlight(result)
            return
        where, ranked = result
        self._ranked_for = where
        if self.table is not None:  # made when the card opened, before any ranking
            self.table.value = _rows(ranked)
        publish(self, ranked=ranked, title=_sentence(ranked))

    def _fail(self, error: Exception) -> None:
        log.warning("explorer unusual parts failed", exc_info=error)
        publish(self, title=f"The ranking failed: {text(elements.friendly(error))}")


def _rows(ranked: pd.DataFrame) -> pd.DataFrame:
    if ranked.empty:
        return pd.DataFrame(columns=[*SHOWN, LINK])
    back = explorer_url()
    return pd.DataFrame(
        {
            "part_serial": [
                str(serial) or f"curve {curve}"
                for serial, curve in zip(ranked["part_serial"], ranked["curve_id"], strict=True)
            ],
            "station": ranked["station"].astype(str),
            "program": ranked["program"].astype(str),
            "started_at": pd.to_datetime(ranked["started_at"]).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "score": np.round(ranked["score"].to_numpy(np.float64), 2),
            "why": [unusual_words(row) for row in ranked.itertuples()],
            LINK: [
                part_link(str(r.project), str(r.part_serial), back) if r.part_serial else ""
                for r in ranked.itertuples()
            ],
        }
    )


def _sentence(ranked: pd.DataFrame) -> str:
    if ranked.empty:
        return "*No program in this filter has the 20 parts a ranking needs.*"
    return (
        f"The filter's **{len(ranked)} most unusual parts**, furthest from their program's "
        "features and median curve first (started times in UTC). Choose a row to draw the "
        "part in orange; its serial opens the part."
    )
