"""One session's station board: the tiles of a project, brought up to date every few seconds
without reloading (the figures from the engine's aggregations, each tile's picture from the
process's held curves, redrawn only when the station made a part)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import panel as pn
import param

from app.board.tiles import CSS, PICTURE, Picture, board_html, picture, tile_html
from app.explorer.latest import LatestOnly, in_session
from app.markup import text
from app.ticks import every
from models.times import zone_of
from pipelines.board import StationTile, station_board
from pipelines.curves import Curves
from pipelines.render import png
from pipelines.sources import SampleSource
from pipelines.views import CurveFilter, View

log = logging.getLogger(__name__)

REFRESH_MS = 3000  # how often the board asks for new figures


class StationBoard(pn.viewable.Viewer):
    """The tiles of ``project``, read through ``client`` on ``database``."""

    updated = param.String(default="", constant=True, doc="When the figures were last read.")

    def __init__(
        self,
        *,
        project: str,
        client: Any,
        database: str,
        samples: SampleSource,
        line: str = "",
        admitted: Callable[[], bool] | None = None,
        **params: Any,
    ) -> None:
        """``line``: only that line's stations (a TV at one line); empty: every station.
        ``admitted`` is asked before each refresh (a kiosk link may have been revoked): False
        ends the board with a notice; a board with it (a kiosk's) links nowhere."""
        super().__init__(**params)
        self.line, self._admitted = line, admitted
        self.kiosk = admitted is not None
        self.project, self._client, self._database, self._samples = (
            project,
            client,
            database,
            samples,
        )
        self._pictures: dict[tuple, Picture | None] = {}
        self.tiles: list[StationTile] = []
        self.pane = pn.pane.HTML(
            "", stylesheets=[CSS], sizing_mode="stretch_width", name="station-board"
        )
        self.header = pn.pane.Markdown(
            "", name="board-header", styles={"font-size": "1.15rem"}, sizing_mode="stretch_width"
        )
        doc = pn.state.curdoc
        self._runner = LatestOnly(in_session(self._show, doc), in_session(self._fail, doc), "board")
        self._ticking = None
        if doc is not None:
            self._ticking = every(self.refresh, REFRESH_MS)
            pn.state.on_session_destroyed(lambda _ctx: self.close())
        self.refresh()

    def refresh(self) -> None:
        """Read the figures (and any new picture) in the background; shown when ready."""
        self._runner.submit(self._read)

    def wait(self, timeout: float = 60.0) -> bool:
        return self._runner.wait(timeout)

    def close(self) -> None:
        self._stop_ticking()
        self._client.close()

    def _stop_ticking(self) -> None:
        if self._ticking is not None:
            self._ticking.stop()
            self._ticking = None

    def _read(self) -> tuple[list[StationTile], dict[tuple, Picture | None], datetime] | None:
        if self._admitted is not None and not self._admitted():
            return None
        now = datetime.now(UTC)
        tiles = station_board(self._client, self._database, self.project, now)
        if self.line:
            tiles = [t for t in tiles if t.line == self.line]
        pictures = {}
        for tile in tiles:
            key = _drawn_as(tile)
            if key not in self._pictures:
                self._pictures[key] = self._picture(tile)
            pictures[key] = self._pictures[key]
        self._pictures = pictures  # the stations' older pictures go
        return tiles, pictures, now

    def _picture(self, tile: StationTile) -> Picture | None:
        if tile.window_start is None or tile.last_curve is None:
            return None
        where = CurveFilter.of(
            project=self.project,
            process=tile.process,
            station=tile.station,
            start=tile.window_start,
        )
        curves = Curves(self._client, self._database, where, source=self._samples)
        image = curves.following(View(width=PICTURE[0], height=PICTURE[1]))
        if not image.curves:
            return None
        return picture(png(image), curves.highlight([tile.last_curve], image.view), image.view)

    def _show(self, read: tuple[list[StationTile], dict, datetime] | None) -> None:
        if read is None:
            self._stop_ticking()
            self.tiles = []
            self.header.object = f"### Station board · {text(self.project)}"
            self.pane.object = (
                '<p style="font-size:1.3rem">This kiosk link was revoked. Ask an admin of the '
                "project for a new one.</p>"
            )
            return
        tiles, pictures, now = read
        self.tiles = tiles
        zone = tiles[0].shift.zone if tiles else "UTC"
        clock = now.astimezone(zone_of(zone))
        with param.edit_constant(self):
            self.updated = f"{clock:%H:%M:%S} ({zone})"
        shifts = sorted(
            {
                f"shift {t.shift.name} since "
                f"{t.shift.start.astimezone(zone_of(t.shift.zone)):%H:%M} ({t.shift.zone})"
                for t in tiles
            }
        )
        of = f" · line {text(self.line)} ([all lines](./board?project={quote(self.project)}))"
        self.header.object = (
            f"## Station board · {text(self.project)}{of if self.line else ''}\n"
            + (f"{text(', '.join(shifts))} · " if shifts else "")
            + f"updated {self.updated} · refreshes every {REFRESH_MS // 1000} s"
        )
        if not tiles:
            where = f"on line “{text(self.line)}” of" if self.line else "in"
            self.pane.object = (
                f'<p style="font-size:1.3rem">No station has made a part {where} project '
                f"“{text(self.project)}” yet. Parts published over MQTT to "
                f"<code>curvehouse/{text(self.project)}/curves</code> appear here within "
                "seconds (see <em>Live ingest</em> in the README).</p>"
            )
            return
        self.pane.object = board_html(
            [
                tile_html(t, now, pictures.get(_drawn_as(t)), self.project, links=not self.kiosk)
                for t in tiles
            ]
        )

    def _fail(self, error: Exception) -> None:
        log.warning("station board refresh failed", exc_info=error)
        self.header.object = (
            f"### Station board · {text(self.project)}\n**The figures could not be read** "
            f"({text(type(error).__name__)}); the board tries again in {REFRESH_MS // 1000} s."
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.header, self.pane, sizing_mode="stretch_width")


def _drawn_as(tile: StationTile) -> tuple:
    """What a tile's picture shows: a new part (or an older one leaving) draws it again."""
    return (tile.station, tile.last_curve, tile.window_start)
