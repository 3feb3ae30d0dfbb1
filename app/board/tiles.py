"""A station's tile as HTML: its last curve over the density of its recent parts, OK/NOK of the
last parts, NOK rate this shift and the last, parts per minute, time since the last part (a
station that stopped is flagged) and the defect mix. Sized to be read from three metres on a
1080p screen, and to stack into one column on a 390 px phone."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import numpy as np

from app.markup import text
from pipelines.board import LAST_PARTS, RATE_MINUTES, RECENT_PARTS, StationTile
from pipelines.interact import Line

PICTURE = (320, 140)  # the tile picture's pixels (width, height), drawn to the tile's width

CSS = """
:host {display: block; width: 100%;}
.ch-board {display: grid; gap: 14px;
           grid-template-columns: repeat(auto-fit, minmax(min(380px, 100%), 1fr));
           font-family: system-ui, sans-serif; color: #1b2430;}
.ch-tile {border: 2px solid #d5dde8; border-radius: 10px; padding: 12px 14px; background: white;
          min-width: 0;}
.ch-tile.ch-stopped {border-color: #d62728; background: #fff5f5;}
.ch-head {display: flex; align-items: baseline; gap: 10px; flex-wrap: wrap;}
.ch-station {font-size: 1.9rem; font-weight: 700; text-decoration: none; color: inherit;}
.ch-process {font-size: 1.1rem; color: #5a6878;}
.ch-process a {color: inherit;}
.ch-state {margin-left: auto; font-size: 1.1rem; font-weight: 600; color: #2b7a2b;}
.ch-stopped .ch-state {color: #d62728;}
.ch-idle .ch-state {color: #7f7f7f;}
.ch-pic {position: relative; width: 100%; aspect-ratio: 320 / 140; margin: 8px 0;
         background: #f4f7fb; border-radius: 6px; overflow: hidden;}
.ch-pic img, .ch-pic svg {position: absolute; inset: 0; width: 100%; height: 100%;}
.ch-pic img {image-rendering: pixelated;}
.ch-pic .ch-none {position: absolute; inset: 0; display: grid; place-items: center;
                  color: #7f7f7f; font-size: 1rem;}
.ch-kpis {display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 6px;}
.ch-kpi b {display: block; font-size: clamp(1.4rem, 2.1vw, 2.6rem); line-height: 1.1;
            font-variant-numeric: tabular-nums; white-space: nowrap;}
.ch-kpi small {font-size: .85rem; color: #5a6878;}
.ch-kpi.ch-bad b {color: #d62728;}
.ch-dots {margin-top: 8px; font-size: 1.25rem; line-height: 1; display: flex; flex-wrap: wrap;
           gap: 3px;}
.ch-ok {color: #2b7a2b;} .ch-nok {color: #d62728;} .ch-unknown {color: #9aa5b1;}
.ch-defects {margin-top: 6px; font-size: 1rem; color: #5a6878;}
@media (max-width: 600px) {
  .ch-board {grid-template-columns: 1fr;}
  .ch-station {font-size: 1.5rem;}
  .ch-kpis {grid-template-columns: repeat(2, minmax(0, 1fr));}
  .ch-kpi b {font-size: 1.6rem;}
}
"""


@dataclass(frozen=True)
class Picture:
    """A tile's picture: the density PNG of its recent parts, and the last part's curve in
    the picture's pixels (x right, y down)."""

    png: bytes
    last: list[tuple[float, float]]


def picture(png: bytes, lines: list[Line], view) -> Picture:
    """The density PNG with the last curve's lines mapped onto its pixels."""
    (x0, x1), (y0, y1) = view.x_range, view.y_range
    width, height = PICTURE
    points = []
    for line in lines:
        keep = np.isfinite(line.x) & np.isfinite(line.y)
        xs = (line.x[keep] - x0) / (x1 - x0) * width
        ys = height - (line.y[keep] - y0) / (y1 - y0) * height
        points += list(zip(xs.round(1).tolist(), ys.round(1).tolist(), strict=True))
    return Picture(png, points)


def duration(span: timedelta) -> str:
    """``8 s``, ``14 min``, ``3 h 05 min``, ``2 d``: how long ago, as a line lead reads it."""
    seconds = max(0, int(span.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86_400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86_400} d"


def _rate(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


def tile_html(
    tile: StationTile, now: datetime, drawn: Picture | None, project: str, *, links: bool = True
) -> str:
    """One tile; every value from the data is escaped. ``links``: the station leads to the
    explorer and the line to its own board (not on a kiosk's screen, which has no way out)."""
    since = tile.since_last(now)
    stopped = tile.stopped(now)
    idle = not stopped and not tile.recent
    if stopped:
        state = f"⚠ stopped · no part for {duration(since)}"
    elif idle:
        state = "idle" if since is None else f"idle · last part {duration(since)} ago"
    else:
        state = f"● running · {tile.per_minute:.1f} parts/min"
    classes = "ch-tile" + (" ch-stopped" if stopped else "") + (" ch-idle" if idle else "")
    link = "./curves?" + urlencode(
        {"project": project, "process": tile.process, "station": tile.station, "live": "shift"}
    )
    line_link = "./board?" + urlencode({"project": project, "line": tile.line})
    dots = "".join(
        f'<span class="ch-{r.lower()}" title="{text(r)}">{"●" if r == "OK" else "✖"}</span>'
        for r in tile.results
    )
    defects = " · ".join(f"{text(name)} {count}" for name, count in tile.defects[:4])
    worse = (tile.nok_rate or 0) > (tile.nok_rate_before or 0) and tile.nok > 0
    mix = f"Defects this shift: {defects}" if defects else "No defects this shift"
    return (
        f'<div class="{classes}" data-station="{text(tile.station)}">'
        f'<div class="ch-head">{_linked(text(tile.station), link if links else None, "ch-station")}'
        f'<span class="ch-process">{text(tile.process)} · '
        f"{_linked(text(tile.line), line_link if links else None)}</span>"
        f'<span class="ch-state">{text(state)}</span></div>'
        f"{_picture_html(drawn)}"
        '<div class="ch-kpis">'
        f'<div class="ch-kpi{" ch-bad" if worse else ""}"><b>{_rate(tile.nok_rate)}</b>'
        f"<small>NOK this shift ({tile.nok} of {tile.parts})</small></div>"
        f'<div class="ch-kpi"><b>{_rate(tile.nok_rate_before)}</b>'
        f"<small>NOK last shift ({tile.nok_before} of {tile.parts_before})</small></div>"
        f'<div class="ch-kpi"><b>{tile.per_minute:.1f}</b>'
        f"<small>parts/min, last {RATE_MINUTES} min</small></div>"
        f'<div class="ch-kpi"><b>{"–" if since is None else duration(since)}</b>'
        "<small>since the last part</small></div></div>"
        f'<div class="ch-dots" title="the last {LAST_PARTS} parts, newest first">'
        f"{dots or '<small>no parts this shift or the last</small>'}</div>"
        f'<div class="ch-defects">{mix}</div>'
        "</div>"
    )


def _linked(shown: str, href: str | None, css: str = "") -> str:
    attributes = f' class="{css}"' if css else ""
    if href is None:
        return f"<span{attributes}>{shown}</span>"
    return f'<a{attributes} href="{text(href)}">{shown}</a>'


def _picture_html(drawn: Picture | None) -> str:
    if drawn is None:
        return '<div class="ch-pic"><div class="ch-none">no curves</div></div>'
    width, height = PICTURE
    data = base64.b64encode(drawn.png).decode("ascii")
    points = " ".join(f"{x},{y}" for x, y in drawn.last)
    return (
        f'<div class="ch-pic" title="the last {RECENT_PARTS} parts, the newest in green">'
        f'<img alt="" src="data:image/png;base64,{data}">'
        f'<svg viewBox="0 0 {width} {height}" preserveAspectRatio="none">'
        f'<polyline points="{points}" fill="none" stroke="#2ca02c" stroke-width="2.5" '
        'vector-effect="non-scaling-stroke"/></svg></div>'
    )


def board_html(tiles_html: list[str]) -> str:
    return f'<div class="ch-board">{"".join(tiles_html)}</div>'
